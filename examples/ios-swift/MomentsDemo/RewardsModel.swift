// The app side of the Moments SDK, without UI: the token provider, the client, the rewards the SwiftUI views show.
// Kept free of SwiftUI and UIKit so that `cargo xtask swift-test` compiles it against the SDK on Linux (Swift 6
// language mode, warnings as errors) and runs its tests (MomentsDemoTests) against the mock.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking // URLSession outside Apple platforms (where CI compiles this file)
#endif
import MomentsSDK
import Observation

/// Where the example backend (examples/backend) and the Rewards API (here the mock) run. The simulator shares the
/// Mac's network; on a device use the Mac's LAN address (docs/mobile.md).
let backendURL = URL(string: "http://127.0.0.1:3000")!
let apiURL = URL(string: "http://127.0.0.1:8080")!

/// The app's own backend: it mints customer tokens with the brand's secret key, which the app never holds. An
/// ordinary class: the SDK's `TokenProvider` takes a closure that may capture it.
final class AppBackend {
    let userID: String
    private let session = URLSession(configuration: .ephemeral)

    init(userID: String) {
        self.userID = userID
    }

    func customerToken() async throws -> CustomerToken {
        var request = URLRequest(url: backendURL.appendingPathComponent("customer-token"))
        request.httpMethod = "POST"
        request.setValue(userID, forHTTPHeaderField: "x-user-id") // a real app sends its session instead
        let (data, response) = try await session.data(for: request)
        guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw URLError(.badServerResponse) }
        struct Answer: Decodable {
            let token: String
            let expires_in_seconds: Int
        }
        let answer = try JSONDecoder().decode(Answer.self, from: data)
        return CustomerToken(token: answer.token, expiresIn: TimeInterval(answer.expires_in_seconds))
    }
}

/// What the screen shows: the announcement, the outcome of the last report, the customer's rewards, whether the
/// SDK is online.
@Observable
@MainActor
final class RewardsModel {
    var announcement = ""
    var message = ""
    var rewardURL: URL?
    var rewards: [Reward] = []
    var isOnline = false

    let campaignID: String
    @ObservationIgnored private let client: MomentsClient
    @ObservationIgnored private var following: [Task<Void, Never>] = []

    /// Throws only for an unusable configuration (the API URL). `baseURL` and `tokens` default to the API above and
    /// the example backend; the model's tests (MomentsDemoTests) give a mock's and tokens minted through it.
    init(campaignID: String, deviceID: String?, baseURL: URL = apiURL, tokens: TokenProvider? = nil) throws {
        self.campaignID = campaignID
        let provider: TokenProvider
        if let tokens {
            provider = tokens
        } else {
            let backend = AppBackend(userID: "cust_42")
            provider = TokenProvider { try await backend.customerToken() }
        }
        client = try MomentsClient(
            config: ClientConfig(baseURL: baseURL, device: DeviceInfo(type: .iOS, id: deviceID)),
            tokenProvider: provider
        )
        // The rewards list follows the SDK's state: a snapshot first, then every change.
        following.append(Task { [weak self, client] in
            for await event in client.rewardEvents() {
                switch event {
                case let .snapshot(rewards, _), let .rewardsRefreshed(rewards): self?.rewards = rewards
                case let .rewardIssued(reward): self?.rewards.insert(reward, at: 0)
                case .progressUpdated: break
                }
            }
        })
        following.append(Task { [weak self, client] in
            for await status in client.statusUpdates() {
                self?.isOnline = status == .online
            }
        })
    }

    /// Stops following the rewards and the status (call when the screen goes away for good).
    func stop() {
        following.forEach { $0.cancel() }
        following = []
    }

    func load() async {
        announcement = (try? await client.rewardInfo(campaignID: campaignID, momentID: "first_workout"))?
            .announcementMessage ?? ""
        _ = try? await client.myRewards()
    }

    func finishWorkout() async {
        do {
            switch try await client.reportAction(campaignID: campaignID, momentID: "first_workout") {
            case let .rewarded(reward):
                rewardURL = reward.url
                message = "You earned a reward!"
            case let .inProgress(progress):
                message = "\(progress.current) of \(progress.target)"
            }
        } catch {
            // A sentence for people; `MomentsError.code` tells the cases apart when the app needs to.
            message = error.localizedDescription
        }
    }
}
