//! [`Route`]: the operations of the API as the fault and journal APIs name them (`METHOD /template`).

use std::fmt;
use std::str::FromStr;

use super::Error;

macro_rules! routes {
    ($($(#[$doc:meta])* $name:ident => $method:literal $template:literal,)*) => {
        /// An operation of the API, as the fault and journal APIs name it: `METHOD /template`
        /// ([`Route::as_str`]). [`Route::Custom`] names anything else: another method and template, or an
        /// exact path (`GET /v1/rewards/rwd_123`), with `*` for any method.
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Route {
            $($(#[$doc])* $name,)*
            /// `METHOD /path`: a route template or an exact path; `*` as the method matches any.
            Custom(String),
        }

        impl Route {
            /// Every named route (not [`Route::Custom`]).
            pub const ALL: &'static [Route] = &[$(Route::$name,)*];

            /// The method (`*` for any) and the path or template.
            pub fn parts(&self) -> (&str, &str) {
                match self {
                    $(Route::$name => ($method, $template),)*
                    Route::Custom(s) => s.split_once(' ').unwrap_or(("", s.as_str())),
                }
            }

            /// `METHOD /template`, as the control API writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Route::$name => concat!($method, " ", $template),)*
                    Route::Custom(s) => s,
                }
            }

            /// The named route with this method and template, else [`Route::Custom`].
            pub fn parse(s: &str) -> Route {
                match s {
                    $(concat!($method, " ", $template) => Route::$name,)*
                    other => Route::Custom(other.to_string()),
                }
            }
        }
    };
}

routes! {
    /// `GET /v1/app`
    GetApp => "GET" "/v1/app",
    /// `GET /v1/api_keys`
    ListApiKeys => "GET" "/v1/api_keys",
    /// `POST /v1/api_keys`
    CreateApiKey => "POST" "/v1/api_keys",
    /// `DELETE /v1/api_keys/{id}`
    RevokeApiKey => "DELETE" "/v1/api_keys/{id}",
    /// `POST /v1/customer_tokens`
    CreateCustomerToken => "POST" "/v1/customer_tokens",
    /// `GET /v1/catalog/items`
    ListCatalogItems => "GET" "/v1/catalog/items",
    /// `GET /v1/catalog/items/{id}`
    GetCatalogItem => "GET" "/v1/catalog/items/{id}",
    /// `POST /v1/campaigns`
    CreateCampaign => "POST" "/v1/campaigns",
    /// `GET /v1/campaigns`
    ListCampaigns => "GET" "/v1/campaigns",
    /// `GET /v1/campaigns/{id}`
    GetCampaign => "GET" "/v1/campaigns/{id}",
    /// `PATCH /v1/campaigns/{id}`
    UpdateCampaign => "PATCH" "/v1/campaigns/{id}",
    /// `POST /v1/campaigns/{id}/submit`
    SubmitCampaign => "POST" "/v1/campaigns/{id}/submit",
    /// `POST /v1/campaigns/{id}/approve`
    ApproveCampaign => "POST" "/v1/campaigns/{id}/approve",
    /// `POST /v1/campaigns/{id}/reject`
    RejectCampaign => "POST" "/v1/campaigns/{id}/reject",
    /// `POST /v1/campaigns/{id}/pause`
    PauseCampaign => "POST" "/v1/campaigns/{id}/pause",
    /// `POST /v1/campaigns/{id}/resume`
    ResumeCampaign => "POST" "/v1/campaigns/{id}/resume",
    /// `POST /v1/campaigns/{id}/end`
    EndCampaign => "POST" "/v1/campaigns/{id}/end",
    /// `GET /v1/campaigns/{id}/moments/{moment_id}/reward_info`
    RewardInfo => "GET" "/v1/campaigns/{id}/moments/{moment_id}/reward_info",
    /// `POST /v1/triggers`
    Trigger => "POST" "/v1/triggers",
    /// `GET /v1/rewards`
    ListRewards => "GET" "/v1/rewards",
    /// `GET /v1/rewards/{id}`
    GetReward => "GET" "/v1/rewards/{id}",
    /// `POST /v1/rewards/{id}/cancel`
    CancelReward => "POST" "/v1/rewards/{id}/cancel",
    /// `GET /v1/customers/{customer_id}/progress`
    Progress => "GET" "/v1/customers/{customer_id}/progress",
    /// `GET /v1/redemptions/{token}`
    GetRedemption => "GET" "/v1/redemptions/{token}",
    /// `POST /v1/redemptions/{token}`: the redemption.
    Redemption => "POST" "/v1/redemptions/{token}",
    /// `GET /r/{token}`: the landing page.
    LandingPage => "GET" "/r/{token}",
    /// `POST /r/{token}`: the landing page's form.
    LandingSubmit => "POST" "/r/{token}",
    /// `GET /v1/fraud_reviews`
    ListFraudReviews => "GET" "/v1/fraud_reviews",
    /// `POST /v1/fraud_reviews/{reward_id}/release`
    ReleaseFraudReview => "POST" "/v1/fraud_reviews/{reward_id}/release",
    /// `POST /v1/fraud_reviews/{reward_id}/block`
    BlockFraudReview => "POST" "/v1/fraud_reviews/{reward_id}/block",
    /// `GET /v1/reports`
    Report => "GET" "/v1/reports",
    /// `POST /v1/webhook_endpoints`
    CreateWebhookEndpoint => "POST" "/v1/webhook_endpoints",
    /// `GET /v1/webhook_endpoints`
    ListWebhookEndpoints => "GET" "/v1/webhook_endpoints",
    /// `GET /v1/webhook_endpoints/{id}`
    GetWebhookEndpoint => "GET" "/v1/webhook_endpoints/{id}",
    /// `DELETE /v1/webhook_endpoints/{id}`
    DeleteWebhookEndpoint => "DELETE" "/v1/webhook_endpoints/{id}",
    /// `POST /v1/webhook_endpoints/{id}/rotate_secret`
    RotateWebhookSecret => "POST" "/v1/webhook_endpoints/{id}/rotate_secret",
    /// `POST /prod/GetRewardInfo` (compatibility endpoint).
    CompatGetRewardInfo => "POST" "/prod/GetRewardInfo",
    /// `POST /prod/GetReward` (compatibility endpoint).
    CompatGetReward => "POST" "/prod/GetReward",
}

impl Route {
    /// Whether a request (method, path, and the template the mock matched, if any) is this route's:
    /// the method matches (`*` any) and the path is the route's path or template. The rule the mock's
    /// faults follow.
    pub fn matches(&self, method: &str, path: &str, template: Option<&str>) -> bool {
        let (m, p) = self.parts();
        crate::domain::faults::route_matches(m, p, method, path, template)
    }

    /// Checks a [`Route::Custom`] before it is sent: `METHOD /path` with a method of the API (or `*`)
    /// and a path the mock serves (a template or a path that one matches). Named routes always pass.
    pub fn validate(&self) -> Result<(), Error> {
        let Route::Custom(s) = self else {
            return Ok(());
        };
        let Some((m, p)) = s.split_once(' ') else {
            return Err(Error::invalid(
                "route",
                format!("`{s}` is not `METHOD /path`"),
            ));
        };
        if !p.starts_with('/') {
            return Err(Error::invalid(
                "route",
                format!("the path of `{s}` does not start with /"),
            ));
        }
        if !["*", "GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m) {
            return Err(Error::invalid(
                "route",
                format!("`{m}` is not GET, POST, PUT, PATCH, DELETE or *"),
            ));
        }
        let Some(template) = crate::http::layers::route_template(p) else {
            return Err(Error::invalid(
                "route",
                format!("the mock serves no route at `{p}`"),
            ));
        };
        let served = crate::http::router::routes()
            .iter()
            .any(|(rm, t)| t == template && (m == "*" || rm == m));
        if !served {
            return Err(Error::invalid(
                "route",
                format!("the mock serves no `{m} {template}`"),
            ));
        }
        Ok(())
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Route {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Route, Self::Err> {
        Ok(Route::parse(s))
    }
}

impl From<&str> for Route {
    fn from(s: &str) -> Route {
        Route::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_routes_are_the_served_operations() {
        let served: Vec<String> = crate::http::router::routes()
            .iter()
            .filter(|(_, t)| !t.starts_with("/_mock/") && t != "/openapi.json")
            .map(|(m, t)| format!("{m} {t}"))
            .collect();
        for s in &served {
            assert!(
                !matches!(Route::parse(s), Route::Custom(_)),
                "no Route names {s}"
            );
        }
        for r in Route::ALL {
            assert!(served.iter().any(|s| s == r.as_str()), "{r} is not served");
            assert_eq!(Route::parse(r.as_str()), *r);
            r.validate().unwrap();
        }
        assert_eq!(Route::ALL.len(), served.len());
    }

    #[test]
    fn custom_routes_are_checked_against_the_route_table() {
        for ok in [
            "GET /v1/rewards/rwd_123",
            "* /v1/triggers",
            "POST /_mock/clock/advance",
        ] {
            Route::Custom(ok.into()).validate().unwrap();
        }
        for bad in [
            "POST /v1/trigger",
            "/v1/triggers",
            "FETCH /v1/triggers",
            "GET v1/app",
            "DELETE /v1/triggers",
        ] {
            let e = Route::Custom(bad.into()).validate().unwrap_err();
            assert_eq!(e.field(), Some("route"), "{bad}: {e}");
        }
    }
}
