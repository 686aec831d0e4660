// Conversions between the public Swift types and the generated ones (module MomentsBindings). Nothing here is
// public: the generated module is an implementation detail of this one.
import Foundation
internal import MomentsBindings

// MARK: Numbers and durations

/// Seconds as the whole number the native library takes (rounded; out of range clamps, and the library refuses
/// what it cannot use with `invalidArgument`).
func wholeSeconds(_ interval: TimeInterval) -> Int64 {
    interval.isNaN ? -1 : Int64(clamping: interval.rounded())
}

/// Milliseconds as the native library takes them.
func milliseconds(_ interval: TimeInterval) -> Int64 {
    interval.isNaN ? -1 : Int64(clamping: (interval * 1000).rounded())
}

private extension Int64 {
    init(clamping value: Double) {
        if value >= 9.2e18 {
            self = .max
        } else if value <= -9.2e18 {
            self = .min
        } else {
            self = Int64(value)
        }
    }
}

/// An unreadable link in an answer of the API.
private func invalidURL(_ text: String) -> MomentsError {
    .network(.init(code: .invalidResponse, message: "the API answered an unreadable URL: \(text)"))
}

private func parseURL(_ text: String) throws -> URL {
    guard let url = URL(string: text) else { throw invalidURL(text) }
    return url
}

private func optionalURL(_ text: String?) throws -> URL? {
    guard let text else { return nil }
    return try parseURL(text)
}

// MARK: Errors

extension MomentsError {
    init(_ error: MomentsBindings.MomentsError) {
        switch error {
        case let .Api(code, reason, requestId, retryable, httpStatus, param):
            self = .api(.init(code, reason, requestId, retryable, httpStatus, param))
        case let .Network(code, reason, requestId, retryable, httpStatus):
            self = .network(.init(code, reason, requestId, retryable, httpStatus, nil))
        case let .TokenProvider(code, reason, requestId, retryable, httpStatus):
            self = .tokenProvider(.init(code, reason, requestId, retryable, httpStatus, nil))
        case let .Cancelled(code, reason, requestId, retryable, httpStatus):
            self = .cancelled(.init(code, reason, requestId, retryable, httpStatus, nil))
        case let .InvalidArgument(code, reason, requestId, retryable, httpStatus):
            self = .invalidArgument(.init(code, reason, requestId, retryable, httpStatus, nil))
        case let .Storage(code, reason, requestId, retryable, httpStatus):
            self = .storage(.init(code, reason, requestId, retryable, httpStatus, nil))
        case let .Internal(code, reason, requestId, retryable, httpStatus):
            self = .internal(.init(code, reason, requestId, retryable, httpStatus, nil))
        }
    }

    /// Any error a generated call threw, as the SDK's error (the generated calls throw only the generated
    /// `MomentsError`; anything else would be a bug of the bindings).
    static func from(_ error: any Error) -> MomentsError {
        if let error = error as? MomentsBindings.MomentsError {
            return MomentsError(error)
        }
        if let error = error as? MomentsError {
            return error
        }
        if error is CancellationError {
            return .cancelled(.init(code: .cancelled, message: "the call was cancelled"))
        }
        return .internal(.init(code: .internalError, message: "unexpected error from the native library: \(error)"))
    }
}

extension MomentsError.Context {
    fileprivate init(
        _ code: MomentsBindings.ErrorCode, _ reason: String, _ requestId: String?, _ retryable: Bool,
        _ httpStatus: Int32?, _ param: String?
    ) {
        self.init(
            code: MomentsError.Code(code),
            message: reason,
            requestID: requestId,
            isRetryable: retryable,
            httpStatus: httpStatus.map(Int.init),
            param: param
        )
    }
}

/// Runs a generated call, rethrowing its errors as ``MomentsError``.
func bridged<T>(_ call: () throws -> T) throws -> T {
    do {
        return try call()
    } catch {
        throw MomentsError.from(error)
    }
}

/// Runs a generated async call, rethrowing its errors as ``MomentsError``.
///
/// Cancelling the calling task ends the wait at once with ``MomentsError/cancelled(_:)`` and runs `onCancel`
/// (which cancels the Rust call where it takes a token). uniffi's Swift does not forward task cancellation to
/// Rust, so without this a cancelled task would wait for the call to finish.
func bridged<T: Sendable>(
    onCancel: @escaping @Sendable () -> Void = {},
    _ call: @escaping @Sendable () async throws -> T
) async throws -> T {
    let (result, sink) = AsyncThrowingStream<T, any Error>.makeStream()
    let work = Task {
        do {
            sink.yield(try await call())
            sink.finish()
        } catch {
            sink.finish(throwing: error)
        }
    }
    do {
        return try await withTaskCancellationHandler {
            for try await value in result {
                return value
            }
            throw CancellationError()
        } onCancel: {
            // The first of the call's end and this one wins; the other is ignored.
            sink.finish(throwing: CancellationError())
            work.cancel()
            onCancel()
        }
    } catch {
        throw MomentsError.from(error)
    }
}

extension MomentsError.Code {
    init(_ code: MomentsBindings.ErrorCode) {
        switch code {
        case .invalidJson: self = .invalidJson
        case .validationError: self = .validationError
        case .idempotencyKeyRequired: self = .idempotencyKeyRequired
        case .authenticationRequired: self = .authenticationRequired
        case .invalidApiKey: self = .invalidApiKey
        case .tokenExpired: self = .tokenExpired
        case .forbidden: self = .forbidden
        case .momentNotClientReportable: self = .momentNotClientReportable
        case .resourceNotFound: self = .resourceNotFound
        case .routeNotFound: self = .routeNotFound
        case .methodNotAllowed: self = .methodNotAllowed
        case .idempotencyConflict: self = .idempotencyConflict
        case .idempotencyInProgress: self = .idempotencyInProgress
        case .invalidStateTransition: self = .invalidStateTransition
        case .rewardNotCancellable: self = .rewardNotCancellable
        case .rewardAlreadyRedeemed: self = .rewardAlreadyRedeemed
        case .rewardExpired: self = .rewardExpired
        case .rewardNotRedeemable: self = .rewardNotRedeemable
        case .payloadTooLarge: self = .payloadTooLarge
        case .unsupportedMediaType: self = .unsupportedMediaType
        case .campaignNotLive: self = .campaignNotLive
        case .budgetExhausted: self = .budgetExhausted
        case .accountBudgetExhausted: self = .accountBudgetExhausted
        case .inventoryExhausted: self = .inventoryExhausted
        case .marketplaceNotAllowed: self = .marketplaceNotAllowed
        case .segmentNotTargeted: self = .segmentNotTargeted
        case .frequencyCapReached: self = .frequencyCapReached
        case .flaggedForReview: self = .flaggedForReview
        case .velocityLimitExceeded: self = .velocityLimitExceeded
        case .rateLimited: self = .rateLimited
        case .internalError: self = .internalError
        case .serviceUnavailable: self = .serviceUnavailable
        case .networkError: self = .networkError
        case .timeout: self = .timeout
        case .invalidResponse: self = .invalidResponse
        case .tokenProviderFailed: self = .tokenProviderFailed
        case .cancelled: self = .cancelled
        case .invalidArgument: self = .invalidArgument
        case .blockingCallOnSdkThread: self = .blockingCallOnSdkThread
        case .invalidAction: self = .invalidAction
        case .invalidIdempotencyKey: self = .invalidIdempotencyKey
        case .outboxAlreadyOpen: self = .outboxAlreadyOpen
        case .outboxFull: self = .outboxFull
        case .outboxClosed: self = .outboxClosed
        case .outboxStorage: self = .outboxStorage
        case .outboxUnsupportedSchema: self = .outboxUnsupportedSchema
        case .unknown: self = .unknown
        }
    }
}

// MARK: Configuration

extension ClientConfig {
    var ffi: MomentsBindings.ClientConfig {
        MomentsBindings.ClientConfig(
            baseUrl: baseURL.absoluteString,
            device: device.ffi,
            connectTimeoutMs: milliseconds(connectTimeout),
            requestTimeoutMs: milliseconds(requestTimeout),
            callTimeoutMs: milliseconds(callTimeout),
            maxRetries: Int32(clamping: maxRetries),
            trustedCertificates: trustedCertificates
        )
    }
}

extension DeviceInfo {
    var ffi: MomentsBindings.DeviceInfo {
        MomentsBindings.DeviceInfo(deviceType: type.ffi, deviceId: id)
    }
}

extension DeviceType {
    var ffi: MomentsBindings.DeviceType {
        switch self {
        case .android: return .android
        case .iOS: return .ios
        case .fireOS: return .fireOs
        case .web: return .web
        }
    }
}

// MARK: Answers

extension Money {
    init(_ money: MomentsBindings.Money) {
        self.init(amount: Int(money.amount), currency: money.currency)
    }
}

extension ItemKind {
    init(_ kind: MomentsBindings.ItemKind) {
        switch kind {
        case .physical: self = .physical
        case .digital: self = .digital
        case .credit: self = .credit
        case let .other(name): self = .other(name)
        }
    }
}

extension OfferItem {
    init(_ item: MomentsBindings.OfferItem) throws {
        self.init(
            id: item.itemId,
            title: item.title,
            kind: ItemKind(item.kind),
            value: Money(item.value),
            imageURL: try optionalURL(item.imageUrl)
        )
    }
}

private func offerItems(_ items: [MomentsBindings.OfferItem]) throws -> [OfferItem] {
    var out: [OfferItem] = []
    out.reserveCapacity(items.count)
    for item in items {
        out.append(try OfferItem(item))
    }
    return out
}

extension RewardStatus {
    init(_ status: MomentsBindings.RewardStatus) {
        switch status {
        case .issued: self = .issued
        case .redeemed: self = .redeemed
        case .shipped: self = .shipped
        case .delivered: self = .delivered
        case .expired: self = .expired
        case .cancelled: self = .cancelled
        case .flagged: self = .flagged
        case .blocked: self = .blocked
        case let .other(name): self = .other(name)
        }
    }
}

extension Reward {
    init(_ reward: MomentsBindings.Reward) throws {
        self.init(
            id: reward.id,
            campaignID: reward.campaignId,
            momentID: reward.momentId,
            status: RewardStatus(reward.status),
            url: try parseURL(reward.url),
            isTest: reward.test,
            expiresAt: reward.expiresAt,
            createdAt: reward.createdAt,
            offer: try offerItems(reward.offer)
        )
    }
}

func rewards(_ list: [MomentsBindings.Reward]) throws -> [Reward] {
    var out: [Reward] = []
    out.reserveCapacity(list.count)
    for reward in list {
        out.append(try Reward(reward))
    }
    return out
}

extension Progress {
    init(_ progress: MomentsBindings.Progress) {
        self.init(
            campaignID: progress.campaignId,
            momentID: progress.momentId,
            current: Int(progress.current),
            target: Int(progress.target),
            window: TimeInterval(progress.windowSeconds),
            isCompleted: progress.completed
        )
    }
}

extension Goal {
    init(_ goal: MomentsBindings.Goal) {
        self.init(target: Int(goal.target), window: TimeInterval(goal.windowSeconds))
    }
}

extension RewardInfo {
    init(_ info: MomentsBindings.RewardInfo) throws {
        self.init(
            campaignID: info.campaignId,
            momentID: info.momentId,
            campaignStatus: info.campaignStatus,
            announcementMessage: info.announcementMessage,
            imageURL: try optionalURL(info.imageUrl),
            campaignEndAt: info.campaignEndAt,
            remainingRewardCount: Int(info.remainingRewardCount),
            offer: try offerItems(info.offer),
            goal: info.goal.map(Goal.init)
        )
    }
}

extension ActionOutcome {
    init(_ outcome: MomentsBindings.ActionOutcome) throws {
        switch outcome {
        case let .rewarded(reward): self = .rewarded(try Reward(reward))
        case let .inProgress(progress): self = .inProgress(Progress(progress))
        }
    }
}

extension RewardEvent {
    init(_ event: MomentsBindings.RewardEvent) throws {
        switch event {
        case let .snapshot(list, progress): self = .snapshot(rewards: try rewards(list), progress: progress.map(Progress.init))
        case let .rewardIssued(reward): self = .rewardIssued(try Reward(reward))
        case let .progressUpdated(progress): self = .progressUpdated(Progress(progress))
        case let .rewardsRefreshed(list): self = .rewardsRefreshed(try rewards(list))
        }
    }
}

extension ClientStatus {
    init(_ status: MomentsBindings.ClientStatus) {
        switch status {
        case .idle: self = .idle
        case .online: self = .online
        case let .offline(code): self = .offline(MomentsError.Code(code))
        case let .unauthenticated(code): self = .unauthenticated(MomentsError.Code(code))
        }
    }
}

// MARK: Logs

extension LogLevel {
    init(_ level: MomentsBindings.LogLevel) {
        switch level {
        case .trace: self = .trace
        case .debug: self = .debug
        case .info: self = .info
        case .warn: self = .warning
        case .error: self = .error
        }
    }

    var ffi: MomentsBindings.LogLevel {
        switch self {
        case .trace: return .trace
        case .debug: return .debug
        case .info: return .info
        case .warning: return .warn
        case .error: return .error
        }
    }
}

extension LogRecord {
    init(_ record: MomentsBindings.LogRecord) {
        self.init(level: LogLevel(record.level), target: record.target, message: record.line)
    }
}
