// The Swift scenario of docs/testing.md (the snippet there is this test, between the markers), in swift-testing.
// snippet-start
import Foundation
import MomentsSDK
import MomentsTesting
import Testing

@Test func aReportedWorkoutEarnsARewardThatExpiresWithTheClock() async throws {
    try await withMomentsMock { mock in
        // A live campaign of the demo app: $50 a month, one client-reportable moment.
        let campaign = try await mock.loadCampaign(Fixtures.campaign().live().budgetUSD(50).moment("first_workout"))
        // The app's backend mints customer tokens with the demo app's secret key.
        let tokens = TokenProvider {
            let minted = try await mock.customerToken(customerID: "cust_42")
            return CustomerToken(token: minted.token, expiresIn: TimeInterval(minted.expiresInSeconds))
        }
        let config = ClientConfig(baseURL: mock.baseURL, device: DeviceInfo(type: .iOS, id: "device-1"))
        let client = try MomentsClient(config: config, tokenProvider: tokens)

        let outcome = try await client.reportAction(campaignID: campaign, momentID: "first_workout")
        guard case let .rewarded(reward) = outcome else {
            Issue.record("expected a reward, got \(outcome)")
            return
        }
        #expect(reward.status == .issued)

        // Rewards stay redeemable for 30 days: past that, the mock has expired it.
        try await mock.clock().advance(by: 31 * 86_400)
        let mine = try await client.myRewards(campaignID: campaign)
        #expect(mine.first { $0.id == reward.id }?.status == .expired)

        // One trigger reached the mock, and it was answered 200.
        try await mock.journal().expect(.trigger).once().withStatus(200).verify()
    }
}
// snippet-end
