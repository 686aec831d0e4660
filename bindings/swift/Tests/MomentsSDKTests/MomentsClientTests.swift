// The public Swift API (plain `import`, Swift 6 language mode) against the real native library and a mock server.
import Foundation
import MomentsSDK
import XCTest

/// Counts things across tasks.
actor Counter {
    private(set) var value = 0
    func increment() { value += 1 }
}

/// An app's ordinary backend client: a class that is not `Sendable`, as most are.
final class AppBackend {
    let mock: MockServer
    let customerId: String
    var ttlSeconds: Int?
    var fetched = 0

    init(_ mock: MockServer, customerId: String, ttlSeconds: Int? = nil) {
        self.mock = mock
        self.customerId = customerId
        self.ttlSeconds = ttlSeconds
    }

    func customerToken() async throws -> CustomerToken {
        fetched += 1
        return try await mock.mintToken(customerId: customerId, ttlSeconds: ttlSeconds)
    }
}

struct AppBackendDown: Error {}

/// Waits for the first element of `stream` that `matches`, for at most `seconds`.
func first<T: Sendable>(
    _ stream: AsyncStream<T>, within seconds: Double = 10, where matches: @escaping @Sendable (T) -> Bool = { _ in true }
) async -> T? {
    await withTaskGroup(of: T?.self) { group in
        group.addTask {
            for await element in stream where matches(element) {
                return element
            }
            return nil
        }
        group.addTask {
            try? await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
            return nil
        }
        let found = await group.next() ?? nil
        group.cancelAll()
        return found
    }
}

final class MomentsClientTests: XCTestCase {
    let customerId = "cust_sw_" + UUID().uuidString.prefix(8)

    func makeClient(_ mock: MockServer, _ provider: TokenProvider) throws -> MomentsClient {
        try MomentsClient(
            config: ClientConfig(baseURL: mock.url, device: DeviceInfo(type: .iOS, id: "device-sw-1")),
            tokenProvider: provider
        )
    }

    /// A provider over an `AppBackend` (not `Sendable`) that counts its fetches.
    func countingProvider(_ mock: MockServer, ttlSeconds: Int? = nil) -> (TokenProvider, Counter) {
        let counter = Counter()
        let backend = AppBackend(mock, customerId: customerId, ttlSeconds: ttlSeconds)
        let provider = TokenProvider {
            await counter.increment()
            return try await backend.customerToken()
        }
        return (provider, counter)
    }

    func testRewardInfoAndOneTokenForTwentyConcurrentCalls() async throws {
        let mock = try await MockServer.start()
        defer { mock.stop() }
        let (provider, fetches) = countingProvider(mock)
        let client = try makeClient(mock, provider)
        let campaignId = mock.campaignId
        let infos = try await withThrowingTaskGroup(of: RewardInfo.self) { group in
            for _ in 0..<20 {
                group.addTask { try await client.rewardInfo(campaignID: campaignId, momentID: "first_workout") }
            }
            return try await group.reduce(into: [RewardInfo]()) { $0.append($1) }
        }
        XCTAssertEqual(infos.count, 20)
        XCTAssertTrue(infos.allSatisfy { $0.campaignID == campaignId && !$0.offer.isEmpty })
        XCTAssertTrue(infos.allSatisfy { $0.remainingRewardCount > 0 && $0.campaignEndAt > Date() })
        let fetchedOnce = await fetches.value
        XCTAssertEqual(fetchedOnce, 1)
        let goal = try await client.rewardInfo(campaignID: campaignId, momentID: "five_workouts").goal
        XCTAssertEqual(goal?.target, 5)
        XCTAssertGreaterThan(goal?.window ?? 0, 0)
        let fetchedStill = await fetches.value
        XCTAssertEqual(fetchedStill, 1, "the token is cached")
    }

    func testOneProviderSharedByTwoClientsRunsItsClosureOneCallAtATime() async throws {
        let mock = try await MockServer.start()
        defer { mock.stop() }
        /// How many fetches run at once, at most.
        actor Overlap {
            private var running = 0
            private(set) var most = 0
            private(set) var calls = 0
            func enter() { running += 1; calls += 1; most = max(most, running) }
            func leave() { running -= 1 }
        }
        let overlap = Overlap()
        let backend = AppBackend(mock, customerId: customerId)
        let provider = TokenProvider {
            await overlap.enter()
            try await Task.sleep(nanoseconds: 300_000_000)
            let token = try await backend.customerToken()
            await overlap.leave()
            return token
        }
        // Each client has its own token cache, so both ask the provider at the same time.
        let first = try makeClient(mock, provider)
        let second = try makeClient(mock, provider)
        let campaignId = mock.campaignId
        async let a = first.rewardInfo(campaignID: campaignId, momentID: "first_workout")
        async let b = second.rewardInfo(campaignID: campaignId, momentID: "first_workout")
        _ = try await (a, b)
        let most = await overlap.most
        let calls = await overlap.calls
        XCTAssertEqual(most, 1, "the closure ran twice at the same time")
        XCTAssertEqual(calls, 1, "the second request joined the first fetch")
    }

    func testExpiredTokenIsRefreshed() async throws {
        let mock = try await MockServer.start()
        defer { mock.stop() }
        let (provider, fetches) = countingProvider(mock, ttlSeconds: 60)
        let client = try makeClient(mock, provider)
        _ = try await client.rewardInfo(campaignID: mock.campaignId, momentID: "first_workout")
        try await mock.advanceClock(seconds: 120)
        _ = try await client.rewardInfo(campaignID: mock.campaignId, momentID: "first_workout")
        let fetched = await fetches.value
        XCTAssertEqual(fetched, 2)
    }

    func testReportedMomentGivesARewardURLThatOpensThenTheFrequencyCap() async throws {
        let mock = try await MockServer.start()
        defer { mock.stop() }
        let client = try makeClient(mock, countingProvider(mock).0)
        guard case let .rewarded(reward) = try await client.reportAction(campaignID: mock.campaignId, momentID: "first_workout") else {
            return XCTFail("expected a reward")
        }
        let status = try await mock.status(of: reward.url)
        XCTAssertEqual(status, 200)
        XCTAssertEqual(reward.status, .issued)
        XCTAssertGreaterThan(reward.expiresAt, reward.createdAt)
        do {
            _ = try await client.reportAction(campaignID: mock.campaignId, momentID: "first_workout")
            XCTFail("the second report must hit the frequency cap")
        } catch MomentsError.api(let context) {
            XCTAssertEqual(context.code, .frequencyCapReached)
            XCTAssertTrue(context.requestID?.hasPrefix("req_") ?? false, "\(context)")
            XCTAssertFalse(context.isRetryable)
            XCTAssertEqual(context.httpStatus, 422)
        }
        let mine = try await client.myRewards()
        XCTAssertTrue(mine.contains { $0.id == reward.id && $0.url == reward.url })
    }

    func testErrorsReadTheSameWhateverTheKindAndDescribeThemselvesForPeople() async throws {
        let mock = try await MockServer.start()
        defer { mock.stop() }
        let client = try makeClient(mock, countingProvider(mock).0)
        _ = try await client.reportAction(campaignID: mock.campaignId, momentID: "first_workout")
        do {
            _ = try await client.reportAction(campaignID: mock.campaignId, momentID: "first_workout")
            XCTFail("capped")
        } catch {
            // What a generic `catch` shows people: a sentence, not the case's fields.
            XCTAssertEqual(error.localizedDescription, "You have already received this reward.")
            let error = try XCTUnwrap(error as? MomentsError)
            XCTAssertEqual(error.code, .frequencyCapReached)
            XCTAssertEqual(error.code.rawValue, "frequency_cap_reached")
            XCTAssertFalse(error.isRetryable)
            XCTAssertEqual(error.httpStatus, 422)
            XCTAssertFalse(error.message.isEmpty)
            // For logs: the kind, code, status and request id.
            XCTAssertTrue(String(describing: error).hasPrefix("MomentsError.api frequency_cap_reached, HTTP 422, req_"), "\(error)")
        }

        let offline = MomentsError.network(.init(code: .networkError, message: "connection refused", isRetryable: true))
        XCTAssertEqual(offline.localizedDescription, "The rewards service could not be reached. Check your connection and try again.")
        XCTAssertEqual((offline as LocalizedError).recoverySuggestion, "Try again later.")
        XCTAssertNil(offline.httpStatus)
        XCTAssertNil(offline.requestID)
    }

    func testGoalProgress() async throws {
        let mock = try await MockServer.start()
        defer { mock.stop() }
        let client = try makeClient(mock, countingProvider(mock).0)
        guard case let .inProgress(progress) = try await client.reportAction(campaignID: mock.campaignId, momentID: "five_workouts", quantity: 3) else {
            return XCTFail("expected progress")
        }
        XCTAssertEqual(progress.current, 3)
        XCTAssertEqual(progress.target, 5)
        XCTAssertFalse(progress.isCompleted)
        let all = try await client.myProgress(campaignID: mock.campaignId)
        XCTAssertEqual(all.first { $0.momentID == "five_workouts" }?.current, 3)
    }

    func testTypedErrorsNotReportableAndNotLive() async throws {
        let mock = try await MockServer.start()
        defer { mock.stop() }
        let client = try makeClient(mock, countingProvider(mock).0)
        do {
            _ = try await client.reportAction(campaignID: mock.campaignId, momentID: "level_5")
            XCTFail("level_5 is not client reportable")
        } catch let error as MomentsError where error.code == .momentNotClientReportable {
            guard case .api = error else { return XCTFail("expected .api, got \(error)") }
        }
        try await mock.advanceClock(seconds: 200 * 24 * 3600)
        do {
            _ = try await client.reportAction(campaignID: mock.campaignId, momentID: "first_workout")
            XCTFail("the campaign finished")
        } catch MomentsError.api(let context) {
            XCTAssertEqual(context.code, .campaignNotLive)
        }
    }

    func testRewardEventsStreamAndListenerSeeTheSnapshotThenTheReward() async throws {
        let mock = try await MockServer.start()
        defer { mock.stop() }
        let client = try makeClient(mock, countingProvider(mock).0)
        let (heard, hear) = AsyncStream<RewardEvent>.makeStream()
        let handle = client.addRewardListener { hear.yield($0) }
        XCTAssertTrue(handle.isActive)
        guard case let .rewarded(reward) = try await client.reportAction(campaignID: mock.campaignId, momentID: "first_workout") else {
            return XCTFail("expected a reward")
        }
        var events = heard.makeAsyncIterator()
        guard case .snapshot = await events.next(), case let .rewardIssued(issued) = await events.next() else {
            return XCTFail("expected a snapshot, then the reward")
        }
        XCTAssertEqual(issued, reward)
        handle.cancel()
        XCTAssertFalse(handle.isActive)

        // A new stream starts from what the client knows now.
        let snapshot = await first(client.rewardEvents())
        guard case let .snapshot(rewards, _) = snapshot else { return XCTFail("expected a snapshot, got \(String(describing: snapshot))") }
        XCTAssertEqual(rewards.map(\.id), [reward.id])
    }

    func testStatusUpdatesStartWithTheCurrentStatusThenFollowIt() async throws {
        let mock = try await MockServer.start()
        defer { mock.stop() }
        let client = try makeClient(mock, countingProvider(mock).0)
        XCTAssertEqual(client.status, .idle)
        let updates = client.statusUpdates()
        let firstStatus = await first(updates)
        XCTAssertEqual(firstStatus, .idle)
        _ = try await client.rewardInfo(campaignID: mock.campaignId, momentID: "first_workout")
        let online = await first(updates) { $0 == .online }
        XCTAssertEqual(online, .online)
        XCTAssertEqual(client.status, .online)

        // A provider that throws: the status says why.
        let failing = try makeClient(mock, TokenProvider { throw AppBackendDown() })
        _ = try? await failing.myRewards()
        XCTAssertEqual(failing.status, .unauthenticated(.tokenProviderFailed))
    }

    func testCancelledCalls() async throws {
        let mock = try await MockServer.start()
        defer { mock.stop() }
        let hanging = TokenProvider {
            try await Task.sleep(nanoseconds: 3_600_000_000_000) // the app's backend hangs
            throw AppBackendDown()
        }
        let client = try makeClient(mock, hanging)
        let campaignId = mock.campaignId

        // By token.
        let token = CancellationToken()
        let byToken = Task { try await client.reportAction(campaignID: campaignId, momentID: "first_workout", cancellation: token) }
        token.cancel()
        XCTAssertTrue(token.isCancelled)
        do {
            _ = try await byToken.value
            XCTFail("cancelled")
        } catch MomentsError.cancelled(let context) {
            XCTAssertEqual(context.code, .cancelled)
        }

        // By cancelling the task, for a call without a token: it ends at once.
        let started = Date()
        let byTask = Task { try await client.rewardInfo(campaignID: campaignId, momentID: "first_workout") }
        try await Task.sleep(nanoseconds: 200_000_000)
        byTask.cancel()
        do {
            _ = try await byTask.value
            XCTFail("cancelled")
        } catch MomentsError.cancelled {}
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)

        // cancelAll cancels the calls in flight: wait until the call is in the provider (a client of its own, so
        // no earlier call's entry counts), not for a guessed delay.
        let (entered, enter) = AsyncStream<Void>.makeStream()
        let waiting = TokenProvider {
            enter.yield()
            try await Task.sleep(nanoseconds: 3_600_000_000_000)
            throw AppBackendDown()
        }
        let other = try makeClient(mock, waiting)
        let pending = Task { try await other.myRewards() }
        let reached: Void? = await first(entered)
        XCTAssertNotNil(reached, "the call reached the token provider")
        other.cancelAll()
        do {
            _ = try await pending.value
            XCTFail("cancelled by cancelAll")
        } catch let error as MomentsError {
            XCTAssertEqual(error.code, .cancelled)
        }
    }

    func testCancellingTheTaskOfAReportCancelsItInRustDownToTheTokenFetch() async throws {
        let mock = try await MockServer.start()
        defer { mock.stop() }
        let (entered, enter) = AsyncStream<Void>.makeStream()
        let (stopped, stop) = AsyncStream<Void>.makeStream()
        let provider = TokenProvider {
            enter.yield()
            do {
                try await Task.sleep(nanoseconds: 3_600_000_000_000) // the app's backend hangs
            } catch {
                stop.yield() // the SDK cancelled the fetch
                throw error
            }
            throw AppBackendDown()
        }
        let client = try makeClient(mock, provider)
        let campaignId = mock.campaignId
        let report = Task { try await client.reportAction(campaignID: campaignId, momentID: "first_workout") }
        let reached: Void? = await first(entered)
        XCTAssertNotNil(reached, "the report reached the token provider")
        report.cancel()
        do {
            _ = try await report.value
            XCTFail("cancelled")
        } catch MomentsError.cancelled {}
        let cancelledInRust: Void? = await first(stopped, within: 10)
        XCTAssertNotNil(cancelledInRust, "the Rust call went on: the provider's fetch was never cancelled")
    }

    /// Runs `body` on a plain thread (as code without Swift concurrency would) and waits for its result.
    private func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try body() })
            }
        }
    }

    func testBlockingViewMakesTheSameCallsAndSharesTheClient() async throws {
        let mock = try await MockServer.start()
        defer { mock.stop() }
        let (provider, fetches) = countingProvider(mock)
        let client = try makeClient(mock, provider)
        let campaignId = mock.campaignId
        let (info, outcome, mine) = try await onThread { () -> (RewardInfo, ActionOutcome, [Reward]) in
            let blocking = client.blocking()
            let info = try blocking.rewardInfo(campaignID: campaignId, momentID: "first_workout")
            let outcome = try blocking.reportAction(campaignID: campaignId, momentID: "first_workout")
            return (info, outcome, try blocking.myRewards())
        }
        XCTAssertEqual(info.campaignID, campaignId)
        guard case let .rewarded(reward) = outcome else { return XCTFail("expected a reward, got \(outcome)") }
        XCTAssertTrue(mine.contains { $0.id == reward.id })
        let fetched = await fetches.value
        XCTAssertEqual(fetched, 1, "one token cache for the client and its blocking view")
        XCTAssertEqual(client.status, .online)
        XCTAssertEqual(client.blocking().status, .online)
        let capped = try await onThread { () -> MomentsError.Code? in
            do {
                _ = try client.blocking().reportAction(campaignID: campaignId, momentID: "first_workout")
                return nil
            } catch let error as MomentsError {
                return error.code
            }
        }
        XCTAssertEqual(capped, .frequencyCapReached)
    }

    func testThrowingTokenProviderIsATypedError() async throws {
        let mock = try await MockServer.start()
        defer { mock.stop() }
        let client = try makeClient(mock, TokenProvider { throw AppBackendDown() })
        do {
            _ = try await client.rewardInfo(campaignID: mock.campaignId, momentID: "first_workout")
            XCTFail("the provider threw")
        } catch MomentsError.tokenProvider(let context) {
            XCTAssertEqual(context.code, .tokenProviderFailed)
        }
    }

    func testAnUnusableConfigurationIsAnInvalidArgument() throws {
        let config = ClientConfig(baseURL: URL(string: "ftp://example.com")!, device: DeviceInfo(type: .iOS))
        XCTAssertThrowsError(try MomentsClient(config: config, tokenProvider: TokenProvider { throw AppBackendDown() })) { error in
            guard case MomentsError.invalidArgument(let context) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(context.code, .invalidArgument)
        }
    }

    func testATrustedCertificateThatIsNoneIsRefusedWhenTheClientIsMade() throws {
        let garbage = Data("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".utf8)
        let config = ClientConfig(
            baseURL: URL(string: "https://rewards.example.com")!,
            device: DeviceInfo(type: .iOS),
            trustedCertificates: [garbage]
        )
        XCTAssertThrowsError(try MomentsClient(config: config, tokenProvider: TokenProvider { throw AppBackendDown() })) { error in
            guard case MomentsError.invalidArgument(let context) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(context.message.contains("trusted certificate #1"), context.message)
        }
    }

    func testLogSinkReceivesTheSDKsRecordsWithoutTheToken() async throws {
        let mock = try await MockServer.start()
        defer { mock.stop() }
        let (records, record) = AsyncStream<LogRecord>.makeStream()
        setLogSink(level: .debug) { record.yield($0) }
        defer { clearLogSink() }
        let token = try await mock.mintToken(customerId: customerId)
        let client = try makeClient(mock, TokenProvider { token })
        _ = try await client.rewardInfo(campaignID: mock.campaignId, momentID: "first_workout")
        clearLogSink()
        record.finish()
        var seen: [LogRecord] = []
        for await entry in records { seen.append(entry) }
        XCTAssertFalse(seen.isEmpty, "the SDK logged the call")
        XCTAssertTrue(seen.allSatisfy { $0.level >= .debug })
        XCTAssertFalse(seen.contains { $0.message.contains(token.token) }, "a token was logged")
    }

    func testActionQueuedOfflineIsDeliveredAndTheAppIsTold() async throws {
        let mock = try await MockServer.start()
        defer { mock.stop() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("moments-outbox-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let client = try makeClient(mock, countingProvider(mock).0)
        let (events, tell) = AsyncStream<OutboxEvent>.makeStream()
        let outbox = try await client.openOutbox(at: dir.appendingPathComponent("outbox.sqlite")) { tell.yield($0) }

        // More resets than attempts can happen before the fault is cleared.
        try await mock.injectFault(route: "POST /v1/triggers", count: 100, action: "reset")
        let key = try await outbox.enqueue(
            customerID: customerId, marketplace: "US", campaignID: mock.campaignId, momentID: "first_workout"
        )
        XCTAssertFalse(key.isEmpty)
        let offline = try await outbox.flush()
        XCTAssertEqual(offline.queued + offline.inFlight, 1, "the connection was reset: the action stays queued")

        try await mock.clearFaults()
        outbox.networkAvailable()
        try await outbox.flush()
        // The app may be told just after flush returns: wait for it (bounded).
        let told = await first(events, within: 30)
        guard case let .delivered(deliveredKey, rewardURL, _, _) = told, let url = rewardURL else {
            return XCTFail("not delivered: \(String(describing: told))")
        }
        XCTAssertEqual(deliveredKey, key)
        let status = try await mock.status(of: url)
        XCTAssertEqual(status, 200, "the reward page opens")
        let after = try await outbox.counts()
        XCTAssertEqual(after.queued + after.inFlight + after.failed, 0)
    }

    func testAnAppKeyIsLookedUpAndARepeatAfterDeliveryReportsTheFirstReward() async throws {
        let mock = try await MockServer.start()
        defer { mock.stop() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("moments-outbox-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let client = try makeClient(mock, countingProvider(mock).0)
        let (events, tell) = AsyncStream<OutboxEvent>.makeStream()
        let outbox = try await client.openOutbox(at: dir.appendingPathComponent("outbox.sqlite")) { tell.yield($0) }
        let key = "app-key-" + UUID().uuidString
        let lookedUp = try await outbox.lookup(idempotencyKey: key)
        XCTAssertEqual(lookedUp, .unknown)

        try await mock.injectFault(route: "POST /v1/triggers", count: 100, action: "reset")
        let first = try await outbox.enqueue(
            idempotencyKey: key, customerID: customerId, marketplace: "US", campaignID: mock.campaignId,
            momentID: "first_workout"
        )
        XCTAssertFalse(first.isDuplicate)
        XCTAssertEqual(first.status, .queued(attempts: 0, lastError: nil))
        try await outbox.flush()
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
        try await outbox.flush()
        // The outcome is recorded before the app is told: wait for it (bounded).
        let told = await MomentsSDKTests.first(events, within: 30)
        guard case let .delivered(toldKey, _, _, _) = told else { return XCTFail("not told: \(String(describing: told))") }
        XCTAssertEqual(toldKey, key)
        let delivered = try await outbox.lookup(idempotencyKey: key)
        guard case let .delivered(_, rewardURL, _, _) = delivered, let url = rewardURL else {
            return XCTFail("not delivered: \(delivered)")
        }
        let status = try await mock.status(of: url)
        XCTAssertEqual(status, 200, "the reward page opens")

        // The app enqueues the same action again (killed before it learnt the outcome): the first reward.
        let again = try await outbox.enqueue(
            idempotencyKey: key, customerID: customerId, marketplace: "US", campaignID: mock.campaignId,
            momentID: "first_workout"
        )
        XCTAssertTrue(again.isDuplicate)
        XCTAssertEqual(again.status, delivered)
        let after = try await outbox.flush()
        XCTAssertEqual(after.queued + after.inFlight + after.failed, 0)
        let mine = try await client.myRewards()
        XCTAssertEqual(mine.map(\.url), [url], "one reward, the first")

        do {
            _ = try await outbox.enqueue(
                idempotencyKey: key, customerID: customerId, marketplace: "US", campaignID: mock.campaignId,
                momentID: "five_workouts"
            )
            XCTFail("another action under a delivered key was accepted")
        } catch MomentsError.invalidArgument(let context) {
            XCTAssertEqual(context.code, .idempotencyConflict)
        }
        do {
            _ = try await outbox.lookup(idempotencyKey: "")
            XCTFail("an empty key was looked up")
        } catch MomentsError.invalidArgument(let context) {
            XCTAssertEqual(context.code, .invalidIdempotencyKey)
        }
    }
}
