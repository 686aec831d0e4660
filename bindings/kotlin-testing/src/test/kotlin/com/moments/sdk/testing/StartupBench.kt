package com.moments.sdk.testing

import java.io.File
import java.util.Locale

/**
 * What a fresh mock costs a test through this kit: a program with a `main`, not a test (surefire runs `*Test` classes
 * only; `cargo xtask kotlin-test` compiles it, `cargo xtask kotlin-kit-bench` runs it with the release library).
 *
 * - `Kotlin kit: MomentsMock.start → first answer`: from [MomentsMock.start] to the first answered control call
 *   (`GET /_mock/mode` through the kit's client, a new connection), then [MomentsMock.close] outside the time;
 * - `Kotlin kit, per test (start, one control call, close)`: a test's whole cost, over `tests` tests in a row.
 *
 * Both after `warmup` rounds untimed (JIT, JNA's and the HTTP client's classes). Writes `NAME<TAB>MS` lines, what
 * `moments-bench startup --samples FILE` reads.
 *
 * Arguments: `OUT [TESTS [WARMUP]]` (defaults 100, 30).
 */
object StartupBench {
    private const val FIRST = "Kotlin kit: MomentsMock.start → first answer"
    private const val PER_TEST = "Kotlin kit, per test (start, one control call, close)"

    private fun ms(start: Long): Double = (System.nanoTime() - start) / 1e6

    @JvmStatic
    fun main(args: Array<String>) {
        require(args.isNotEmpty()) { "usage: StartupBench OUT [TESTS [WARMUP]]" }
        val out = File(args[0])
        val tests = args.getOrNull(1)?.toInt() ?: 100
        val warmup = args.getOrNull(2)?.toInt() ?: 30

        repeat(warmup) { MomentsMock.start().use { it.mode() } }

        val lines = StringBuilder()
        repeat(tests) {
            val t = System.nanoTime()
            val mock = MomentsMock.start()
            mock.mode()
            val elapsed = ms(t)
            mock.close()
            lines.append(FIRST).append('\t').append(String.format(Locale.ROOT, "%.4f", elapsed)).append('\n')
        }
        repeat(tests) {
            val t = System.nanoTime()
            MomentsMock.start().use { it.mode() }
            lines.append(PER_TEST).append('\t').append(String.format(Locale.ROOT, "%.4f", ms(t))).append('\n')
        }
        out.parentFile?.mkdirs()
        out.writeText(lines.toString())
        println("wrote ${2 * tests} samples to $out")
    }
}
