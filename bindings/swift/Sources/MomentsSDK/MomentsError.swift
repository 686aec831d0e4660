import Foundation

/// The error every throwing call of the SDK throws.
///
/// The case is the kind of failure, so a `catch` can pick the kinds it handles:
///
/// ```swift
/// do {
///     _ = try await client.reportAction(campaignID: campaignID, momentID: "first_workout")
/// } catch MomentsError.network {
///     // No answer from the API: try again later, or use an outbox.
/// } catch let error as MomentsError where error.code == .frequencyCapReached {
///     // The customer already got this reward.
/// }
/// ```
///
/// Whatever the case, ``code``, ``requestID``, ``isRetryable`` and ``httpStatus`` read the same fields of its
/// ``Context``. `localizedDescription` is a sentence for people; the SDK's own explanation, for logs, is
/// ``message``.
public enum MomentsError: Error, Sendable, Hashable {
    /// The Rewards API refused the request; ``code`` is the API's error code and ``httpStatus`` its HTTP status.
    case api(Context)
    /// The request got no usable answer: no connection, a timeout, or an answer that could not be read.
    case network(Context)
    /// The app's token provider threw or returned an unusable token (code ``Code/tokenProviderFailed``).
    case tokenProvider(Context)
    /// The call was cancelled: its task, a ``CancellationToken`` or ``MomentsClient/cancelAll()``
    /// (code ``Code/cancelled``).
    case cancelled(Context)
    /// An argument or the configuration is invalid, the outbox refused an action or key, or a blocking call was
    /// made on one of the SDK's own threads (code ``Code/blockingCallOnSdkThread``).
    case invalidArgument(Context)
    /// The on-device outbox could not store or read an action: full, closed, unreadable, or written by a newer
    /// SDK.
    case storage(Context)
    /// A bug in the SDK, caught before it could crash the app (code ``Code/internalError``).
    case `internal`(Context)

    /// What every kind of ``MomentsError`` carries.
    public struct Context: Sendable, Hashable {
        /// What went wrong, as a stable code.
        public let code: Code
        /// The SDK's explanation in English, for logs and bug reports (never a token or key).
        public let message: String
        /// The server's request id (`req_…`) when the server answered; quote it when reporting a problem.
        public let requestID: String?
        /// Whether the same call may succeed later unchanged.
        public let isRetryable: Bool
        /// The HTTP status of the API's answer, when there was one.
        public let httpStatus: Int?
        /// The request field the API refused, for ``Code/validationError``.
        public let param: String?

        /// Creates a context (for tests of app code that handles ``MomentsError``).
        ///
        /// - Parameters:
        ///   - code: What went wrong.
        ///   - message: The explanation, for logs.
        ///   - requestID: The server's request id, when the server answered.
        ///   - isRetryable: Whether the same call may succeed later unchanged.
        ///   - httpStatus: The HTTP status of the answer, when there was one.
        ///   - param: The refused request field, for validation errors.
        public init(
            code: Code,
            message: String,
            requestID: String? = nil,
            isRetryable: Bool = false,
            httpStatus: Int? = nil,
            param: String? = nil
        ) {
            self.code = code
            self.message = message
            self.requestID = requestID
            self.isRetryable = isRetryable
            self.httpStatus = httpStatus
            self.param = param
        }
    }

    /// The fields of this error, whatever its kind.
    public var context: Context {
        switch self {
        case let .api(context), let .network(context), let .tokenProvider(context), let .cancelled(context),
            let .invalidArgument(context), let .storage(context), let .internal(context):
            return context
        }
    }

    /// What went wrong, as a stable code.
    public var code: Code { context.code }

    /// The SDK's explanation in English, for logs and bug reports (never a token or key).
    public var message: String { context.message }

    /// The server's request id (`req_…`) when the server answered; quote it when reporting a problem.
    public var requestID: String? { context.requestID }

    /// Whether the same call may succeed later unchanged.
    public var isRetryable: Bool { context.isRetryable }

    /// The HTTP status of the API's answer, when there was one.
    public var httpStatus: Int? { context.httpStatus }
}

extension MomentsError: LocalizedError {
    /// A sentence for the app's users, by code (``message`` has the SDK's technical explanation).
    public var errorDescription: String? {
        switch code {
        case .frequencyCapReached:
            return "You have already received this reward."
        case .campaignNotLive:
            return "This challenge is not running right now."
        case .budgetExhausted, .accountBudgetExhausted, .inventoryExhausted:
            return "There are no rewards left for this challenge."
        case .marketplaceNotAllowed, .segmentNotTargeted:
            return "This challenge is not available to you."
        case .flaggedForReview:
            return "Your reward is being reviewed and will be available once it is approved."
        case .velocityLimitExceeded, .rateLimited:
            return "Too many attempts. Please wait a moment and try again."
        case .rewardAlreadyRedeemed:
            return "This reward has already been used."
        case .rewardExpired:
            return "This reward has expired."
        case .rewardNotRedeemable, .rewardNotCancellable:
            return "This reward cannot be used."
        case .networkError:
            return "The rewards service could not be reached. Check your connection and try again."
        case .timeout:
            return "The rewards service took too long to answer. Please try again."
        case .serviceUnavailable, .internalError, .invalidResponse:
            return "The rewards service is having a problem. Please try again later."
        case .tokenExpired, .authenticationRequired, .invalidApiKey, .tokenProviderFailed, .forbidden:
            return "You could not be signed in to the rewards service. Please try again."
        case .cancelled:
            return "The request was cancelled."
        case .outboxFull, .outboxStorage, .outboxClosed, .outboxUnsupportedSchema, .outboxAlreadyOpen:
            return "Your progress could not be saved on this device."
        default:
            return "The request could not be completed."
        }
    }

    /// The SDK's explanation in English, with the code (for logs).
    public var failureReason: String? { "\(message) (\(code.rawValue))" }

    /// What to do next, for errors that may succeed later.
    public var recoverySuggestion: String? {
        isRetryable ? "Try again later." : nil
    }
}

extension MomentsError: CustomStringConvertible {
    /// The kind, code, HTTP status, request id and message, for logs.
    public var description: String {
        var parts = ["\(kindName) \(code.rawValue)"]
        if let httpStatus { parts.append("HTTP \(httpStatus)") }
        if let requestID { parts.append(requestID) }
        if isRetryable { parts.append("retryable") }
        return "MomentsError.\(parts.joined(separator: ", ")): \(message)"
    }

    private var kindName: String {
        switch self {
        case .api: return "api"
        case .network: return "network"
        case .tokenProvider: return "tokenProvider"
        case .cancelled: return "cancelled"
        case .invalidArgument: return "invalidArgument"
        case .storage: return "storage"
        case .internal: return "internal"
        }
    }
}

extension MomentsError {
    /// What went wrong, as a stable code. The raw value is the API's spelling (`frequency_cap_reached`).
    ///
    /// New codes may be added: a code this version of the SDK does not know is ``unknown`` (the error's
    /// ``MomentsError/message`` names it).
    public enum Code: String, Sendable, Hashable, CaseIterable {
        // Answered by the API.
        /// The request body is not JSON or not the expected shape.
        case invalidJson = "invalid_json"
        /// A field is missing, of the wrong type or out of range; ``MomentsError/Context/param`` names it.
        case validationError = "validation_error"
        /// A reported action without an idempotency key.
        case idempotencyKeyRequired = "idempotency_key_required"
        /// No credential was sent.
        case authenticationRequired = "authentication_required"
        /// The credential is unknown or revoked.
        case invalidApiKey = "invalid_api_key"
        /// The customer token expired.
        case tokenExpired = "token_expired"
        /// The credential may not do this.
        case forbidden = "forbidden"
        /// The moment may only be reported by the brand's server, not by the app.
        case momentNotClientReportable = "moment_not_client_reportable"
        /// Unknown id, or another app's.
        case resourceNotFound = "resource_not_found"
        /// No such API path.
        case routeNotFound = "route_not_found"
        /// The path exists, the method does not.
        case methodNotAllowed = "method_not_allowed"
        /// The same idempotency key was used for another request (or another action, in the outbox).
        case idempotencyConflict = "idempotency_conflict"
        /// The same idempotency key is still being processed.
        case idempotencyInProgress = "idempotency_in_progress"
        /// The call is not allowed in the current status.
        case invalidStateTransition = "invalid_state_transition"
        /// The reward is not issued or flagged.
        case rewardNotCancellable = "reward_not_cancellable"
        /// The reward link was used.
        case rewardAlreadyRedeemed = "reward_already_redeemed"
        /// The reward expired.
        case rewardExpired = "reward_expired"
        /// The reward is cancelled, blocked or flagged.
        case rewardNotRedeemable = "reward_not_redeemable"
        /// The request body (or an outbox action) is too large.
        case payloadTooLarge = "payload_too_large"
        /// The request body is not JSON.
        case unsupportedMediaType = "unsupported_media_type"
        /// The campaign is not live (nor approved, for test mode).
        case campaignNotLive = "campaign_not_live"
        /// The campaign's monthly budget would be exceeded.
        case budgetExhausted = "budget_exhausted"
        /// The account's monthly cap would be exceeded.
        case accountBudgetExhausted = "account_budget_exhausted"
        /// No item of the reward group has stock.
        case inventoryExhausted = "inventory_exhausted"
        /// The customer's marketplace is not targeted.
        case marketplaceNotAllowed = "marketplace_not_allowed"
        /// No reward group serves the customer's segment.
        case segmentNotTargeted = "segment_not_targeted"
        /// The customer already got the maximum rewards for this moment.
        case frequencyCapReached = "frequency_cap_reached"
        /// The reward is held for fraud review.
        case flaggedForReview = "flagged_for_review"
        /// Too many actions for this customer, device or IP address.
        case velocityLimitExceeded = "velocity_limit_exceeded"
        /// Too many requests.
        case rateLimited = "rate_limited"
        /// A bug, in the server or in the SDK (caught before it could crash the app).
        case internalError = "internal_error"
        /// The API is temporarily unavailable.
        case serviceUnavailable = "service_unavailable"
        // Local failures.
        /// No connection to the API, or the connection failed.
        case networkError = "network_error"
        /// The request or the whole call took longer than its timeout.
        case timeout = "timeout"
        /// The API's answer could not be read.
        case invalidResponse = "invalid_response"
        /// The app's token provider failed or returned an unusable token.
        case tokenProviderFailed = "token_provider_failed"
        /// The call was cancelled.
        case cancelled = "cancelled"
        /// An argument or the configuration is invalid.
        case invalidArgument = "invalid_argument"
        /// A blocking call was made on one of the SDK's own threads (inside a listener, token provider or log
        /// handler).
        case blockingCallOnSdkThread = "blocking_call_on_sdk_thread"
        // The on-device outbox.
        /// The outbox refused the action as invalid.
        case invalidAction = "invalid_action"
        /// The idempotency key is not 1–255 printable ASCII characters.
        case invalidIdempotencyKey = "invalid_idempotency_key"
        /// The outbox file is already open (one outbox per file at a time).
        case outboxAlreadyOpen = "outbox_already_open"
        /// The outbox holds as many actions as it may.
        case outboxFull = "outbox_full"
        /// The outbox was closed.
        case outboxClosed = "outbox_closed"
        /// The outbox file could not be read or written.
        case outboxStorage = "outbox_storage"
        /// The outbox file was written by a newer SDK.
        case outboxUnsupportedSchema = "outbox_unsupported_schema"
        /// A code this version of the SDK does not know.
        case unknown = "unknown"
    }
}
