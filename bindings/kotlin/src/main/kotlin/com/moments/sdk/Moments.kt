// The idiomatic Kotlin layer over the generated bindings (moments_ffi.kt, package com.moments.sdk).
package com.moments.sdk

import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.callbackFlow

/** The stable error code, whatever the kind of failure (`frequency_cap_reached`, `token_provider_failed`, …). */
val MomentsException.code: String
    get() = when (this) {
        is MomentsException.Api -> code
        is MomentsException.Network -> code
        is MomentsException.TokenProvider -> code
        is MomentsException.Cancelled -> code
        is MomentsException.InvalidArgument -> code
        is MomentsException.Storage -> code
        is MomentsException.Internal -> code
    }

/** The server's request id (`req_…`) when the server answered; quote it when reporting a problem. */
val MomentsException.requestId: String?
    get() = when (this) {
        is MomentsException.Api -> requestId
        is MomentsException.Network -> requestId
        is MomentsException.TokenProvider -> requestId
        is MomentsException.Cancelled -> requestId
        is MomentsException.InvalidArgument -> requestId
        is MomentsException.Storage -> requestId
        is MomentsException.Internal -> requestId
    }

/** Whether the same call may succeed later unchanged. */
val MomentsException.retryable: Boolean
    get() = when (this) {
        is MomentsException.Api -> retryable
        is MomentsException.Network -> retryable
        is MomentsException.TokenProvider -> retryable
        is MomentsException.Cancelled -> retryable
        is MomentsException.InvalidArgument -> retryable
        is MomentsException.Storage -> retryable
        is MomentsException.Internal -> retryable
    }

/** A `TokenProvider` from a suspending lambda that calls the app's backend. */
fun tokenProvider(fetch: suspend () -> CustomerToken): TokenProvider = object : TokenProvider {
    override suspend fun fetchToken(): CustomerToken = fetch()
}

/** A `LogSink` from a lambda, e.g. `setLogSink(logSink { Log.i("Moments", it.line) }, LogLevel.INFO)`. */
fun logSink(log: (LogRecord) -> Unit): LogSink = object : LogSink {
    override fun log(record: LogRecord) = log(record)
}

/** Reward events as a cold `Flow`: a `Snapshot` first, then every change; unsubscribes when collection stops. */
fun MomentsClient.rewardEvents(): Flow<RewardEvent> = callbackFlow {
    val handle = addRewardListener(object : RewardListener {
        override fun onEvent(event: RewardEvent) {
            trySend(event)
        }
    })
    awaitClose { handle.cancel(); handle.close() }
}

/** Status changes as a cold `Flow`, starting with the current status. */
fun MomentsClient.statusUpdates(): Flow<ClientStatus> = callbackFlow {
    val handle = addStatusListener(object : StatusListener {
        override fun onStatus(status: ClientStatus) {
            trySend(status)
        }
    })
    awaitClose { handle.cancel(); handle.close() }
}

/**
 * Java entry points for calls whose Kotlin signature Java cannot use (Kotlin's unsigned types are name-mangled for
 * Java). Blocking, like the `BlockingMomentsClient` they call: never on the main / UI thread.
 */
object MomentsJava {
    /**
     * `BlockingMomentsClient.reportAction` with an `Int` quantity (default 1; outside 1–1,000,000 it fails with
     * `invalid_argument`, like any out-of-range quantity).
     */
    @JvmStatic
    @JvmOverloads
    fun reportAction(
        client: BlockingMomentsClient,
        campaignId: String,
        momentId: String,
        quantity: Int = 1,
        cancellation: CancellationToken? = null,
    ): ActionOutcome = client.reportAction(
        campaignId,
        momentId,
        // A negative Int becomes a UInt above 1,000,000: refused by the SDK's own range check.
        quantity.toUInt(),
        cancellation,
    )
}
