import Foundation

/// How the SDK reaches the Rewards API.
public struct ClientConfig: Sendable, Hashable {
    /// The API's base URL, e.g. `https://rewards.example.com` (the mock prints its own).
    public var baseURL: URL
    /// The device this app runs on, sent with every reported action (fraud controls).
    public var device: DeviceInfo
    /// Time allowed to open a connection, in seconds.
    public var connectTimeout: TimeInterval
    /// Time allowed for one HTTP attempt, in seconds.
    public var requestTimeout: TimeInterval
    /// Time allowed for a whole call, retries included, in seconds.
    public var callTimeout: TimeInterval
    /// Retries of a failed call when retrying is safe (reads, and reported actions, which carry an idempotency
    /// key).
    public var maxRetries: Int
    /// Certificate authorities trusted on top of the device's trust store, each PEM (one or more `CERTIFICATE`
    /// blocks) or DER: for debug builds and tests against a server whose CA the device does not trust. Empty
    /// (the default): the device's trust store alone, user- and MDM-installed CAs included.
    public var trustedCertificates: [Data]

    /// Creates a configuration.
    ///
    /// - Parameters:
    ///   - baseURL: The API's base URL.
    ///   - device: The device this app runs on.
    ///   - connectTimeout: Time allowed to open a connection, in seconds.
    ///   - requestTimeout: Time allowed for one HTTP attempt, in seconds.
    ///   - callTimeout: Time allowed for a whole call, retries included, in seconds.
    ///   - maxRetries: Retries of a failed call when retrying is safe.
    ///   - trustedCertificates: Certificate authorities (PEM or DER) trusted on top of the device's.
    public init(
        baseURL: URL,
        device: DeviceInfo,
        connectTimeout: TimeInterval = 10,
        requestTimeout: TimeInterval = 30,
        callTimeout: TimeInterval = 60,
        maxRetries: Int = 2,
        trustedCertificates: [Data] = []
    ) {
        self.baseURL = baseURL
        self.device = device
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.callTimeout = callTimeout
        self.maxRetries = maxRetries
        self.trustedCertificates = trustedCertificates
    }
}

/// The device reporting actions.
public struct DeviceInfo: Sendable, Hashable {
    /// The platform.
    public var type: DeviceType
    /// A stable identifier of this install (not a hardware id, e.g. `identifierForVendor`), used by fraud
    /// controls.
    public var id: String?

    /// Creates a device description.
    ///
    /// - Parameters:
    ///   - type: The platform.
    ///   - id: A stable identifier of this install, or `nil`.
    public init(type: DeviceType, id: String? = nil) {
        self.type = type
        self.id = id
    }
}

/// The platform of a device.
public enum DeviceType: Sendable, Hashable, CaseIterable {
    /// An Android phone or tablet.
    case android
    /// An iPhone or iPad.
    case iOS
    /// An Amazon Fire OS device.
    case fireOS
    /// A web browser.
    case web
}

/// A customer token fetched by the app from its own backend, which mints it with its secret key.
public struct CustomerToken: Sendable, Hashable, CustomStringConvertible {
    /// The `ct_…` token.
    public var token: String
    /// Time until it expires, in seconds, as the API answered when minting it.
    public var expiresIn: TimeInterval

    /// Creates a token.
    ///
    /// - Parameters:
    ///   - token: The `ct_…` token.
    ///   - expiresIn: Time until it expires, in seconds (`expires_in_seconds` of the API's answer).
    public init(token: String, expiresIn: TimeInterval) {
        self.token = token
        self.expiresIn = expiresIn
    }

    /// The expiry only: a token is never printed.
    public var description: String { "CustomerToken(token: <redacted>, expiresIn: \(expiresIn))" }
}

/// An amount of money in integer minor units (cents for USD, yen for JPY) with its ISO 4217 currency.
public struct Money: Sendable, Hashable {
    /// The amount in minor units.
    public var amount: Int
    /// The ISO 4217 currency code, e.g. `USD`.
    public var currency: String

    /// Creates an amount.
    ///
    /// - Parameters:
    ///   - amount: The amount in minor units.
    ///   - currency: The ISO 4217 currency code.
    public init(amount: Int, currency: String) {
        self.amount = amount
        self.currency = currency
    }
}

/// What kind of item a reward offers.
public enum ItemKind: Sendable, Hashable {
    /// Shipped to the customer.
    case physical
    /// A code shown on redemption.
    case digital
    /// A catalog or store credit.
    case credit
    /// A kind this version of the SDK does not know, by its API name.
    case other(String)
}

/// One item the customer may choose when redeeming.
public struct OfferItem: Sendable, Hashable, Identifiable {
    /// The item's id.
    public var id: String
    /// Its title, to show.
    public var title: String
    /// What kind of item it is.
    public var kind: ItemKind
    /// Its value.
    public var value: Money
    /// Its picture, when it has one.
    public var imageURL: URL?

    /// Creates a value, e.g. for previews and tests of app code (the SDK's calls return them).
    public init(
        id: String,
        title: String,
        kind: ItemKind,
        value: Money,
        imageURL: URL?
    ) {
        self.id = id
        self.title = title
        self.kind = kind
        self.value = value
        self.imageURL = imageURL
    }
}

/// The status of a reward.
public enum RewardStatus: Sendable, Hashable {
    /// Issued, not redeemed yet.
    case issued
    /// The customer chose an item.
    case redeemed
    /// The item was shipped.
    case shipped
    /// The item was delivered.
    case delivered
    /// Not redeemed in time.
    case expired
    /// Cancelled by the brand.
    case cancelled
    /// Held for fraud review: the link does not work until released.
    case flagged
    /// Blocked by fraud controls.
    case blocked
    /// A status this version of the SDK does not know, by its API name.
    case other(String)
}

/// A reward of the customer: open ``url`` in a browser to redeem it.
public struct Reward: Sendable, Hashable, Identifiable {
    /// The reward's id.
    public var id: String
    /// The campaign that issued it.
    public var campaignID: String
    /// The moment it rewards.
    public var momentID: String
    /// Where it stands.
    public var status: RewardStatus
    /// The unique redemption link.
    public var url: URL
    /// Whether it is a test-mode reward (campaign approved but not live): same link every time, nothing
    /// consumed.
    public var isTest: Bool
    /// When the link stops working.
    public var expiresAt: Date
    /// When it was issued.
    public var createdAt: Date
    /// The items the customer may pick from.
    public var offer: [OfferItem]

    /// Creates a value, e.g. for previews and tests of app code (the SDK's calls return them).
    public init(
        id: String,
        campaignID: String,
        momentID: String,
        status: RewardStatus,
        url: URL,
        isTest: Bool,
        expiresAt: Date,
        createdAt: Date,
        offer: [OfferItem]
    ) {
        self.id = id
        self.campaignID = campaignID
        self.momentID = momentID
        self.status = status
        self.url = url
        self.isTest = isTest
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.offer = offer
    }
}

/// The customer's progress toward a goal moment ("5 workouts in 30 days").
public struct Progress: Sendable, Hashable {
    /// The campaign of the goal.
    public var campaignID: String
    /// The goal moment.
    public var momentID: String
    /// Actions counted in the current window.
    public var current: Int
    /// Actions needed.
    public var target: Int
    /// The window the actions are counted in, in seconds.
    public var window: TimeInterval
    /// Whether the goal was met.
    public var isCompleted: Bool

    /// Creates a value, e.g. for previews and tests of app code (the SDK's calls return them).
    public init(
        campaignID: String,
        momentID: String,
        current: Int,
        target: Int,
        window: TimeInterval,
        isCompleted: Bool
    ) {
        self.campaignID = campaignID
        self.momentID = momentID
        self.current = current
        self.target = target
        self.window = window
        self.isCompleted = isCompleted
    }
}

/// A goal: ``target`` actions within ``window``.
public struct Goal: Sendable, Hashable {
    /// Actions needed.
    public var target: Int
    /// The window the actions are counted in, in seconds.
    public var window: TimeInterval

    /// Creates a value, e.g. for previews and tests of app code (the SDK's calls return them).
    public init(
        target: Int,
        window: TimeInterval
    ) {
        self.target = target
        self.window = window
    }
}

/// What a challenge offers, to announce it before the customer completes it.
public struct RewardInfo: Sendable, Hashable {
    /// The campaign.
    public var campaignID: String
    /// The moment.
    public var momentID: String
    /// The campaign's status (`live`, `approved`, …) as the API spells it.
    public var campaignStatus: String
    /// The text announcing the challenge.
    public var announcementMessage: String
    /// A picture for the announcement, when there is one.
    public var imageURL: URL?
    /// When the campaign ends.
    public var campaignEndAt: Date
    /// How many rewards can still be issued now.
    public var remainingRewardCount: Int
    /// The items a reward offers.
    public var offer: [OfferItem]
    /// The goal, for goal moments.
    public var goal: Goal?

    /// Creates a value, e.g. for previews and tests of app code (the SDK's calls return them).
    public init(
        campaignID: String,
        momentID: String,
        campaignStatus: String,
        announcementMessage: String,
        imageURL: URL?,
        campaignEndAt: Date,
        remainingRewardCount: Int,
        offer: [OfferItem],
        goal: Goal?
    ) {
        self.campaignID = campaignID
        self.momentID = momentID
        self.campaignStatus = campaignStatus
        self.announcementMessage = announcementMessage
        self.imageURL = imageURL
        self.campaignEndAt = campaignEndAt
        self.remainingRewardCount = remainingRewardCount
        self.offer = offer
        self.goal = goal
    }
}

/// The result of reporting an action.
public enum ActionOutcome: Sendable, Hashable {
    /// The moment is complete: a reward was issued (show its ``Reward/url``).
    case rewarded(Reward)
    /// A goal moment not met yet: the progress so far. Nothing was issued.
    case inProgress(Progress)
}

/// A change of what the client knows about the customer's rewards and progress.
public enum RewardEvent: Sendable, Hashable {
    /// The current known state: always the first event, and again if the app fell behind.
    case snapshot(rewards: [Reward], progress: [Progress])
    /// A reward was issued for an action reported through this client.
    case rewardIssued(Reward)
    /// A goal moment progressed.
    case progressUpdated(Progress)
    /// The customer's rewards were fetched again (``MomentsClient/myRewards(campaignID:)``).
    case rewardsRefreshed([Reward])
}

/// The client's connection and authentication status.
public enum ClientStatus: Sendable, Hashable {
    /// No call made yet.
    case idle
    /// The last call reached the API with a valid token.
    case online
    /// The last call could not reach the API (``MomentsError/Code/networkError`` or
    /// ``MomentsError/Code/timeout``).
    case offline(MomentsError.Code)
    /// The token provider failed or the API refused the token (the code says which).
    case unauthenticated(MomentsError.Code)
}

/// The severity of a log record, most verbose first.
public enum LogLevel: Sendable, Hashable, Comparable, CaseIterable {
    /// Every step.
    case trace
    /// Details for debugging.
    case debug
    /// Normal operation.
    case info
    /// Something unexpected the SDK recovered from.
    case warning
    /// A failure.
    case error
}

/// One log line of the SDK.
public struct LogRecord: Sendable, Hashable {
    /// Its severity.
    public var level: LogLevel
    /// The Rust module that logged, e.g. `moments_client::http`.
    public var target: String
    /// The message, followed by its fields as `key=value`.
    public var message: String

    /// Creates a value, e.g. for previews and tests of app code (the SDK's calls return them).
    public init(
        level: LogLevel,
        target: String,
        message: String
    ) {
        self.level = level
        self.target = target
        self.message = message
    }
}
