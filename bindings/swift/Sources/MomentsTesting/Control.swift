import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Test or live mode (`/_mock/mode`).
public enum Mode: String, Sendable, Hashable {
    /// Every trigger answers a test reward (`"test": true`), whatever the campaign's status.
    case test
    /// Triggers need a live campaign (or an approved one, which answers test rewards).
    case live
}

/// A moment of the demo campaign.
public struct DemoMoment: Sendable, Hashable {
    /// The moment id (`first_workout`).
    public let id: String
    /// Its display name, if any.
    public let name: String?
    /// Whether an app may report it with a customer token (else only a secret key may).
    public let clientReportable: Bool
}

/// The demo fixture every mock starts with: an app with its keys and a live campaign.
public struct Demo: Sendable, Hashable {
    /// The demo app (`app_demo_fitness`).
    public let appID: String
    /// Its account.
    public let accountID: String
    /// The app's secret key (`sk_test_…`): what an app's backend mints customer tokens with.
    public let secretKey: String
    /// The legacy `x-api-key`.
    public let apiKey: String
    /// The live demo campaign (`cmp_demo_workouts`).
    public let campaignID: String
    /// Its moments.
    public let moments: [DemoMoment]
    /// The mock's base URL.
    public let baseURL: String
}

/// An app made by ``MockControl/newApp(name:)`` or a fixtures load, with its credentials.
public struct MockApp: Sendable, Hashable {
    /// The app.
    public let appID: String
    /// Its account.
    public let accountID: String
    /// Its secret key.
    public let secretKey: String
    /// Its legacy key.
    public let apiKey: String
}

/// A customer token minted by ``MockControl/customerToken(customerID:marketplace:ttlSeconds:)``, as an app's
/// backend would hand it to the app.
public struct MockCustomerToken: Sendable, Hashable {
    /// The bearer token.
    public let token: String
    /// Its lifetime from now, in seconds.
    public let expiresInSeconds: Int
}

/// What a fixtures load created, in the order given.
public struct Loaded: Sendable, Hashable {
    /// The apps, with their credentials.
    public let apps: [MockApp]
    /// The item ids.
    public let items: [String]
    /// The campaign ids.
    public let campaigns: [String]
}

/// A client of a mock's control API (`/_mock/…`), over HTTP: the same calls as the Rust kit's
/// `moments_mock_server::testing::Control` and the Kotlin kit's `Control`. ``MomentsMock`` is one for the mock it
/// started; ``Control/connect(_:)`` reaches a mock running elsewhere (the binary, a container). Every call is
/// `async` and throws ``MockError``.
public protocol MockControl: Sendable {
    /// The mock's base URL (`http://127.0.0.1:PORT`).
    var baseURL: URL { get }
    /// The HTTP session the control calls use.
    var session: URLSession { get }
}

/// A control client of a mock running elsewhere (the binary, a container).
public struct Control: MockControl {
    /// The mock's base URL.
    public let baseURL: URL
    /// The HTTP session the control calls use.
    public let session: URLSession

    /// A client of the mock at `baseURL` (`http://127.0.0.1:8080`).
    public static func connect(_ baseURL: URL) -> Control {
        Control(baseURL: baseURL, session: URLSession(configuration: .ephemeral))
    }
}

extension MockControl {
    /// Back to the start state: the seeded demo and catalog, no faults, an empty journal and delivery log, real time.
    public func reset() async throws {
        _ = try await call("POST", "/_mock/reset", body: [String: Any]())
    }

    /// The demo fixture (`GET /_mock/demo`).
    public func demo() async throws -> Demo {
        let o = try await call("GET", "/_mock/demo")
        return Demo(
            appID: try o.str("app_id"),
            accountID: try o.str("account_id"),
            secretKey: try o.str("secret_key"),
            apiKey: try o.str("api_key"),
            campaignID: try o.str("campaign_id"),
            moments: try o.objs("moments").map {
                DemoMoment(id: try $0.str("id"), name: $0.strOrNil("name"), clientReportable: $0.bool("client_reportable"))
            },
            baseURL: try o.str("base_url")
        )
    }

    /// A new app (in a new account) with a secret key and a legacy key.
    public func newApp(name: String) async throws -> MockApp {
        let o = try await call("POST", "/_mock/apps", body: ["name": name])
        return MockApp(
            appID: try o.str("app_id"), accountID: try o.str("account_id"), secretKey: try o.str("secret_key"),
            apiKey: try o.str("api_key")
        )
    }

    /// The virtual clock.
    public func clock() -> Clock { Clock(control: self) }

    /// The mode (test or live).
    public func mode() async throws -> Mode {
        let o = try await call("GET", "/_mock/mode")
        let mode = try o.str("mode")
        guard let value = Mode(rawValue: mode) else { throw MockError.transport("unknown mode `\(mode)`") }
        return value
    }

    /// Sets the mode.
    public func setMode(_ mode: Mode) async throws {
        _ = try await call("POST", "/_mock/mode", body: ["mode": mode.rawValue])
    }

    /// Injected faults.
    public func faults() -> Faults { Faults(control: self) }

    /// The request journal and expectations on it.
    public func journal() -> Journal { Journal(control: self) }

    /// The webhook delivery log.
    public func webhooks() -> Webhooks { Webhooks(control: self) }

    /// Loads fixtures (reading the mock's clock first, to place campaign dates around it). The mock checks them as
    /// `POST /v1/campaigns` would: an invalid one is ``MockError/api(status:code:message:param:requestID:)`` whose
    /// ``MockError/field`` names it (`campaigns[0].campaign.budget.amount`); loading stops there and the entries
    /// before it stay loaded.
    public func load(_ fixtures: Fixtures) async throws -> Loaded {
        let now = try await clock().now()
        let o = try await call("POST", "/_mock/fixtures", body: fixtures.json(now: now))
        let apps = try o.objs("apps").map {
            MockApp(
                appID: try $0.str("app_id"), accountID: try $0.str("account_id"), secretKey: try $0.str("secret_key"),
                apiKey: try $0.str("api_key")
            )
        }
        return Loaded(apps: apps, items: o.strings("items"), campaigns: o.strings("campaigns"))
    }

    /// Loads one campaign and returns its id (`cmp_…`).
    public func loadCampaign(_ campaign: CampaignFixture) async throws -> String {
        guard let id = try await load(Fixtures().withCampaign(campaign)).campaigns.last else {
            throw MockError.transport("the fixtures answer lists no campaign")
        }
        return id
    }

    /// Mints a customer token for `customerID` with the demo app's secret key (`POST /v1/customer_tokens`), as the
    /// app's backend would: what an SDK client's token provider returns in a test.
    public func customerToken(
        customerID: String, marketplace: String = "US", ttlSeconds: Int? = nil
    ) async throws -> MockCustomerToken {
        var body: [String: Any] = ["customer_id": customerID, "marketplace": marketplace]
        if let ttlSeconds { body["ttl_seconds"] = ttlSeconds }
        let key = try await demo().secretKey
        let o = try await call("POST", "/v1/customer_tokens", body: body, bearer: key)
        return MockCustomerToken(token: try o.str("token"), expiresInSeconds: try o.int("expires_in_seconds"))
    }

    /// One call: the JSON answer, or the mock's error envelope as ``MockError/api(status:code:message:param:requestID:)``.
    func call(_ method: String, _ path: String, body: Any? = nil, bearer: String? = nil) async throws -> Obj {
        guard let url = URL(string: baseURL.absoluteString.trimmingSuffix("/") + path) else {
            throw MockError.transport("not a URL: \(baseURL)\(path)")
        }
        var request = URLRequest(url: url, timeoutInterval: 30)
        request.httpMethod = method
        if let bearer { request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, status) = try await send(request, method: method, path: path)
        let text = String(decoding: data, as: UTF8.self)
        let parsed: Obj
        if data.isEmpty {
            parsed = Obj([:])
        } else if let map = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            parsed = Obj(map)
        } else {
            throw MockError.transport("unexpected answer to \(method) \(path) (HTTP \(status)): \(text)")
        }
        if (200..<300).contains(status) { return parsed }
        guard let error = parsed.map["error"] as? [String: Any] else {
            throw MockError.transport("HTTP \(status) to \(method) \(path): \(text)")
        }
        let e = Obj(error)
        throw MockError.api(
            status: status, code: e.strOrNil("code") ?? "", message: e.strOrNil("message") ?? "",
            param: e.strOrNil("param"), requestID: e.strOrNil("request_id") ?? ""
        )
    }

    /// `URLSession` with a completion handler (the async `data(for:)` needs macOS 12 / newer corelibs).
    private func send(_ request: URLRequest, method: String, path: String) async throws -> (Data, Int) {
        try await withCheckedThrowingContinuation { continuation in
            session.dataTask(with: request) { data, response, error in
                if let error {
                    continuation.resume(throwing: MockError.transport("\(method) \(path): \(error)"))
                } else if let http = response as? HTTPURLResponse {
                    continuation.resume(returning: (data ?? Data(), http.statusCode))
                } else {
                    continuation.resume(throwing: MockError.transport("\(method) \(path): no HTTP answer"))
                }
            }.resume()
        }
    }
}

/// The virtual clock state.
public struct ClockView: Sendable, Hashable {
    /// The server's time.
    public let now: Date
    /// Whether the clock is frozen.
    public let frozen: Bool
    /// Its offset from real time, in seconds.
    public let offsetSeconds: Int
}

/// The mock's virtual clock: real time plus an offset, or frozen. Every time rule of the mock reads it; moving it
/// runs the rules that became due, in time order, before the call returns.
public struct Clock: Sendable {
    let control: any MockControl

    /// The server's time.
    public func now() async throws -> Date { try await state().now }

    /// The time, whether the clock is frozen, and its offset from real time.
    public func state() async throws -> ClockView { try view(await control.call("GET", "/_mock/clock")) }

    /// Moves time forward by `seconds`, running every rule that became due and delivering due webhooks before it
    /// returns.
    ///
    /// - Throws: ``MockError/invalid(field:reason:)`` naming `seconds` for a negative step or one with a fraction of
    ///   a second.
    @discardableResult
    public func advance(by seconds: TimeInterval) async throws -> ClockView {
        if seconds < 0 { throw MockError.invalid(field: "seconds", reason: "the clock moves forward, not by \(seconds) s") }
        if seconds.rounded() != seconds {
            throw MockError.invalid(field: "seconds", reason: "the mock's clock moves in whole seconds, not \(seconds) s")
        }
        return try view(await control.call("POST", "/_mock/clock/advance", body: ["seconds": Int(seconds)]))
    }

    /// Sets the time (not backwards: the mock answers `validation_error` naming `now`) and lets the clock run.
    @discardableResult
    public func set(to date: Date) async throws -> ClockView { try await send(date, frozen: false) }

    /// Freezes the clock where it is.
    @discardableResult
    public func freeze() async throws -> ClockView { try await send(nil, frozen: true) }

    /// Sets the time (not backwards) and freezes it there.
    @discardableResult
    public func freeze(at date: Date) async throws -> ClockView { try await send(date, frozen: true) }

    /// Lets a frozen clock run again from where it stands.
    @discardableResult
    public func unfreeze() async throws -> ClockView { try await send(nil, frozen: false) }

    private func send(_ now: Date?, frozen: Bool) async throws -> ClockView {
        var body: [String: Any] = ["frozen": frozen]
        if let now { body["now"] = rfc3339(now) }
        return try view(await control.call("POST", "/_mock/clock/set", body: body))
    }

    private func view(_ o: Obj) throws -> ClockView {
        ClockView(now: try o.date("now"), frozen: o.bool("frozen"), offsetSeconds: o.intOrNil("offset_seconds") ?? 0)
    }
}

/// The webhook delivery log: every attempt the mock made to deliver an event, oldest first.
public struct Webhooks: Sendable {
    let control: any MockControl

    /// Every delivery attempt, oldest first.
    public func deliveries() async throws -> [Delivery] {
        try await control.call("GET", "/_mock/webhooks/deliveries").objs("data").map(Delivery.init)
    }

    /// The attempts for events of one type (`reward.issued`, `reward.redeemed`, …), oldest first.
    public func deliveriesOf(_ eventType: String) async throws -> [Delivery] {
        let query = eventType.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? eventType
        return try await control.call("GET", "/_mock/webhooks/deliveries?event_type=\(query)").objs("data")
            .map(Delivery.init)
    }

    /// A webhook endpoint of the demo app (`POST /v1/webhook_endpoints` with its secret key, as the app's backend
    /// would) for the given event types (none: every type), whose URL is a ``WebhookReceiver`` started in the test's
    /// process on a free port: the mock's deliveries to it succeed (answered 200). ``MomentsMock/stop()`` stops it.
    public func receiver(_ events: String...) async throws -> WebhookReceiver {
        let listener = try Listener()
        let url = "http://127.0.0.1:\(listener.port)/hooks"
        do {
            let key = try await control.demo().secretKey
            let body: [String: Any] = ["url": url, "events": events]
            let endpoint = try await control.call("POST", "/v1/webhook_endpoints", body: body, bearer: key)
            let receiver = WebhookReceiver(listener: listener, endpointID: try endpoint.str("id"))
            if let mock = control as? MomentsMock { await mock.adopt(receiver) }
            return receiver
        } catch {
            await listener.stop()
            throw error
        }
    }

    /// Delivers every webhook due now and returns once their attempts are in the log.
    public func deliverDue() async throws {
        try await control.clock().advance(by: 0)
    }
}

/// One webhook delivery attempt.
public struct Delivery: Sendable, Hashable {
    /// The event.
    public let eventID: String
    /// Its type (`reward.issued`, …).
    public let eventType: String
    /// The endpoint.
    public let endpointID: String
    /// The endpoint's URL.
    public let url: String
    /// The attempt number (1–7).
    public let attempt: Int
    /// The HTTP status answered, if any.
    public let status: Int?
    /// Whether it succeeded (2xx).
    public let succeeded: Bool
    /// The connection or status error.
    public let error: String?
    /// When (server clock).
    public let at: Date
    /// The next retry, if any.
    public let nextRetryAt: Date?

    init(_ o: Obj) throws {
        eventID = try o.str("event_id")
        eventType = try o.str("event_type")
        endpointID = try o.str("endpoint_id")
        url = try o.str("url")
        attempt = try o.int("attempt")
        status = o.intOrNil("status")
        succeeded = o.bool("succeeded")
        error = o.strOrNil("error")
        at = try o.date("at")
        nextRetryAt = try o.dateOrNil("next_retry_at")
    }
}
