// The Swift scenario of docs/testing.md (the snippet there is this test, between the markers), in swift-testing.
// snippet-start
import Foundation
import MomentsSDK
import MomentsTesting
import Testing

@Test func aWorkoutRewardIsAnnouncedEarnedRedeemedAndShipped() async throws {
    try await withMomentsMock { mock in
        // A live campaign of the demo app: $50 a month, $5 a reward, an Echo Dot or a gift card.
        let campaign = try await mock.loadCampaign(Fixtures.campaign().live().budgetUSD(50).moment("first_workout"))
        // The app's backend mints customer tokens with the demo app's secret key.
        let tokens = TokenProvider {
            let minted = try await mock.customerToken(customerID: "cust_42")
            return CustomerToken(token: minted.token, expiresIn: TimeInterval(minted.expiresInSeconds))
        }
        let config = ClientConfig(baseURL: mock.baseURL, device: DeviceInfo(type: .iOS, id: "device-1"))
        let client = try MomentsClient(config: config, tokenProvider: tokens)
        // Where the mock sends its signed webhooks: a receiver in the test.
        let hooks = try await mock.webhooks().receiver("reward.shipped")

        // Announce: what the customer would get, before anything is consumed.
        let info = try await client.rewardInfo(campaignID: campaign, momentID: "first_workout")
        #expect(info.remainingRewardCount == 10)

        // Trigger: the workout is done; the reward's link comes back.
        let outcome = try await client.reportAction(campaignID: campaign, momentID: "first_workout")
        guard case let .rewarded(reward) = outcome else {
            Issue.record("expected a reward, got \(outcome)")
            return
        }
        #expect(reward.status == .issued)

        // Redeem: the customer opens the link and picks the Echo Dot, as their browser would.
        let redeemed = try await mock.redeem(rewardURL: reward.url.absoluteString, itemID: "itm_echo_dot")
        #expect(redeemed.status == "redeemed")

        // Two days on the mock's clock: the item ships, and the webhook says so.
        try await mock.clock().advance(by: 2 * 86_400)
        let mine = try await client.myRewards(campaignID: campaign)
        #expect(mine.first { $0.id == reward.id }?.status == .shipped)
        let sent = try await mock.webhooks().deliveriesOf("reward.shipped")
        #expect(sent.count == 1 && sent[0].succeeded && sent[0].url == hooks.url)

        // The report counts the action, the reward, its redemption and the $5 spent.
        let totals = try await mock.report(campaignID: campaign).totals
        #expect(totals.actions == 1 && totals.rewardsIssued == 1 && totals.rewardsRedeemed == 1)
        #expect(totals.spend == 500)

        // One trigger reached the mock, answered 200.
        try await mock.journal().expect(.trigger).once().withStatus(200).verify()
    }
}
// snippet-end
