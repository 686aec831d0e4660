//! The seam between the FFI layer and `moments-client`.
//!
//! `MomentsClient` (FFI) talks to a `Backend`; the real one, [`ClientBackend`], wraps `moments_client` with a
//! token provider (whose tokens it caches, refreshes ahead of expiry and after `token_expired`, and fetches
//! once for concurrent calls); the unit tests use a fake.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt as _;
use moments_client::models::{self as api, RewardInfoParams, RewardListParams, TriggerRequest};
use moments_client::{BoxError, ErrorKind, RetryPolicy, TokenGrant};

use crate::error::{ErrorCode, Kind, MomentsError};
use crate::runtime::panic_text;
use crate::token::TokenProvider;
use crate::types::{
    ActionOutcome, ClientConfig, DeviceInfo, DeviceType, Goal, ItemKind, Money, OfferItem,
    Progress, Reward, RewardInfo, RewardStatus, millis, signed,
};

/// One reported action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TriggerInput {
    pub campaign_id: String,
    pub moment_id: String,
    pub quantity: u32,
    pub device: DeviceInfo,
}

/// The API calls the mobile SDK makes, with a customer token.
#[async_trait::async_trait]
pub(crate) trait Backend: Send + Sync + 'static {
    async fn reward_info(
        &self,
        campaign_id: &str,
        moment_id: &str,
    ) -> Result<RewardInfo, MomentsError>;
    async fn trigger(&self, input: TriggerInput) -> Result<ActionOutcome, MomentsError>;
    async fn my_rewards(&self, campaign_id: Option<String>) -> Result<Vec<Reward>, MomentsError>;
    async fn my_progress(&self, campaign_id: Option<String>)
    -> Result<Vec<Progress>, MomentsError>;

    /// The `moments-client` client the outbox delivers with (`None` for test fakes).
    fn api_client(&self) -> Option<moments_client::MomentsClient> {
        None
    }

    /// The same backend over a connection pool of its own, for blocking calls (whose connections the
    /// calling threads drive); `None` when the backend has no connections (test fakes).
    fn with_own_pool(&self) -> Result<Option<Arc<dyn Backend>>, MomentsError> {
        Ok(None)
    }
}

/// Builds the real backend over `moments-client`. Does no I/O.
pub(crate) fn connect(
    config: &ClientConfig,
    token_provider: Arc<dyn TokenProvider>,
) -> Result<Arc<dyn Backend>, MomentsError> {
    let builder = config
        .trusted_certificates
        .iter()
        .fold(moments_client::MomentsClient::builder(), |builder, cert| {
            builder.add_trusted_certificate(cert.clone())
        });
    let client = builder
        .base_url(config.base_url.clone())
        .token_provider(Arc::new(ProviderAdapter(token_provider)))
        .connect_timeout(millis(config.connect_timeout_ms))
        .attempt_timeout(millis(config.request_timeout_ms))
        .total_timeout(millis(config.call_timeout_ms))
        .retry_policy(
            RetryPolicy::default().with_max_attempts(
                u32::try_from(config.max_retries)
                    .unwrap_or(0)
                    .saturating_add(1),
            ),
        )
        .user_agent(format!("moments-sdk-mobile/{}", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(MomentsError::from)?;
    Ok(Arc::new(ClientBackend { client }))
}

/// The app's provider seen as `moments_client`'s: panics and foreign exceptions become errors.
struct ProviderAdapter(Arc<dyn TokenProvider>);

#[async_trait::async_trait]
impl moments_client::TokenProvider for ProviderAdapter {
    async fn fetch_token(&self) -> Result<TokenGrant, BoxError> {
        match AssertUnwindSafe(self.0.fetch_token()).catch_unwind().await {
            Ok(Ok(token)) => Ok(TokenGrant::new(
                token.token,
                // A negative lifetime is an expired token.
                u64::try_from(token.expires_in_seconds).unwrap_or(0),
            )),
            Ok(Err(err)) => Err(Box::new(err)),
            Err(panic) => Err(Box::new(MomentsError::token_provider(
                panic_text(panic),
                false,
            ))),
        }
    }
}

struct ClientBackend {
    client: moments_client::MomentsClient,
}

#[async_trait::async_trait]
impl Backend for ClientBackend {
    fn api_client(&self) -> Option<moments_client::MomentsClient> {
        Some(self.client.clone())
    }

    fn with_own_pool(&self) -> Result<Option<Arc<dyn Backend>>, MomentsError> {
        let client = self.client.with_own_connection_pool()?;
        Ok(Some(Arc::new(ClientBackend { client })))
    }

    async fn reward_info(
        &self,
        campaign_id: &str,
        moment_id: &str,
    ) -> Result<RewardInfo, MomentsError> {
        let info = self
            .client
            .moments()
            .reward_info(campaign_id, moment_id, &RewardInfoParams::default())
            .await?;
        Ok(info.into())
    }

    async fn trigger(&self, input: TriggerInput) -> Result<ActionOutcome, MomentsError> {
        let mut request = TriggerRequest::new(
            input.campaign_id,
            input.moment_id,
            input.device.device_type.into(),
        )
        .quantity(input.quantity);
        if let Some(id) = input.device.device_id {
            request = request.device_id(id);
        }
        let outcome = self.client.moments().trigger(&request).await?;
        ActionOutcome::try_from(outcome.result)
    }

    async fn my_rewards(&self, campaign_id: Option<String>) -> Result<Vec<Reward>, MomentsError> {
        let mut params = RewardListParams {
            campaign_id,
            limit: Some(100),
            ..Default::default()
        };
        let mut all = Vec::new();
        loop {
            let page = self.client.rewards().list(&params).await?;
            all.extend(page.data.into_iter().map(Reward::from));
            match page.next_cursor {
                Some(cursor) if page.has_more => params.cursor = Some(cursor),
                _ => break,
            }
            if all.len() >= 10_000 {
                break;
            }
        }
        Ok(all)
    }

    async fn my_progress(
        &self,
        campaign_id: Option<String>,
    ) -> Result<Vec<Progress>, MomentsError> {
        let page = self.client.progress().mine(campaign_id.as_deref()).await?;
        Ok(page.data.into_iter().map(Progress::from).collect())
    }
}

impl From<DeviceType> for api::DeviceType {
    fn from(t: DeviceType) -> Self {
        match t {
            DeviceType::Android => Self::Android,
            DeviceType::Ios => Self::Ios,
            DeviceType::FireOs => Self::FireOs,
            DeviceType::Web => Self::Web,
        }
    }
}

impl From<api::Money> for Money {
    fn from(m: api::Money) -> Self {
        Self {
            amount: m.amount,
            currency: m.currency,
        }
    }
}

impl From<api::OfferItem> for OfferItem {
    fn from(i: api::OfferItem) -> Self {
        Self {
            item_id: i.item_id,
            title: i.title,
            kind: ItemKind::from_api(i.kind.as_str()),
            value: i.value.into(),
            image_url: i.image_url,
        }
    }
}

impl From<api::Reward> for Reward {
    fn from(r: api::Reward) -> Self {
        Self {
            id: r.id,
            campaign_id: r.campaign_id,
            moment_id: r.moment_id,
            status: RewardStatus::from_api(r.status.as_str()),
            url: r.url,
            test: r.test,
            expires_at: r.expires_at.into(),
            created_at: r.created_at.into(),
            offer: r.offer.items.into_iter().map(OfferItem::from).collect(),
        }
    }
}

impl From<api::Progress> for Progress {
    fn from(p: api::Progress) -> Self {
        Self {
            campaign_id: p.campaign_id,
            moment_id: p.moment_id,
            current: signed(p.current),
            target: signed(p.target),
            window_seconds: signed(p.window_seconds),
            completed: p.completed,
        }
    }
}

impl From<api::RewardInfo> for RewardInfo {
    fn from(i: api::RewardInfo) -> Self {
        Self {
            campaign_id: i.campaign_id,
            moment_id: i.moment_id,
            campaign_status: i.campaign_status.as_str().to_owned(),
            announcement_message: i.announcement_message,
            image_url: i.image_url,
            campaign_end_at: i.campaign_end_at.into(),
            remaining_reward_count: i.remaining_reward_count.max(0),
            offer: i.offer.items.into_iter().map(OfferItem::from).collect(),
            goal: i.goal.map(|g| Goal {
                target: signed(g.target),
                window_seconds: signed(g.window_seconds),
            }),
        }
    }
}

impl TryFrom<api::TriggerResult> for ActionOutcome {
    type Error = MomentsError;

    fn try_from(r: api::TriggerResult) -> Result<Self, MomentsError> {
        match (r.reward, r.progress) {
            (Some(reward), _) => Ok(Self::Rewarded {
                reward: reward.into(),
            }),
            (None, Some(progress)) => Ok(Self::InProgress {
                progress: progress.into(),
            }),
            (None, None) => Err(MomentsError::local(
                Kind::Network,
                ErrorCode::InvalidResponse,
                format!(
                    "the trigger answer (outcome `{}`) has neither a reward nor progress",
                    r.outcome.as_str()
                ),
                false,
            )),
        }
    }
}

impl From<moments_client::Error> for MomentsError {
    fn from(err: moments_client::Error) -> Self {
        let request_id = err.request_id().map(str::to_owned);
        let retryable = err.is_retryable();
        let network = |code, reason, request_id, retryable, http_status| Self::Network {
            code,
            reason,
            request_id,
            retryable,
            http_status,
        };
        match err.kind() {
            ErrorKind::Api(api) => {
                let code = ErrorCode::from(&api.code);
                Self::Api {
                    code,
                    // A code this SDK does not know keeps its wire spelling in the reason.
                    reason: if code == ErrorCode::Unknown {
                        format!("{} (code `{}`)", api.message, api.code.as_str())
                    } else {
                        api.message.clone()
                    },
                    request_id: api.request_id.clone().or(request_id),
                    retryable: api.retryable,
                    http_status: Some(i32::from(api.status)),
                    param: api.param.clone(),
                }
            }
            ErrorKind::TokenProvider { source } => match source.downcast_ref::<MomentsError>() {
                // The app threw a MomentsError (or a foreign exception we turned into one): keep it.
                Some(inner @ MomentsError::TokenProvider { .. }) => inner.clone(),
                Some(other) => Self::token_provider(
                    format!("the token provider failed: {}", other.reason()),
                    other.retryable(),
                ),
                None => Self::token_provider(format!("the token provider failed: {source}"), false),
            },
            ErrorKind::Timeout { total, .. } => network(
                ErrorCode::Timeout,
                if *total {
                    "the call timed out".into()
                } else {
                    "the request timed out".into()
                },
                request_id,
                retryable,
                None,
            ),
            // A refused server certificate: never sent, and retrying does not help.
            ErrorKind::Tls { message } => network(
                ErrorCode::NetworkError,
                format!("TLS handshake failed: {message}"),
                request_id,
                false,
                None,
            ),
            ErrorKind::Connect { message } | ErrorKind::Transport { message } => network(
                ErrorCode::NetworkError,
                message.clone(),
                request_id,
                retryable,
                None,
            ),
            ErrorKind::Decode {
                message,
                request_id: rid,
                status,
                ..
            } => network(
                ErrorCode::InvalidResponse,
                format!("the answer could not be read: {message}"),
                rid.clone().or(request_id),
                false,
                Some(i32::from(*status)),
            ),
            ErrorKind::InvalidConfig(message) => Self::invalid_argument(message.clone()),
            _ => Self::internal(err.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ClientConfig, DeviceInfo};

    const REWARD: &str = r#"{
      "object": "reward", "id": "rwd_1", "campaign_id": "cmp_1", "moment_id": "first_workout",
      "reward_group_id": "US", "variant_id": null, "customer_id": "cust_42", "marketplace": "US",
      "segment": null, "device_type": "Android", "status": "issued", "test": false,
      "url": "http://127.0.0.1:8080/r/Xk3", "expires_at": "2026-12-23T10:00:00Z",
      "cost": {"amount": 500, "currency": "USD"},
      "offer": {"items": [{"item_id": "itm_echo_dot", "title": "Echo Dot", "kind": "physical",
                           "value": {"amount": 4999, "currency": "USD"}, "image_url": null},
                          {"item_id": "itm_new", "title": "New", "kind": "hologram",
                           "value": {"amount": 100, "currency": "JPY"}}]},
      "flag": null, "created_at": "2026-11-23T10:00:00Z", "redeemed_at": null, "shipped_at": null,
      "delivered_at": null, "expired_at": null, "cancelled_at": null
    }"#;

    #[test]
    fn a_reward_converts_with_times_money_and_unknown_kinds() {
        let api: api::Reward = serde_json::from_str(REWARD).unwrap();
        let reward = Reward::from(api);
        assert_eq!(reward.status, RewardStatus::Issued);
        assert_eq!(reward.url, "http://127.0.0.1:8080/r/Xk3");
        let created = reward
            .created_at
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert_eq!(created, 1_795_428_000); // 2026-11-23T10:00:00Z
        assert_eq!(reward.offer[0].kind, ItemKind::Physical);
        assert_eq!(
            reward.offer[0].value,
            Money {
                amount: 4999,
                currency: "USD".into()
            }
        );
        assert_eq!(
            reward.offer[1].kind,
            ItemKind::Other {
                name: "hologram".into()
            }
        );
    }

    #[test]
    fn trigger_results_become_outcomes() {
        let rewarded: api::TriggerResult = serde_json::from_str(&format!(
            r#"{{"object":"trigger_result","outcome":"reward","campaign_id":"cmp_1","moment_id":"first_workout",
                "customer_id":"cust_42","reward":{REWARD},"progress":null}}"#
        ))
        .unwrap();
        assert!(
            matches!(ActionOutcome::try_from(rewarded), Ok(ActionOutcome::Rewarded { reward }) if reward.id == "rwd_1")
        );

        let progress: api::TriggerResult = serde_json::from_str(
            r#"{"object":"trigger_result","outcome":"progress","campaign_id":"cmp_1","moment_id":"five_workouts",
                "customer_id":"cust_42","reward":null,"progress":{"object":"progress","campaign_id":"cmp_1",
                "moment_id":"five_workouts","customer_id":"cust_42","current":3,"target":5,
                "window_seconds":2592000,"window_started_at":null,"completed":false}}"#,
        )
        .unwrap();
        match ActionOutcome::try_from(progress).unwrap() {
            ActionOutcome::InProgress { progress } => {
                assert_eq!(
                    (progress.current, progress.target, progress.completed),
                    (3, 5, false)
                );
            }
            other => panic!("expected progress, got {other:?}"),
        }

        let neither: api::TriggerResult = serde_json::from_str(
            r#"{"outcome":"reward","campaign_id":"cmp_1","moment_id":"m","reward":null,"progress":null}"#,
        )
        .unwrap();
        assert_eq!(
            ActionOutcome::try_from(neither).unwrap_err().code(),
            ErrorCode::InvalidResponse
        );
    }

    #[test]
    fn an_invalid_base_url_is_an_invalid_argument_and_device_types_use_the_wire_spelling() {
        struct Never;
        #[async_trait::async_trait]
        impl TokenProvider for Never {
            async fn fetch_token(&self) -> Result<crate::types::CustomerToken, MomentsError> {
                unreachable!()
            }
        }
        let config = ClientConfig {
            base_url: "not a url".into(),
            device: DeviceInfo {
                device_type: DeviceType::FireOs,
                device_id: None,
            },
            connect_timeout_ms: 1,
            request_timeout_ms: 1,
            call_timeout_ms: 1,
            max_retries: 0,
            trusted_certificates: Vec::new(),
        };
        let err = connect(&config, Arc::new(Never))
            .err()
            .expect("an invalid URL is refused");
        assert_eq!(err.code(), ErrorCode::InvalidArgument);
        // Bytes that are no certificate are refused when the client is built, naming the certificate.
        let config = ClientConfig {
            base_url: "https://rewards.example.com".into(),
            trusted_certificates: vec![
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_vec(),
            ],
            ..config
        };
        let err = connect(&config, Arc::new(Never))
            .err()
            .expect("an unreadable certificate is refused");
        assert_eq!(err.code(), ErrorCode::InvalidArgument);
        assert!(err.reason().contains("trusted certificate #1"), "{err:?}");
        assert_eq!(
            api::DeviceType::from(DeviceType::FireOs).as_str(),
            DeviceType::FireOs.as_api_str()
        );
        assert_eq!(api::DeviceType::from(DeviceType::Ios).as_str(), "iOS");
    }

    #[test]
    fn a_provider_error_keeps_its_code_and_a_panic_is_contained() {
        struct Panics;
        #[async_trait::async_trait]
        impl TokenProvider for Panics {
            async fn fetch_token(&self) -> Result<crate::types::CustomerToken, MomentsError> {
                panic!("provider bug")
            }
        }
        let adapter = ProviderAdapter(Arc::new(Panics));
        let err = crate::runtime::runtime()
            .block_on(moments_client::TokenProvider::fetch_token(&adapter))
            .unwrap_err();
        let inner = err.downcast_ref::<MomentsError>().expect("a MomentsError");
        assert_eq!(inner.code(), ErrorCode::TokenProviderFailed);
        assert!(inner.reason().contains("provider bug"));
    }
}
