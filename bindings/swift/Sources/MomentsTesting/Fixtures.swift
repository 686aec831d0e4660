import Foundation

/// Fixtures to load with ``MockControl/load(_:)``: items and campaigns, loaded in that order (so a campaign may use
/// the items beside it).
///
/// ```swift
/// let fixtures = Fixtures()
///     .withItem(Fixtures.item("itm_sticker").price("US", 250).stock("US", 3))
///     .withCampaign(Fixtures.campaign().live().budgetUSD(50).moment("first_workout").items("itm_sticker"))
/// ```
public struct Fixtures: Sendable {
    private var items: [ItemFixture] = []
    private var campaigns: [CampaignFixture] = []

    /// No fixtures yet.
    public init() {}

    /// A valid campaign of the demo app (see ``CampaignFixture`` for its defaults).
    public static func campaign() -> CampaignFixture { CampaignFixture() }

    /// A catalog item (`id` starts with `itm_`): digital, titled after its id, $10 in the US with 100 in stock.
    public static func item(_ id: String) -> ItemFixture { ItemFixture(id: id) }

    /// Adds an item.
    public func withItem(_ item: ItemFixture) -> Fixtures {
        var copy = self
        copy.items.append(item)
        return copy
    }

    /// Adds a campaign.
    public func withCampaign(_ campaign: CampaignFixture) -> Fixtures {
        var copy = self
        copy.campaigns.append(campaign)
        return copy
    }

    /// The body of `POST /_mock/fixtures`, campaign dates placed around `now` (the mock's clock).
    func json(now: Date) -> [String: Any] {
        [
            "accounts": [String](),
            "apps": [Any](),
            "items": items.map { $0.json() },
            "campaigns": campaigns.map { c -> [String: Any] in
                var entry: [String: Any] = ["app_id": c.appID, "status": c.status, "campaign": c.body(now: now)]
                if let id = c.id { entry["id"] = id }
                return entry
            },
        ]
    }
}

/// A catalog item of a fixtures load.
public struct ItemFixture: Sendable {
    /// Its id (`itm_…`).
    public let id: String
    private var title: String?
    private var kind = "digital"
    private var prices: [(String, Int)] = []
    private var stock: [(String, Int)] = []

    init(id: String) { self.id = id }

    /// The title (default: the id).
    public func title(_ title: String) -> ItemFixture { with { $0.title = title } }

    /// Shipped after redemption (`reward.shipped`, then `reward.delivered`, follow the clock).
    public func physical() -> ItemFixture { with { $0.kind = "physical" } }

    /// A code shown on redemption (the default).
    public func digital() -> ItemFixture { with { $0.kind = "digital" } }

    /// A credit.
    public func credit() -> ItemFixture { with { $0.kind = "credit" } }

    /// Sold in `marketplace` for `amount` minor units of its currency, with 100 in stock unless ``stock(_:_:)`` says
    /// otherwise. The first price replaces the default US one.
    public func price(_ marketplace: String, _ amount: Int) -> ItemFixture { with { $0.prices.append((marketplace, amount)) } }

    /// Units in stock in `marketplace` (0: none, so triggers answer `inventory_exhausted`).
    public func stock(_ marketplace: String, _ units: Int) -> ItemFixture { with { $0.stock.append((marketplace, units)) } }

    private func with(_ change: (inout ItemFixture) -> Void) -> ItemFixture {
        var copy = self
        change(&copy)
        return copy
    }

    func json() -> [String: Any] {
        let currencies = [
            "US": "USD", "CA": "CAD", "MX": "MXN", "BR": "BRL", "UK": "GBP", "DE": "EUR", "FR": "EUR", "IT": "EUR",
            "ES": "EUR", "NL": "EUR", "IN": "INR", "JP": "JPY", "AU": "AUD",
        ]
        let priced = prices.isEmpty ? [("US", 1000)] : prices
        var p: [String: Any] = [:]
        var s: [String: Any] = [:]
        for (marketplace, amount) in priced {
            p[marketplace] = ["amount": amount, "currency": currencies[marketplace] ?? "USD"]
            s[marketplace] = 100
        }
        for (marketplace, units) in stock { s[marketplace] = units }
        return [
            "object": "item", "id": id, "title": title ?? id, "description": "", "kind": kind, "prices": p, "stock": s,
        ]
    }
}

/// A campaign of a fixtures load: valid as it stands, every field changeable.
///
/// Defaults: owned by the demo app (`app_demo_fitness`, so the demo secret key triggers it), **live** from an hour
/// before the mock's clock for 30 days, $1,000 a month, $5 per action, the US marketplace with one reward group `US`
/// of seeded items (`itm_echo_dot`, then `itm_gc_10`), one client-reportable moment `first_workout` (one reward per
/// customer), messages and a landing image.
public struct CampaignFixture: Sendable {
    var id: String?
    var appID = "app_demo_fitness"
    var status = "live"
    private var name = "Test campaign"
    private var brandName = "Test Brand"
    private var startAt: Date?
    private var endAt: Date?
    private var budgetCents = 100_000
    private var costCents = 500
    private var marketplaces = ["US"]
    private var items = ["itm_echo_dot", "itm_gc_10"]
    private var moments: [(id: String, clientReportable: Bool)] = [("first_workout", true)]
    private var defaultMoment = true
    private var announcement = "Finish a workout and win a reward"
    private var redemptionMessage = "Well done! Enjoy your reward."
    private var landingImageURL: String? = "https://images.example.com/landing.png"
    private var rewardExpirySeconds: Int?

    init() {}

    /// This id (`cmp_…`) instead of a generated one.
    public func id(_ id: String) -> CampaignFixture { with { $0.id = id } }

    /// Owned by the app with this id (default: the demo app).
    public func appID(_ appID: String) -> CampaignFixture { with { $0.appID = appID } }

    /// Live (the default): started an hour before the mock's clock, so triggers issue real rewards.
    public func live() -> CampaignFixture { with { $0.status = "live" } }

    /// Approved but not started (starts a day after the mock's clock): triggers answer test rewards until it starts.
    public func approved() -> CampaignFixture { with { $0.status = "approved" } }

    /// A draft: triggers answer `422 campaign_not_live` (except in test mode).
    public func draft() -> CampaignFixture { with { $0.status = "draft" } }

    /// The name.
    public func name(_ name: String) -> CampaignFixture { with { $0.name = name } }

    /// The brand name.
    public func brand(_ brand: String) -> CampaignFixture { with { $0.brandName = brand } }

    /// Starts at this time (default: an hour before the mock's clock; a day after for ``approved()``).
    public func startAt(_ date: Date) -> CampaignFixture { with { $0.startAt = date } }

    /// Ends at this time (default: 30 days after the start).
    public func endAt(_ date: Date) -> CampaignFixture { with { $0.endAt = date } }

    /// Monthly budget in dollars ($50–$5,000 is what the mock accepts).
    public func budgetUSD(_ dollars: Int) -> CampaignFixture { with { $0.budgetCents = dollars * 100 } }

    /// Monthly budget in cents.
    public func budgetCents(_ cents: Int) -> CampaignFixture { with { $0.budgetCents = cents } }

    /// Cost of each reward in cents (default 500).
    public func costCents(_ cents: Int) -> CampaignFixture { with { $0.costCents = cents } }

    /// The targeted marketplaces (default `US`); each gets a reward group of the ``items(_:)``.
    public func marketplaces(_ marketplaces: String...) -> CampaignFixture { with { $0.marketplaces = marketplaces } }

    /// The items of the generated reward groups, in fallback order (default `itm_echo_dot`, `itm_gc_10`).
    public func items(_ items: String...) -> CampaignFixture { with { $0.items = items } }

    /// A client-reportable moment. The first call replaces the default `first_workout`; ``serverOnly()`` applies
    /// to the last moment added.
    public func moment(_ id: String) -> CampaignFixture {
        with {
            if $0.defaultMoment { $0.moments.removeAll() }
            $0.defaultMoment = false
            $0.moments.append((id, true))
        }
    }

    /// The last moment may be reported only with a secret key (not by an app with a customer token).
    public func serverOnly() -> CampaignFixture {
        with {
            $0.defaultMoment = false
            if !$0.moments.isEmpty { $0.moments[$0.moments.count - 1].clientReportable = false }
        }
    }

    /// How long a reward stays redeemable (whole seconds, 1 hour – 365 days; default 30 days).
    public func rewardExpiry(_ seconds: TimeInterval) -> CampaignFixture { with { $0.rewardExpirySeconds = Int(seconds) } }

    /// The announcement (what reward info shows before the action).
    public func announcement(_ message: String) -> CampaignFixture { with { $0.announcement = message } }

    /// The message of the landing page.
    public func redemptionMessage(_ message: String) -> CampaignFixture { with { $0.redemptionMessage = message } }

    /// The landing page's image (nil: none).
    public func landingImageURL(_ url: String?) -> CampaignFixture { with { $0.landingImageURL = url } }

    private func with(_ change: (inout CampaignFixture) -> Void) -> CampaignFixture {
        var copy = self
        change(&copy)
        return copy
    }

    /// The campaign's body (`POST /v1/campaigns` takes it too), dates placed around `now`.
    func body(now: Date) -> [String: Any] {
        let t = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let start = startAt ?? (status == "approved" ? t.addingTimeInterval(86_400) : t.addingTimeInterval(-3_600))
        let end = endAt ?? start.addingTimeInterval(30 * 86_400)
        let usd = { (cents: Int) -> [String: Any] in ["amount": cents, "currency": "USD"] }
        var body: [String: Any] = [
            "name": name, "brand_name": brandName, "start_at": rfc3339(start), "end_at": rfc3339(end),
            "budget": usd(budgetCents), "cost_per_action": usd(costCents), "marketplaces": marketplaces,
            "reward_groups": marketplaces.map { ["id": $0, "marketplace": $0, "segments": [String](), "items": items] },
            "moments": moments.map { ["id": $0.id, "client_reportable": $0.clientReportable] },
            "announcement_message": announcement, "redemption_message": redemptionMessage,
            "landing_image_url": landingImageURL.map { $0 as Any } ?? NSNull(),
        ]
        if let rewardExpirySeconds { body["reward_expiry_seconds"] = rewardExpirySeconds }
        return body
    }
}
