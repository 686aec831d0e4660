// The app side of the Moments SDK, without UI: the token provider, the client, the rewards the SwiftUI views show.
// Kept free of SwiftUI and UIKit so that `cargo xtask swift-test` compiles it against the SDK on Linux.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking // URLSession outside Apple platforms (where CI compiles this file)
#endif
import MomentsSDK
import Observation

/// Where the example backend (examples/backend) and the Rewards API (here the mock) run. The simulator shares the
/// Mac's network; on a device use the Mac's LAN address (docs/mobile.md).
let backendURL = URL(string: "http://127.0.0.1:3000")!
let apiURL = "http://127.0.0.1:8080"

/// Fetches a customer token from the app's own backend, which mints it with the secret key. The app never holds a
/// secret key.
final class BackendTokenProvider: TokenProvider, @unchecked Sendable {
    let userId: String
    init(userId: String) { self.userId = userId }

    func fetchToken() async throws -> CustomerToken {
        var request = URLRequest(url: backendURL.appendingPathComponent("customer-token"))
        request.httpMethod = "POST"
        request.setValue(userId, forHTTPHeaderField: "x-user-id") // a real app sends its session instead
        let (data, response) = try await URLSession.shared.data(for: request)
        guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw URLError(.badServerResponse) }
        struct Answer: Decodable { let token: String; let expires_in_seconds: UInt64 }
        let answer = try JSONDecoder().decode(Answer.self, from: data)
        return CustomerToken(token: answer.token, expiresInSeconds: answer.expires_in_seconds)
    }
}

/// What the screen shows: the announcement, the outcome of the last report, the customer's rewards.
@Observable
@MainActor
final class RewardsModel {
    var announcement = ""
    var message = ""
    var rewardURL: URL?
    var rewards: [Reward] = []

    let campaignId: String
    @ObservationIgnored private let client: MomentsClient
    @ObservationIgnored private var events: Task<Void, Never>?

    /// Throws only for a malformed configuration (the API URL).
    init(campaignId: String, deviceId: String?) throws {
        self.campaignId = campaignId
        client = try MomentsClient(config: ClientConfig(baseUrl: apiURL, device: DeviceInfo(deviceType: .ios, deviceId: deviceId)),
                                   tokenProvider: BackendTokenProvider(userId: "cust_42"))
        // The rewards list follows the SDK's state: a snapshot first, then every change.
        events = Task { [weak self, client] in
            for await event in client.rewardEvents() {
                switch event {
                case let .snapshot(rewards, _), let .rewardsRefreshed(rewards): self?.rewards = rewards
                case let .rewardIssued(reward): self?.rewards.insert(reward, at: 0)
                default: break
                }
            }
        }
    }

    /// Stops following the rewards (call when the screen goes away for good).
    func stop() {
        events?.cancel()
        events = nil
    }

    func load() async {
        announcement = (try? await client.rewardInfo(campaignId: campaignId, momentId: "first_workout"))?
            .announcementMessage ?? ""
        _ = try? await client.myRewards()
    }

    func finishWorkout() async {
        do {
            switch try await client.reportAction(campaignId: campaignId, momentId: "first_workout") {
            case let .rewarded(reward):
                rewardURL = URL(string: reward.url)
                message = "You earned a reward!"
            case let .inProgress(progress):
                message = "\(progress.current) of \(progress.target)"
            }
        } catch let error as MomentsError {
            switch error.code {
            case "frequency_cap_reached": message = "You already got this reward."
            case "campaign_not_live": message = "This challenge is over."
            default: message = "Something went wrong (\(error.code))."
            }
        } catch {
            message = "Something went wrong."
        }
    }
}

/// SDK logs to the console (use `os.Logger` in a real app).
final class PrintLogSink: LogSink, @unchecked Sendable {
    func log(record: LogRecord) { print("[Moments] \(record.target): \(record.line)") }
}
