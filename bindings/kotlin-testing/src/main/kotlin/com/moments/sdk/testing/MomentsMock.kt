package com.moments.sdk.testing

import com.sun.jna.Pointer
import java.util.concurrent.CopyOnWriteArrayList

/**
 * The Moments mock, started in the test's process on a free port of `127.0.0.1` with the seeded demo: the whole
 * Rewards API with real state, and its control API ([Control]: clock, mode, faults, fixtures, journal, webhooks,
 * reset). Each mock has its own state, clock, faults and journal; [close] stops it and frees its port and threads.
 *
 * ```kotlin
 * MomentsMock.start().use { mock ->
 *     val client = MomentsClient(ClientConfig(baseUrl = mock.baseUrl, device = device), provider)
 *     …
 *     mock.journal().expect(Route.TRIGGER).once().verify()
 * }
 * ```
 *
 * In JUnit 5, [MomentsMockExtension] gives each test (or each class) a fresh one; in JUnit 4, [MomentsMockRule].
 * The mock is the native library `moments_mock_ffi` inside this jar (JNA's resource prefix for the host, e.g.
 * `linux-x86-64/`).
 */
public class MomentsMock private constructor(private var handle: Pointer?, baseUrl: String) : Control(baseUrl), AutoCloseable {
    private val mounted = CopyOnWriteArrayList<Expectation>()

    /** Whether the mock is still running. */
    public val isRunning: Boolean get() = synchronized(this) { handle != null }

    internal fun mount(expectation: Expectation) {
        mounted += expectation
    }

    /** Checks every [mounted][Expectation.mount] expectation now; throws the first [UnmetExpectation]. */
    public fun verify() {
        if (mounted.isEmpty()) return
        val entries = journal().entries()
        mounted.forEach { it.check(entries) }
    }

    /** Stops the mock without waiting for idle client connections; its port, threads and state are freed. Idempotent. */
    override fun close() {
        val h = synchronized(this) { handle.also { handle = null } } ?: return
        resources.forEach { it.close() }
        resources.clear()
        MockLibrary.INSTANCE.moments_mock_stop(h)
    }

    /** Starting mocks. */
    public companion object {
        /**
         * Starts a mock on a free port of `127.0.0.1`.
         *
         * @throws MockException.Transport if the native library cannot start it.
         */
        @JvmStatic
        public fun start(): MomentsMock {
            val lib = MockLibrary.INSTANCE
            val error = ByteArray(512)
            val handle = lib.moments_mock_start(error, error.size)
                ?: throw MockException.Transport(String(error, 0, error.indexOf(0).coerceAtLeast(0), Charsets.UTF_8))
            val url = lib.moments_mock_base_url(handle)
            if (url == null) {
                lib.moments_mock_stop(handle)
                throw MockException.Transport("the mock has no base URL")
            }
            return MomentsMock(handle, url)
        }
    }
}
