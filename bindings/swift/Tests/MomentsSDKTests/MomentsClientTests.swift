import Foundation
import XCTest
@testable import MomentsSDK

/// Counts its calls; mints real tokens from the mock like an app's backend.
final class CountingProvider: TokenProvider, @unchecked Sendable {
    private let mock: MockServer
    private let customerId: String
    private let ttlSeconds: Int?
    private let lock = NSLock()
    private var count = 0

    init(_ mock: MockServer, customerId: String, ttlSeconds: Int? = nil) {
        self.mock = mock
        self.customerId = customerId
        self.ttlSeconds = ttlSeconds
    }

    var calls: Int { lock.withLock { count } }

    private func increment() { lock.withLock { count += 1 } }

    func fetchToken() async throws -> CustomerToken {
        increment()
        return try await mock.mintToken(customerId: customerId, ttlSeconds: ttlSeconds)
    }
}

final class Collector: RewardListener, @unchecked Sendable {
    private let lock = NSLock()
    private var events: [RewardEvent] = []
    func onEvent(event: RewardEvent) { lock.lock(); events.append(event); lock.unlock() }
    var all: [RewardEvent] { lock.lock(); defer { lock.unlock() }; return events }
}

struct AppBackendDown: Error {}

/// A result handed from a plain thread to the test (written once before a semaphore signal, read after it).
final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}

final class MomentsClientTests: XCTestCase {
    var mock: MockServer!
    let customerId = "cust_sw_" + UUID().uuidString.prefix(8)

    override func setUp() async throws {
        mock = try await MockServer.start()
    }

    override func tearDown() async throws {
        mock.stop()
    }

    func makeClient(_ provider: TokenProvider) throws -> MomentsClient {
        try MomentsClient(
            config: ClientConfig(baseUrl: mock.baseUrl, device: DeviceInfo(deviceType: .ios, deviceId: "device-sw-1")),
            tokenProvider: provider
        )
    }

    func testRewardInfoAndOneTokenForTwentyConcurrentCalls() async throws {
        let provider = CountingProvider(mock, customerId: customerId)
        let client = try makeClient(provider)
        let campaignId = mock.campaignId
        let infos = try await withThrowingTaskGroup(of: RewardInfo.self) { group in
            for _ in 0..<20 {
                group.addTask { try await client.rewardInfo(campaignId: campaignId, momentId: "first_workout") }
            }
            return try await group.reduce(into: [RewardInfo]()) { $0.append($1) }
        }
        XCTAssertEqual(infos.count, 20)
        XCTAssertTrue(infos.allSatisfy { $0.campaignId == campaignId && !$0.offer.isEmpty })
        XCTAssertEqual(provider.calls, 1)
        let goal = try await client.rewardInfo(campaignId: campaignId, momentId: "five_workouts").goal
        XCTAssertEqual(goal?.target, 5)
        XCTAssertEqual(provider.calls, 1, "the token is cached")
    }

    func testExpiredTokenIsRefreshed() async throws {
        let provider = CountingProvider(mock, customerId: customerId, ttlSeconds: 60)
        let client = try makeClient(provider)
        _ = try await client.rewardInfo(campaignId: mock.campaignId, momentId: "first_workout")
        try await mock.advanceClock(seconds: 120)
        _ = try await client.rewardInfo(campaignId: mock.campaignId, momentId: "first_workout")
        XCTAssertEqual(provider.calls, 2)
    }

    func testReportedMomentGivesARewardUrlThatOpensThenTheFrequencyCap() async throws {
        let client = try makeClient(CountingProvider(mock, customerId: customerId))
        guard case let .rewarded(reward) = try await client.reportAction(campaignId: mock.campaignId, momentId: "first_workout") else {
            return XCTFail("expected a reward")
        }
        let status = try await mock.status(of: reward.url)
        XCTAssertEqual(status, 200)
        do {
            _ = try await client.reportAction(campaignId: mock.campaignId, momentId: "first_workout")
            XCTFail("the second report must hit the frequency cap")
        } catch let error as MomentsError {
            XCTAssertEqual(error.code, "frequency_cap_reached")
            XCTAssertTrue(error.requestId?.hasPrefix("req_") ?? false)
            XCTAssertFalse(error.isRetryable)
        }
        let mine = try await client.myRewards()
        XCTAssertTrue(mine.contains { $0.id == reward.id })
    }

    func testGoalProgress() async throws {
        let client = try makeClient(CountingProvider(mock, customerId: customerId))
        guard case let .inProgress(progress) = try await client.reportAction(campaignId: mock.campaignId, momentId: "five_workouts", quantity: 3) else {
            return XCTFail("expected progress")
        }
        XCTAssertEqual(progress.current, 3)
        XCTAssertEqual(progress.target, 5)
        let all = try await client.myProgress(campaignId: mock.campaignId)
        XCTAssertEqual(all.first { $0.momentId == "five_workouts" }?.current, 3)
    }

    func testTypedErrorsNotReportableAndNotLive() async throws {
        let client = try makeClient(CountingProvider(mock, customerId: customerId))
        do {
            _ = try await client.reportAction(campaignId: mock.campaignId, momentId: "level_5")
            XCTFail("level_5 is not client reportable")
        } catch let error as MomentsError {
            XCTAssertEqual(error.code, "moment_not_client_reportable")
        }
        try await mock.advanceClock(seconds: 200 * 24 * 3600)
        do {
            _ = try await client.reportAction(campaignId: mock.campaignId, momentId: "first_workout")
            XCTFail("the campaign finished")
        } catch let error as MomentsError {
            XCTAssertEqual(error.code, "campaign_not_live")
        }
    }

    func testListenerReplaysThenReceivesTheReward() async throws {
        let client = try makeClient(CountingProvider(mock, customerId: customerId))
        let collector = Collector()
        let handle = client.addRewardListener(listener: collector)
        guard case let .rewarded(reward) = try await client.reportAction(campaignId: mock.campaignId, momentId: "first_workout") else {
            return XCTFail("expected a reward")
        }
        for _ in 0..<1000 where collector.all.count < 2 { try await Task.sleep(nanoseconds: 10_000_000) }
        let events = collector.all
        guard events.count >= 2, case .snapshot = events[0], case let .rewardIssued(issued) = events[1] else {
            return XCTFail("unexpected events \(events)")
        }
        XCTAssertEqual(issued.id, reward.id)
        handle.cancel()
        XCTAssertFalse(handle.isActive())

        var iterator = client.rewardEvents().makeAsyncIterator()
        guard case let .snapshot(rewards, _) = await iterator.next() else { return XCTFail("expected a snapshot") }
        XCTAssertEqual(rewards.map(\.id), [reward.id])
    }

    func testCancelledCalls() async throws {
        let hanging = ClosureTokenProvider {
            try await Task.sleep(nanoseconds: 3_600_000_000_000) // the app's backend hangs
            throw AppBackendDown()
        }
        let client = try makeClient(hanging)
        let token = CancellationToken()
        let campaignId = mock.campaignId
        let call = Task { try await client.reportAction(campaignId: campaignId, momentId: "first_workout", cancellation: token) }
        token.cancel()
        do {
            _ = try await call.value
            XCTFail("cancelled")
        } catch let error as MomentsError {
            XCTAssertEqual(error.code, "cancelled")
        }
        // cancelAll cancels the calls in flight: wait until the call is in the provider (a client of
        // its own, so no earlier call's entry counts), not for a guessed delay.
        let (entered, enter) = AsyncStream<Void>.makeStream()
        let waiting = ClosureTokenProvider {
            enter.yield()
            try await Task.sleep(nanoseconds: 3_600_000_000_000)
            throw AppBackendDown()
        }
        let other = try makeClient(waiting)
        let pending = Task { try await other.rewardInfo(campaignId: campaignId, momentId: "first_workout") }
        // Bounded: a call that never reaches the provider fails the test instead of hanging it.
        let reached = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                var entries = entered.makeAsyncIterator()
                return await entries.next() != nil
            }
            group.addTask {
                try? await Task.sleep(nanoseconds: 10_000_000_000)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        XCTAssertTrue(reached, "the call reached the token provider")
        other.cancelAll()
        do {
            _ = try await pending.value
            XCTFail("cancelled by cancelAll")
        } catch let error as MomentsError {
            XCTAssertEqual(error.code, "cancelled")
        }
    }

    /// Runs `body` on a plain thread (as code without Swift concurrency would) and waits for its result.
    private func onThread<T>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            box.result = Result { try body() }
            done.signal()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success, "the blocking calls finished")
        return try XCTUnwrap(box.result).get()
    }

    func testBlockingViewMakesTheSameCallsAndSharesTheClient() throws {
        let provider = CountingProvider(mock, customerId: customerId)
        let client = try makeClient(provider)
        let campaignId = mock.campaignId
        let (info, outcome, mine) = try onThread { () -> (RewardInfo, ActionOutcome, [Reward]) in
            let blocking = client.blocking()
            let info = try blocking.rewardInfo(campaignId: campaignId, momentId: "first_workout")
            let outcome = try blocking.reportAction(campaignId: campaignId, momentId: "first_workout")
            return (info, outcome, try blocking.myRewards())
        }
        XCTAssertEqual(info.campaignId, campaignId)
        guard case let .rewarded(reward) = outcome else { return XCTFail("expected a reward, got \(outcome)") }
        XCTAssertTrue(mine.contains { $0.id == reward.id })
        XCTAssertEqual(provider.calls, 1, "one token cache for the client and its blocking view")
        XCTAssertEqual(client.status(), .online)
        let capped = try onThread { () -> String in
            do {
                _ = try client.blocking().reportAction(campaignId: campaignId, momentId: "first_workout")
                return "no error"
            } catch let error as MomentsError {
                return error.code
            }
        }
        XCTAssertEqual(capped, "frequency_cap_reached")
    }

    func testThrowingTokenProviderIsATypedError() async throws {
        let client = try makeClient(ClosureTokenProvider { throw AppBackendDown() })
        do {
            _ = try await client.rewardInfo(campaignId: mock.campaignId, momentId: "first_workout")
            XCTFail("the provider threw")
        } catch let error as MomentsError {
            XCTAssertEqual(error.code, "token_provider_failed")
            guard case .TokenProvider = error else { return XCTFail("expected .TokenProvider, got \(error)") }
        }
    }

    func testActionQueuedOfflineIsDeliveredAndTheListenerIsTold() async throws {
        let listener = OutboxRecorder()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("moments-outbox-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let client = try makeClient(CountingProvider(mock, customerId: customerId))
        let outbox = try await client.openOutbox(path: dir.appendingPathComponent("outbox.sqlite").path, listener: listener)

        // More resets than attempts can happen before the fault is cleared.
        try await mock.injectFault(route: "POST /v1/triggers", count: 100, action: "reset")
        let key = try await outbox.enqueue(
            customerId: customerId, marketplace: "US", campaignId: mock.campaignId, momentId: "first_workout"
        )
        XCTAssertFalse(key.isEmpty)
        let offline = try await outbox.flush()
        XCTAssertEqual(offline.queued + offline.inflight, 1, "the connection was reset: the action stays queued")
        XCTAssertTrue(listener.events.isEmpty)

        try await mock.clearFaults()
        outbox.networkAvailable()
        _ = try await outbox.flush()
        // The listener may be told just after flush returns: wait for it (bounded).
        for _ in 0..<600 where listener.events.isEmpty {
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        XCTAssertEqual(listener.events.count, 1)
        XCTAssertEqual(listener.events.first?.0, "delivered")
        XCTAssertEqual(listener.events.first?.1, key)
        let url = try XCTUnwrap(listener.events.first?.2)
        XCTAssertTrue(url.hasPrefix("http"), url)
        let status = try await mock.status(of: url)
        XCTAssertEqual(status, 200, "the reward page opens")
        let after = try await outbox.counts()
        XCTAssertEqual(after.queued + after.inflight + after.failed, 0)
    }

    func testAnAppKeyIsLookedUpAndARepeatAfterDeliveryReportsTheFirstReward() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("moments-outbox-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let client = try makeClient(CountingProvider(mock, customerId: customerId))
        let listener = OutboxRecorder()
        let outbox = try await client.openOutbox(path: dir.appendingPathComponent("outbox.sqlite").path, listener: listener)
        let key = "app-key-" + UUID().uuidString
        let lookedUp = try await outbox.lookup(idempotencyKey: key)
        XCTAssertEqual(lookedUp, .unknown)

        try await mock.injectFault(route: "POST /v1/triggers", count: 100, action: "reset")
        let first = try await outbox.enqueueWithKey(
            idempotencyKey: key, customerId: customerId, marketplace: "US", campaignId: mock.campaignId,
            momentId: "first_workout"
        )
        XCTAssertEqual(first, OutboxEnqueued(duplicate: false, status: .queued(attempts: 0, lastError: nil)))
        _ = try await outbox.flush()
        // Queued after its failed attempt (or, if the lookup came late, in its next attempt).
        switch try await outbox.lookup(idempotencyKey: key) {
        case let .queued(attempts, lastError):
            XCTAssertGreaterThanOrEqual(attempts, 1)
            XCTAssertNotNil(lastError)
        case let .inFlight(attempt):
            XCTAssertGreaterThanOrEqual(attempt, 2)
        case let other:
            XCTFail("not queued after a reset connection: \(other)")
        }

        try await mock.clearFaults()
        _ = try await outbox.flush()
        // The outcome is recorded before the listener is told: wait for it (bounded).
        for _ in 0..<600 where listener.events.isEmpty {
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        XCTAssertEqual(listener.events.first?.1, key)
        let delivered = try await outbox.lookup(idempotencyKey: key)
        guard case let .delivered(_, rewardUrl, _, _) = delivered, let url = rewardUrl else {
            return XCTFail("not delivered: \(delivered)")
        }
        let status = try await mock.status(of: url)
        XCTAssertEqual(status, 200, "the reward page opens")

        // The app enqueues the same action again (killed before it learnt the outcome): the first reward.
        let again = try await outbox.enqueueWithKey(
            idempotencyKey: key, customerId: customerId, marketplace: "US", campaignId: mock.campaignId,
            momentId: "first_workout"
        )
        XCTAssertEqual(again, OutboxEnqueued(duplicate: true, status: delivered))
        let after = try await outbox.flush()
        XCTAssertEqual(after.queued + after.inflight + after.failed, 0)
        let mine = try await client.myRewards()
        XCTAssertEqual(mine.map { $0.url }, [url], "one reward, the first")

        do {
            _ = try await outbox.enqueueWithKey(
                idempotencyKey: key, customerId: customerId, marketplace: "US", campaignId: mock.campaignId,
                momentId: "five_workouts"
            )
            XCTFail("another action under a delivered key was accepted")
        } catch let MomentsError.InvalidArgument(code, _, _, _) {
            XCTAssertEqual(code, "idempotency_conflict")
        }
        do {
            _ = try await outbox.lookup(idempotencyKey: "")
            XCTFail("an empty key was looked up")
        } catch let MomentsError.InvalidArgument(code, _, _, _) {
            XCTAssertEqual(code, "invalid_idempotency_key")
        }
    }
}

/// Records what the outbox reports: (kind, idempotency key, reward URL or error code / reason).
final class OutboxRecorder: OutboxEventListener, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [(String, String, String?)] = []
    var events: [(String, String, String?)] { lock.withLock { recorded } }
    private func add(_ e: (String, String, String?)) { lock.withLock { recorded.append(e) } }

    func onDelivered(idempotencyKey: String, rewardUrl: String?, progressCurrent: UInt64?, progressTarget: UInt64?) {
        add(("delivered", idempotencyKey, rewardUrl))
    }
    func onFailed(idempotencyKey: String, code: String, reason: String) { add(("failed", idempotencyKey, code)) }
    func onDropped(idempotencyKey: String, reason: String) { add(("dropped", idempotencyKey, reason)) }
    func onPaused(code: String) { add(("paused", "", code)) }
}
