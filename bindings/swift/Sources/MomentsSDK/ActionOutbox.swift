import Foundation
internal import MomentsBindings

/// A durable queue of actions, delivered to the Rewards API when the network allows.
///
/// An enqueued action is written to a SQLite file with its idempotency key before any network attempt, and
/// delivered in the background with that same key on every attempt, so it is rewarded once even if the app is
/// offline or killed. Open one per file with ``MomentsClient/openOutbox(at:onEvent:)``. Releasing it stops
/// delivery; queued actions stay on disk and are delivered after the next open.
public final class ActionOutbox: Sendable {
    private let ffi: MomentsBindings.ActionOutbox

    init(_ ffi: MomentsBindings.ActionOutbox) {
        self.ffi = ffi
    }

    /// Writes an action to disk; delivery happens in the background.
    ///
    /// - Parameters:
    ///   - customerID: The customer of the client's token (another customer is refused with
    ///     ``MomentsError/Code/forbidden``).
    ///   - marketplace: The marketplace of the client's token.
    ///   - campaignID: The campaign.
    ///   - momentID: The moment.
    ///   - quantity: What this action adds to a goal (1–1,000,000).
    /// - Returns: The action's idempotency key, which ``OutboxEvent``s and ``lookup(idempotencyKey:)`` use.
    /// - Throws: ``MomentsError``: ``MomentsError/invalidArgument(_:)`` (``MomentsError/Code/invalidAction``,
    ///   ``MomentsError/Code/payloadTooLarge``) or ``MomentsError/storage(_:)``
    ///   (``MomentsError/Code/outboxFull``, ``MomentsError/Code/outboxStorage``, …).
    public func enqueue(
        customerID: String,
        marketplace: String,
        campaignID: String,
        momentID: String,
        quantity: Int = 1
    ) async throws -> String {
        try await bridged { [ffi] in
            try await ffi.enqueue(
                customerId: customerID,
                marketplace: marketplace,
                campaignId: campaignID,
                momentId: momentID,
                quantity: Int32(clamping: quantity)
            )
        }
    }

    /// Like ``enqueue(customerID:marketplace:campaignID:momentID:quantity:)``, under the app's own idempotency
    /// key, which the app can store before calling so that it can ask ``lookup(idempotencyKey:)`` after a restart.
    ///
    /// While the key is known (queued, in flight, or answered in the last 48 hours), the same key and action
    /// again writes nothing and returns the first action's status, with its outcome once answered.
    ///
    /// - Parameters:
    ///   - idempotencyKey: 1–255 printable ASCII characters.
    ///   - customerID: The customer of the client's token.
    ///   - marketplace: The marketplace of the client's token.
    ///   - campaignID: The campaign.
    ///   - momentID: The moment.
    ///   - quantity: What this action adds to a goal (1–1,000,000).
    /// - Returns: Whether the key was already known, and the action's status.
    /// - Throws: ``MomentsError``: ``MomentsError/Code/idempotencyConflict`` when the key is known with another
    ///   action (nothing is written), ``MomentsError/Code/invalidIdempotencyKey``, and the errors of
    ///   ``enqueue(customerID:marketplace:campaignID:momentID:quantity:)``.
    public func enqueue(
        idempotencyKey: String,
        customerID: String,
        marketplace: String,
        campaignID: String,
        momentID: String,
        quantity: Int = 1
    ) async throws -> OutboxEnqueued {
        let enqueued = try await bridged { [ffi] in
            try await ffi.enqueueWithKey(
                idempotencyKey: idempotencyKey,
                customerId: customerID,
                marketplace: marketplace,
                campaignId: campaignID,
                momentId: momentID,
                quantity: Int32(clamping: quantity)
            )
        }
        return try OutboxEnqueued(enqueued)
    }

    /// What the outbox knows of an idempotency key.
    ///
    /// - Parameter idempotencyKey: The key ``enqueue(customerID:marketplace:campaignID:momentID:quantity:)``
    ///   returned, or the app's own.
    /// - Returns: Queued, in flight, delivered (with the reward's link or the progress), failed, or unknown.
    /// - Throws: ``MomentsError``: ``MomentsError/Code/invalidIdempotencyKey``, a storage failure.
    public func lookup(idempotencyKey: String) async throws -> OutboxActionStatus {
        try OutboxActionStatus(await bridged { [ffi] in try await ffi.lookup(idempotencyKey: idempotencyKey) })
    }

    /// Makes every queued action due now and waits until none is due (each delivered, failed, or waiting for a
    /// retry the server asked for).
    ///
    /// - Returns: The counts after.
    /// - Throws: ``MomentsError`` for a storage failure.
    @discardableResult
    public func flush() async throws -> OutboxCounts {
        OutboxCounts(try await bridged { [ffi] in try await ffi.flush() })
    }

    /// The number of actions in each state.
    ///
    /// - Returns: The counts.
    /// - Throws: ``MomentsError`` for a storage failure.
    public func counts() async throws -> OutboxCounts {
        OutboxCounts(try await bridged { [ffi] in try await ffi.counts() })
    }

    /// Tells the outbox that the network is back: actions waiting for a retry are tried now.
    public func networkAvailable() {
        ffi.networkAvailable()
    }

    /// Resumes delivery after ``OutboxEvent/paused(code:)``, once the customer has a valid session.
    public func resumeDelivery() {
        ffi.resumeDelivery()
    }

    /// Stops delivering, e.g. when the app goes to the background; ``enqueue(customerID:marketplace:campaignID:momentID:quantity:)``
    /// still works.
    ///
    /// - Throws: ``MomentsError`` for a storage failure.
    public func suspend() async throws {
        try await bridged { [ffi] in try await ffi.suspend() }
    }

    /// Delivers again after ``suspend()``.
    ///
    /// - Throws: ``MomentsError`` for a storage failure.
    public func resume() async throws {
        try await bridged { [ffi] in try await ffi.resume() }
    }
}

/// How many actions an outbox holds, by state.
public struct OutboxCounts: Sendable, Hashable {
    /// Waiting for delivery, including those waiting for a retry.
    public var queued: Int
    /// An attempt is under way.
    public var inFlight: Int
    /// Answered by the server, the app being told (transient).
    public var delivered: Int
    /// Refused for good.
    public var failed: Int

    /// Creates a value, e.g. for previews and tests of app code (the SDK's calls return them).
    public init(
        queued: Int,
        inFlight: Int,
        delivered: Int,
        failed: Int
    ) {
        self.queued = queued
        self.inFlight = inFlight
        self.delivered = delivered
        self.failed = failed
    }
}

/// What an outbox knows of an idempotency key. New cases may be added in later versions.
public enum OutboxActionStatus: Sendable, Hashable {
    /// On disk, waiting for delivery: the attempts made so far, and why the last one did not deliver.
    case queued(attempts: Int, lastError: String?)
    /// An attempt (numbered from 1) is under way.
    case inFlight(attempt: Int)
    /// The server accepted it: the reward's id and link when a reward was issued (show the link), the progress
    /// when a goal moment progressed.
    case delivered(rewardID: String?, rewardURL: URL?, progressCurrent: Int?, progressTarget: Int?)
    /// The server refused it for good; it is never retried.
    case failed(code: MomentsError.Code, message: String)
    /// Never enqueued in this outbox, dropped undelivered, or answered more than 48 hours ago.
    case unknown
}

/// The result of ``ActionOutbox/enqueue(idempotencyKey:customerID:marketplace:campaignID:momentID:quantity:)``.
public struct OutboxEnqueued: Sendable, Hashable {
    /// Whether the key was already known with the same action: nothing was written.
    public var isDuplicate: Bool
    /// ``OutboxActionStatus/queued(attempts:lastError:)`` for a new action; for a duplicate, the first action's
    /// status (its outcome once answered).
    public var status: OutboxActionStatus

    /// Creates a value, e.g. for previews and tests of app code (the SDK's calls return them).
    public init(
        isDuplicate: Bool,
        status: OutboxActionStatus
    ) {
        self.isDuplicate = isDuplicate
        self.status = status
    }
}

/// What became of an enqueued action, told to the handler given to ``MomentsClient/openOutbox(at:onEvent:)``.
///
/// Each outcome is told at least once: after an app restart it may be told again if the app died while the
/// handler ran.
public enum OutboxEvent: Sendable, Hashable {
    /// The server accepted the action: the reward's link when a reward was issued (show it), the progress when a
    /// goal moment progressed.
    case delivered(idempotencyKey: String, rewardURL: URL?, progressCurrent: Int?, progressTarget: Int?)
    /// The server refused the action for good; it is never retried.
    case failed(idempotencyKey: String, code: MomentsError.Code, message: String)
    /// The action was removed undelivered: `reason` is `expired`, `evicted` or `purged`.
    case dropped(idempotencyKey: String, reason: String)
    /// Delivery paused because the credentials were refused twice in a row; nothing is dropped. Call
    /// ``ActionOutbox/resumeDelivery()`` once the customer has a valid session.
    case paused(code: MomentsError.Code)
}

// MARK: Conversions

extension OutboxCounts {
    init(_ counts: MomentsBindings.OutboxCounts) {
        self.init(
            queued: Int(counts.queued),
            inFlight: Int(counts.inflight),
            delivered: Int(counts.delivered),
            failed: Int(counts.failed)
        )
    }
}

extension OutboxActionStatus {
    init(_ status: MomentsBindings.OutboxActionStatus) throws {
        switch status {
        case let .queued(attempts, lastError):
            self = .queued(attempts: Int(attempts), lastError: lastError)
        case let .inFlight(attempt):
            self = .inFlight(attempt: Int(attempt))
        case let .delivered(rewardId, rewardUrl, progressCurrent, progressTarget):
            self = .delivered(
                rewardID: rewardId,
                rewardURL: try rewardUrl.map { text in
                    guard let url = URL(string: text) else {
                        throw MomentsError.network(
                            .init(code: .invalidResponse, message: "the API answered an unreadable URL: \(text)")
                        )
                    }
                    return url
                },
                progressCurrent: progressCurrent.map(Int.init),
                progressTarget: progressTarget.map(Int.init)
            )
        case let .failed(code, reason):
            self = .failed(code: MomentsError.Code(code), message: reason)
        case .unknown:
            self = .unknown
        }
    }
}

extension OutboxEnqueued {
    init(_ enqueued: MomentsBindings.OutboxEnqueued) throws {
        self.init(isDuplicate: enqueued.duplicate, status: try OutboxActionStatus(enqueued.status))
    }
}

final class OutboxClosureListener: MomentsBindings.OutboxEventListener {
    let handler: @Sendable (OutboxEvent) -> Void

    init(_ handler: @escaping @Sendable (OutboxEvent) -> Void) {
        self.handler = handler
    }

    func onDelivered(idempotencyKey: String, rewardUrl: String?, progressCurrent: Int64?, progressTarget: Int64?) {
        handler(
            .delivered(
                idempotencyKey: idempotencyKey,
                rewardURL: rewardUrl.flatMap(URL.init(string:)),
                progressCurrent: progressCurrent.map(Int.init),
                progressTarget: progressTarget.map(Int.init)
            )
        )
    }

    func onFailed(idempotencyKey: String, code: MomentsBindings.ErrorCode, reason: String) {
        handler(.failed(idempotencyKey: idempotencyKey, code: MomentsError.Code(code), message: reason))
    }

    func onDropped(idempotencyKey: String, reason: String) {
        handler(.dropped(idempotencyKey: idempotencyKey, reason: reason))
    }

    func onPaused(code: MomentsBindings.ErrorCode) {
        handler(.paused(code: MomentsError.Code(code)))
    }
}
