//! `MomentsClient`, the one object app code uses, and `BlockingMomentsClient`, its synchronous view.

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use moments_outbox::ClientDeliverer;
use tokio_util::sync::CancellationToken as Token;

use crate::backend::{self, Backend, TriggerInput};
use crate::cancel::CancellationToken;
use crate::error::{ErrorCode, Kind, MomentsError};
use crate::listeners::{Hub, ListenerHandle, RewardListener, StatusListener};
use crate::outbox::{ActionOutbox, OutboxEventListener};
use crate::runtime::{block_on, run};
use crate::token::TokenProvider;
use crate::types::{
    ActionOutcome, ClientConfig, ClientStatus, DeviceInfo, Progress, Reward, RewardInfo, millis,
};

/// The Moments client of a mobile app, acting for one customer (the one its `TokenProvider`'s tokens are for).
///
/// Create one per signed-in customer and keep it. Every call runs on the SDK's own threads; every call can be
/// cancelled by cancelling the coroutine / Swift task, by `cancelAll()`, or (for `reportAction`) by a
/// `CancellationToken`. Code without coroutines (Java, background threads) uses `blocking()`.
#[derive(uniffi::Object)]
pub struct MomentsClient {
    core: Arc<Core>,
}

/// The synchronous view of a `MomentsClient`, for callers without coroutines / Swift concurrency (Java code,
/// worker threads of the app). Get it with `MomentsClient.blocking()`.
///
/// It shares everything with its client: token cache, listeners and status, `cancelAll()`, the whole-call timeout.
/// Each method makes the same call as the client's async method, on the calling thread itself (with a connection
/// pool of its own), and returns when it is done; listeners are called on SDK threads, as for the async client.
/// **Never call it on the main / UI thread** (it waits for the network). Called on one of the SDK's own threads
/// (inside a listener, token provider or log sink) it fails at once with `InvalidArgument` code
/// `BlockingCallOnSdkThread` instead of deadlocking.
#[derive(uniffi::Object)]
pub struct BlockingMomentsClient {
    core: Arc<Core>,
}

/// What a client and its blocking view share; every call's one implementation.
struct Core {
    backend: Arc<dyn Backend>,
    /// The backend of blocking calls, made on first use: its own connection pool, whose connections the
    /// calling threads drive (see `runtime::block_on`).
    blocking_backend: OnceLock<Arc<dyn Backend>>,
    hub: Arc<Hub>,
    cancel_root: Mutex<Token>,
    device: DeviceInfo,
    call_timeout: Duration,
}

#[uniffi::export(async_runtime = "tokio")]
impl MomentsClient {
    /// Creates the client. Does no I/O: the token provider is first called by the first call that needs it.
    #[uniffi::constructor]
    pub fn new(
        config: ClientConfig,
        token_provider: Arc<dyn TokenProvider>,
    ) -> Result<Arc<Self>, MomentsError> {
        let backend = backend::connect(&config, token_provider)?;
        Ok(Arc::new(Self::with_backend(config, backend)))
    }

    /// The synchronous view of this client (same token cache, listeners, `cancelAll()` and timeout), for code
    /// without coroutines. Its calls block the calling thread: never use it on the main / UI thread.
    pub fn blocking(&self) -> Arc<BlockingMomentsClient> {
        Arc::new(BlockingMomentsClient {
            core: Arc::clone(&self.core),
        })
    }

    /// Describes the reward of a moment, to announce the challenge. Consumes nothing.
    pub async fn reward_info(
        &self,
        campaign_id: String,
        moment_id: String,
    ) -> Result<RewardInfo, MomentsError> {
        self.core
            .reward_info(Mode::Async, campaign_id, moment_id)
            .await
    }

    /// Reports that the customer completed an action of a client-reportable moment.
    ///
    /// Returns the issued reward (show its `url`) or, for a goal moment not met yet, the progress. `quantity`
    /// (1–1,000,000) is what this action adds to a goal. One idempotency key is made per call and reused on every
    /// retry, so a retried call never issues two rewards. Pass a `CancellationToken` to be able to cancel it.
    #[uniffi::method(default(quantity = 1, cancellation = None))]
    pub async fn report_action(
        &self,
        campaign_id: String,
        moment_id: String,
        quantity: i32,
        cancellation: Option<Arc<CancellationToken>>,
    ) -> Result<ActionOutcome, MomentsError> {
        self.core
            .report_action(Mode::Async, campaign_id, moment_id, quantity, cancellation)
            .await
    }

    /// The customer's own rewards, newest first (all pages), optionally of one campaign.
    #[uniffi::method(default(campaign_id = None))]
    pub async fn my_rewards(
        &self,
        campaign_id: Option<String>,
    ) -> Result<Vec<Reward>, MomentsError> {
        self.core.my_rewards(Mode::Async, campaign_id).await
    }

    /// The customer's progress on goal moments, optionally of one campaign.
    #[uniffi::method(default(campaign_id = None))]
    pub async fn my_progress(
        &self,
        campaign_id: Option<String>,
    ) -> Result<Vec<Progress>, MomentsError> {
        self.core.my_progress(Mode::Async, campaign_id).await
    }

    /// Follows rewards and progress: the listener first gets a `Snapshot` of what the client knows, then every
    /// change. Keep the handle; dropping it or calling `cancel()` unsubscribes.
    pub fn add_reward_listener(&self, listener: Arc<dyn RewardListener>) -> Arc<ListenerHandle> {
        Arc::new(self.core.hub.subscribe_rewards(listener))
    }

    /// Follows the connection / authentication status, starting with the current one.
    pub fn add_status_listener(&self, listener: Arc<dyn StatusListener>) -> Arc<ListenerHandle> {
        Arc::new(self.core.hub.subscribe_status(listener))
    }

    /// Opens the durable outbox stored at `path` (a file in the app's private storage; created if missing),
    /// delivering with this client's token provider. Runs on the SDK's threads (no disk I/O on the caller's).
    /// One outbox per file at a time (code `OutboxAlreadyOpen` otherwise).
    #[uniffi::method(default(listener = None))]
    pub async fn open_outbox(
        &self,
        path: String,
        listener: Option<Arc<dyn OutboxEventListener>>,
    ) -> Result<Arc<ActionOutbox>, MomentsError> {
        let client = self.core.backend.api_client().ok_or_else(|| {
            MomentsError::invalid_argument("this client has no API connection for an outbox")
        })?;
        ActionOutbox::open(
            path,
            self.core.device.clone(),
            Arc::new(ClientDeliverer::new(client)),
            listener,
        )
        .await
    }

    /// The current connection / authentication status.
    pub fn status(&self) -> ClientStatus {
        self.core.hub.status()
    }

    /// Cancels every call in flight (they fail with code `cancelled`), blocking ones too. Later calls work normally.
    pub fn cancel_all(&self) {
        self.core.cancel_all();
    }
}

#[uniffi::export]
impl BlockingMomentsClient {
    /// `MomentsClient.rewardInfo`, blocking the calling thread until it is done (never on the main / UI thread).
    pub fn reward_info(
        &self,
        campaign_id: String,
        moment_id: String,
    ) -> Result<RewardInfo, MomentsError> {
        block_on(
            self.core
                .reward_info(Mode::Blocking, campaign_id, moment_id),
        )
    }

    /// `MomentsClient.reportAction`, blocking the calling thread until it is done (never on the main / UI
    /// thread). Cancel it from another thread with the `CancellationToken` or `cancelAll()`.
    #[uniffi::method(default(quantity = 1, cancellation = None))]
    pub fn report_action(
        &self,
        campaign_id: String,
        moment_id: String,
        quantity: i32,
        cancellation: Option<Arc<CancellationToken>>,
    ) -> Result<ActionOutcome, MomentsError> {
        block_on(self.core.report_action(
            Mode::Blocking,
            campaign_id,
            moment_id,
            quantity,
            cancellation,
        ))
    }

    /// `MomentsClient.myRewards`, blocking the calling thread until it is done (never on the main / UI thread).
    #[uniffi::method(default(campaign_id = None))]
    pub fn my_rewards(&self, campaign_id: Option<String>) -> Result<Vec<Reward>, MomentsError> {
        block_on(self.core.my_rewards(Mode::Blocking, campaign_id))
    }

    /// `MomentsClient.myProgress`, blocking the calling thread until it is done (never on the main / UI thread).
    #[uniffi::method(default(campaign_id = None))]
    pub fn my_progress(&self, campaign_id: Option<String>) -> Result<Vec<Progress>, MomentsError> {
        block_on(self.core.my_progress(Mode::Blocking, campaign_id))
    }

    /// The current connection / authentication status (does not block).
    pub fn status(&self) -> ClientStatus {
        self.core.hub.status()
    }

    /// Cancels every call in flight of this client, async and blocking (they fail with code `cancelled`).
    pub fn cancel_all(&self) {
        self.core.cancel_all();
    }
}

impl MomentsClient {
    pub(crate) fn with_backend(config: ClientConfig, backend: Arc<dyn Backend>) -> Self {
        Self {
            core: Arc::new(Core {
                backend,
                blocking_backend: OnceLock::new(),
                hub: Arc::default(),
                cancel_root: Mutex::new(Token::new()),
                device: config.device,
                call_timeout: millis(config.call_timeout_ms),
            }),
        }
    }
}

impl Core {
    async fn reward_info(
        &self,
        mode: Mode,
        campaign_id: String,
        moment_id: String,
    ) -> Result<RewardInfo, MomentsError> {
        check_id("campaign_id", &campaign_id)?;
        check_id("moment_id", &moment_id)?;
        let backend = self.backend(mode)?;
        self.call(mode, None, async move {
            backend.reward_info(&campaign_id, &moment_id).await
        })
        .await
    }

    async fn report_action(
        &self,
        mode: Mode,
        campaign_id: String,
        moment_id: String,
        quantity: i32,
        cancellation: Option<Arc<CancellationToken>>,
    ) -> Result<ActionOutcome, MomentsError> {
        check_id("campaign_id", &campaign_id)?;
        check_id("moment_id", &moment_id)?;
        if !(1..=1_000_000).contains(&quantity) {
            return Err(MomentsError::invalid_argument(
                "quantity must be between 1 and 1000000",
            ));
        }
        let input = TriggerInput {
            campaign_id,
            moment_id,
            quantity: quantity.unsigned_abs(),
            device: self.device.clone(),
        };
        let backend = self.backend(mode)?;
        let hub = Arc::clone(&self.hub);
        let token = cancellation.map(|c| c.inner.clone());
        self.call(mode, token, async move {
            let outcome = backend.trigger(input).await?;
            hub.action(&outcome);
            Ok(outcome)
        })
        .await
    }

    async fn my_rewards(
        &self,
        mode: Mode,
        campaign_id: Option<String>,
    ) -> Result<Vec<Reward>, MomentsError> {
        let backend = self.backend(mode)?;
        let hub = Arc::clone(&self.hub);
        self.call(mode, None, async move {
            let rewards = backend.my_rewards(campaign_id.clone()).await?;
            if campaign_id.is_none() {
                hub.rewards(&rewards);
            }
            Ok(rewards)
        })
        .await
    }

    async fn my_progress(
        &self,
        mode: Mode,
        campaign_id: Option<String>,
    ) -> Result<Vec<Progress>, MomentsError> {
        let backend = self.backend(mode)?;
        let hub = Arc::clone(&self.hub);
        self.call(mode, None, async move {
            let progress = backend.my_progress(campaign_id).await?;
            hub.progress(&progress);
            Ok(progress)
        })
        .await
    }

    fn cancel_all(&self) {
        let old = std::mem::replace(
            &mut *self.cancel_root.lock().unwrap_or_else(|e| e.into_inner()),
            Token::new(),
        );
        old.cancel();
    }

    /// The backend for calls made in `mode`.
    fn backend(&self, mode: Mode) -> Result<Arc<dyn Backend>, MomentsError> {
        match mode {
            Mode::Async => Ok(Arc::clone(&self.backend)),
            Mode::Blocking => {
                if let Some(b) = self.blocking_backend.get() {
                    return Ok(Arc::clone(b));
                }
                let own = self
                    .backend
                    .with_own_pool()?
                    .unwrap_or_else(|| Arc::clone(&self.backend));
                Ok(Arc::clone(self.blocking_backend.get_or_init(|| own)))
            }
        }
    }

    /// Runs one call with cancellation, the whole-call timeout and status tracking: on the SDK runtime
    /// (`Mode::Async`), or where it is awaited (`Mode::Blocking`: the calling thread, in `runtime::block_on`).
    async fn call<T, F>(&self, mode: Mode, extra: Option<Token>, fut: F) -> Result<T, MomentsError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, MomentsError>> + Send + 'static,
    {
        let root = self
            .cancel_root
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .child_token();
        let extra = extra.unwrap_or_default();
        let hub = Arc::clone(&self.hub);
        let timeout = self.call_timeout;
        let guarded = async move {
            let result = tokio::select! {
                biased;
                _ = root.cancelled() => Err(MomentsError::cancelled()),
                _ = extra.cancelled() => Err(MomentsError::cancelled()),
                r = tokio::time::timeout(timeout, fut) => r.unwrap_or_else(|_| Err(MomentsError::local(
                    Kind::Network,
                    ErrorCode::Timeout,
                    format!("the call did not complete within {} ms", timeout.as_millis()),
                    true,
                ))),
            };
            if let Some(status) = status_after(&result) {
                hub.set_status(status);
            }
            result
        };
        match mode {
            Mode::Async => run(guarded).await,
            Mode::Blocking => guarded.await,
        }
    }
}

/// Where a call runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// On the SDK runtime, awaited by the foreign future (`MomentsClient`).
    Async,
    /// On the calling thread, which blocks (`BlockingMomentsClient`).
    Blocking,
}

/// The status a call's result implies, if it says anything about connectivity or auth.
pub(crate) fn status_after<T>(result: &Result<T, MomentsError>) -> Option<ClientStatus> {
    match result {
        Ok(_) => Some(ClientStatus::Online),
        Err(MomentsError::Network { code, .. }) => Some(ClientStatus::Offline { code: *code }),
        Err(MomentsError::TokenProvider { code, .. }) => {
            Some(ClientStatus::Unauthenticated { code: *code })
        }
        Err(MomentsError::Api { code, .. })
            if matches!(
                code,
                ErrorCode::TokenExpired
                    | ErrorCode::InvalidApiKey
                    | ErrorCode::AuthenticationRequired
            ) =>
        {
            Some(ClientStatus::Unauthenticated { code: *code })
        }
        Err(MomentsError::Api { .. }) => Some(ClientStatus::Online),
        Err(_) => None,
    }
}

fn check_id(name: &str, value: &str) -> Result<(), MomentsError> {
    let ok = (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(MomentsError::invalid_argument(format!(
            "{name} must match ^[A-Za-z0-9_-]{{1,64}}$"
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex as StdMutex;
    use std::time::SystemTime;

    use super::*;
    use crate::backend::{Backend, TriggerInput};
    use crate::runtime::runtime;
    use crate::types::{DeviceType, Progress, RewardEvent, RewardStatus};

    /// A backend answering from memory; `hang` makes every call wait forever (after telling `entered`).
    #[derive(Default)]
    struct Fake {
        hang: bool,
        entered: StdMutex<Option<std::sync::mpsc::Sender<()>>>,
        triggers: StdMutex<Vec<TriggerInput>>,
    }

    impl Fake {
        async fn maybe_hang(&self) {
            if self.hang {
                if let Some(entered) = self.entered.lock().unwrap().as_ref() {
                    let _ = entered.send(());
                }
                std::future::pending::<()>().await;
            }
        }
    }

    fn reward(id: &str) -> Reward {
        Reward {
            id: id.into(),
            campaign_id: "cmp_1".into(),
            moment_id: "first_workout".into(),
            status: RewardStatus::Issued,
            url: format!("http://mock/r/{id}"),
            test: false,
            expires_at: SystemTime::UNIX_EPOCH,
            created_at: SystemTime::UNIX_EPOCH,
            offer: vec![],
        }
    }

    #[async_trait::async_trait]
    impl Backend for Fake {
        async fn reward_info(&self, _: &str, _: &str) -> Result<RewardInfo, MomentsError> {
            self.maybe_hang().await;
            Err(MomentsError::Api {
                code: ErrorCode::TokenExpired,
                reason: "expired".into(),
                request_id: Some("req_1".into()),
                retryable: false,
                http_status: Some(401),
                param: None,
            })
        }
        async fn trigger(&self, input: TriggerInput) -> Result<ActionOutcome, MomentsError> {
            self.maybe_hang().await;
            let n = {
                let mut t = self.triggers.lock().unwrap();
                t.push(input.clone());
                t.len()
            };
            Ok(if input.moment_id == "five_workouts" {
                ActionOutcome::InProgress {
                    progress: Progress {
                        campaign_id: input.campaign_id,
                        moment_id: input.moment_id,
                        current: i64::from(input.quantity),
                        target: 5,
                        window_seconds: 60,
                        completed: false,
                    },
                }
            } else {
                ActionOutcome::Rewarded {
                    reward: reward(&format!("rwd_{n}")),
                }
            })
        }
        async fn my_rewards(&self, _: Option<String>) -> Result<Vec<Reward>, MomentsError> {
            self.maybe_hang().await;
            Ok(vec![reward("rwd_a"), reward("rwd_b")])
        }
        async fn my_progress(&self, _: Option<String>) -> Result<Vec<Progress>, MomentsError> {
            self.maybe_hang().await;
            Ok(vec![])
        }
    }

    fn client(fake: Fake) -> (MomentsClient, Arc<Fake>) {
        client_with_timeout(fake, 60_000)
    }

    fn client_with_timeout(fake: Fake, call_timeout_ms: i64) -> (MomentsClient, Arc<Fake>) {
        let fake = Arc::new(fake);
        let config = ClientConfig {
            base_url: "http://mock".into(),
            device: DeviceInfo {
                device_type: DeviceType::Ios,
                device_id: Some("dev_1".into()),
            },
            connect_timeout_ms: 1000,
            request_timeout_ms: 1000,
            call_timeout_ms,
            max_retries: 0,
            trusted_certificates: Vec::new(),
        };
        (MomentsClient::with_backend(config, fake.clone()), fake)
    }

    struct Collect(
        StdMutex<Vec<RewardEvent>>,
        tokio::sync::mpsc::UnboundedSender<()>,
    );
    impl RewardListener for Collect {
        fn on_event(&self, event: RewardEvent) {
            self.0.lock().unwrap().push(event);
            let _ = self.1.send(());
        }
    }

    /// Waits, inside the listener, for an SDK call made from it — what `runBlocking { client.myRewards() }` in a
    /// Kotlin listener does — and reports what it got.
    struct WaitsForACall {
        client: Arc<MomentsClient>,
        got: StdMutex<std::sync::mpsc::Sender<Result<usize, String>>>,
    }
    impl RewardListener for WaitsForACall {
        fn on_event(&self, _: RewardEvent) {
            let got = park_until_done(self.client.my_rewards(None));
            let _ = self.got.lock().unwrap().send(match got {
                Ok(rewards) => Ok(rewards.len()),
                Err(e) => Err(e.code().to_string()),
            });
        }
    }

    /// Polls `fut` on this thread, parking it in between, as a foreign `runBlocking` does.
    fn park_until_done<F: Future>(fut: F) -> F::Output {
        struct Unpark(std::thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = std::task::Context::from_waker(&waker);
        let mut fut = std::pin::pin!(fut);
        loop {
            if let std::task::Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return out;
            }
            std::thread::park();
        }
    }

    #[test]
    fn a_listener_waiting_for_an_sdk_call_does_not_stall_the_sdk() {
        // Listeners run off the runtime's only worker, so the call the listener waits for can run there.
        let (client, _fake) = client(Fake::default());
        let client = Arc::new(client);
        let (tx, rx) = std::sync::mpsc::channel();
        let _handle = client.add_reward_listener(Arc::new(WaitsForACall {
            client: Arc::clone(&client),
            got: StdMutex::new(tx),
        }));
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the listener's call finished");
        assert_eq!(got, Ok(2));
    }

    #[test]
    fn arguments_are_validated_before_any_call() {
        let (client, fake) = client(Fake::default());
        let err = runtime().block_on(client.report_action(
            "cmp_1".into(),
            "first_workout".into(),
            0,
            None,
        ));
        assert_eq!(err.unwrap_err().code(), ErrorCode::InvalidArgument);
        let err = runtime().block_on(client.report_action(
            "cmp 1".into(),
            "first_workout".into(),
            1,
            None,
        ));
        assert_eq!(err.unwrap_err().code(), ErrorCode::InvalidArgument);
        assert!(fake.triggers.lock().unwrap().is_empty());
    }

    #[test]
    fn the_device_and_quantity_reach_the_backend_and_listeners_see_snapshot_then_events() {
        let (client, fake) = client(Fake::default());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let listener = Arc::new(Collect(StdMutex::default(), tx));
        let handle = client.add_reward_listener(listener.clone());
        runtime().block_on(async {
            rx.recv().await.unwrap();
            let outcome = client.report_action("cmp_1".into(), "five_workouts".into(), 3, None).await.unwrap();
            assert!(matches!(outcome, ActionOutcome::InProgress { ref progress } if progress.current == 3));
            rx.recv().await.unwrap();
            client.report_action("cmp_1".into(), "first_workout".into(), 1, None).await.unwrap();
            rx.recv().await.unwrap();
        });
        let sent = fake.triggers.lock().unwrap()[0].clone();
        assert_eq!(sent.device.device_type, DeviceType::Ios);
        assert_eq!(sent.device.device_id.as_deref(), Some("dev_1"));
        assert_eq!(sent.quantity, 3);

        let events = listener.0.lock().unwrap().clone();
        assert_eq!(
            events[0],
            RewardEvent::Snapshot {
                rewards: vec![],
                progress: vec![]
            }
        );
        assert!(matches!(events[1], RewardEvent::ProgressUpdated { .. }));
        assert!(matches!(&events[2], RewardEvent::RewardIssued { reward } if reward.id == "rwd_2"));
        assert_eq!(client.status(), ClientStatus::Online);

        // A new listener gets the state so far replayed.
        let (tx2, mut rx2) = tokio::sync::mpsc::unbounded_channel();
        let late = Arc::new(Collect(StdMutex::default(), tx2));
        let _late_handle = client.add_reward_listener(late.clone());
        runtime().block_on(rx2.recv()).unwrap();
        match &late.0.lock().unwrap()[0] {
            RewardEvent::Snapshot { rewards, progress } => {
                assert_eq!(rewards.len(), 1);
                assert_eq!(progress.len(), 1);
            }
            other => panic!("expected a snapshot, got {other:?}"),
        }

        handle.cancel();
        assert!(!handle.is_active());
    }

    #[test]
    fn an_auth_error_marks_the_client_unauthenticated() {
        let (client, _) = client(Fake::default());
        let err = runtime()
            .block_on(client.reward_info("cmp_1".into(), "first_workout".into()))
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::TokenExpired);
        assert_eq!(err.request_id(), Some("req_1"));
        assert_eq!(
            client.status(),
            ClientStatus::Unauthenticated {
                code: ErrorCode::TokenExpired
            }
        );
    }

    #[test]
    fn calls_are_cancelled_by_token_and_by_cancel_all_and_later_calls_work() {
        let (client, _) = client(Fake {
            hang: true,
            ..Fake::default()
        });
        let client = Arc::new(client);
        let token = Arc::new(CancellationToken::new());
        let call = runtime().spawn({
            let (client, token) = (client.clone(), token.clone());
            async move {
                client
                    .report_action("cmp_1".into(), "first_workout".into(), 1, Some(token))
                    .await
            }
        });
        token.cancel();
        assert_eq!(
            runtime().block_on(call).unwrap().unwrap_err().code(),
            ErrorCode::Cancelled
        );

        let call = runtime().spawn({
            let client = client.clone();
            async move {
                client
                    .reward_info("cmp_1".into(), "first_workout".into())
                    .await
            }
        });
        // The call may register under the root after a cancel_all; keep cancelling until it is done.
        while !call.is_finished() {
            client.cancel_all();
            std::thread::yield_now();
        }
        assert_eq!(
            runtime().block_on(call).unwrap().unwrap_err().code(),
            ErrorCode::Cancelled
        );
        // After cancel_all, new calls are not cancelled up front.
        assert!(!client.core.cancel_root.lock().unwrap().is_cancelled());
    }

    #[test]
    fn blocking_calls_share_the_clients_state() {
        let (client, fake) = client(Fake::default());
        let blocking = client.blocking();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let listener = Arc::new(Collect(StdMutex::default(), tx));
        let _handle = client.add_reward_listener(listener.clone());

        let outcome = blocking
            .report_action("cmp_1".into(), "first_workout".into(), 1, None)
            .unwrap();
        assert!(matches!(outcome, ActionOutcome::Rewarded { ref reward } if reward.id == "rwd_1"));
        assert_eq!(fake.triggers.lock().unwrap().len(), 1);
        assert_eq!(blocking.my_rewards(None).unwrap().len(), 2);
        assert!(blocking.my_progress(None).unwrap().is_empty());
        // Same validation as the async call, before any I/O.
        let err = blocking
            .report_action("cmp_1".into(), "first_workout".into(), 0, None)
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidArgument);
        // Same status hub: an auth error through the blocking view is seen by the client.
        let err = blocking
            .reward_info("cmp_1".into(), "first_workout".into())
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::TokenExpired);
        assert_eq!(
            client.status(),
            ClientStatus::Unauthenticated {
                code: ErrorCode::TokenExpired
            }
        );
        assert_eq!(blocking.status(), client.status());
        // The client's listener saw the snapshot, then the reward issued by the blocking call.
        runtime().block_on(async {
            rx.recv().await.unwrap();
            rx.recv().await.unwrap();
        });
        let events = listener.0.lock().unwrap().clone();
        assert!(matches!(&events[1], RewardEvent::RewardIssued { reward } if reward.id == "rwd_1"));
    }

    /// Starts `call` on its own thread against a hanging backend and returns once the call is inside the backend.
    fn hanging_blocking_call<T: Send + 'static>(
        call: impl FnOnce(Arc<BlockingMomentsClient>) -> Result<T, MomentsError> + Send + 'static,
        call_timeout_ms: i64,
    ) -> (
        MomentsClient,
        std::thread::JoinHandle<Result<T, MomentsError>>,
    ) {
        let (entered_tx, entered_rx) = std::sync::mpsc::channel();
        let (client, _) = client_with_timeout(
            Fake {
                hang: true,
                entered: StdMutex::new(Some(entered_tx)),
                ..Fake::default()
            },
            call_timeout_ms,
        );
        let blocking = client.blocking();
        let thread = std::thread::spawn(move || call(blocking));
        entered_rx.recv().unwrap();
        (client, thread)
    }

    #[test]
    fn blocking_calls_are_cancelled_by_cancel_all_and_by_token() {
        let (client, thread) = hanging_blocking_call(
            |b| b.reward_info("cmp_1".into(), "first_workout".into()),
            60_000,
        );
        client.cancel_all();
        assert_eq!(
            thread.join().unwrap().unwrap_err().code(),
            ErrorCode::Cancelled
        );

        // cancelAll of the blocking view cancels the client's async calls too (one cancel root).
        let (client, thread) = hanging_blocking_call(|b| b.my_rewards(None), 60_000);
        client.blocking().cancel_all();
        assert_eq!(
            thread.join().unwrap().unwrap_err().code(),
            ErrorCode::Cancelled
        );

        let token = Arc::new(CancellationToken::new());
        let (_client, thread) = hanging_blocking_call(
            {
                let token = token.clone();
                move |b| b.report_action("cmp_1".into(), "first_workout".into(), 1, Some(token))
            },
            60_000,
        );
        token.cancel();
        assert_eq!(
            thread.join().unwrap().unwrap_err().code(),
            ErrorCode::Cancelled
        );
    }

    #[test]
    fn blocking_calls_honour_the_whole_call_timeout() {
        // The backend never answers: only the call timeout can end the call.
        let (_client, thread) = hanging_blocking_call(|b| b.my_progress(None), 1);
        let err = thread.join().unwrap().unwrap_err();
        assert_eq!(err.code(), ErrorCode::Timeout);
        assert!(err.retryable());
    }

    #[test]
    fn a_blocking_call_on_an_sdk_thread_is_a_typed_error() {
        let (client, fake) = client(Fake::default());
        let blocking = client.blocking();
        let err = runtime()
            .block_on(async {
                blocking.report_action("cmp_1".into(), "first_workout".into(), 1, None)
            })
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::BlockingCallOnSdkThread);
        assert!(fake.triggers.lock().unwrap().is_empty(), "nothing was sent");
    }
}
