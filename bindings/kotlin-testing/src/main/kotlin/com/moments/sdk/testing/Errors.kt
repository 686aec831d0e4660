package com.moments.sdk.testing

/** An error of the testing kit's control calls. [field] names the control API's field when one is at fault. */
public sealed class MockException(message: String) : RuntimeException(message) {
    /** The field at fault (the control API's name for it, e.g. `seconds`, `route`, `count`), if any. */
    public open val field: String? get() = null

    /**
     * The mock refused the call with its error envelope.
     *
     * @property status HTTP status.
     * @property code the envelope's `code` (`validation_error`, …).
     * @property apiMessage the envelope's `message`.
     * @property param the field the mock named, if any (`route`, `campaigns[0].campaign.budget.amount`).
     * @property requestId the request id (`req_…`).
     */
    public class Api(
        public val status: Int,
        public val code: String,
        public val apiMessage: String,
        public val param: String?,
        public val requestId: String,
    ) : MockException(
        "mock answered $status $code: $apiMessage" + (param?.let { " (param `$it`)" } ?: "") + " [$requestId]",
    ) {
        override val field: String? get() = param
    }

    /**
     * The kit refused a value before sending it (a negative or sub-second clock step, a count of 0, …).
     *
     * @property reason what is wrong with it.
     */
    public class Invalid(override val field: String, public val reason: String) :
        MockException("invalid `$field`: $reason")

    /** The mock could not be reached, or answered something that is not the control API's. */
    public class Transport(message: String, cause: Throwable? = null) : MockException("mock control API: $message") {
        init {
            if (cause != null) initCause(cause)
        }
    }
}

/**
 * An unmet [Expectation] on the journal: an [AssertionError], so test frameworks report it as a failure. The message
 * lists the matching requests and the others the mock saw (control calls left out).
 *
 * @property matched the requests that matched the expectation.
 * @property others the other requests.
 */
public class UnmetExpectation internal constructor(
    message: String,
    public val matched: List<JournalEntry>,
    public val others: List<JournalEntry>,
) : AssertionError(message)
