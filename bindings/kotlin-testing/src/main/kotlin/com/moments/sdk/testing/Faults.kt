package com.moments.sdk.testing

import java.time.Duration

/** What a fault does beside (or instead of) answering a status. */
public enum class FaultAction {
    /** Close the connection without an answer. */
    RESET_CONNECTION,

    /** Answer `429 rate_limited` with `Retry-After`. */
    RATE_LIMIT,
}

/**
 * A fault for the next requests of a route. It fires before the request is handled, so the request has no effect.
 *
 * ```kotlin
 * val outage = Fault.on(Route.TRIGGER).status(503).times(2)
 * val slow = Fault.on(Route.GET_REWARD).latency(Duration.ofMillis(300))
 * val gone = Fault.on(Route.REDEMPTION).resetConnection()
 * val busy = Fault.on(Route.TRIGGER).rateLimit(Duration.ofSeconds(5))
 * ```
 *
 * @property route the route whose requests it applies to.
 */
public class Fault private constructor(
    public val route: Route,
    private var count: Int = 1,
    private var status: Int? = null,
    private var latency: Duration? = null,
    private var action: FaultAction? = null,
    private var retryAfter: Duration? = null,
) {
    /** For the next [n] matching requests (default 1; ≥ 1). */
    public fun times(n: Int): Fault = apply { count = n }

    /** Answers this status (400–599) with the error envelope (429 and 503 carry `Retry-After`). */
    public fun status(status: Int): Fault = apply { this.status = status }

    /** Delays the answer (alone: delays handling; with another effect: delays it). */
    public fun latency(latency: Duration): Fault = apply { this.latency = latency }

    /** Closes the connection without an answer. */
    public fun resetConnection(): Fault = apply { action = FaultAction.RESET_CONNECTION }

    /** Answers `429 rate_limited` with `Retry-After: retryAfter` (whole seconds, ≥ 1). */
    public fun rateLimit(retryAfter: Duration): Fault = apply {
        action = FaultAction.RATE_LIMIT
        this.retryAfter = retryAfter
    }

    /** `Retry-After` of a 429 or 503 [status] (whole seconds, ≥ 1; default 1). */
    public fun retryAfter(retryAfter: Duration): Fault = apply { this.retryAfter = retryAfter }

    /**
     * The body of `POST /_mock/faults`, checked: a count of 0, a status outside 400–599, a fault that does nothing,
     * or a sub-second or zero `Retry-After` is [MockException.Invalid] naming the control API's field.
     */
    internal fun toWire(): Map<String, Any?> {
        if (count < 1) throw MockException.Invalid("count", "`count` must be ≥ 1")
        status?.let { if (it !in 400..599) throw MockException.Invalid("status", "`status` must be 400–599") }
        if (status == null && action == null && latency == null) {
            throw MockException.Invalid("status", "a fault needs a status, a latency, resetConnection or rateLimit")
        }
        val retry = retryAfter?.let {
            if (it.nano != 0 || it.seconds < 1) {
                throw MockException.Invalid("retry_after_seconds", "`Retry-After` is whole seconds ≥ 1, not $it")
            }
            it.seconds
        }
        val latencyMs = latency?.let {
            if (it.isNegative) throw MockException.Invalid("latency_ms", "a latency is not negative")
            it.toMillis()
        }
        val wire = linkedMapOf<String, Any?>("route" to route.toString(), "count" to count)
        status?.let { wire["status"] = it }
        latencyMs?.let { wire["latency_ms"] = it }
        action?.let { wire["action"] = if (it == FaultAction.RESET_CONNECTION) "reset" else "rate_limit" }
        retry?.let { wire["retry_after_seconds"] = it }
        return wire
    }

    /** Making faults. */
    public companion object {
        /** A fault on [route] for its next request; give it a status, latency, reset or rate limit before injecting. */
        @JvmStatic
        public fun on(route: Route): Fault = Fault(route)
    }
}

/**
 * A fault still armed, as [Faults.list] reads it.
 *
 * @property route the route.
 * @property remaining how many matching requests it still applies to.
 * @property status the status it answers.
 * @property latency the delay.
 * @property action what it does beside a status.
 * @property retryAfter the `Retry-After` it sends.
 */
public data class ArmedFault(
    public val route: Route,
    public val remaining: Int,
    public val status: Int?,
    public val latency: Duration?,
    public val action: FaultAction?,
    public val retryAfter: Duration?,
)

/** The faults of a mock (`/_mock/faults`). */
public class Faults internal constructor(private val control: Control) {
    /**
     * Injects a fault (checked first, then by the mock: a route it does not serve is [MockException.Api] naming
     * `route`). Faults apply in the order injected; the first that matches a request fires.
     */
    public fun inject(fault: Fault) {
        control.post("/_mock/faults", fault.toWire())
    }

    /** The faults still armed, with how many requests each has left, in the order they apply. */
    public fun list(): List<ArmedFault> = control.get("/_mock/faults").objs("data").map {
        ArmedFault(
            route = Route.of(it.str("route")),
            remaining = it.long("count").toInt(),
            status = it.longOrNull("status")?.toInt(),
            latency = it.longOrNull("latency_ms")?.let(Duration::ofMillis),
            action = when (it.strOrNull("action")) {
                "reset" -> FaultAction.RESET_CONNECTION
                "rate_limit" -> FaultAction.RATE_LIMIT
                else -> null
            },
            retryAfter = it.longOrNull("retry_after_seconds")?.let(Duration::ofSeconds),
        )
    }

    /** Removes every fault. */
    public fun clear() {
        control.delete("/_mock/faults")
    }
}
