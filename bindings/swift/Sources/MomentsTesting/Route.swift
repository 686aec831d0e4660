import Foundation

/// An operation of the API as the fault and journal APIs name it: `METHOD /template` (``description``). The named
/// routes are constants (``trigger``, ``getReward``, …); ``of(_:)`` names anything else: another method and template,
/// or an exact path (`GET /v1/rewards/rwd_123`), with `*` for any method.
public struct Route: Sendable, Hashable, CustomStringConvertible {
    /// The method, or `*` for any.
    public let method: String
    /// The path template (`/v1/rewards/{id}`) or an exact path.
    public let path: String

    /// Whether a request (method, path, and the template the mock matched, if any) is this route's.
    public func matches(method: String, path: String, template: String?) -> Bool {
        (self.method == "*" || self.method.caseInsensitiveCompare(method) == .orderedSame)
            && (self.path == path || self.path == template)
    }

    /// `METHOD /template`, as the control API writes it.
    public var description: String { "\(method) \(path)" }

    /// The route `METHOD /path` (a named one if it is one). Checked here for its form; whether the mock serves it is
    /// checked by the mock when a fault names it (``MockError/api(status:code:message:param:requestID:)`` naming
    /// `route`).
    ///
    /// - Throws: ``MockError/invalid(field:reason:)`` naming `route` if it is not `METHOD /path` with a method of the
    ///   API or `*`.
    public static func of(_ route: String) throws -> Route {
        let parts = route.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw MockError.invalid(field: "route", reason: "`\(route)` is not `METHOD /path`") }
        guard parts[1].hasPrefix("/") else {
            throw MockError.invalid(field: "route", reason: "the path of `\(route)` does not start with /")
        }
        guard ["*", "GET", "POST", "PUT", "PATCH", "DELETE"].contains(parts[0]) else {
            throw MockError.invalid(field: "route", reason: "`\(parts[0])` is not GET, POST, PUT, PATCH, DELETE or *")
        }
        return Route(method: parts[0], path: parts[1])
    }

    /// `GET /v1/app`
    public static let getApp = Route(method: "GET", path: "/v1/app")

    /// `GET /v1/api_keys`
    public static let listApiKeys = Route(method: "GET", path: "/v1/api_keys")

    /// `POST /v1/api_keys`
    public static let createApiKey = Route(method: "POST", path: "/v1/api_keys")

    /// `DELETE /v1/api_keys/{id}`
    public static let revokeApiKey = Route(method: "DELETE", path: "/v1/api_keys/{id}")

    /// `POST /v1/customer_tokens`
    public static let createCustomerToken = Route(method: "POST", path: "/v1/customer_tokens")

    /// `GET /v1/catalog/items`
    public static let listCatalogItems = Route(method: "GET", path: "/v1/catalog/items")

    /// `GET /v1/catalog/items/{id}`
    public static let getCatalogItem = Route(method: "GET", path: "/v1/catalog/items/{id}")

    /// `POST /v1/campaigns`
    public static let createCampaign = Route(method: "POST", path: "/v1/campaigns")

    /// `GET /v1/campaigns`
    public static let listCampaigns = Route(method: "GET", path: "/v1/campaigns")

    /// `GET /v1/campaigns/{id}`
    public static let getCampaign = Route(method: "GET", path: "/v1/campaigns/{id}")

    /// `PATCH /v1/campaigns/{id}`
    public static let updateCampaign = Route(method: "PATCH", path: "/v1/campaigns/{id}")

    /// `POST /v1/campaigns/{id}/submit`
    public static let submitCampaign = Route(method: "POST", path: "/v1/campaigns/{id}/submit")

    /// `POST /v1/campaigns/{id}/approve`
    public static let approveCampaign = Route(method: "POST", path: "/v1/campaigns/{id}/approve")

    /// `POST /v1/campaigns/{id}/reject`
    public static let rejectCampaign = Route(method: "POST", path: "/v1/campaigns/{id}/reject")

    /// `POST /v1/campaigns/{id}/pause`
    public static let pauseCampaign = Route(method: "POST", path: "/v1/campaigns/{id}/pause")

    /// `POST /v1/campaigns/{id}/resume`
    public static let resumeCampaign = Route(method: "POST", path: "/v1/campaigns/{id}/resume")

    /// `POST /v1/campaigns/{id}/end`
    public static let endCampaign = Route(method: "POST", path: "/v1/campaigns/{id}/end")

    /// `GET /v1/campaigns/{id}/moments/{moment_id}/reward_info`
    public static let rewardInfo = Route(method: "GET", path: "/v1/campaigns/{id}/moments/{moment_id}/reward_info")

    /// `POST /v1/triggers`
    public static let trigger = Route(method: "POST", path: "/v1/triggers")

    /// `GET /v1/rewards`
    public static let listRewards = Route(method: "GET", path: "/v1/rewards")

    /// `GET /v1/rewards/{id}`
    public static let getReward = Route(method: "GET", path: "/v1/rewards/{id}")

    /// `POST /v1/rewards/{id}/cancel`
    public static let cancelReward = Route(method: "POST", path: "/v1/rewards/{id}/cancel")

    /// `GET /v1/customers/{customer_id}/progress`
    public static let progress = Route(method: "GET", path: "/v1/customers/{customer_id}/progress")

    /// `GET /v1/redemptions/{token}`
    public static let getRedemption = Route(method: "GET", path: "/v1/redemptions/{token}")

    /// `POST /v1/redemptions/{token}`: the redemption.
    public static let redemption = Route(method: "POST", path: "/v1/redemptions/{token}")

    /// `GET /r/{token}`: the landing page.
    public static let landingPage = Route(method: "GET", path: "/r/{token}")

    /// `POST /r/{token}`: the landing page's form.
    public static let landingSubmit = Route(method: "POST", path: "/r/{token}")

    /// `GET /v1/fraud_reviews`
    public static let listFraudReviews = Route(method: "GET", path: "/v1/fraud_reviews")

    /// `POST /v1/fraud_reviews/{reward_id}/release`
    public static let releaseFraudReview = Route(method: "POST", path: "/v1/fraud_reviews/{reward_id}/release")

    /// `POST /v1/fraud_reviews/{reward_id}/block`
    public static let blockFraudReview = Route(method: "POST", path: "/v1/fraud_reviews/{reward_id}/block")

    /// `GET /v1/reports`
    public static let report = Route(method: "GET", path: "/v1/reports")

    /// `POST /v1/webhook_endpoints`
    public static let createWebhookEndpoint = Route(method: "POST", path: "/v1/webhook_endpoints")

    /// `GET /v1/webhook_endpoints`
    public static let listWebhookEndpoints = Route(method: "GET", path: "/v1/webhook_endpoints")

    /// `GET /v1/webhook_endpoints/{id}`
    public static let getWebhookEndpoint = Route(method: "GET", path: "/v1/webhook_endpoints/{id}")

    /// `DELETE /v1/webhook_endpoints/{id}`
    public static let deleteWebhookEndpoint = Route(method: "DELETE", path: "/v1/webhook_endpoints/{id}")

    /// `POST /v1/webhook_endpoints/{id}/rotate_secret`
    public static let rotateWebhookSecret = Route(method: "POST", path: "/v1/webhook_endpoints/{id}/rotate_secret")

    /// `POST /prod/GetRewardInfo` (compatibility endpoint).
    public static let compatGetRewardInfo = Route(method: "POST", path: "/prod/GetRewardInfo")

    /// `POST /prod/GetReward` (compatibility endpoint).
    public static let compatGetReward = Route(method: "POST", path: "/prod/GetReward")

    /// Every named route.
    public static let all: [Route] = [
        getApp,
        listApiKeys,
        createApiKey,
        revokeApiKey,
        createCustomerToken,
        listCatalogItems,
        getCatalogItem,
        createCampaign,
        listCampaigns,
        getCampaign,
        updateCampaign,
        submitCampaign,
        approveCampaign,
        rejectCampaign,
        pauseCampaign,
        resumeCampaign,
        endCampaign,
        rewardInfo,
        trigger,
        listRewards,
        getReward,
        cancelReward,
        progress,
        getRedemption,
        redemption,
        landingPage,
        landingSubmit,
        listFraudReviews,
        releaseFraudReview,
        blockFraudReview,
        report,
        createWebhookEndpoint,
        listWebhookEndpoints,
        getWebhookEndpoint,
        deleteWebhookEndpoint,
        rotateWebhookSecret,
        compatGetRewardInfo,
        compatGetReward,
    ]
}
