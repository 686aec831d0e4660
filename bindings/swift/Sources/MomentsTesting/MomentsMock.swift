import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MomentsMockFFI

/// The Moments mock, started in the test's process on a free port of `127.0.0.1` with the seeded demo: the whole
/// Rewards API with real state, and its control API (``MockControl``: clock, mode, faults, fixtures, journal,
/// webhooks, reset). Each mock has its own state, clock, faults and journal; ``stop()`` stops it and frees its port
/// and threads.
///
/// ```swift
/// try await withMomentsMock { mock in
///     let client = try MomentsClient(config: ClientConfig(baseURL: mock.baseURL, device: device), tokenProvider: tokens)
///     …
///     try await mock.journal().expect(.trigger).once().verify()
/// }
/// ```
///
/// The mock is the native library `libmoments_mock_ffi` (built from `crates/moments-mock-ffi`), which this module
/// links; the SDK's own library does not carry it.
public final class MomentsMock: MockControl, Sendable {
    /// The mock's base URL (`http://127.0.0.1:PORT`): what `ClientConfig(baseURL:)` takes.
    public let baseURL: URL
    /// The HTTP session of the control calls (invalidated when the mock stops).
    public let session: URLSession
    private let native: NativeMock

    /// Starts a mock on a free port of `127.0.0.1`.
    ///
    /// - Throws: ``MockError/transport(_:)`` if the native library cannot start it.
    public init() throws {
        let native = try NativeMock()
        guard let url = URL(string: native.baseURL) else {
            throw MockError.transport("the mock's base URL is not a URL: \(native.baseURL)")
        }
        self.native = native
        self.baseURL = url
        self.session = URLSession(configuration: .ephemeral)
    }

    /// Starts a mock on a free port of `127.0.0.1` (the same as ``init()``).
    ///
    /// - Throws: ``MockError/transport(_:)`` if the native library cannot start it.
    public static func start() throws -> MomentsMock {
        try MomentsMock()
    }

    /// Whether the mock is still running.
    public var isRunning: Bool {
        get async { await native.isRunning }
    }

    /// Stops the mock without waiting for idle client connections; its port, threads and state are freed.
    /// Idempotent. A mock that is never stopped stops when it is deallocated.
    public func stop() async {
        for receiver in await native.stop() {
            await receiver.stop()
        }
        session.finishTasksAndInvalidate()
    }

    /// Hands a webhook receiver to the mock, which stops it when it stops.
    func adopt(_ receiver: WebhookReceiver) async {
        await native.adopt(receiver)
    }

    /// Hands an expectation to the mock: checked by ``verify()``, which ``withMomentsMock(isolation:_:)`` calls
    /// after its body returns.
    func mount(_ expectation: Expectation) async {
        await native.mount(expectation)
    }

    /// Checks every mounted expectation (``Expectation/mount(on:)``) now.
    ///
    /// - Throws: the first ``UnmetExpectation``.
    public func verify() async throws {
        let mounted = await native.mounted
        if mounted.isEmpty { return }
        let entries = try await journal().entries()
        for expectation in mounted {
            try expectation.check(entries)
        }
    }
}

/// The native mock's handle, owned by an actor so stopping is once and safe from any task.
private actor NativeMock {
    /// The handle's address (an integer, so the deinit may read it), nil once stopped.
    private var handle: UInt?
    nonisolated let baseURL: String
    private(set) var mounted: [Expectation] = []
    private var receivers: [WebhookReceiver] = []

    init() throws {
        var error = [CChar](repeating: 0, count: 512)
        guard let handle = moments_mock_start(&error, Int32(error.count)) else {
            let message = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw MockError.transport(message.isEmpty ? "the mock did not start" : message)
        }
        guard let url = moments_mock_base_url(handle) else {
            moments_mock_stop(handle)
            throw MockError.transport("the mock has no base URL")
        }
        self.baseURL = String(cString: url)
        self.handle = UInt(bitPattern: handle)
    }

    var isRunning: Bool { handle != nil }

    func mount(_ expectation: Expectation) {
        mounted.append(expectation)
    }

    func adopt(_ receiver: WebhookReceiver) {
        receivers.append(receiver)
    }

    /// Stops the mock; the receivers it had, to stop.
    func stop() -> [WebhookReceiver] {
        defer { receivers.removeAll() }
        guard let handle else { return receivers }
        self.handle = nil
        moments_mock_stop(OpaquePointer(bitPattern: handle))
        return receivers
    }

    deinit {
        if let handle { moments_mock_stop(OpaquePointer(bitPattern: handle)) }
    }
}

/// Runs `body` with a fresh mock and stops the mock after it, whether it returns or throws; after a body that
/// returns, the expectations mounted on the mock are checked (``MomentsMock/verify()``). For XCTest and
/// swift-testing alike:
///
/// ```swift
/// @Test func rewarded() async throws {
///     try await withMomentsMock { mock in
///         …
///     }
/// }
/// ```
///
/// - Parameters:
///   - isolation: The caller's actor (inferred), which `body` runs on.
///   - body: The test, given the mock.
/// - Returns: What `body` returns.
/// - Throws: What `body` throws, ``MockError`` if the mock cannot start, or ``UnmetExpectation``.
public func withMomentsMock<T: Sendable>(
    isolation: isolated (any Actor)? = #isolation,
    _ body: (MomentsMock) async throws -> T
) async throws -> T {
    let mock = try MomentsMock()
    do {
        let result = try await body(mock)
        try await mock.verify()
        await mock.stop()
        return result
    } catch {
        await mock.stop()
        throw error
    }
}
