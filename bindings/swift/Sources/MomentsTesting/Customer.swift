import Foundation

/// What ``MockControl/redeem(rewardURL:itemID:)`` answered: the reward's redemption as the landing page shows it.
public struct Redemption: Sendable, Hashable {
    /// The reward.
    public let rewardID: String
    /// Its status after the redemption (`redeemed`).
    public let status: String
    /// The chosen item.
    public let redeemedItemID: String?
    /// The code of a digital item or credit (nil for a physical item).
    public let digitalCode: String?
}

/// The counts of a ``Report``.
public struct Metrics: Sendable, Hashable {
    /// Accepted actions.
    public let actions: Int
    /// Rewards issued.
    public let rewardsIssued: Int
    /// Rewards redeemed.
    public let rewardsRedeemed: Int
    /// Rewards expired.
    public let rewardsExpired: Int
    /// Rewards cancelled.
    public let rewardsCancelled: Int
    /// What was charged, in minor units of the campaign's currency (cents).
    public let spend: Int
    /// Rewards flagged for fraud review.
    public let rewardsFlagged: Int
    /// What was refunded (expired, cancelled and blocked rewards), in minor units.
    public let refunds: Int
}

/// What ``MockControl/report(campaignID:)`` answered.
public struct Report: Sendable, Hashable {
    /// The campaign.
    public let campaignID: String?
    /// Its counts.
    public let totals: Metrics
    /// The budget left this month, in minor units.
    public let remainingBudget: Int
}

/// The shipping address ``MockControl/redeem(rewardURL:itemID:)`` gives for a physical item.
func testAddress() -> [String: Any] {
    ["name": "Ada Lovelace", "line1": "1 Main St", "city": "Seattle", "postal_code": "98101", "country": "US"]
}

/// The token of a reward link (`…/r/{token}`).
func linkToken(_ rewardURL: String) throws -> String {
    guard let range = rewardURL.range(of: "/r/", options: .backwards) else {
        throw MockError.invalid(field: "reward_url", reason: "not a reward link: \(rewardURL)")
    }
    let token = rewardURL[range.upperBound...].prefix { $0 != "?" && $0 != "#" }
    if token.isEmpty || token.contains("/") {
        throw MockError.invalid(field: "reward_url", reason: "not a reward link: \(rewardURL)")
    }
    return String(token)
}

extension MockControl {
    /// Redeems a reward link for `itemID` as the customer's browser would: reads the link's redemption
    /// (`GET /v1/redemptions/{token}`) and posts the choice, with a test address (Ada Lovelace, 1 Main St, Seattle
    /// 98101, US) when the item is shipped.
    ///
    /// - Throws: ``MockError/invalid(field:reason:)`` naming `reward_url` for a value that is not a reward link;
    ///   ``MockError/api(status:code:message:param:requestID:)`` naming `item_id` for an item the reward does not
    ///   offer.
    @discardableResult
    public func redeem(rewardURL: String, itemID: String) async throws -> Redemption {
        let path = "/v1/redemptions/" + (try linkToken(rewardURL))
        let offer = try await call("GET", path)
        let shipped = try offer.objs("choices").contains { try $0.str("item_id") == itemID && $0.str("kind") == "physical" }
        var body: [String: Any] = ["item_id": itemID]
        if shipped { body["shipping_address"] = testAddress() }
        let o = try await call("POST", path, body: body)
        let item = (o.map["redeemed_item"] as? [String: Any]).map(Obj.init)
        return Redemption(
            rewardID: try o.str("reward_id"), status: try o.str("status"), redeemedItemID: item?.strOrNil("item_id"),
            digitalCode: o.strOrNil("digital_code")
        )
    }

    /// The report of one campaign of the demo app over its whole life (`GET /v1/reports`, read with the app's secret
    /// key, as the app's backend would): actions, rewards issued and redeemed, spend.
    public func report(campaignID: String) async throws -> Report {
        let query = campaignID.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? campaignID
        let key = try await demo().secretKey
        let o = try await call("GET", "/v1/reports?campaign_id=\(query)", bearer: key)
        let t = Obj(o.map["totals"] as? [String: Any] ?? [:])
        let spend = Obj(t.map["spend"] as? [String: Any] ?? [:])
        let refunds = Obj(t.map["refunds"] as? [String: Any] ?? [:])
        let budget = Obj(o.map["remaining_budget"] as? [String: Any] ?? [:])
        let totals = Metrics(
            actions: try t.int("actions"), rewardsIssued: try t.int("rewards_issued"),
            rewardsRedeemed: try t.int("rewards_redeemed"), rewardsExpired: try t.int("rewards_expired"),
            rewardsCancelled: try t.int("rewards_cancelled"), spend: try spend.int("amount"),
            rewardsFlagged: try t.int("rewards_flagged"), refunds: try refunds.int("amount")
        )
        return Report(campaignID: o.strOrNil("campaign_id"), totals: totals, remainingBudget: try budget.int("amount"))
    }
}
