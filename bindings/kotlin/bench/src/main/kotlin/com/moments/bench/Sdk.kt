// Blocking entry points to the Kotlin SDK for the Java JMH benchmark (JMH's annotation processor runs on Java).
package com.moments.bench

import com.moments.sdk.ActionOutcome
import com.moments.sdk.BlockingMomentsClient
import com.moments.sdk.ClientConfig
import com.moments.sdk.CustomerToken
import com.moments.sdk.DeviceInfo
import com.moments.sdk.DeviceType
import com.moments.sdk.MomentsException
import com.moments.sdk.MomentsClient
import com.moments.sdk.Reward
import com.moments.sdk.RewardInfo
import com.moments.sdk.tokenProvider
import java.util.concurrent.Callable
import java.util.function.Supplier
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext

/**
 * The SDK calls the benchmark measures: the suspend API bridged the way blocking code bridges it (`runBlocking`),
 * and the blocking API (`MomentsClient.blocking()`), which needs no coroutine.
 */
object Sdk {
    /** A client for `baseUrl` with the SDK's default settings; its token provider is `mint` (called once, cached). */
    @JvmStatic
    fun client(baseUrl: String, deviceId: String, mint: Supplier<CustomerToken>): MomentsClient = MomentsClient(
        ClientConfig(baseUrl = baseUrl, device = DeviceInfo(DeviceType.ANDROID, deviceId)),
        tokenProvider { mint.get() },
    )

    /** A customer token as the SDK's token provider returns it. */
    @JvmStatic
    fun token(token: String, expiresInSeconds: Long): CustomerToken = CustomerToken(token, expiresInSeconds)

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

    /** The blocking view of `client`. */
    @JvmStatic
    fun blocking(client: MomentsClient): BlockingMomentsClient = client.blocking()

    /** `rewardInfo` through the blocking API. */
    @JvmStatic
    fun rewardInfo(client: BlockingMomentsClient, campaignId: String, momentId: String): RewardInfo =
        client.rewardInfo(campaignId, momentId)

    /** `myRewards` through the blocking API. */
    @JvmStatic
    fun myRewards(client: BlockingMomentsClient): List<Reward> = client.myRewards()

    /** `reportAction` through the blocking API. */
    @JvmStatic
    fun reportAction(client: BlockingMomentsClient, campaignId: String, momentId: String): Reward =
        when (val outcome = client.reportAction(campaignId, momentId)) {
            is ActionOutcome.Rewarded -> outcome.reward
            is ActionOutcome.InProgress -> error("expected a reward, got progress $outcome")
        }

    /**
     * A blocking SDK call that fails its argument check before any I/O: the fixed cost of a blocking call's JNA
     * traffic (handle clone, two strings lowered, the call, the error lifted), no thread hop.
     */
    @JvmStatic
    fun blockingImmediateError(client: BlockingMomentsClient): String = try {
        client.reportAction("not a valid id", "first_workout")
        error("an invalid id was accepted")
    } catch (e: MomentsException.InvalidArgument) {
        e.code.wireName
    }

    /** A synchronous FFI call with no I/O (`status`): the fixed cost of one JNA call into Rust and back. */
    @JvmStatic
    fun status(client: BlockingMomentsClient): Any = client.status

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
            e.code.wireName
        }
    }

    /**
     * `call` (an OkHttp `execute()`) the way coroutine code makes a blocking call: `withContext(Dispatchers.IO)`,
     * bridged with `runBlocking` like the SDK's suspend calls above. The baseline for the `suspend` API.
     */
    @JvmStatic
    fun <T> onIoDispatcher(call: Callable<T>): T = runBlocking { withContext(Dispatchers.IO) { call.call() } }

    /** `runBlocking` with nothing to do: the coroutine bridge's own cost. */
    @JvmStatic
    fun emptyRunBlocking(): Int = runBlocking { 1 }
}
