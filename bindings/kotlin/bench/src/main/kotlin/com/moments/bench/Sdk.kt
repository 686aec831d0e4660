// Blocking entry points to the Kotlin SDK for the Java JMH benchmark (JMH's annotation processor runs on Java).
package com.moments.bench

import com.moments.sdk.ActionOutcome
import com.moments.sdk.ClientConfig
import com.moments.sdk.CustomerToken
import com.moments.sdk.DeviceInfo
import com.moments.sdk.DeviceType
import com.moments.sdk.MomentsException
import com.moments.sdk.MomentsClient
import com.moments.sdk.Reward
import com.moments.sdk.RewardInfo
import com.moments.sdk.tokenProvider
import com.moments.sdk.uniffiRustFutureContinuationCallbackImpl
import com.sun.jna.CallbackThreadInitializer
import com.sun.jna.Native
import java.util.function.Supplier
import kotlinx.coroutines.runBlocking

/** The SDK calls the benchmark measures, each made the way blocking Kotlin code makes them (`runBlocking`). */
object Sdk {
    /** A client for `baseUrl` with the SDK's default settings; its token provider is `mint` (called once, cached). */
    @JvmStatic
    fun client(baseUrl: String, deviceId: String, mint: Supplier<CustomerToken>): MomentsClient = MomentsClient(
        ClientConfig(baseUrl = baseUrl, device = DeviceInfo(DeviceType.ANDROID, deviceId)),
        tokenProvider { mint.get() },
    )

    /**
     * Experiment (`-Dmoments.bench.keepCallbackThreadsAttached=true`): tells JNA to keep the SDK's threads attached
     * to the JVM after they call the async continuation callback, instead of attaching and detaching the calling
     * tokio thread on every wake (JNA's default). Compiled here because the callback object is `internal` to the
     * SDK's Kotlin module, which this benchmark compiles as its own.
     */
    @JvmStatic
    fun keepCallbackThreadsAttached() {
        Native.setCallbackThreadInitializer(
            uniffiRustFutureContinuationCallbackImpl,
            CallbackThreadInitializer(true, false, "moments-sdk-callback"),
        )
    }

    /** A customer token as the SDK's token provider returns it. */
    @JvmStatic
    fun token(token: String, expiresInSeconds: Long): CustomerToken = CustomerToken(token, expiresInSeconds.toULong())

    /** `GET /v1/campaigns/{id}/moments/{moment_id}/reward_info`, decoded into `RewardInfo`. */
    @JvmStatic
    fun rewardInfo(client: MomentsClient, campaignId: String, momentId: String): RewardInfo =
        runBlocking { client.rewardInfo(campaignId, momentId) }

    /** `GET /v1/rewards?limit=100` (one page here), decoded into `Reward`s. */
    @JvmStatic
    fun myRewards(client: MomentsClient): List<Reward> = runBlocking { client.myRewards() }

    /** `POST /v1/triggers` with a fresh idempotency key, decoded into the issued `Reward`. */
    @JvmStatic
    fun reportAction(client: MomentsClient, campaignId: String, momentId: String): Reward =
        when (val outcome = runBlocking { client.reportAction(campaignId, momentId) }) {
            is ActionOutcome.Rewarded -> outcome.reward
            is ActionOutcome.InProgress -> error("expected a reward, got progress $outcome")
        }

    /** A synchronous FFI call with no I/O (`status()`): the fixed cost of one JNA call into Rust and back. */
    @JvmStatic
    fun status(client: MomentsClient): Any = client.status()

    /**
     * An async SDK call that fails its argument check before any I/O (`reportAction` with an invalid id): the
     * uniffi future machinery (create, poll, complete, free, error lift) on the caller's thread, no thread hop.
     */
    @JvmStatic
    fun asyncImmediateError(client: MomentsClient): String = runBlocking {
        try {
            client.reportAction("not a valid id", "first_workout")
            error("an invalid id was accepted")
        } catch (e: MomentsException.InvalidArgument) {
            e.code
        }
    }

    /** `runBlocking` with nothing to do: the coroutine bridge's own cost. */
    @JvmStatic
    fun emptyRunBlocking(): Int = runBlocking { 1 }
}
