package com.moments.sdk

import java.util.UUID
import java.util.concurrent.CompletableFuture
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** The Kotlin SDK driving the real native library against a mock server started per test. */
class MomentsClientTest {
    private lateinit var mock: MockServer
    private val customerId = "cust_kt_" + UUID.randomUUID().toString().take(8)

    /** A provider that mints real tokens from the mock, like an app's backend, and counts its calls. */
    private inner class CountingProvider(private val ttlSeconds: Int? = null) : TokenProvider {
        val calls = AtomicInteger()
        override suspend fun fetchToken(): CustomerToken {
            calls.incrementAndGet()
            return mock.mintToken(customerId, ttlSeconds)
        }
    }

    private fun client(provider: TokenProvider, callTimeoutMs: Long = 60_000L): MomentsClient = MomentsClient(
        ClientConfig(
            baseUrl = mock.baseUrl,
            device = DeviceInfo(DeviceType.ANDROID, "device-kt-1"),
            callTimeoutMs = callTimeoutMs,
        ),
        provider,
    )

    /** A token provider whose backend never answers; `entered` opens once a call is waiting on it. */
    private class StuckProvider : TokenProvider {
        val entered = CountDownLatch(1)
        private val gate = CompletableDeferred<Unit>()
        override suspend fun fetchToken(): CustomerToken {
            entered.countDown()
            gate.await()
            error("unreachable")
        }
    }

    /** Runs `call` on a plain thread (no coroutine), as Java code would, and returns its outcome. */
    private fun <T> onThread(call: () -> T): CompletableFuture<Result<T>> {
        val result = CompletableFuture<Result<T>>()
        Thread { result.complete(runCatching(call)) }.apply { isDaemon = true }.start()
        return result
    }

    @BeforeEach
    fun start() {
        mock = MockServer.start()
    }

    @AfterEach
    fun stop() {
        mock.close()
    }

    @Test
    fun `reward info describes the challenge and the token is fetched once for 20 concurrent calls`() = runBlocking {
        val provider = CountingProvider()
        client(provider).use { client ->
            val infos = coroutineScope {
                (1..20).map { async(Dispatchers.Default) { client.rewardInfo(mock.campaignId, "first_workout") } }
                    .awaitAll()
            }
            assertEquals(20, infos.size)
            infos.forEach {
                assertEquals(mock.campaignId, it.campaignId)
                assertEquals("first_workout", it.momentId)
                assertTrue(it.announcementMessage.isNotEmpty())
                assertTrue(it.offer.isNotEmpty())
            }
            assertEquals(1, provider.calls.get(), "one token for all concurrent calls")
            client.rewardInfo(mock.campaignId, "five_workouts").also { assertNotNull(it.goal) }
            assertEquals(1, provider.calls.get(), "the token is cached")
            assertEquals(ClientStatus.Online, withTimeout(10_000) { client.status.first { it == ClientStatus.Online } })
        }
    }

    @Test
    fun `an expired token is refreshed after the mock clock moves past its expiry`() = runBlocking {
        val provider = CountingProvider(ttlSeconds = 60)
        client(provider).use { client ->
            client.rewardInfo(mock.campaignId, "first_workout")
            assertEquals(1, provider.calls.get())
            mock.advanceClock(120)
            client.rewardInfo(mock.campaignId, "first_workout")
            assertEquals(2, provider.calls.get(), "the API said token_expired: a new token was fetched")
        }
    }

    @Test
    fun `a reported moment returns a reward URL that opens, and a second report hits the frequency cap`() = runBlocking {
        client(CountingProvider()).use { client ->
            val outcome = client.reportAction(mock.campaignId, "first_workout")
            val reward = (outcome as ActionOutcome.Rewarded).reward
            assertTrue(reward.url.startsWith("http"), reward.url)
            assertEquals(RewardStatus.Issued, reward.status)
            assertEquals(200, mock.getAbsolute(reward.url).statusCode(), "the reward page opens")

            val error = assertThrows<MomentsException.Api> {
                runBlocking { client.reportAction(mock.campaignId, "first_workout") }
            }
            assertEquals(ErrorCode.FREQUENCY_CAP_REACHED, error.code)
            assertEquals(422, error.httpStatus)
            assertTrue(error.requestId!!.startsWith("req_"))
            assertFalse(error.isRetryable)

            val mine = client.myRewards()
            assertTrue(mine.any { it.id == reward.id }, "my rewards list the new reward")
        }
    }

    @Test
    fun `a goal moment reports progress`() = runBlocking {
        client(CountingProvider()).use { client ->
            val first = client.reportAction(mock.campaignId, "five_workouts", 2) as ActionOutcome.InProgress
            assertEquals(2L, first.progress.current)
            assertEquals(5L, first.progress.target)
            assertFalse(first.progress.completed)
            val progress = client.myProgress(mock.campaignId)
            assertEquals(2L, progress.single { it.momentId == "five_workouts" }.current)
        }
    }

    @Test
    fun `typed errors for a moment that is not client reportable and a campaign that is not live`() = runBlocking {
        client(CountingProvider()).use { client ->
            val notReportable = assertThrows<MomentsException.Api> {
                runBlocking { client.reportAction(mock.campaignId, "level_5") }
            }
            assertEquals(ErrorCode.MOMENT_NOT_CLIENT_REPORTABLE, notReportable.code)

            mock.advanceClock(200L * 24 * 3600) // past the demo campaign's end: finished
            val notLive = assertThrows<MomentsException> {
                runBlocking { client.reportAction(mock.campaignId, "first_workout") }
            }
            assertEquals(ErrorCode.CAMPAIGN_NOT_LIVE, notLive.code)
            assertFalse(notLive.isRetryable)
        }
    }

    @Test
    fun `a listener replays the current state then receives the issued reward`() = runBlocking {
        client(CountingProvider()).use { client ->
            val events = Channel<RewardEvent>(Channel.UNLIMITED)
            val handle = client.addRewardListener(object : RewardListener {
                override fun onEvent(event: RewardEvent) {
                    events.trySend(event)
                }
            })
            withTimeout(10_000) {
                assertTrue(events.receive() is RewardEvent.Snapshot)
                val reward = (client.reportAction(mock.campaignId, "first_workout") as ActionOutcome.Rewarded).reward
                val issued = events.receive() as RewardEvent.RewardIssued
                assertEquals(reward.id, issued.reward.id)
            }
            assertTrue(handle.isActive)
            handle.cancel()
            assertFalse(handle.isActive)

            // The Flow form replays the snapshot, which now holds the reward.
            val snapshot = withTimeout(10_000) { client.rewardEvents().first() } as RewardEvent.Snapshot
            assertEquals(1, snapshot.rewards.size)
        }
    }

    @Test
    fun `calls can be cancelled by token, by cancelAll and by cancelling the coroutine`() = runBlocking {
        val gate = CompletableDeferred<Unit>()
        val stuck = object : TokenProvider {
            override suspend fun fetchToken(): CustomerToken {
                gate.await() // never completes: the app's backend hangs
                error("unreachable")
            }
        }
        client(stuck).use { client ->
            val token = CancellationToken()
            val call = async { runCatching { client.reportAction(mock.campaignId, "first_workout", 1, token) } }
            token.cancel()
            val error = withTimeout(10_000) { call.await() }.exceptionOrNull()
            assertTrue(error is MomentsException.Cancelled, "got $error")
            assertEquals(ErrorCode.CANCELLED, (error as MomentsException).code)

            val job = launch { client.myRewards() }
            job.cancel()
            withTimeout(10_000) { job.join() }
            assertTrue(job.isCancelled)
        }

        // cancelAll cancels the calls in flight: wait until the call is in the provider (a client of
        // its own, so no earlier call's entry counts), not for a guessed delay.
        val entered = CompletableDeferred<Unit>()
        val waiting = object : TokenProvider {
            override suspend fun fetchToken(): CustomerToken {
                entered.complete(Unit)
                gate.await()
                error("unreachable")
            }
        }
        client(waiting).use { client ->
            val pending = async { runCatching { client.rewardInfo(mock.campaignId, "first_workout") } }
            withTimeout(10_000) { entered.await() }
            client.cancelAll()
            assertEquals(ErrorCode.CANCELLED, (withTimeout(10_000) { pending.await() }.exceptionOrNull() as MomentsException).code)
        }
    }

    @Test
    fun `an exception thrown by the app's token provider is a typed error, not a crash`() = runBlocking {
        val throwing = object : TokenProvider {
            override suspend fun fetchToken(): CustomerToken = throw IllegalStateException("backend down")
        }
        client(throwing).use { client ->
            val error = assertThrows<MomentsException.TokenProvider> {
                runBlocking { client.rewardInfo(mock.campaignId, "first_workout") }
            }
            assertEquals(ErrorCode.TOKEN_PROVIDER_FAILED, error.code)
            // The status follows the call's outcome (the StateFlow is updated by the SDK's status listener).
            withTimeout(10_000) { client.status.first { it is ClientStatus.Unauthenticated } }
        }
        val badArgument = assertThrows<MomentsException.InvalidArgument> {
            runBlocking { client(CountingProvider()).use { it.reportAction(mock.campaignId, "first_workout", 0) } }
        }
        assertEquals(ErrorCode.INVALID_ARGUMENT, badArgument.code)
    }

    @Test
    fun `logs are forwarded to the app's sink`() = runBlocking {
        val records = CopyOnWriteArrayList<LogRecord>()
        Moments.setLogSink({ records.add(it) }, LogLevel.DEBUG)
        try {
            client(CountingProvider()).use { it.rewardInfo(mock.campaignId, "first_workout") }
            assertTrue(records.isNotEmpty(), "the SDK logged through the sink")
            assertTrue(records.none { it.line.contains("ct_") }, "no token in the logs")
        } finally {
            Moments.clearLogSink()
        }
    }

    @Test
    fun `an action queued offline is delivered once the network is back and the listener is told`() = runBlocking {
        val delivered = CompletableDeferred<Pair<String, String?>>()
        val listener = object : OutboxEventListener {
            override fun onDelivered(idempotencyKey: String, rewardUrl: String?, progressCurrent: Long?, progressTarget: Long?) {
                delivered.complete(idempotencyKey to rewardUrl)
            }
            override fun onFailed(idempotencyKey: String, code: ErrorCode, reason: String) {
                delivered.completeExceptionally(AssertionError("failed: $code $reason"))
            }
            override fun onDropped(idempotencyKey: String, reason: String) {
                delivered.completeExceptionally(AssertionError("dropped: $reason"))
            }
            override fun onPaused(code: ErrorCode) {
                delivered.completeExceptionally(AssertionError("paused: $code"))
            }
        }
        val path = kotlin.io.path.createTempDirectory("moments-outbox").resolve("outbox.sqlite").toString()
        client(CountingProvider()).use { client ->
            client.openOutbox(path, listener).use { outbox ->
                // More resets than attempts can happen before the fault is cleared.
                mock.injectFault("POST /v1/triggers", 100, "reset")
                val key = outbox.enqueue(customerId, "US", mock.campaignId, "first_workout")
                assertTrue(key.isNotEmpty())
                val offline = outbox.flush()
                assertEquals(1L, offline.queued + offline.inflight, "the connection was reset: the action stays queued")
                assertFalse(delivered.isCompleted)

                mock.clearFaults()
                outbox.networkAvailable()
                outbox.flush()
                val (deliveredKey, url) = withTimeout(30_000) { delivered.await() }
                assertEquals(key, deliveredKey)
                assertTrue(url!!.startsWith("http"), url)
                assertEquals(200, mock.getAbsolute(url).statusCode(), "the reward page opens")
                val after = outbox.counts()
                assertEquals(0L, after.queued + after.inflight + after.failed)
            }
        }
    }

    @Test
    fun `an app key is looked up in the outbox and a repeat after delivery reports the first reward`() = runBlocking {
        val path = kotlin.io.path.createTempDirectory("moments-outbox").resolve("outbox.sqlite").toString()
        val key = "app-key-" + UUID.randomUUID()
        val deliveredKey = CompletableDeferred<String>()
        val listener = object : OutboxEventListener {
            override fun onDelivered(idempotencyKey: String, rewardUrl: String?, progressCurrent: Long?, progressTarget: Long?) {
                deliveredKey.complete(idempotencyKey)
            }
            override fun onFailed(idempotencyKey: String, code: ErrorCode, reason: String) {}
            override fun onDropped(idempotencyKey: String, reason: String) {}
            override fun onPaused(code: ErrorCode) {}
        }
        client(CountingProvider()).use { client ->
            client.openOutbox(path, listener).use { outbox ->
                assertEquals(OutboxActionStatus.Unknown, outbox.lookup(key))
                mock.injectFault("POST /v1/triggers", 100, "reset")
                val first = outbox.enqueueWithKey(key, customerId, "US", mock.campaignId, "first_workout")
                assertEquals(OutboxEnqueued(false, OutboxActionStatus.Queued(0, null)), first)
                outbox.flush()
                // Queued after its failed attempt (or, if the lookup came late, in its next attempt).
                val queued = outbox.lookup(key)
                assertTrue(
                    (queued is OutboxActionStatus.Queued && queued.attempts >= 1 && queued.lastError != null) ||
                        (queued is OutboxActionStatus.InFlight && queued.attempt >= 2),
                    "$queued",
                )

                mock.clearFaults()
                outbox.flush()
                // The outcome is recorded before the listener is told.
                assertEquals(key, withTimeout(30_000) { deliveredKey.await() })
                val delivered = outbox.lookup(key)
                assertTrue(delivered is OutboxActionStatus.Delivered, "$delivered")
                val url = (delivered as OutboxActionStatus.Delivered).rewardUrl!!
                assertEquals(200, mock.getAbsolute(url).statusCode(), "the reward page opens")

                // The app enqueues the same action again (killed before it learnt the outcome): the first reward.
                val again = outbox.enqueueWithKey(key, customerId, "US", mock.campaignId, "first_workout")
                assertEquals(OutboxEnqueued(true, delivered), again)
                val after = outbox.flush()
                assertEquals(0L, after.queued + after.inflight + after.failed)
                assertEquals(listOf(url), client.myRewards().map { it.url }, "one reward, the first")

                val conflict = runCatching {
                    outbox.enqueueWithKey(key, customerId, "US", mock.campaignId, "five_workouts")
                }.exceptionOrNull()
                assertTrue(conflict is MomentsException.InvalidArgument, "got $conflict")
                assertEquals(ErrorCode.IDEMPOTENCY_CONFLICT, (conflict as MomentsException).code)
                val badKey = runCatching { outbox.lookup("") }.exceptionOrNull()
                assertEquals(ErrorCode.INVALID_IDEMPOTENCY_KEY, (badKey as MomentsException.InvalidArgument).code)
            }
        }
    }

    @Test
    fun `the blocking API makes the same calls without coroutines and shares the client's state`() {
        val provider = CountingProvider()
        client(provider).use { client ->
            client.blocking().use { blocking ->
                val info = blocking.rewardInfo(mock.campaignId, "first_workout")
                assertEquals(mock.campaignId, info.campaignId)
                assertTrue(info.offer.isNotEmpty())

                val reward = (blocking.reportAction(mock.campaignId, "first_workout") as ActionOutcome.Rewarded).reward
                assertEquals(200, mock.getAbsolute(reward.url).statusCode(), "the reward page opens")
                val capped = assertThrows<MomentsException.Api> { blocking.reportAction(mock.campaignId, "first_workout") }
                assertEquals(ErrorCode.FREQUENCY_CAP_REACHED, capped.code)
                assertTrue(capped.requestId!!.startsWith("req_"))
                val bad = assertThrows<MomentsException.InvalidArgument> {
                    blocking.reportAction(mock.campaignId, "first_workout", 0)
                }
                assertEquals(ErrorCode.INVALID_ARGUMENT, bad.code)
                assertEquals(
                    ErrorCode.INVALID_ARGUMENT,
                    assertThrows<MomentsException.InvalidArgument> {
                        blocking.reportAction(mock.campaignId, "first_workout", -1)
                    }.code,
                )

                assertTrue(blocking.myRewards().any { it.id == reward.id })
                val progress = blocking.reportAction(mock.campaignId, "five_workouts", 2) as ActionOutcome.InProgress
                assertEquals(2L, progress.progress.current)
                assertEquals(2L, blocking.myProgress(mock.campaignId).single { it.momentId == "five_workouts" }.current)

                // One token cache, one status for the client and its blocking view.
                runBlocking { client.rewardInfo(mock.campaignId, "first_workout") }
                assertEquals(1, provider.calls.get(), "the blocking view used the client's cached token")
                assertEquals(ClientStatus.Online, blocking.status)
                runBlocking { withTimeout(10_000) { client.status.first { it == blocking.status } } }
            }
        }
    }

    @Test
    fun `blocking calls are cancelled by cancelAll and by token, and end at the call timeout`() {
        val stuck = StuckProvider()
        client(stuck).use { client ->
            val pending = onThread { client.blocking().rewardInfo(mock.campaignId, "first_workout") }
            assertTrue(stuck.entered.await(10, TimeUnit.SECONDS), "the call reached the token provider")
            client.cancelAll()
            val error = pending.get(10, TimeUnit.SECONDS).exceptionOrNull()
            assertTrue(error is MomentsException.Cancelled, "got $error")
        }

        val stuckAgain = StuckProvider()
        client(stuckAgain).use { client ->
            val token = CancellationToken()
            val pending = onThread { client.blocking().reportAction(mock.campaignId, "first_workout", 1, token) }
            assertTrue(stuckAgain.entered.await(10, TimeUnit.SECONDS))
            token.cancel()
            assertEquals(ErrorCode.CANCELLED, (pending.get(10, TimeUnit.SECONDS).exceptionOrNull() as MomentsException).code)
        }

        client(StuckProvider(), callTimeoutMs = 200L).use { client ->
            val error = assertThrows<MomentsException.Network> { client.blocking().myRewards() }
            assertEquals(ErrorCode.TIMEOUT, error.code)
            assertTrue(error.isRetryable)
        }
    }

    @Test
    fun `a blocking call from an SDK callback thread is a typed error, not a deadlock`() {
        client(CountingProvider()).use { client ->
            val blocking = client.blocking()
            val outcome = CompletableFuture<Result<List<Reward>>>()
            val handle = client.addRewardListener(object : RewardListener {
                override fun onEvent(event: RewardEvent) {
                    outcome.complete(runCatching { blocking.myRewards() })
                }
            })
            val error = outcome.get(10, TimeUnit.SECONDS).exceptionOrNull()
            assertTrue(error is MomentsException.InvalidArgument, "got $error")
            assertEquals(ErrorCode.BLOCKING_CALL_ON_SDK_THREAD, (error as MomentsException).code)
            handle.close()
        }
    }
    @Test
    fun `status is a StateFlow that follows the calls, and listeners run on named SDK threads`() = runBlocking {
        val throwing = tokenProvider { throw IllegalStateException("backend down") }
        client(throwing).use { client ->
            assertEquals(ClientStatus.Idle, client.status.value)
            assertThrows<MomentsException.TokenProvider> { runBlocking { client.myRewards() } }
            assertEquals(
                ClientStatus.Unauthenticated(ErrorCode.TOKEN_PROVIDER_FAILED),
                withTimeout(10_000) { client.status.first { it != ClientStatus.Idle } },
            )
        }
        client(CountingProvider()).use { client ->
            val thread = CompletableFuture<String>()
            client.addRewardListener { thread.complete(Thread.currentThread().name) }.use {
                assertTrue(thread.get(10, TimeUnit.SECONDS).startsWith("moments-"), thread.get())
            }
            client.rewardInfo(mock.campaignId, "first_workout")
            assertEquals(ClientStatus.Online, withTimeout(10_000) { client.status.first { it == ClientStatus.Online } })
        }
    }

    @Test
    fun `every value prints readably and a token never prints`() {
        assertEquals("Idle", ClientStatus.Idle.toString())
        assertEquals("Offline(code=TIMEOUT)", ClientStatus.Offline(ErrorCode.TIMEOUT).toString())
        assertEquals("Physical", ItemKind.Physical.toString())
        assertEquals("Unknown", OutboxActionStatus.Unknown.toString())
        assertEquals("CustomerToken(token=<redacted>, expiresInSeconds=60)", CustomerToken("ct_secret", 60).toString())
        assertEquals("frequency_cap_reached", ErrorCode.FREQUENCY_CAP_REACHED.wireName)
        val error = assertThrows<MomentsException.InvalidArgument> {
            client(CountingProvider()).use { it.blocking().reportAction(mock.campaignId, "first_workout", 0) }
        }
        assertTrue(
            error.toString().startsWith("MomentsException.InvalidArgument(code=INVALID_ARGUMENT, requestId=null, " +
                "retryable=false, httpStatus=null): quantity"),
            error.toString(),
        )
    }
    /** A client made and dropped in its own frame, so no local of the test keeps it. */
    private fun droppedClient(): java.lang.ref.WeakReference<MomentsClient> =
        java.lang.ref.WeakReference(client(CountingProvider()))

    @Test
    fun `a client the app drops without closing it is garbage collected`() {
        // Its status listener lives in the native client; it must not keep the Kotlin client reachable.
        val dropped = droppedClient()
        for (attempt in 1..100) {
            System.gc()
            if (dropped.get() == null) return
            Thread.sleep(20)
        }
        org.junit.jupiter.api.Assertions.fail<Unit>("the dropped client is still reachable")
    }
    @Test
    fun `extra trusted certificates compare by content and bytes that are no certificate are refused`() {
        val garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".toByteArray()
        val config = ClientConfig(
            "https://rewards.example.com",
            DeviceInfo(DeviceType.FIRE_OS),
            trustedCertificates = listOf(garbage),
        )
        assertEquals(config, config.copy(trustedCertificates = listOf(garbage.copyOf())))
        assertEquals(config.hashCode(), config.copy(trustedCertificates = listOf(garbage.copyOf())).hashCode())
        assertFalse(config == config.copy(trustedCertificates = emptyList()))
        assertTrue(config.toString().endsWith("trustedCertificates=[${garbage.size} bytes])"), config.toString())
        val refused = assertThrows<MomentsException.InvalidArgument> {
            MomentsClient(config, tokenProvider { error("no call is made") })
        }
        assertEquals(ErrorCode.INVALID_ARGUMENT, refused.code)
        assertTrue(refused.message.contains("trusted certificate #1"), refused.message)
    }
}
