import Foundation

/// What a fault does beside (or instead of) answering a status.
public enum FaultAction: String, Sendable, Hashable {
    /// Close the connection without an answer.
    case resetConnection = "reset"
    /// Answer `429 rate_limited` with `Retry-After`.
    case rateLimit = "rate_limit"
}

/// A fault for the next requests of a route. It fires before the request is handled, so the request has no effect.
///
/// ```swift
/// let outage = Fault.on(.trigger).status(503).times(2)
/// let slow = Fault.on(.getReward).latency(0.3)
/// let gone = Fault.on(.redemption).resetConnection()
/// let busy = Fault.on(.trigger).rateLimit(retryAfter: 5)
/// ```
public struct Fault: Sendable, Hashable {
    /// The route it applies to.
    public let route: Route
    private var count = 1
    private var status: Int?
    private var latency: TimeInterval?
    private var action: FaultAction?
    private var retryAfter: TimeInterval?

    /// A fault on `route` for its next request; give it a status, latency, reset or rate limit before injecting.
    public static func on(_ route: Route) -> Fault { Fault(route: route) }

    private init(route: Route) { self.route = route }

    /// For the next `n` matching requests (default 1; ≥ 1).
    public func times(_ n: Int) -> Fault { with { $0.count = n } }

    /// Answers this status (400–599) with the error envelope (429 and 503 carry `Retry-After`).
    public func status(_ status: Int) -> Fault { with { $0.status = status } }

    /// Delays the answer by `seconds` (alone: delays handling; with another effect: delays it).
    public func latency(_ seconds: TimeInterval) -> Fault { with { $0.latency = seconds } }

    /// Closes the connection without an answer.
    public func resetConnection() -> Fault { with { $0.action = .resetConnection } }

    /// Answers `429 rate_limited` with `Retry-After` (whole seconds, ≥ 1).
    public func rateLimit(retryAfter seconds: TimeInterval) -> Fault {
        with {
            $0.action = .rateLimit
            $0.retryAfter = seconds
        }
    }

    /// `Retry-After` of a 429 or 503 ``status(_:)`` (whole seconds, ≥ 1; default 1).
    public func retryAfter(_ seconds: TimeInterval) -> Fault { with { $0.retryAfter = seconds } }

    private func with(_ change: (inout Fault) -> Void) -> Fault {
        var copy = self
        change(&copy)
        return copy
    }

    /// The body of `POST /_mock/faults`, checked: a count of 0, a status outside 400–599, a fault that does nothing,
    /// or a sub-second or zero `Retry-After` is ``MockError/invalid(field:reason:)`` naming the control API's field.
    func wire() throws -> [String: Any] {
        if count < 1 { throw MockError.invalid(field: "count", reason: "`count` must be ≥ 1") }
        if let status, !(400...599).contains(status) {
            throw MockError.invalid(field: "status", reason: "`status` must be 400–599")
        }
        if status == nil && action == nil && latency == nil {
            throw MockError.invalid(field: "status", reason: "a fault needs a status, a latency, resetConnection or rateLimit")
        }
        var wire: [String: Any] = ["route": route.description, "count": count]
        if let retryAfter {
            guard retryAfter >= 1, retryAfter.rounded() == retryAfter else {
                throw MockError.invalid(field: "retry_after_seconds", reason: "`Retry-After` is whole seconds ≥ 1, not \(retryAfter)")
            }
            wire["retry_after_seconds"] = Int(retryAfter)
        }
        if let latency {
            guard latency >= 0 else { throw MockError.invalid(field: "latency_ms", reason: "a latency is not negative") }
            wire["latency_ms"] = Int((latency * 1000).rounded())
        }
        if let status { wire["status"] = status }
        if let action { wire["action"] = action.rawValue }
        return wire
    }
}

/// A fault still armed, as ``Faults/list()`` reads it.
public struct ArmedFault: Sendable, Hashable {
    /// The route.
    public let route: Route
    /// How many matching requests it still applies to.
    public let remaining: Int
    /// The status it answers.
    public let status: Int?
    /// The delay, in seconds.
    public let latency: TimeInterval?
    /// What it does beside a status.
    public let action: FaultAction?
    /// The `Retry-After` it sends, in seconds.
    public let retryAfter: TimeInterval?
}

/// The faults of a mock (`/_mock/faults`).
public struct Faults: Sendable {
    let control: any MockControl

    /// Injects a fault (checked first, then by the mock: a route it does not serve is
    /// ``MockError/api(status:code:message:param:requestID:)`` naming `route`). Faults apply in the order injected;
    /// the first that matches a request fires.
    public func inject(_ fault: Fault) async throws {
        _ = try await control.call("POST", "/_mock/faults", body: try fault.wire())
    }

    /// The faults still armed, with how many requests each has left, in the order they apply.
    public func list() async throws -> [ArmedFault] {
        try await control.call("GET", "/_mock/faults").objs("data").map {
            ArmedFault(
                route: try Route.of(try $0.str("route")),
                remaining: try $0.int("count"),
                status: $0.intOrNil("status"),
                latency: $0.intOrNil("latency_ms").map { TimeInterval($0) / 1000 },
                action: $0.strOrNil("action").flatMap(FaultAction.init(rawValue:)),
                retryAfter: $0.intOrNil("retry_after_seconds").map(TimeInterval.init)
            )
        }
    }

    /// Removes every fault.
    public func clear() async throws {
        _ = try await control.call("DELETE", "/_mock/faults")
    }
}
