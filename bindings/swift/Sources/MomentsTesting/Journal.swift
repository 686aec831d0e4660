import Foundation

/// A request the mock answered.
public struct JournalEntry: Sendable, Hashable {
    /// The request id (`req_…`).
    public let requestID: String
    /// Server time.
    public let at: Date
    /// The method.
    public let method: String
    /// The path.
    public let path: String
    /// The route template the mock matched, if any.
    public let route: String?
    /// The answer's status (0 when a fault reset the connection).
    public let status: Int
    /// The `Idempotency-Key`, if any.
    public let idempotencyKey: String?
    /// Whether the answer was a replay of an earlier one.
    public let replayed: Bool
    /// The fault applied, if any.
    public let fault: String?

    /// Whether this request was one of `route`'s.
    public func `is`(_ route: Route) -> Bool { route.matches(method: method, path: path, template: self.route) }

    /// Whether it was a control API call (`/_mock/…`).
    public var isControl: Bool { path.hasPrefix("/_mock/") }

    var line: String {
        var s = "\n    \(rfc3339(at)) \(method) \(path) → \(status)"
        if let idempotencyKey { s += " (Idempotency-Key \(idempotencyKey))" }
        if replayed { s += " replayed" }
        if let fault { s += " fault: \(fault)" }
        return s + " [\(requestID)]"
    }
}

/// The request journal: the last 10,000 requests the mock answered, oldest first, control calls included
/// (expectations leave those out).
public struct Journal: Sendable {
    let control: any MockControl

    /// Every request recorded, oldest first.
    public func entries() async throws -> [JournalEntry] {
        try await control.call("GET", "/_mock/journal").objs("data").map {
            JournalEntry(
                requestID: try $0.str("request_id"), at: try $0.date("at"), method: try $0.str("method"),
                path: try $0.str("path"), route: $0.strOrNil("route"), status: try $0.int("status"),
                idempotencyKey: $0.strOrNil("idempotency_key"), replayed: $0.bool("replayed"),
                fault: $0.strOrNil("fault")
            )
        }
    }

    /// The requests of `route`, oldest first.
    public func requests(_ route: Route) async throws -> [JournalEntry] {
        try await entries().filter { $0.is(route) }
    }

    /// How many requests of `route` were recorded.
    public func count(_ route: Route) async throws -> Int { try await requests(route).count }

    /// Forgets every entry.
    public func clear() async throws {
        _ = try await control.call("DELETE", "/_mock/journal")
    }

    /// An expectation on the requests of `route` (by default: at least one); check it with
    /// ``Expectation/verify()``.
    public func expect(_ route: Route) -> Expectation { Expectation(journal: self, route: route) }
}

/// An expectation on the journal: how many requests of a route (optionally answered with a status) the mock
/// received. Checked by ``verify()``, or, once mounted on a ``MomentsMock`` (``mount(on:)``), by
/// ``MomentsMock/verify()``, which ``withMomentsMock(isolation:_:)`` calls after its body.
public struct Expectation: Sendable, CustomStringConvertible {
    let journal: Journal
    /// The route it counts.
    public let route: Route
    private var min = 1
    private var max = Int.max
    private var status: Int?
    private var invalid: MockError?

    init(journal: Journal, route: Route) {
        self.journal = journal
        self.route = route
    }

    /// Exactly `n` requests.
    public func times(_ n: Int) -> Expectation { between(n, n) }

    /// Exactly one request.
    public func once() -> Expectation { times(1) }

    /// No request.
    public func never() -> Expectation { times(0) }

    /// `n` or more requests.
    public func atLeast(_ n: Int) -> Expectation { between(n, Int.max) }

    /// `n` or fewer requests.
    public func atMost(_ n: Int) -> Expectation { between(0, n) }

    /// From `lo` to `hi` requests, both included (a range with no count in it makes ``verify()`` throw
    /// ``MockError/invalid(field:reason:)`` naming `times`).
    public func between(_ lo: Int, _ hi: Int) -> Expectation {
        var copy = self
        if lo < 0 || hi < lo {
            copy.invalid = .invalid(field: "times", reason: "no count is between \(lo) and \(hi)")
        } else {
            copy.min = lo
            copy.max = hi
        }
        return copy
    }

    /// Counts only requests answered with this status (0: the connection was reset by a fault).
    public func withStatus(_ status: Int) -> Expectation {
        var copy = self
        copy.status = status
        return copy
    }

    /// Whether an entry counts toward it.
    public func matches(_ entry: JournalEntry) -> Bool { entry.is(route) && (status == nil || status == entry.status) }

    /// Checks it against journal entries (oldest first).
    ///
    /// - Throws: ``UnmetExpectation`` listing what the mock saw.
    public func check(_ entries: [JournalEntry]) throws {
        if let invalid { throw invalid }
        let requests = entries.filter { !$0.isControl }
        let matched = requests.filter(matches)
        let others = requests.filter { !matches($0) }
        let n = matched.count
        if (min...max).contains(n) { return }
        var message = "expected \(description), it was called \(n) \(Self.plural(n))"
        if !matched.isEmpty {
            message += "\n  matching requests:" + matched.map(\.line).joined()
        }
        if others.isEmpty {
            message += "\n  no other requests"
        } else {
            let shown = others.suffix(20)
            message += "\n  other requests (\(others.count)\(shown.count < others.count ? ", the latest shown" : "")):"
            message += shown.map(\.line).joined()
        }
        throw UnmetExpectation(description: message, matched: matched, others: others)
    }

    /// Reads the journal and checks it now.
    ///
    /// - Throws: ``UnmetExpectation`` listing what the mock saw.
    public func verify() async throws {
        try check(try await journal.entries())
    }

    /// Hands the expectation to `mock`: checked by ``MomentsMock/verify()``, which
    /// ``withMomentsMock(isolation:_:)`` calls after its body returns.
    public func mount(on mock: MomentsMock) async {
        await mock.mount(self)
    }

    /// `ROUTE [answered STATUS] exactly n times`.
    public var description: String {
        let wanted =
            if min == max { "exactly \(min) \(Self.plural(min))" }
            else if max == Int.max { "at least \(min) \(Self.plural(min))" }
            else if min == 0 { "at most \(max) \(Self.plural(max))" }
            else { "between \(min) and \(max) times" }
        return "\(route)" + (status.map { " answered \($0)" } ?? "") + " " + wanted
    }

    private static func plural(_ n: Int) -> String { n == 1 ? "time" : "times" }
}
