import Foundation
internal import MomentsBindings

/// The Moments client of an app, acting for one customer: the one its ``TokenProvider``'s tokens are for.
///
/// Create one per signed-in customer and keep it. Every call runs on the SDK's own threads, never blocks the
/// caller, and may be called from any task or actor. Cancelling the calling task ends the call at once with
/// ``MomentsError/cancelled(_:)``; ``cancelAll()`` and, for
/// ``reportAction(campaignID:momentID:quantity:cancellation:)``, a ``CancellationToken`` cancel calls too. Code without Swift concurrency uses ``blocking()``.
///
/// ```swift
/// let client = try MomentsClient(
///     config: ClientConfig(baseURL: apiURL, device: DeviceInfo(type: .iOS, id: installID)),
///     tokenProvider: TokenProvider { try await backend.customerToken() }
/// )
/// ```
public final class MomentsClient: Sendable {
    let ffi: MomentsBindings.MomentsClient

    /// Creates the client. Does no I/O: the token provider is first called by the first call that needs a token.
    ///
    /// - Parameters:
    ///   - config: Where the API is, the device, timeouts and retries.
    ///   - tokenProvider: Fetches customer tokens from the app's backend.
    /// - Throws: ``MomentsError/invalidArgument(_:)`` when the configuration is unusable (a base URL that is not
    ///   HTTP or HTTPS, a timeout that is not positive, a trusted certificate that is not one).
    public init(config: ClientConfig, tokenProvider: TokenProvider) throws {
        let adapter = tokenProvider.adapter
        ffi = try bridged { try MomentsBindings.MomentsClient(config: config.ffi, tokenProvider: adapter) }
    }

    /// Describes the reward of a moment, to announce the challenge. Consumes nothing.
    ///
    /// - Parameters:
    ///   - campaignID: The campaign.
    ///   - momentID: The moment.
    /// - Returns: What completing the moment earns, how many rewards are left, and the goal of a goal moment.
    /// - Throws: ``MomentsError``, e.g. ``MomentsError/Code/resourceNotFound`` for an unknown campaign or moment.
    public func rewardInfo(campaignID: String, momentID: String) async throws -> RewardInfo {
        let info = try await bridged { [ffi] in try await ffi.rewardInfo(campaignId: campaignID, momentId: momentID) }
        return try RewardInfo(info)
    }

    /// Reports that the customer completed an action of a moment the campaign lets apps report.
    ///
    /// One idempotency key is made per call and reused on every retry, so a retried call never issues two
    /// rewards.
    ///
    /// - Parameters:
    ///   - campaignID: The campaign.
    ///   - momentID: The moment.
    ///   - quantity: What this action adds to a goal (1–1,000,000).
    ///   - cancellation: A token that cancels this call when cancelled.
    /// - Returns: ``ActionOutcome/rewarded(_:)`` with the issued reward (show its ``Reward/url``), or, for a
    ///   goal moment not met yet, ``ActionOutcome/inProgress(_:)``.
    /// - Throws: ``MomentsError``: ``MomentsError/Code/frequencyCapReached``,
    ///   ``MomentsError/Code/campaignNotLive``, ``MomentsError/Code/momentNotClientReportable`` (report it
    ///   from the brand's server), a network failure, …
    public func reportAction(
        campaignID: String,
        momentID: String,
        quantity: Int = 1,
        cancellation: CancellationToken? = nil
    ) async throws -> ActionOutcome {
        // Without a token of the app's, one of its own lets a cancelled task cancel the Rust call itself.
        let token = cancellation?.ffi ?? MomentsBindings.CancellationToken()
        let ownToken = cancellation == nil
        let outcome = try await bridged(onCancel: { if ownToken { token.cancel() } }) { [ffi] in
            try await ffi.reportAction(
                campaignId: campaignID,
                momentId: momentID,
                quantity: Int32(clamping: quantity),
                cancellation: token
            )
        }
        return try ActionOutcome(outcome)
    }

    /// The customer's own rewards, newest first (all pages).
    ///
    /// - Parameter campaignID: Only this campaign's rewards, or all of them when `nil`.
    /// - Returns: The rewards.
    /// - Throws: ``MomentsError``.
    public func myRewards(campaignID: String? = nil) async throws -> [Reward] {
        let list = try await bridged { [ffi] in try await ffi.myRewards(campaignId: campaignID) }
        return try rewards(list)
    }

    /// The customer's progress on goal moments.
    ///
    /// - Parameter campaignID: Only this campaign's goals, or all of them when `nil`.
    /// - Returns: The progress of each goal moment.
    /// - Throws: ``MomentsError``.
    public func myProgress(campaignID: String? = nil) async throws -> [Progress] {
        let list = try await bridged { [ffi] in try await ffi.myProgress(campaignId: campaignID) }
        return list.map(Progress.init)
    }

    /// The current connection and authentication status.
    public var status: ClientStatus { ClientStatus(ffi.status()) }

    /// Rewards and progress as they change: a ``RewardEvent/snapshot(rewards:progress:)`` of what the client
    /// knows first, then every change. The subscription ends when the iterating task stops or is cancelled.
    ///
    /// - Returns: A stream of events, delivered in order.
    public func rewardEvents() -> AsyncStream<RewardEvent> {
        AsyncStream { continuation in
            let handle = ffi.addRewardListener(listener: RewardStreamListener(continuation))
            continuation.onTermination = { _ in handle.cancel() }
        }
    }

    /// The connection and authentication status as it changes, starting with the current one. The subscription
    /// ends when the iterating task stops or is cancelled.
    ///
    /// - Returns: A stream of statuses, delivered in order; a status is only sent when it changes.
    public func statusUpdates() -> AsyncStream<ClientStatus> {
        AsyncStream { continuation in
            let handle = ffi.addStatusListener(listener: StatusStreamListener(continuation))
            continuation.onTermination = { _ in handle.cancel() }
        }
    }

    /// Calls `handler` with every ``RewardEvent``, a snapshot first, until the returned handle is cancelled or
    /// released. For code that does not iterate ``rewardEvents()``.
    ///
    /// - Parameter handler: Called on an SDK thread, one event at a time and in order; hop to the main actor
    ///   yourself.
    /// - Returns: The subscription: keep it, and cancel or release it to unsubscribe.
    public func addRewardListener(_ handler: @escaping @Sendable (RewardEvent) -> Void) -> ListenerHandle {
        ListenerHandle(ffi.addRewardListener(listener: RewardClosureListener(handler)))
    }

    /// Calls `handler` with the current ``ClientStatus`` and then every change, until the returned handle is
    /// cancelled or released. For code that does not iterate ``statusUpdates()``.
    ///
    /// - Parameter handler: Called on an SDK thread, one status at a time and in order.
    /// - Returns: The subscription: keep it, and cancel or release it to unsubscribe.
    public func addStatusListener(_ handler: @escaping @Sendable (ClientStatus) -> Void) -> ListenerHandle {
        ListenerHandle(ffi.addStatusListener(listener: StatusClosureListener(handler)))
    }

    /// Opens the durable outbox stored in `file`, which delivers with this client's token provider.
    ///
    /// The file is created if missing; keep it in the app's private storage (Application Support). Runs on the
    /// SDK's threads. One outbox per file at a time.
    ///
    /// - Parameters:
    ///   - file: The database file.
    ///   - onEvent: Told what became of each enqueued action; called on the SDK thread that runs its I/O, so
    ///     return quickly and hop to the main actor yourself.
    /// - Returns: The outbox; releasing it stops delivery (queued actions stay on disk).
    /// - Throws: ``MomentsError``: ``MomentsError/Code/outboxAlreadyOpen``, ``MomentsError/Code/outboxStorage``,
    ///   ``MomentsError/Code/outboxUnsupportedSchema``.
    public func openOutbox(
        at file: URL,
        onEvent: (@Sendable (OutboxEvent) -> Void)? = nil
    ) async throws -> ActionOutbox {
        let listener = onEvent.map(OutboxClosureListener.init)
        let outbox = try await bridged { [ffi] in try await ffi.openOutbox(path: file.path, listener: listener) }
        return ActionOutbox(outbox)
    }

    /// Cancels every call of this client in flight, blocking ones too: they fail with
    /// ``MomentsError/cancelled(_:)``. Later calls work normally.
    public func cancelAll() {
        ffi.cancelAll()
    }

    /// The synchronous view of this client, for code without Swift concurrency: same token cache, listeners,
    /// status and timeouts. Its calls block the calling thread: never use it on the main thread.
    ///
    /// - Returns: The blocking client.
    public func blocking() -> BlockingMomentsClient {
        BlockingMomentsClient(ffi.blocking())
    }
}

/// The synchronous view of a ``MomentsClient``, for threads without Swift concurrency. Get it with
/// ``MomentsClient/blocking()``.
///
/// Each method makes the same call as the client's async method, on the calling thread, and returns when it is
/// done. **Never call it on the main thread.** Called on one of the SDK's own threads (inside a listener or
/// token provider) it fails at once with ``MomentsError/Code/blockingCallOnSdkThread`` instead of deadlocking.
public final class BlockingMomentsClient: Sendable {
    let ffi: MomentsBindings.BlockingMomentsClient

    init(_ ffi: MomentsBindings.BlockingMomentsClient) {
        self.ffi = ffi
    }

    /// ``MomentsClient/rewardInfo(campaignID:momentID:)``, blocking the calling thread.
    ///
    /// - Parameters:
    ///   - campaignID: The campaign.
    ///   - momentID: The moment.
    /// - Returns: What completing the moment earns.
    /// - Throws: ``MomentsError``.
    public func rewardInfo(campaignID: String, momentID: String) throws -> RewardInfo {
        try RewardInfo(bridged { try ffi.rewardInfo(campaignId: campaignID, momentId: momentID) })
    }

    /// ``MomentsClient/reportAction(campaignID:momentID:quantity:cancellation:)``, blocking the calling
    /// thread. Cancel it from another thread with `cancellation` or ``cancelAll()``.
    ///
    /// - Parameters:
    ///   - campaignID: The campaign.
    ///   - momentID: The moment.
    ///   - quantity: What this action adds to a goal (1–1,000,000).
    ///   - cancellation: A token that cancels this call when cancelled.
    /// - Returns: The issued reward, or the progress of a goal moment.
    /// - Throws: ``MomentsError``.
    public func reportAction(
        campaignID: String,
        momentID: String,
        quantity: Int = 1,
        cancellation: CancellationToken? = nil
    ) throws -> ActionOutcome {
        try ActionOutcome(
            bridged {
                try ffi.reportAction(
                    campaignId: campaignID,
                    momentId: momentID,
                    quantity: Int32(clamping: quantity),
                    cancellation: cancellation?.ffi
                )
            }
        )
    }

    /// ``MomentsClient/myRewards(campaignID:)``, blocking the calling thread.
    ///
    /// - Parameter campaignID: Only this campaign's rewards, or all of them when `nil`.
    /// - Returns: The rewards, newest first.
    /// - Throws: ``MomentsError``.
    public func myRewards(campaignID: String? = nil) throws -> [Reward] {
        try rewards(bridged { try ffi.myRewards(campaignId: campaignID) })
    }

    /// ``MomentsClient/myProgress(campaignID:)``, blocking the calling thread.
    ///
    /// - Parameter campaignID: Only this campaign's goals, or all of them when `nil`.
    /// - Returns: The progress of each goal moment.
    /// - Throws: ``MomentsError``.
    public func myProgress(campaignID: String? = nil) throws -> [Progress] {
        try bridged { try ffi.myProgress(campaignId: campaignID) }.map(Progress.init)
    }

    /// The current connection and authentication status (does not block).
    public var status: ClientStatus { ClientStatus(ffi.status()) }

    /// Cancels every call in flight of the client, async and blocking.
    public func cancelAll() {
        ffi.cancelAll()
    }
}

/// Cancels the calls it is passed to (``MomentsClient/reportAction(campaignID:momentID:quantity:cancellation:)``)
/// when ``cancel()`` is called, from any thread. Cancelled calls fail with ``MomentsError/cancelled(_:)``.
public final class CancellationToken: Sendable {
    let ffi: MomentsBindings.CancellationToken

    /// Creates a token that is not cancelled.
    public init() {
        ffi = MomentsBindings.CancellationToken()
    }

    /// Cancels every call given this token, now and later. Idempotent.
    public func cancel() {
        ffi.cancel()
    }

    /// Whether ``cancel()`` was called.
    public var isCancelled: Bool { ffi.isCancelled() }
}

/// A listener's subscription. Cancelling or releasing it unsubscribes.
public final class ListenerHandle: Sendable {
    private let ffi: MomentsBindings.ListenerHandle

    init(_ ffi: MomentsBindings.ListenerHandle) {
        self.ffi = ffi
    }

    /// Unsubscribes now: the listener receives no further events. Idempotent.
    public func cancel() {
        ffi.cancel()
    }

    /// Whether the listener is still subscribed.
    public var isActive: Bool { ffi.isActive() }
}

// MARK: Adapters of the generated callback interfaces

final class RewardStreamListener: MomentsBindings.RewardListener {
    let continuation: AsyncStream<RewardEvent>.Continuation

    init(_ continuation: AsyncStream<RewardEvent>.Continuation) {
        self.continuation = continuation
    }

    func onEvent(event: MomentsBindings.RewardEvent) {
        // An event with an unreadable link (never sent by the API) is left out.
        if let event = try? RewardEvent(event) {
            continuation.yield(event)
        }
    }
}

final class StatusStreamListener: MomentsBindings.StatusListener {
    let continuation: AsyncStream<ClientStatus>.Continuation

    init(_ continuation: AsyncStream<ClientStatus>.Continuation) {
        self.continuation = continuation
    }

    func onStatus(status: MomentsBindings.ClientStatus) {
        continuation.yield(ClientStatus(status))
    }
}

final class RewardClosureListener: MomentsBindings.RewardListener {
    let handler: @Sendable (RewardEvent) -> Void

    init(_ handler: @escaping @Sendable (RewardEvent) -> Void) {
        self.handler = handler
    }

    func onEvent(event: MomentsBindings.RewardEvent) {
        if let event = try? RewardEvent(event) {
            handler(event)
        }
    }
}

final class StatusClosureListener: MomentsBindings.StatusListener {
    let handler: @Sendable (ClientStatus) -> Void

    init(_ handler: @escaping @Sendable (ClientStatus) -> Void) {
        self.handler = handler
    }

    func onStatus(status: MomentsBindings.ClientStatus) {
        handler(ClientStatus(status))
    }
}
