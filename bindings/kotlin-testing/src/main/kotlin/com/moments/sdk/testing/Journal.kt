package com.moments.sdk.testing

import java.time.Instant

/**
 * A request the mock answered.
 *
 * @property requestId the request id (`req_…`).
 * @property at server time.
 * @property method the method.
 * @property path the path.
 * @property route the route template the mock matched, if any.
 * @property status the answer's status (0 when a fault reset the connection).
 * @property idempotencyKey the `Idempotency-Key`, if any.
 * @property replayed whether the answer was a replay of an earlier one.
 * @property fault the fault applied, if any.
 * @property occurredAt a trigger's `occurred_at` as the request sent it.
 */
public data class JournalEntry(
    public val requestId: String,
    public val at: Instant,
    public val method: String,
    public val path: String,
    public val route: String?,
    public val status: Int,
    public val idempotencyKey: String?,
    public val replayed: Boolean,
    public val fault: String?,
    public val occurredAt: Instant?,
) {
    /** Whether this request was one of [route]'s. */
    public fun `is`(route: Route): Boolean = route.matches(method, path, this.route)

    /** Whether it was a control API call (`/_mock/…`). */
    public val isControl: Boolean get() = path.startsWith("/_mock/")

    internal fun line(): String = buildString {
        append("\n    $at $method $path → $status")
        idempotencyKey?.let { append(" (Idempotency-Key $it)") }
        if (replayed) append(" replayed")
        fault?.let { append(" fault: $it") }
        append(" [$requestId]")
    }
}

/**
 * The request journal: the last 10,000 requests the mock answered, oldest first, control calls included
 * (expectations leave those out).
 */
public class Journal internal constructor(private val control: Control) {
    /** Every request recorded, oldest first. */
    public fun entries(): List<JournalEntry> = control.get("/_mock/journal").objs("data").map {
        JournalEntry(
            it.str("request_id"), it.instant("at"), it.str("method"), it.str("path"), it.strOrNull("route"),
            it.long("status").toInt(), it.strOrNull("idempotency_key"), it.bool("replayed"), it.strOrNull("fault"),
            it.instantOrNull("occurred_at"),
        )
    }

    /** The requests of [route], oldest first. */
    public fun requests(route: Route): List<JournalEntry> = entries().filter { it.`is`(route) }

    /** How many requests of [route] were recorded. */
    public fun count(route: Route): Int = requests(route).size

    /** Forgets every entry. */
    public fun clear() {
        control.delete("/_mock/journal")
    }

    /** An expectation on the requests of [route] (by default: at least one); check it with [Expectation.verify]. */
    public fun expect(route: Route): Expectation = Expectation(this, route)
}

/**
 * An expectation on the journal: how many requests of a route (optionally answered with a status) the mock
 * received. Checked by [verify], or, once [mounted][mount] on a [MomentsMock], by [MomentsMock.verify] and after
 * the test by [MomentsMockExtension] and [MomentsMockRule].
 *
 * @property route the route whose requests it counts.
 */
public class Expectation internal constructor(private val journal: Journal, public val route: Route) {
    private var min: Int = 1
    private var max: Int = Int.MAX_VALUE
    private var status: Int? = null

    /** Exactly [n] requests. */
    public fun times(n: Int): Expectation = between(n, n)

    /** Exactly one request. */
    public fun once(): Expectation = times(1)

    /** No request. */
    public fun never(): Expectation = times(0)

    /** [n] or more requests. */
    public fun atLeast(n: Int): Expectation = between(n, Int.MAX_VALUE)

    /** [n] or fewer requests. */
    public fun atMost(n: Int): Expectation = between(0, n)

    /** From [lo] to [hi] requests, both included. */
    public fun between(lo: Int, hi: Int): Expectation = apply {
        if (lo < 0 || hi < lo) throw MockException.Invalid("times", "no count is between $lo and $hi")
        min = lo
        max = hi
    }

    /** Counts only requests answered with this status (0: the connection was reset by a fault). */
    public fun withStatus(status: Int): Expectation = apply { this.status = status }

    /** Whether an entry counts toward it. */
    public fun matches(entry: JournalEntry): Boolean = entry.`is`(route) && (status == null || status == entry.status)

    /** Checks it against journal entries (oldest first); throws [UnmetExpectation] listing what the mock saw. */
    public fun check(entries: List<JournalEntry>) {
        val (matched, others) = entries.filter { !it.isControl }.partition(::matches)
        val n = matched.size
        if (n in min..max) return
        val message = buildString {
            append("expected $route")
            status?.let { append(" answered $it") }
            append(" ${wanted()}, it was called $n ${plural(n)}")
            if (matched.isNotEmpty()) {
                append("\n  matching requests:")
                matched.forEach { append(it.line()) }
            }
            if (others.isEmpty()) {
                append("\n  no other requests")
            } else {
                val skip = maxOf(0, others.size - SHOWN)
                append("\n  other requests (${others.size}${if (skip > 0) ", the latest shown" else ""}):")
                others.drop(skip).forEach { append(it.line()) }
            }
        }
        throw UnmetExpectation(message, matched, others)
    }

    /** Reads the journal and checks it now: [UnmetExpectation] lists what the mock saw. */
    public fun verify() {
        check(journal.entries())
    }

    /** Hands the expectation to [mock]: checked by [MomentsMock.verify], which the extension and rule call after each test. */
    public fun mount(mock: MomentsMock) {
        mock.mount(this)
    }

    private fun wanted(): String = when {
        min == max -> "exactly $min ${plural(min)}"
        max == Int.MAX_VALUE -> "at least $min ${plural(min)}"
        min == 0 -> "at most $max ${plural(max)}"
        else -> "between $min and $max times"
    }

    /** `ROUTE [answered STATUS] exactly n times`. */
    override fun toString(): String = "$route" + (status?.let { " answered $it" } ?: "") + " " + wanted()

    private companion object {
        const val SHOWN = 20

        fun plural(n: Int) = if (n == 1) "time" else "times"
    }
}
