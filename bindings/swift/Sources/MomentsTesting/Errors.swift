import Foundation

/// An error of the testing kit's control calls. ``field`` names the control API's field when one is at fault.
public enum MockError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The mock refused the call with its error envelope: the HTTP status, its `code` (`validation_error`, …), its
    /// message, the field it named if any (`route`, `campaigns[0].campaign.budget.amount`) and the request id.
    case api(status: Int, code: String, message: String, param: String?, requestID: String)
    /// The kit refused a value before sending it (a negative or sub-second clock step, a fault count of 0, …).
    case invalid(field: String, reason: String)
    /// The mock could not be reached, or answered something that is not the control API's.
    case transport(String)

    /// The field at fault (the control API's name for it, e.g. `seconds`, `route`, `count`), if any.
    public var field: String? {
        switch self {
        case let .api(_, _, _, param, _): param
        case let .invalid(field, _): field
        case .transport: nil
        }
    }

    /// A one-line account of the error.
    public var description: String {
        switch self {
        case let .api(status, code, message, param, requestID):
            "mock answered \(status) \(code): \(message)" + (param.map { " (param `\($0)`)" } ?? "") + " [\(requestID)]"
        case let .invalid(field, reason): "invalid `\(field)`: \(reason)"
        case let .transport(message): "mock control API: \(message)"
        }
    }
}

/// An unmet ``Expectation`` on the journal. Its description lists the matching requests and the others the mock saw
/// (control calls left out); XCTest and swift-testing report a thrown one as the test's failure.
public struct UnmetExpectation: Error, Sendable, CustomStringConvertible {
    /// What was expected and what the mock saw.
    public let description: String
    /// The requests that matched the expectation.
    public let matched: [JournalEntry]
    /// The other requests.
    public let others: [JournalEntry]
}
