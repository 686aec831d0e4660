package com.moments.sdk

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.withContext
import com.moments.sdk.internal.BlockingMomentsClient as FfiBlockingClient
import com.moments.sdk.internal.CancellationToken as FfiCancellationToken
import com.moments.sdk.internal.ClientStatus as FfiClientStatus
import com.moments.sdk.internal.CustomerToken as FfiCustomerToken
import com.moments.sdk.internal.ErrorCode as FfiErrorCode
import com.moments.sdk.internal.ListenerHandle as FfiListenerHandle
import com.moments.sdk.internal.MomentsClient as FfiClient
import com.moments.sdk.internal.MomentsException as FfiException
import com.moments.sdk.internal.RewardEvent as FfiRewardEvent
import com.moments.sdk.internal.RewardListener as FfiRewardListener
import com.moments.sdk.internal.StatusListener as FfiStatusListener
import com.moments.sdk.internal.TokenProvider as FfiTokenProvider

/**
 * Fetches a customer token from the app's own backend, which mints it with its secret key (the secret key never
 * ships in the app). The SDK caches the token, asks once for any number of concurrent calls, and again shortly
 * before it expires or when the API says it expired.
 *
 * Throwing makes the call that needed the token fail with [MomentsException.TokenProvider]. Java code (or code
 * without coroutines) implements [BlockingTokenProvider] instead.
 */
public interface TokenProvider {
    /** Returns a fresh customer token. Called on an SDK coroutine; suspend for the network as usual. */
    public suspend fun fetchToken(): CustomerToken
}

/**
 * A [TokenProvider] for code without coroutines (Java): [fetchToken] blocks, and the SDK calls it on a thread of
 * `Dispatchers.IO`, never on the caller's.
 */
public fun interface BlockingTokenProvider {
    /** Returns a fresh customer token, blocking the calling thread (an SDK background thread) meanwhile. */
    @Throws(Exception::class)
    public fun fetchToken(): CustomerToken
}

/** A [TokenProvider] from a suspending lambda that calls the app's backend. */
public fun tokenProvider(fetch: suspend () -> CustomerToken): TokenProvider = object : TokenProvider {
    override suspend fun fetchToken(): CustomerToken = fetch()
}

/**
 * Follows the customer's rewards and goal progress ([MomentsClient.addRewardListener]; Kotlin code usually
 * collects [MomentsClient.rewardEvents] instead).
 *
 * Called on an SDK thread (named `moments-…`), one event at a time and in order: hop to the UI thread yourself.
 * Exceptions thrown here are caught and logged.
 */
public fun interface RewardListener {
    /** One event; the first is always a [RewardEvent.Snapshot] of the current state. */
    public fun onEvent(event: RewardEvent)
}

/** Follows the client's connection / authentication status; called like a [RewardListener]. */
public fun interface StatusListener {
    /** The new status; the first call carries the current one. */
    public fun onStatus(status: ClientStatus)
}

/**
 * Keeps a listener subscribed: [cancel] (or [close]) unsubscribes. Keep a reference for as long as the listener
 * should be called.
 */
public class ListenerHandle internal constructor(private val ffi: FfiListenerHandle) : AutoCloseable {
    /** Whether the listener is still subscribed. */
    public val isActive: Boolean get() = ffi.isActive()

    /** Unsubscribes now: the listener receives no further events. Idempotent. */
    public fun cancel() {
        ffi.cancel()
    }

    /** Unsubscribes and releases the native handle. */
    override fun close() {
        ffi.cancel()
        ffi.close()
    }

    /** `ListenerHandle(active=true)`. */
    override fun toString(): String = "ListenerHandle(active=$isActive)"
}

/**
 * Cancels the calls it is passed to ([MomentsClient.reportAction], [BlockingMomentsClient.reportAction]) from any
 * thread: they fail with [MomentsException.Cancelled].
 */
public class CancellationToken : AutoCloseable {
    internal val ffi: FfiCancellationToken = FfiCancellationToken()

    /** Whether [cancel] was called. */
    public val isCancelled: Boolean get() = ffi.isCancelled()

    /** Cancels every call given this token, now and later. */
    public fun cancel() {
        ffi.cancel()
    }

    /** Releases the native token. */
    override fun close() {
        ffi.close()
    }

    /** `CancellationToken(cancelled=false)`. */
    override fun toString(): String = "CancellationToken(cancelled=$isCancelled)"
}

/**
 * The Moments client of an app, acting for one customer (the one its token provider's tokens are for).
 *
 * Create one per signed-in customer and keep it; [close] it when the customer signs out. Every call runs on the
 * SDK's own threads (`moments-…`), so suspend calls are main-safe. A call ends early when its coroutine is
 * cancelled, on [cancelAll], or (for [reportAction]) through a [CancellationToken]. Code without coroutines (Java)
 * uses [blocking].
 *
 * ```kotlin
 * val client = MomentsClient(ClientConfig(baseUrl, DeviceInfo(DeviceType.ANDROID, installId)), tokenProvider {
 *     myBackend.customerToken()
 * })
 * when (val outcome = client.reportAction(campaignId, "first_workout")) {
 *     is ActionOutcome.Rewarded -> open(outcome.reward.url)
 *     is ActionOutcome.InProgress -> show("${outcome.progress.current} of ${outcome.progress.target}")
 * }
 * ```
 */
public class MomentsClient private constructor(
    private val ffi: FfiClient,
    private val statusState: MutableStateFlow<ClientStatus>,
) : AutoCloseable {
    private constructor(ffi: FfiClient) : this(ffi, MutableStateFlow(ClientStatus.of(ffi.status())))

    /**
     * Creates the client. Does no I/O: the token provider is first called by the first call that needs a token.
     *
     * @throws MomentsException.InvalidArgument when the configuration is invalid (e.g. the base URL).
     */
    @Throws(MomentsException::class)
    public constructor(config: ClientConfig, tokenProvider: TokenProvider) :
        this(sdkCall { FfiClient(config.toFfi(), TokenProviderAdapter(tokenProvider)) })

    /**
     * Creates the client with a blocking token provider (Java). Does no I/O.
     *
     * @throws MomentsException.InvalidArgument when the configuration is invalid (e.g. the base URL).
     */
    @Throws(MomentsException::class)
    public constructor(config: ClientConfig, tokenProvider: BlockingTokenProvider) :
        this(config, tokenProvider.suspending())

    // The listener holds the flow only, not this client: a client the app drops without close() stays collectable.
    private val statusHandle: FfiListenerHandle = ffi.addStatusListener(StatusFlowUpdater(statusState))

    /** The connection / authentication status, updated after every call (Java: `getStatus().getValue()`). */
    public val status: StateFlow<ClientStatus> = statusState.asStateFlow()

    /**
     * The synchronous view of this client (same token cache, listeners, status and [cancelAll]), for Java and other
     * code without coroutines. Its calls block the calling thread: never use it on the main / UI thread.
     */
    public fun blocking(): BlockingMomentsClient = BlockingMomentsClient(ffi.blocking())

    /**
     * Describes the reward of a moment, to announce the challenge. Consumes nothing.
     *
     * @throws MomentsException on any failure.
     */
    @Throws(MomentsException::class)
    public suspend fun rewardInfo(campaignId: String, momentId: String): RewardInfo =
        sdkCall { RewardInfo.of(ffi.rewardInfo(campaignId, momentId)) }

    /**
     * Reports that the customer completed an action of a client-reportable moment.
     *
     * Returns the issued reward (show its `url`) or, for a goal moment not met yet, the progress. [quantity]
     * (1–1,000,000) is what this action adds to a goal. One idempotency key is made per call and reused on every
     * retry, so a retried call never issues two rewards.
     *
     * @throws MomentsException on any failure, e.g. [ErrorCode.FREQUENCY_CAP_REACHED] in a [MomentsException.Api].
     */
    @Throws(MomentsException::class)
    public suspend fun reportAction(
        campaignId: String,
        momentId: String,
        quantity: Int = 1,
        cancellation: CancellationToken? = null,
    ): ActionOutcome =
        sdkCall { ActionOutcome.of(ffi.reportAction(campaignId, momentId, quantity, cancellation?.ffi)) }

    /**
     * The customer's own rewards, newest first (all pages), optionally of one campaign.
     *
     * @throws MomentsException on any failure.
     */
    @Throws(MomentsException::class)
    public suspend fun myRewards(campaignId: String? = null): List<Reward> =
        sdkCall { ffi.myRewards(campaignId).map(Reward::of) }

    /**
     * The customer's progress on goal moments, optionally of one campaign.
     *
     * @throws MomentsException on any failure.
     */
    @Throws(MomentsException::class)
    public suspend fun myProgress(campaignId: String? = null): List<Progress> =
        sdkCall { ffi.myProgress(campaignId).map(Progress::of) }

    /**
     * Reward events as a cold `Flow`: a [RewardEvent.Snapshot] of what the client knows first, then every change.
     * Each collector subscribes on start and unsubscribes when its collection stops.
     */
    public fun rewardEvents(): Flow<RewardEvent> = callbackFlow {
        val handle = addRewardListener { trySend(it) }
        awaitClose { handle.close() }
    }

    /** Follows rewards and progress with a listener (Java); Kotlin code usually collects [rewardEvents]. */
    public fun addRewardListener(listener: RewardListener): ListenerHandle =
        ListenerHandle(ffi.addRewardListener(object : FfiRewardListener {
            override fun onEvent(event: FfiRewardEvent) {
                nameSdkThread()
                listener.onEvent(RewardEvent.of(event))
            }
        }))

    /** Follows the status with a listener (Java), starting with the current one; Kotlin code reads [status]. */
    public fun addStatusListener(listener: StatusListener): ListenerHandle =
        ListenerHandle(ffi.addStatusListener(object : FfiStatusListener {
            override fun onStatus(status: FfiClientStatus) {
                nameSdkThread()
                listener.onStatus(ClientStatus.of(status))
            }
        }))

    /**
     * Opens the durable outbox stored at [path] (a file in the app's private storage, created if missing),
     * delivering with this client's token provider. One outbox per file at a time.
     *
     * @throws MomentsException.InvalidArgument with [ErrorCode.OUTBOX_ALREADY_OPEN] when the file is open.
     */
    @Throws(MomentsException::class)
    public suspend fun openOutbox(path: String, listener: OutboxEventListener? = null): ActionOutbox =
        sdkCall { ActionOutbox(ffi.openOutbox(path, listener?.let(::OutboxListenerAdapter))) }

    /** Cancels every call in flight, blocking ones too: they fail with [MomentsException.Cancelled]. */
    public fun cancelAll() {
        ffi.cancelAll()
    }

    /** Stops following the status and releases the native client; calls in flight end with it. */
    override fun close() {
        statusHandle.cancel()
        statusHandle.close()
        ffi.close()
    }

    /** `MomentsClient(status=Online)`. */
    override fun toString(): String = "MomentsClient(status=${status.value})"
}

/**
 * The synchronous view of a [MomentsClient], for Java and other code without coroutines. It shares everything
 * with its client: token cache, listeners, status, [cancelAll] and the whole-call timeout.
 *
 * Each call blocks the calling thread until it is done: **never call it on the main / UI thread.** Called on one
 * of the SDK's own threads (inside a listener, token provider or log sink) it fails at once with
 * [ErrorCode.BLOCKING_CALL_ON_SDK_THREAD] instead of deadlocking.
 */
public class BlockingMomentsClient internal constructor(private val ffi: FfiBlockingClient) : AutoCloseable {
    /** The current connection / authentication status (does not block). */
    public val status: ClientStatus get() = ClientStatus.of(ffi.status())

    /**
     * [MomentsClient.rewardInfo], blocking.
     *
     * @throws MomentsException on any failure.
     */
    @Throws(MomentsException::class)
    public fun rewardInfo(campaignId: String, momentId: String): RewardInfo =
        sdkCall { RewardInfo.of(ffi.rewardInfo(campaignId, momentId)) }

    /**
     * [MomentsClient.reportAction], blocking. Cancel it from another thread with the [cancellation] token or
     * [cancelAll].
     *
     * @throws MomentsException on any failure, e.g. [ErrorCode.FREQUENCY_CAP_REACHED] in a [MomentsException.Api].
     */
    @Throws(MomentsException::class)
    @JvmOverloads
    public fun reportAction(
        campaignId: String,
        momentId: String,
        quantity: Int = 1,
        cancellation: CancellationToken? = null,
    ): ActionOutcome =
        sdkCall { ActionOutcome.of(ffi.reportAction(campaignId, momentId, quantity, cancellation?.ffi)) }

    /**
     * [MomentsClient.myRewards], blocking.
     *
     * @throws MomentsException on any failure.
     */
    @Throws(MomentsException::class)
    @JvmOverloads
    public fun myRewards(campaignId: String? = null): List<Reward> =
        sdkCall { ffi.myRewards(campaignId).map(Reward::of) }

    /**
     * [MomentsClient.myProgress], blocking.
     *
     * @throws MomentsException on any failure.
     */
    @Throws(MomentsException::class)
    @JvmOverloads
    public fun myProgress(campaignId: String? = null): List<Progress> =
        sdkCall { ffi.myProgress(campaignId).map(Progress::of) }

    /** Cancels every call in flight of the client, async and blocking: they fail with [MomentsException.Cancelled]. */
    public fun cancelAll() {
        ffi.cancelAll()
    }

    /** Releases this view's native handle (the client is not affected). */
    override fun close() {
        ffi.close()
    }

    /** `BlockingMomentsClient(status=Online)`. */
    override fun toString(): String = "BlockingMomentsClient(status=$status)"
}

/** Keeps [MomentsClient.status] current. */
private class StatusFlowUpdater(private val state: MutableStateFlow<ClientStatus>) : FfiStatusListener {
    override fun onStatus(status: FfiClientStatus) {
        state.value = ClientStatus.of(status)
    }
}

/** The app's token provider seen by the generated layer: its failures become typed errors, never crashes. */
private class TokenProviderAdapter(private val provider: TokenProvider) : FfiTokenProvider {
    override suspend fun fetchToken(): FfiCustomerToken {
        nameSdkThread()
        val token = try {
            provider.fetchToken()
        } catch (e: CancellationException) {
            throw e
        } catch (e: MomentsException) {
            throw tokenProviderFailed("the token provider failed: ${e.message}", e.isRetryable)
        } catch (e: Exception) {
            throw tokenProviderFailed("the token provider failed: $e", true)
        }
        return token.toFfi()
    }

    private fun tokenProviderFailed(reason: String, retryable: Boolean): FfiException =
        FfiException.TokenProvider(FfiErrorCode.TOKEN_PROVIDER_FAILED, reason, null, retryable, null)
}

/** A blocking provider as a suspending one, run on `Dispatchers.IO`. */
private fun BlockingTokenProvider.suspending(): TokenProvider {
    val blocking = this
    return object : TokenProvider {
        override suspend fun fetchToken(): CustomerToken = withContext(Dispatchers.IO) { blocking.fetchToken() }
    }
}

private val ATTACHED_THREAD = Regex("Thread-\\d+")

/**
 * Names the thread an SDK callback arrives on: a native SDK thread that JNA attached to the JVM is otherwise
 * `Thread-N` in stack traces and profilers. Threads of the app's own (coroutine dispatchers) keep their names.
 */
internal fun nameSdkThread() {
    val thread = Thread.currentThread()
    if (ATTACHED_THREAD.matches(thread.name)) thread.name = "moments-callback"
}
