internal import MomentsBindings

/// Fetches customer tokens from the app's own backend, which mints them with its secret key
/// (`POST /v1/customer_tokens`). The secret key never ships in the app.
///
/// Made from an async closure, which may capture the app's ordinary (non-`Sendable`) objects:
///
/// ```swift
/// let provider = TokenProvider { try await backend.customerToken() }
/// ```
///
/// The SDK caches the token, asks for one once for any number of concurrent calls, and again shortly before it
/// expires or when the API says it expired. The closure is never run twice at the same time. If it throws, the
/// call that needed the token fails with ``MomentsError/tokenProvider(_:)`` (code
/// ``MomentsError/Code/tokenProviderFailed``).
public final class TokenProvider: Sendable {
    let adapter: TokenProviderAdapter

    /// Creates a provider from the closure that fetches a token.
    ///
    /// - Parameter fetch: Calls the app's backend and returns a fresh ``CustomerToken``. Handed over to the
    ///   provider (`sending`), which runs it one call at a time, so it may capture non-`Sendable` state that
    ///   nothing else uses. Like `Task.detached`'s operation, it runs where it was isolated: nowhere in
    ///   particular unless written `{ @MainActor in … }`.
    public init(_ fetch: sending @escaping @isolated(any) () async throws -> CustomerToken) {
        adapter = TokenProviderAdapter(fetcher: SerialFetcher(fetch))
    }
}

/// Runs the app's closure one call at a time: a call while one is under way waits for its result.
actor SerialFetcher {
    private let fetch: @isolated(any) () async throws -> CustomerToken
    private var running: Task<CustomerToken, any Error>?

    init(_ fetch: sending @escaping @isolated(any) () async throws -> CustomerToken) {
        self.fetch = fetch
    }

    func token() async throws -> CustomerToken {
        if let running {
            return try await running.value
        }
        let task = Task { try await self.fetch() }
        running = task
        defer { running = nil }
        // The SDK drops a call it no longer needs (cancelled, timed out): stop the app's fetch with it.
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    }
}

/// The generated callback interface, served by the app's closure.
final class TokenProviderAdapter: MomentsBindings.TokenProvider {
    let fetcher: SerialFetcher

    init(fetcher: SerialFetcher) {
        self.fetcher = fetcher
    }

    func fetchToken() async throws -> MomentsBindings.CustomerToken {
        let token = try await fetcher.token()
        return MomentsBindings.CustomerToken(token: token.token, expiresInSeconds: wholeSeconds(token.expiresIn))
    }
}
