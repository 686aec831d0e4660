package com.moments.sdk

import com.moments.sdk.internal.ErrorCode as FfiErrorCode
import com.moments.sdk.internal.MomentsException as FfiException

/**
 * What went wrong, as a stable, machine-readable code: the API's error code, or one of the SDK's own for failures
 * on the device. New codes may be added; a code this SDK version does not know is [UNKNOWN].
 *
 * @property wireName The code as the API and the logs spell it (`frequency_cap_reached`).
 */
public enum class ErrorCode(public val wireName: String) {
    /** The request body is not JSON or not the expected shape. */
    INVALID_JSON("invalid_json"),
    /** A field is missing, of the wrong type or out of range; the error's `param` names it. */
    VALIDATION_ERROR("validation_error"),
    /** A reported action without an idempotency key. */
    IDEMPOTENCY_KEY_REQUIRED("idempotency_key_required"),
    /** No credential was sent. */
    AUTHENTICATION_REQUIRED("authentication_required"),
    /** The credential is unknown or revoked. */
    INVALID_API_KEY("invalid_api_key"),
    /** The customer token expired. */
    TOKEN_EXPIRED("token_expired"),
    /** The credential may not do this. */
    FORBIDDEN("forbidden"),
    /** The moment may only be reported by the brand's server, not by the app. */
    MOMENT_NOT_CLIENT_REPORTABLE("moment_not_client_reportable"),
    /** Unknown id, or another app's. */
    RESOURCE_NOT_FOUND("resource_not_found"),
    /** No such API path. */
    ROUTE_NOT_FOUND("route_not_found"),
    /** The path exists, the method does not. */
    METHOD_NOT_ALLOWED("method_not_allowed"),
    /** The same idempotency key was used for another request (or another action, in the outbox). */
    IDEMPOTENCY_CONFLICT("idempotency_conflict"),
    /** The same idempotency key is still being processed. */
    IDEMPOTENCY_IN_PROGRESS("idempotency_in_progress"),
    /** The call is not allowed in the current status. */
    INVALID_STATE_TRANSITION("invalid_state_transition"),
    /** The reward is not `issued` or `flagged`. */
    REWARD_NOT_CANCELLABLE("reward_not_cancellable"),
    /** The reward link was used. */
    REWARD_ALREADY_REDEEMED("reward_already_redeemed"),
    /** The reward expired. */
    REWARD_EXPIRED("reward_expired"),
    /** The reward is cancelled, blocked or flagged. */
    REWARD_NOT_REDEEMABLE("reward_not_redeemable"),
    /** The request body (or an outbox action) is too large. */
    PAYLOAD_TOO_LARGE("payload_too_large"),
    /** The request body is not JSON. */
    UNSUPPORTED_MEDIA_TYPE("unsupported_media_type"),
    /** The campaign is not live (nor approved, for test mode). */
    CAMPAIGN_NOT_LIVE("campaign_not_live"),
    /** The campaign's monthly budget would be exceeded. */
    BUDGET_EXHAUSTED("budget_exhausted"),
    /** The account's monthly cap would be exceeded. */
    ACCOUNT_BUDGET_EXHAUSTED("account_budget_exhausted"),
    /** No item of the reward group has stock. */
    INVENTORY_EXHAUSTED("inventory_exhausted"),
    /** The customer's marketplace is not targeted. */
    MARKETPLACE_NOT_ALLOWED("marketplace_not_allowed"),
    /** No reward group serves the customer's segment. */
    SEGMENT_NOT_TARGETED("segment_not_targeted"),
    /** The customer already got the maximum rewards for this moment. */
    FREQUENCY_CAP_REACHED("frequency_cap_reached"),
    /** The reward is held for fraud review. */
    FLAGGED_FOR_REVIEW("flagged_for_review"),
    /** Too many actions for this customer, device or IP address. */
    VELOCITY_LIMIT_EXCEEDED("velocity_limit_exceeded"),
    /** Too many requests. */
    RATE_LIMITED("rate_limited"),
    /** A bug, in the server or in the SDK (caught before it could crash the app). */
    INTERNAL_ERROR("internal_error"),
    /** The API is temporarily unavailable. */
    SERVICE_UNAVAILABLE("service_unavailable"),
    /** No connection to the API, or the connection failed. */
    NETWORK_ERROR("network_error"),
    /** The request or the whole call took longer than its timeout. */
    TIMEOUT("timeout"),
    /** The API's answer could not be read. */
    INVALID_RESPONSE("invalid_response"),
    /** The app's token provider failed or returned an unusable token. */
    TOKEN_PROVIDER_FAILED("token_provider_failed"),
    /** The call was cancelled. */
    CANCELLED("cancelled"),
    /** An argument or the configuration is invalid. */
    INVALID_ARGUMENT("invalid_argument"),
    /** A blocking call was made on one of the SDK's own threads (inside a listener, token provider or log sink). */
    BLOCKING_CALL_ON_SDK_THREAD("blocking_call_on_sdk_thread"),
    /** The outbox refused the action as invalid. */
    INVALID_ACTION("invalid_action"),
    /** The idempotency key is not 1–255 printable ASCII characters. */
    INVALID_IDEMPOTENCY_KEY("invalid_idempotency_key"),
    /** The outbox file is already open (one outbox per file at a time). */
    OUTBOX_ALREADY_OPEN("outbox_already_open"),
    /** The outbox holds as many actions as it may. */
    OUTBOX_FULL("outbox_full"),
    /** The outbox was closed. */
    OUTBOX_CLOSED("outbox_closed"),
    /** The outbox file could not be read or written. */
    OUTBOX_STORAGE("outbox_storage"),
    /** The outbox file was written by a newer SDK. */
    OUTBOX_UNSUPPORTED_SCHEMA("outbox_unsupported_schema"),
    /** A code this SDK version does not know (the error's message names it). */
    UNKNOWN("unknown"),
    ;

    internal companion object {
        fun of(code: FfiErrorCode): ErrorCode = valueOf(code.name)
    }
}

/**
 * The one exception of the Moments SDK. Every failure carries the same fields, read directly on any kind:
 * [code], [requestId], [isRetryable], [httpStatus] and the [message] for people (English, never a token or key).
 * The subclass says what kind of failure it was; match it with `when (e) { is MomentsException.Network -> … }`
 * (Java: `catch (MomentsException.Network e)`).
 *
 * ```kotlin
 * try {
 *     client.reportAction(campaignId, "first_workout")
 * } catch (e: MomentsException) {
 *     if (e.code == ErrorCode.FREQUENCY_CAP_REACHED) showAlreadyRewarded()
 *     else if (e.isRetryable) retryLater() else log("failed: ${e.code} (${e.requestId})")
 * }
 * ```
 */
public sealed class MomentsException(
    /** What went wrong. */
    public val code: ErrorCode,
    /** A sentence for people (English): what failed and why. */
    override val message: String,
    /** The server's request id (`req_…`) when the server answered: quote it when reporting a problem. */
    public val requestId: String?,
    /** Whether the same call may succeed later unchanged (after a pause, or once the network is back). */
    public val isRetryable: Boolean,
    /** The HTTP status of the answer, when there was one. */
    public val httpStatus: Int?,
) : Exception(message) {
    /** The Rewards API refused the request; [code] is the API's error code and [param] the offending field. */
    public class Api internal constructor(
        code: ErrorCode,
        message: String,
        requestId: String?,
        isRetryable: Boolean,
        httpStatus: Int?,
        /** The offending field of a validation error. */
        public val param: String?,
    ) : MomentsException(code, message, requestId, isRetryable, httpStatus)

    /** The request got no usable answer: no connection, a timeout, or an unreadable answer. */
    public class Network internal constructor(
        code: ErrorCode,
        message: String,
        requestId: String?,
        isRetryable: Boolean,
        httpStatus: Int?,
    ) : MomentsException(code, message, requestId, isRetryable, httpStatus)

    /** The app's token provider threw or returned an unusable token ([ErrorCode.TOKEN_PROVIDER_FAILED]). */
    public class TokenProvider internal constructor(
        code: ErrorCode,
        message: String,
        requestId: String?,
        isRetryable: Boolean,
        httpStatus: Int?,
    ) : MomentsException(code, message, requestId, isRetryable, httpStatus)

    /**
     * The call was cancelled by a [CancellationToken] or [MomentsClient.cancelAll] ([ErrorCode.CANCELLED]).
     * A cancelled coroutine ends with its own `CancellationException` instead.
     */
    public class Cancelled internal constructor(
        code: ErrorCode,
        message: String,
        requestId: String?,
        isRetryable: Boolean,
        httpStatus: Int?,
    ) : MomentsException(code, message, requestId, isRetryable, httpStatus)

    /**
     * An argument or the configuration is invalid ([ErrorCode.INVALID_ARGUMENT], or the outbox's codes for an
     * action or key it refuses), or a blocking call was made on one of the SDK's own threads
     * ([ErrorCode.BLOCKING_CALL_ON_SDK_THREAD]).
     */
    public class InvalidArgument internal constructor(
        code: ErrorCode,
        message: String,
        requestId: String?,
        isRetryable: Boolean,
        httpStatus: Int?,
    ) : MomentsException(code, message, requestId, isRetryable, httpStatus)

    /** The on-device outbox could not store or read an action: full, closed, unreadable, or from a newer SDK. */
    public class Storage internal constructor(
        code: ErrorCode,
        message: String,
        requestId: String?,
        isRetryable: Boolean,
        httpStatus: Int?,
    ) : MomentsException(code, message, requestId, isRetryable, httpStatus)

    /** A bug in the SDK, caught before it could crash the app ([ErrorCode.INTERNAL_ERROR]). */
    public class Internal internal constructor(
        code: ErrorCode,
        message: String,
        requestId: String?,
        isRetryable: Boolean,
        httpStatus: Int?,
    ) : MomentsException(code, message, requestId, isRetryable, httpStatus)

    /** `MomentsException.Api(code=FREQUENCY_CAP_REACHED, requestId=req_…, retryable=false, httpStatus=422): …`. */
    override fun toString(): String =
        "MomentsException.${javaClass.simpleName}(code=$code, requestId=$requestId, retryable=$isRetryable, " +
            "httpStatus=$httpStatus): $message"

    internal companion object {
        /** The public exception of a generated one. */
        fun of(e: FfiException): MomentsException = when (e) {
            is FfiException.Api ->
                Api(ErrorCode.of(e.code), e.reason, e.requestId, e.retryable, e.httpStatus, e.param)
            is FfiException.Network ->
                Network(ErrorCode.of(e.code), e.reason, e.requestId, e.retryable, e.httpStatus)
            is FfiException.TokenProvider ->
                TokenProvider(ErrorCode.of(e.code), e.reason, e.requestId, e.retryable, e.httpStatus)
            is FfiException.Cancelled ->
                Cancelled(ErrorCode.of(e.code), e.reason, e.requestId, e.retryable, e.httpStatus)
            is FfiException.InvalidArgument ->
                InvalidArgument(ErrorCode.of(e.code), e.reason, e.requestId, e.retryable, e.httpStatus)
            is FfiException.Storage ->
                Storage(ErrorCode.of(e.code), e.reason, e.requestId, e.retryable, e.httpStatus)
            is FfiException.Internal ->
                Internal(ErrorCode.of(e.code), e.reason, e.requestId, e.retryable, e.httpStatus)
        }
    }
}

/** Runs a call into the generated layer, turning its exception into the public [MomentsException]. */
internal inline fun <T> sdkCall(call: () -> T): T = try {
    call()
} catch (e: FfiException) {
    throw MomentsException.of(e)
}
