// The idiomatic Swift layer over the generated bindings (MomentsSDK.swift).
import Foundation

extension MomentsError {
    /// The stable error code, whatever the kind of failure (`frequency_cap_reached`, `token_provider_failed`, …).
    public var code: String {
        switch self {
        case let .Api(code, _, _, _, _, _): return code
        case let .Network(code, _, _, _): return code
        case let .TokenProvider(code, _, _, _): return code
        case let .Cancelled(code, _, _, _): return code
        case let .InvalidArgument(code, _, _, _): return code
        case let .Storage(code, _, _, _): return code
        case let .Internal(code, _, _, _): return code
        }
    }

    /// The server's request id (`req_…`) when the server answered.
    public var requestId: String? {
        switch self {
        case let .Api(_, _, requestId, _, _, _): return requestId
        case let .Network(_, _, requestId, _): return requestId
        case let .TokenProvider(_, _, requestId, _): return requestId
        case let .Cancelled(_, _, requestId, _): return requestId
        case let .InvalidArgument(_, _, requestId, _): return requestId
        case let .Storage(_, _, requestId, _): return requestId
        case let .Internal(_, _, requestId, _): return requestId
        }
    }

    /// Whether the same call may succeed later unchanged.
    public var isRetryable: Bool {
        switch self {
        case let .Api(_, _, _, retryable, _, _): return retryable
        case let .Network(_, _, _, retryable): return retryable
        case let .TokenProvider(_, _, _, retryable): return retryable
        case let .Cancelled(_, _, _, retryable): return retryable
        case let .InvalidArgument(_, _, _, retryable): return retryable
        case let .Storage(_, _, _, retryable): return retryable
        case let .Internal(_, _, _, retryable): return retryable
        }
    }
}

/// A `TokenProvider` from an async closure that calls the app's backend.
public final class ClosureTokenProvider: TokenProvider, @unchecked Sendable {
    private let fetch: @Sendable () async throws -> CustomerToken

    public init(_ fetch: @escaping @Sendable () async throws -> CustomerToken) {
        self.fetch = fetch
    }

    public func fetchToken() async throws -> CustomerToken {
        try await fetch()
    }
}

private final class StreamRewardListener: RewardListener, @unchecked Sendable {
    let continuation: AsyncStream<RewardEvent>.Continuation
    init(_ continuation: AsyncStream<RewardEvent>.Continuation) { self.continuation = continuation }
    func onEvent(event: RewardEvent) { continuation.yield(event) }
}

extension MomentsClient {
    /// Reward events as an `AsyncStream`: a `.snapshot` first, then every change. Ends the subscription when the
    /// consuming task stops iterating.
    public func rewardEvents() -> AsyncStream<RewardEvent> {
        AsyncStream { continuation in
            let handle = self.addRewardListener(listener: StreamRewardListener(continuation))
            continuation.onTermination = { _ in handle.cancel() }
        }
    }
}
