// Fixtures for apps, segment groups, goals and caps; redeem, report and the webhook receiver — in swift-testing.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MomentsSDK
@testable import MomentsTesting
import Testing

@Test func appsSegmentGroupsGoalsAndCapsLoadAsBuilt() async throws {
    try await withMomentsMock { mock in
        let brand = Fixtures.app("Other brand").secretKey("sk_test_other_brand_0123456789")
        let campaign = Fixtures.campaign().owner(brand).segmentGroup("US", "vip")
            .moment("five_workouts").goal(5, window: 30 * 86_400)
            .moment("daily").frequencyCap(2, period: 86_400)
            .moment("level_5").serverOnly()
        let loaded = try await mock.load(Fixtures().withApp(brand).withCampaign(campaign))
        #expect(loaded.apps.map(\.appID) == [brand.id])
        #expect(loaded.apps.first?.secretKey == "sk_test_other_brand_0123456789")
        let id = try #require(loaded.campaigns.first)

        let read = try await mock.call("GET", "/v1/campaigns/\(id)", bearer: "sk_test_other_brand_0123456789")
        #expect(read.map["app_id"] as? String == brand.id)
        let groups = read.objs("reward_groups")
        #expect(try groups.map { try $0.str("id") } == ["US", "US_vip"])
        let moments = read.objs("moments")
        #expect(try moments.map { try $0.str("id") } == ["five_workouts", "daily", "level_5"])
        #expect((moments[0].map["goal"] as? [String: Any])?["target"] as? Int == 5)
        #expect((moments[1].map["frequency_cap"] as? [String: Any])?["max_rewards"] as? Int == 2)
        #expect(moments[2].bool("client_reportable") == false)
    }
}

@Test func aDigitalItemIsRedeemedWithACodeAndBadInputNamesTheField() async throws {
    try await withMomentsMock { mock in
        let campaign = try await mock.demo().campaignID
        let url = try await rewardURL(mock, campaign: campaign, customer: "cust_1")
        let redeemed = try await mock.redeem(rewardURL: url, itemID: "itm_gc_10")
        #expect(redeemed.status == "redeemed" && redeemed.redeemedItemID == "itm_gc_10" && redeemed.digitalCode != nil)

        await #expect(throws: MockError.invalid(field: "reward_url", reason: "not a reward link: https://example.com/x")) {
            try await mock.redeem(rewardURL: "https://example.com/x", itemID: "itm_gc_10")
        }
        let other = try await rewardURL(mock, campaign: campaign, customer: "cust_2")
        do {
            try await mock.redeem(rewardURL: other, itemID: "itm_nope")
            Issue.record("an item the reward does not offer is refused")
        } catch let error as MockError {
            #expect(error.field == "item_id")
        }
        let totals = try await mock.report(campaignID: campaign).totals
        #expect(totals.rewardsIssued == 2 && totals.rewardsRedeemed == 1)
        #expect(totals.rewardsFlagged == 0 && totals.refunds == 0)

        // Past the 30-day expiry the unredeemed reward expires and its cost is refunded.
        _ = try await mock.clock().advance(by: 31 * 86_400)
        let later = try await mock.report(campaignID: campaign).totals
        #expect(later.rewardsExpired == 1 && later.refunds == later.spend / 2)
    }
}

@Test func aReceiverGetsTheDeliveriesAndStopsWithItsMock() async throws {
    let mock = try MomentsMock.start()
    let hooks = try await mock.webhooks().receiver("reward.issued")
    #expect(hooks.endpointID.hasPrefix("whe_"))
    _ = try await rewardURL(mock, campaign: try await mock.demo().campaignID, customer: "cust_3")
    try await mock.webhooks().deliverDue()
    let issued = try await mock.webhooks().deliveriesOf("reward.issued")
    #expect(issued.count == 1 && issued[0].succeeded)
    let bodies = await hooks.received()
    #expect(bodies.count == 1 && bodies[0].contains(issued[0].eventID))

    let url = try #require(URL(string: hooks.url))
    #expect(await answers(url))
    await mock.stop()
    #expect(await !answers(url), "the receiver stopped with its mock")
}

/// Whether something answers a POST to `url`.
private func answers(_ url: URL) async -> Bool {
    var request = URLRequest(url: url, timeoutInterval: 5)
    request.httpMethod = "POST"
    request.httpBody = Data("{}".utf8)
    return await withCheckedContinuation { continuation in
        URLSession(configuration: .ephemeral).dataTask(with: request) { _, response, _ in
            continuation.resume(returning: response != nil)
        }.resume()
    }
}

/// A reward link for `customer`, reported through the SDK with a token minted by the kit.
private func rewardURL(_ mock: MomentsMock, campaign: String, customer: String) async throws -> String {
    let tokens = TokenProvider {
        let minted = try await mock.customerToken(customerID: customer)
        return CustomerToken(token: minted.token, expiresIn: TimeInterval(minted.expiresInSeconds))
    }
    let client = try MomentsClient(
        config: ClientConfig(baseURL: mock.baseURL, device: DeviceInfo(type: .iOS, id: "device-1")), tokenProvider: tokens
    )
    guard case let .rewarded(reward) = try await client.reportAction(campaignID: campaign, momentID: "first_workout") else {
        throw MockError.transport("expected a reward")
    }
    return reward.url.absoluteString
}
