// A minimal iOS integration of the Moments SDK: token provider, a button reporting a moment, the reward URL
// shown and opened, the customer's rewards listed.
import MomentsSDK
import SwiftUI
import UIKit // UIDevice

/// Where the example backend (examples/backend) and the Rewards API (here the mock) run.
let backendURL = URL(string: "http://127.0.0.1:3000")!
let apiURL = "http://127.0.0.1:8080"

/// Fetches a customer token from the app's own backend, which mints it with the secret key.
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

@MainActor
final class RewardsModel: ObservableObject {
    @Published var announcement = ""
    @Published var message = ""
    @Published var rewardURL: URL?
    @Published var rewards: [Reward] = []

    let campaignId: String
    private let client: MomentsClient
    private var events: Task<Void, Never>?

    init(campaignId: String) {
        self.campaignId = campaignId
        let device = DeviceInfo(deviceType: .ios, deviceId: UIDevice.current.identifierForVendor?.uuidString)
        client = try! MomentsClient(config: ClientConfig(baseUrl: apiURL, device: device),
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

    deinit { events?.cancel() }

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

struct ContentView: View {
    @StateObject var model = RewardsModel(campaignId: "cmp_demo_workouts") // the mock's demo campaign

    var body: some View {
        VStack(spacing: 16) {
            Text(model.announcement)
            Button("I finished my first workout") { Task { await model.finishWorkout() } }
            Text(model.message)
            if let url = model.rewardURL { Link("Open my reward", destination: url) }
            List(model.rewards, id: \.id) { reward in
                Text("\(reward.momentId): \(String(describing: reward.status))")
            }
        }
        .padding()
        .task { await model.load() }
    }
}

@main
struct MomentsDemoApp: App {
    init() {
        setLogSink(sink: PrintLogSink(), level: .info)
    }

    var body: some Scene { WindowGroup { ContentView() } }
}

/// SDK logs to the console (use `os.Logger` in a real app).
final class PrintLogSink: LogSink, @unchecked Sendable {
    func log(record: LogRecord) { print("[Moments] \(record.target): \(record.line)") }
}
