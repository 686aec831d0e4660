package com.moments.sdk.testing

/**
 * An operation of the API as the fault and journal APIs name it: `METHOD /template` ([toString]). The named routes
 * are constants ([TRIGGER], [GET_REWARD], …); [of] names anything else: another method and template, or an exact
 * path (`GET /v1/rewards/rwd_123`), with `*` for any method.
 *
 * @property method the method, or `*` for any.
 * @property path the path template (`/v1/rewards/{id}`) or an exact path.
 */
public class Route private constructor(public val method: String, public val path: String) {
    /** Whether a request (method, path, and the template the mock matched, if any) is this route's. */
    public fun matches(method: String, path: String, template: String?): Boolean =
        (this.method == "*" || this.method.equals(method, ignoreCase = true)) &&
            (this.path == path || this.path == template)

    /** `METHOD /template`, as the control API writes it. */
    override fun toString(): String = "$method $path"

    override fun equals(other: Any?): Boolean = other is Route && other.method == method && other.path == path

    override fun hashCode(): Int = 31 * method.hashCode() + path.hashCode()

    /** The named routes, and [of] for any other. */
    public companion object {
        private val METHODS = setOf("*", "GET", "POST", "PUT", "PATCH", "DELETE")

        /**
         * The route `METHOD /path` (a named one if it is one). Checked here for its form; whether the mock serves it
         * is checked by the mock when a fault names it ([MockException.Api] naming `route`).
         *
         * @throws MockException.Invalid naming `route` if it is not `METHOD /path` with a method of the API or `*`.
         */
        @JvmStatic
        public fun of(route: String): Route {
            val parts = route.split(' ', limit = 2)
            if (parts.size != 2) throw MockException.Invalid("route", "`$route` is not `METHOD /path`")
            val (m, p) = parts
            if (!p.startsWith("/")) throw MockException.Invalid("route", "the path of `$route` does not start with /")
            if (m !in METHODS) throw MockException.Invalid("route", "`$m` is not GET, POST, PUT, PATCH, DELETE or *")
            return ALL.firstOrNull { it.method == m && it.path == p } ?: Route(m, p)
        }

        /** `GET /v1/app` */
        @JvmField public val GET_APP: Route = Route("GET", "/v1/app")

        /** `GET /v1/api_keys` */
        @JvmField public val LIST_API_KEYS: Route = Route("GET", "/v1/api_keys")

        /** `POST /v1/api_keys` */
        @JvmField public val CREATE_API_KEY: Route = Route("POST", "/v1/api_keys")

        /** `DELETE /v1/api_keys/{id}` */
        @JvmField public val REVOKE_API_KEY: Route = Route("DELETE", "/v1/api_keys/{id}")

        /** `POST /v1/customer_tokens` */
        @JvmField public val CREATE_CUSTOMER_TOKEN: Route = Route("POST", "/v1/customer_tokens")

        /** `GET /v1/catalog/items` */
        @JvmField public val LIST_CATALOG_ITEMS: Route = Route("GET", "/v1/catalog/items")

        /** `GET /v1/catalog/items/{id}` */
        @JvmField public val GET_CATALOG_ITEM: Route = Route("GET", "/v1/catalog/items/{id}")

        /** `POST /v1/campaigns` */
        @JvmField public val CREATE_CAMPAIGN: Route = Route("POST", "/v1/campaigns")

        /** `GET /v1/campaigns` */
        @JvmField public val LIST_CAMPAIGNS: Route = Route("GET", "/v1/campaigns")

        /** `GET /v1/campaigns/{id}` */
        @JvmField public val GET_CAMPAIGN: Route = Route("GET", "/v1/campaigns/{id}")

        /** `PATCH /v1/campaigns/{id}` */
        @JvmField public val UPDATE_CAMPAIGN: Route = Route("PATCH", "/v1/campaigns/{id}")

        /** `POST /v1/campaigns/{id}/submit` */
        @JvmField public val SUBMIT_CAMPAIGN: Route = Route("POST", "/v1/campaigns/{id}/submit")

        /** `POST /v1/campaigns/{id}/approve` */
        @JvmField public val APPROVE_CAMPAIGN: Route = Route("POST", "/v1/campaigns/{id}/approve")

        /** `POST /v1/campaigns/{id}/reject` */
        @JvmField public val REJECT_CAMPAIGN: Route = Route("POST", "/v1/campaigns/{id}/reject")

        /** `POST /v1/campaigns/{id}/pause` */
        @JvmField public val PAUSE_CAMPAIGN: Route = Route("POST", "/v1/campaigns/{id}/pause")

        /** `POST /v1/campaigns/{id}/resume` */
        @JvmField public val RESUME_CAMPAIGN: Route = Route("POST", "/v1/campaigns/{id}/resume")

        /** `POST /v1/campaigns/{id}/end` */
        @JvmField public val END_CAMPAIGN: Route = Route("POST", "/v1/campaigns/{id}/end")

        /** `GET /v1/campaigns/{id}/moments/{moment_id}/reward_info` */
        @JvmField public val REWARD_INFO: Route = Route("GET", "/v1/campaigns/{id}/moments/{moment_id}/reward_info")

        /** `POST /v1/triggers` */
        @JvmField public val TRIGGER: Route = Route("POST", "/v1/triggers")

        /** `GET /v1/rewards` */
        @JvmField public val LIST_REWARDS: Route = Route("GET", "/v1/rewards")

        /** `GET /v1/rewards/{id}` */
        @JvmField public val GET_REWARD: Route = Route("GET", "/v1/rewards/{id}")

        /** `POST /v1/rewards/{id}/cancel` */
        @JvmField public val CANCEL_REWARD: Route = Route("POST", "/v1/rewards/{id}/cancel")

        /** `GET /v1/customers/{customer_id}/progress` */
        @JvmField public val PROGRESS: Route = Route("GET", "/v1/customers/{customer_id}/progress")

        /** `GET /v1/redemptions/{token}` */
        @JvmField public val GET_REDEMPTION: Route = Route("GET", "/v1/redemptions/{token}")

        /** `POST /v1/redemptions/{token}`: the redemption. */
        @JvmField public val REDEMPTION: Route = Route("POST", "/v1/redemptions/{token}")

        /** `GET /r/{token}`: the landing page. */
        @JvmField public val LANDING_PAGE: Route = Route("GET", "/r/{token}")

        /** `POST /r/{token}`: the landing page's form. */
        @JvmField public val LANDING_SUBMIT: Route = Route("POST", "/r/{token}")

        /** `GET /v1/fraud_reviews` */
        @JvmField public val LIST_FRAUD_REVIEWS: Route = Route("GET", "/v1/fraud_reviews")

        /** `POST /v1/fraud_reviews/{reward_id}/release` */
        @JvmField public val RELEASE_FRAUD_REVIEW: Route = Route("POST", "/v1/fraud_reviews/{reward_id}/release")

        /** `POST /v1/fraud_reviews/{reward_id}/block` */
        @JvmField public val BLOCK_FRAUD_REVIEW: Route = Route("POST", "/v1/fraud_reviews/{reward_id}/block")

        /** `GET /v1/reports` */
        @JvmField public val REPORT: Route = Route("GET", "/v1/reports")

        /** `POST /v1/webhook_endpoints` */
        @JvmField public val CREATE_WEBHOOK_ENDPOINT: Route = Route("POST", "/v1/webhook_endpoints")

        /** `GET /v1/webhook_endpoints` */
        @JvmField public val LIST_WEBHOOK_ENDPOINTS: Route = Route("GET", "/v1/webhook_endpoints")

        /** `GET /v1/webhook_endpoints/{id}` */
        @JvmField public val GET_WEBHOOK_ENDPOINT: Route = Route("GET", "/v1/webhook_endpoints/{id}")

        /** `DELETE /v1/webhook_endpoints/{id}` */
        @JvmField public val DELETE_WEBHOOK_ENDPOINT: Route = Route("DELETE", "/v1/webhook_endpoints/{id}")

        /** `POST /v1/webhook_endpoints/{id}/rotate_secret` */
        @JvmField public val ROTATE_WEBHOOK_SECRET: Route = Route("POST", "/v1/webhook_endpoints/{id}/rotate_secret")

        /** `POST /prod/GetRewardInfo` (compatibility endpoint). */
        @JvmField public val COMPAT_GET_REWARD_INFO: Route = Route("POST", "/prod/GetRewardInfo")

        /** `POST /prod/GetReward` (compatibility endpoint). */
        @JvmField public val COMPAT_GET_REWARD: Route = Route("POST", "/prod/GetReward")

        /** Every named route. */
        @JvmField
        public val ALL: List<Route> = listOf(
            GET_APP,
            LIST_API_KEYS,
            CREATE_API_KEY,
            REVOKE_API_KEY,
            CREATE_CUSTOMER_TOKEN,
            LIST_CATALOG_ITEMS,
            GET_CATALOG_ITEM,
            CREATE_CAMPAIGN,
            LIST_CAMPAIGNS,
            GET_CAMPAIGN,
            UPDATE_CAMPAIGN,
            SUBMIT_CAMPAIGN,
            APPROVE_CAMPAIGN,
            REJECT_CAMPAIGN,
            PAUSE_CAMPAIGN,
            RESUME_CAMPAIGN,
            END_CAMPAIGN,
            REWARD_INFO,
            TRIGGER,
            LIST_REWARDS,
            GET_REWARD,
            CANCEL_REWARD,
            PROGRESS,
            GET_REDEMPTION,
            REDEMPTION,
            LANDING_PAGE,
            LANDING_SUBMIT,
            LIST_FRAUD_REVIEWS,
            RELEASE_FRAUD_REVIEW,
            BLOCK_FRAUD_REVIEW,
            REPORT,
            CREATE_WEBHOOK_ENDPOINT,
            LIST_WEBHOOK_ENDPOINTS,
            GET_WEBHOOK_ENDPOINT,
            DELETE_WEBHOOK_ENDPOINT,
            ROTATE_WEBHOOK_SECRET,
            COMPAT_GET_REWARD_INFO,
            COMPAT_GET_REWARD,
        )
    }
}
