// The model's tests: the real SDK against a fresh mock per test (the testing kit's `withMomentsMock`), in
// swift-testing. `cargo xtask swift-test` runs them on Linux; in Xcode, a unit-test target of the app with the
// `MomentsTesting` product.
import Foundation
import MomentsSDK
import MomentsTesting
import Testing
@testable import MomentsDemo

@MainActor
struct RewardsModelTests {
    /// The model of customer `cust_42` on `campaign`, its tokens minted through the mock as the app's backend would.
    func makeModel(_ mock: MomentsMock, campaign: String) throws -> RewardsModel {
        let tokens = TokenProvider {
            let minted = try await mock.customerToken(customerID: "cust_42")
            return CustomerToken(token: minted.token, expiresIn: TimeInterval(minted.expiresInSeconds))
        }
        return try RewardsModel(campaignID: campaign, deviceID: "device-1", baseURL: mock.baseURL, tokens: tokens)
    }

    @Test func loadShowsTheAnnouncement() async throws {
        try await withMomentsMock { mock in
            let campaign = try await mock.loadCampaign(Fixtures.campaign().announcement("Run today, win a reward"))
            let model = try makeModel(mock, campaign: campaign)
            defer { model.stop() }

            await model.load()

            #expect(model.announcement == "Run today, win a reward")
        }
    }

    @Test func aFinishedWorkoutEarnsARewardOnceThenSaysSo() async throws {
        try await withMomentsMock { mock in
            let model = try makeModel(mock, campaign: try await mock.loadCampaign(Fixtures.campaign()))
            defer { model.stop() }

            await model.finishWorkout()
            #expect(model.message == "You earned a reward!")
            let url = try #require(model.rewardURL)
            #expect(url.path.hasPrefix("/r/"))

            // One reward per customer for the campaign's life (the fixture's default cap).
            await model.finishWorkout()
            #expect(model.message == "You have already received this reward.")
            #expect(model.rewardURL == url)
            try await mock.journal().expect(.trigger).times(2).verify()
        }
    }

    @Test func aGoalShowsProgressAndAnEndedCampaignSaysSo() async throws {
        try await withMomentsMock { mock in
            let goal = try makeModel(mock, campaign: try await mock.loadCampaign(
                Fixtures.campaign().moment("first_workout").goal(3, window: 7 * 86_400)
            ))
            defer { goal.stop() }
            await goal.finishWorkout()
            #expect(goal.message == "1 of 3")
            #expect(goal.rewardURL == nil)

            let draft = try makeModel(mock, campaign: try await mock.loadCampaign(Fixtures.campaign().draft()))
            defer { draft.stop() }
            await draft.finishWorkout()
            #expect(draft.message == "This challenge is not running right now.")
        }
    }
}
