import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MomentsSDK

/// One mock server process per test: `$MOMENTS_MOCK_BIN --port 0`, URL read from its first stdout line.
final class MockServer: Sendable {
    let baseUrl: String
    private let process: Process?
    let campaignId: String
    private let secretKey: String

    static func start() async throws -> MockServer {
        let env = ProcessInfo.processInfo.environment
        if let url = env["MOMENTS_MOCK_URL"] {
            return try await MockServer.loaded(process: nil, baseUrl: url)
        }
        guard let bin = env["MOMENTS_MOCK_BIN"] else {
            throw TestFailure("set MOMENTS_MOCK_BIN to the moments-mock-server binary (cargo xtask swift-test does)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bin)
        process.arguments = ["--port", "0"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        var seen = ""
        var url: String?
        while url == nil {
            let data = pipe.fileHandleForReading.availableData
            if data.isEmpty { break }
            seen += String(decoding: data, as: UTF8.self)
            if let range = seen.range(of: #"listening on (http://[^\s]+)"#, options: .regularExpression) {
                url = String(seen[range].dropFirst("listening on ".count))
            }
        }
        guard let url else {
            process.terminate()
            throw TestFailure("the mock server did not print its URL: \(seen)")
        }
        // Keep draining its output so it never blocks on a full pipe.
        pipe.fileHandleForReading.readabilityHandler = { handle in
            if handle.availableData.isEmpty { handle.readabilityHandler = nil } // EOF
        }
        return try await MockServer.loaded(process: process, baseUrl: url)
    }

    /// The server at `baseUrl`, with the demo campaign's id and the secret key read from it.
    private static func loaded(process: Process?, baseUrl: String) async throws -> MockServer {
        let baseUrl = baseUrl.hasSuffix("/") ? String(baseUrl.dropLast()) : baseUrl
        let demo = try await requestJSON(baseUrl, "GET", "/_mock/demo")
        return MockServer(
            process: process,
            baseUrl: baseUrl,
            campaignId: demo["campaign_id"] as! String,
            secretKey: demo["secret_key"] as! String
        )
    }

    private init(process: Process?, baseUrl: String, campaignId: String, secretKey: String) {
        self.process = process
        self.baseUrl = baseUrl
        self.campaignId = campaignId
        self.secretKey = secretKey
    }

    /// The API's base URL.
    var url: URL { URL(string: baseUrl)! }

    /// Kills the server (SIGKILL: a graceful stop would wait for the SDK's idle keep-alive connections).
    func stop() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Mints a customer token the way the app's backend would.
    func mintToken(customerId: String, ttlSeconds: Int? = nil) async throws -> CustomerToken {
        var body: [String: Any] = ["customer_id": customerId, "marketplace": "US"]
        if let ttlSeconds { body["ttl_seconds"] = ttlSeconds }
        let answer = try await json("POST", "/v1/customer_tokens", body: body, bearer: secretKey)
        return CustomerToken(
            token: answer["token"] as! String,
            expiresIn: TimeInterval(answer["expires_in_seconds"] as! Int)
        )
    }

    /// Makes the next `count` requests of `route` fail (`action`: `reset` closes the connection unanswered).
    func injectFault(route: String, count: Int, action: String) async throws {
        try await control("POST", "/_mock/faults", body: ["route": route, "count": count, "action": action])
    }

    /// Clears every injected fault.
    func clearFaults() async throws {
        try await control("DELETE", "/_mock/faults")
    }

    /// A control call whose answer is only checked for success.
    private func control(_ method: String, _ path: String, body: [String: Any]? = nil) async throws {
        var request = URLRequest(url: URL(string: baseUrl + path)!)
        request.httpMethod = method
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await fetch(request)
        let status = (response as! HTTPURLResponse).statusCode
        guard (200..<300).contains(status) else {
            throw TestFailure("\(method) \(path): \(status) \(String(decoding: data, as: UTF8.self))")
        }
    }

    func advanceClock(seconds: Int) async throws {
        _ = try await json("POST", "/_mock/clock/advance", body: ["seconds": seconds])
    }

    /// The HTTP status of a GET of an absolute URL.
    func status(of url: URL) async throws -> Int {
        let (_, response) = try await fetch(URLRequest(url: url))
        return (response as! HTTPURLResponse).statusCode
    }

    private func json(_ method: String, _ path: String, body: [String: Any]? = nil, bearer: String? = nil)
        async throws -> [String: Any]
    {
        try await requestJSON(baseUrl, method, path, body: body, bearer: bearer)
    }
}

/// A JSON request to the mock; fails unless it answers 2xx.
private func requestJSON(
    _ baseUrl: String, _ method: String, _ path: String, body: [String: Any]? = nil, bearer: String? = nil
) async throws -> [String: Any] {
    var request = URLRequest(url: URL(string: baseUrl + path)!)
    request.httpMethod = method
    if let body {
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    }
    if let bearer { request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization") }
    let (data, response) = try await fetch(request)
    let status = (response as! HTTPURLResponse).statusCode
    guard (200..<300).contains(status) else {
        throw TestFailure("\(method) \(path): \(status) \(String(decoding: data, as: UTF8.self))")
    }
    return try JSONSerialization.jsonObject(with: data) as! [String: Any]
}

/// `URLSession` with a completion handler (the async `data(for:)` needs macOS 12 / newer corelibs).
private let session = URLSession(configuration: .ephemeral)

func fetch(_ request: URLRequest) async throws -> (Data, URLResponse) {
    try await withCheckedThrowingContinuation { continuation in
        session.dataTask(with: request) { data, response, error in
            if let error {
                continuation.resume(throwing: error)
            } else {
                continuation.resume(returning: (data ?? Data(), response!))
            }
        }.resume()
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
