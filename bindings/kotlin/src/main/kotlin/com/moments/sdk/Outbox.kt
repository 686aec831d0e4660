package com.moments.sdk

import com.moments.sdk.internal.ActionOutbox as FfiActionOutbox
import com.moments.sdk.internal.ErrorCode as FfiErrorCode
import com.moments.sdk.internal.OutboxActionStatus as FfiOutboxActionStatus
import com.moments.sdk.internal.OutboxCounts as FfiOutboxCounts
import com.moments.sdk.internal.OutboxEventListener as FfiOutboxEventListener

/**
 * A durable queue of actions, delivered to the Rewards API when the network allows (app restarts included).
 *
 * Open one per database file with [MomentsClient.openOutbox]; it delivers with that client's token provider.
 * [close] stops delivery (queued actions stay on disk and are delivered after the next open).
 */
public class ActionOutbox internal constructor(private val ffi: FfiActionOutbox) : AutoCloseable {
    /**
     * Writes an action to disk and returns its idempotency key; delivery happens in the background.
     *
     * [customerId] and [marketplace] must be those of the client's customer token (the API refuses another
     * customer with [ErrorCode.FORBIDDEN]). [quantity] (1–1,000,000) is what the action adds to a goal.
     *
     * @throws MomentsException when the action is invalid or cannot be stored.
     */
    @Throws(MomentsException::class)
    public suspend fun enqueue(
        customerId: String,
        marketplace: String,
        campaignId: String,
        momentId: String,
        quantity: Int = 1,
    ): String = sdkCall { ffi.enqueue(customerId, marketplace, campaignId, momentId, quantity) }

    /**
     * Like [enqueue], under the app's own idempotency key (1–255 printable ASCII characters), which the app can
     * keep before calling so that it can ask [lookup] after a restart.
     *
     * While the key is known (queued, in flight, or answered in the last 48 hours), the same key and action again
     * is a no-op that returns the first action's status ([OutboxEnqueued.duplicate]); the same key with another
     * action fails with [ErrorCode.IDEMPOTENCY_CONFLICT] and writes nothing.
     *
     * @throws MomentsException when the action or key is invalid, or cannot be stored.
     */
    @Throws(MomentsException::class)
    public suspend fun enqueueWithKey(
        idempotencyKey: String,
        customerId: String,
        marketplace: String,
        campaignId: String,
        momentId: String,
        quantity: Int = 1,
    ): OutboxEnqueued = sdkCall {
        val enqueued = ffi.enqueueWithKey(idempotencyKey, customerId, marketplace, campaignId, momentId, quantity)
        OutboxEnqueued(enqueued.duplicate, OutboxActionStatus.of(enqueued.status))
    }

    /**
     * What the outbox knows of an idempotency key: queued, in flight, delivered (with the reward URL or the
     * progress), failed (with the code), or unknown (never enqueued here, dropped undelivered, or answered more
     * than 48 hours ago).
     *
     * @throws MomentsException when the key is invalid or the file cannot be read.
     */
    @Throws(MomentsException::class)
    public suspend fun lookup(idempotencyKey: String): OutboxActionStatus =
        sdkCall { OutboxActionStatus.of(ffi.lookup(idempotencyKey)) }

    /**
     * Makes every queued action due now and waits until none is due (each delivered, failed, or waiting for a
     * retry the server asked for). Returns the counts after.
     *
     * @throws MomentsException when the file cannot be read.
     */
    @Throws(MomentsException::class)
    public suspend fun flush(): OutboxCounts = sdkCall { OutboxCounts.of(ffi.flush()) }

    /**
     * The counts of actions by state.
     *
     * @throws MomentsException when the file cannot be read.
     */
    @Throws(MomentsException::class)
    public suspend fun counts(): OutboxCounts = sdkCall { OutboxCounts.of(ffi.counts()) }

    /** Tells the outbox the network is back: actions waiting for a retry are tried now. */
    public fun networkAvailable() {
        ffi.networkAvailable()
    }

    /** Resumes delivery after [OutboxEventListener.onPaused] (once the customer has a valid session). */
    public fun resumeDelivery() {
        ffi.resumeDelivery()
    }

    /**
     * Stops delivering (e.g. the app goes to the background); [enqueue] still works.
     *
     * @throws MomentsException when the outbox is closed.
     */
    @Throws(MomentsException::class)
    public suspend fun suspend() {
        sdkCall { ffi.suspend() }
    }

    /**
     * Delivers again after [suspend].
     *
     * @throws MomentsException when the outbox is closed.
     */
    @Throws(MomentsException::class)
    public suspend fun resume() {
        sdkCall { ffi.resume() }
    }

    /** Stops delivery and releases the file; queued actions are delivered after the next open. */
    override fun close() {
        ffi.close()
    }

    /** `ActionOutbox`. */
    override fun toString(): String = "ActionOutbox"
}

/**
 * Learns what became of enqueued actions. Called on an SDK thread: hop to the UI thread yourself, return quickly,
 * and do not call back into the outbox or the client synchronously. An outcome may be reported again after an
 * app restart if the app died before it returned (at least once).
 */
public interface OutboxEventListener {
    /**
     * The server accepted the action: [rewardUrl] is set when a reward was issued (show it), [progressCurrent] and
     * [progressTarget] when a goal moment progressed.
     */
    public fun onDelivered(idempotencyKey: String, rewardUrl: String?, progressCurrent: Long?, progressTarget: Long?)

    /** The server refused the action for good ([code] is the API's); it is never retried. */
    public fun onFailed(idempotencyKey: String, code: ErrorCode, reason: String)

    /** The action was removed undelivered: [reason] is `expired`, `evicted` or `purged`. */
    public fun onDropped(idempotencyKey: String, reason: String)

    /**
     * Delivery paused because the credentials were refused twice in a row ([code] says how); nothing is dropped.
     * Call [ActionOutbox.resumeDelivery] once the customer has a valid session.
     */
    public fun onPaused(code: ErrorCode)
}

/**
 * How many actions the outbox holds, by state.
 *
 * @property queued Waiting for delivery (including those waiting for a retry).
 * @property inflight An attempt is under way.
 * @property delivered Answered by the server, the listener being told (transient).
 * @property failed Refused for good.
 */
public data class OutboxCounts(
    public val queued: Long,
    public val inflight: Long,
    public val delivered: Long,
    public val failed: Long,
) {
    internal companion object {
        fun of(c: FfiOutboxCounts): OutboxCounts = OutboxCounts(c.queued, c.inflight, c.delivered, c.failed)
    }
}

/** What the outbox knows of an idempotency key ([ActionOutbox.lookup]). New cases may be added. */
public sealed class OutboxActionStatus {
    /** On disk, waiting for delivery: [attempts] made so far, [lastError] why the last one did not deliver. */
    public data class Queued(public val attempts: Int, public val lastError: String?) : OutboxActionStatus()

    /** An attempt (number [attempt], from 1) is under way. */
    public data class InFlight(public val attempt: Int) : OutboxActionStatus()

    /**
     * The server accepted it: [rewardId] and [rewardUrl] when a reward was issued (show the URL), [progressCurrent]
     * and [progressTarget] when a goal moment progressed.
     */
    public data class Delivered(
        public val rewardId: String?,
        public val rewardUrl: String?,
        public val progressCurrent: Long?,
        public val progressTarget: Long?,
    ) : OutboxActionStatus()

    /** The server refused it for good: the API's [code] and its [reason]. It is never retried. */
    public data class Failed(public val code: ErrorCode, public val reason: String) : OutboxActionStatus()

    /** Never enqueued in this outbox, dropped undelivered, or answered more than 48 hours ago. */
    public data object Unknown : OutboxActionStatus()

    internal companion object {
        fun of(s: FfiOutboxActionStatus): OutboxActionStatus = when (s) {
            is FfiOutboxActionStatus.Queued -> Queued(s.attempts, s.lastError)
            is FfiOutboxActionStatus.InFlight -> InFlight(s.attempt)
            is FfiOutboxActionStatus.Delivered ->
                Delivered(s.rewardId, s.rewardUrl, s.progressCurrent, s.progressTarget)
            is FfiOutboxActionStatus.Failed -> Failed(ErrorCode.of(s.code), s.reason)
            is FfiOutboxActionStatus.Unknown -> Unknown
        }
    }
}

/**
 * The result of [ActionOutbox.enqueueWithKey].
 *
 * @property duplicate `true` when the key was already known with the same action: nothing was written, and
 *   [status] is that first action's.
 * @property status [OutboxActionStatus.Queued] for a new action; for a duplicate, the first action's status.
 */
public data class OutboxEnqueued(public val duplicate: Boolean, public val status: OutboxActionStatus)

/** The app's outbox listener seen by the generated layer. */
internal class OutboxListenerAdapter(private val listener: OutboxEventListener) : FfiOutboxEventListener {
    override fun onDelivered(idempotencyKey: String, rewardUrl: String?, progressCurrent: Long?, progressTarget: Long?) {
        nameSdkThread()
        listener.onDelivered(idempotencyKey, rewardUrl, progressCurrent, progressTarget)
    }

    override fun onFailed(idempotencyKey: String, code: FfiErrorCode, reason: String) {
        nameSdkThread()
        listener.onFailed(idempotencyKey, ErrorCode.of(code), reason)
    }

    override fun onDropped(idempotencyKey: String, reason: String) {
        nameSdkThread()
        listener.onDropped(idempotencyKey, reason)
    }

    override fun onPaused(code: FfiErrorCode) {
        nameSdkThread()
        listener.onPaused(ErrorCode.of(code))
    }
}
