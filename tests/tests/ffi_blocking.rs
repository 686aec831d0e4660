//! The mobile SDK's blocking client (`MomentsClient.blocking()`) through the real backend against the
//! in-process mock: calls made on plain threads, several at once, and async calls on the same client
//! before and after (the blocking calls have their own connection pool, driven by the calling threads).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use moments_client::models::CustomerTokenCreate;
use moments_ffi::{
    ActionOutcome, ClientConfig, CustomerToken, DeviceInfo, DeviceType, ErrorCode, MomentsClient,
    MomentsError, TokenProvider,
};
use moments_mock_server::MockServer;

/// The app's backend: hands out a customer token it minted with the demo secret key; counts calls.
struct Tokens {
    token: CustomerToken,
    calls: AtomicU32,
}

#[async_trait::async_trait]
impl TokenProvider for Tokens {
    async fn fetch_token(&self) -> Result<CustomerToken, MomentsError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(self.token.clone())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_calls_on_plain_threads_share_the_client_with_async_calls() {
    let mock = MockServer::start().await.expect("mock starts");
    let campaign = mock.demo().campaign_id.clone();
    let minted = moments_client::MomentsClient::builder()
        .base_url(mock.base_url())
        .secret_key(mock.demo().secret_key.clone())
        .build()
        .unwrap()
        .customer_tokens()
        .create(&CustomerTokenCreate::new("cust_blocking", "US").ttl_seconds(900))
        .await
        .unwrap();
    let tokens = Arc::new(Tokens {
        token: CustomerToken {
            token: minted.token.clone(),
            expires_in_seconds: minted.expires_in_seconds,
        },
        calls: AtomicU32::new(0),
    });
    let config = ClientConfig {
        base_url: mock.base_url().to_string(),
        device: DeviceInfo {
            device_type: DeviceType::Android,
            device_id: Some("device-blocking".into()),
        },
        connect_timeout_ms: 10_000,
        request_timeout_ms: 30_000,
        call_timeout_ms: 60_000,
        max_retries: 2,
        trusted_certificates: Vec::new(),
    };
    let client = MomentsClient::new(config, tokens.clone()).unwrap();

    // An async call first: its connection lives on the SDK runtime.
    let info = client
        .reward_info(campaign.clone(), "first_workout".into())
        .await
        .unwrap();
    assert_eq!(info.campaign_id, campaign);

    // Blocking calls from plain threads: one reports the action, then four read at once.
    let sdk = client.blocking();
    let (sdk2, campaign2) = (sdk.clone(), campaign.clone());
    let outcome =
        std::thread::spawn(move || sdk2.report_action(campaign2, "first_workout".into(), 1, None))
            .join()
            .unwrap()
            .unwrap();
    let ActionOutcome::Rewarded { reward } = outcome else {
        panic!("expected a reward")
    };
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let sdk = sdk.clone();
            std::thread::spawn(move || sdk.my_rewards(None))
        })
        .collect();
    for r in readers {
        let rewards = r.join().unwrap().unwrap();
        assert_eq!(rewards.len(), 1);
        assert_eq!(rewards[0].id, reward.id);
    }

    // Async calls still work after the blocking ones (separate pools), and one token served everything.
    let rewards = client.my_rewards(None).await.unwrap();
    assert_eq!(rewards[0].id, reward.id);
    assert_eq!(tokens.calls.load(Ordering::SeqCst), 1);

    // The same call made twice answers the API's error the same way on both paths.
    let second =
        std::thread::spawn(move || sdk.report_action(campaign, "first_workout".into(), 1, None))
            .join()
            .unwrap()
            .unwrap_err();
    assert_eq!(second.code(), ErrorCode::FrequencyCapReached);
}
