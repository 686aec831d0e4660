//! The library's own tokio runtime.
//!
//! Every async method exported to Kotlin/Swift runs its body as a task on this runtime, so the caller's thread
//! (often the app's main thread) never does network or disk I/O and never needs a tokio reactor of its own.
//! The task is aborted when the foreign future is dropped or cancelled (a Kotlin coroutine cancelled, a Swift
//! `Task` cancelled and the future freed), which makes every exported future drop-safe.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use tokio::runtime::{Builder, Runtime};
use tokio::task::JoinHandle;

use crate::error::{ErrorCode, Kind, MomentsError};

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The process-wide runtime, created on first use: one worker thread named `moments-sdk` (plus tokio's pool for
/// blocking work such as the outbox's SQLite).
///
/// One worker, because the SDK's work is waiting on sockets, timers and the app's callbacks, and a second worker
/// mostly costs wake-ups: each `suspend` call woke one worker to run it and often the other to steal it, and the
/// calls were ~30 % slower with two (docs/performance.md). The app's listeners are not called on it but on tokio's
/// blocking pool (`listeners::off_the_worker`), so a listener that blocks cannot stall the SDK's I/O.
pub(crate) fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(|| {
        Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("moments-sdk")
            .enable_all()
            .build()
            .expect("the Moments SDK could not start its tokio runtime")
    })
}

/// A `JoinHandle` that aborts its task when dropped.
pub(crate) struct AbortOnDrop<T>(pub(crate) JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

/// Runs `fut` on the SDK runtime and waits for it.
///
/// A panic inside `fut` becomes `MomentsError::Internal` instead of crossing the FFI; dropping the returned future
/// aborts the task.
pub(crate) async fn run<T, F>(fut: F) -> Result<T, MomentsError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, MomentsError>> + Send + 'static,
{
    match AbortOnDrop(runtime().spawn(fut)).await {
        Ok(result) => result,
        Err(err) if err.is_panic() => Err(MomentsError::internal(panic_text(err.into_panic()))),
        Err(_) => Err(MomentsError::cancelled()),
    }
}

static CALLER_RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The runtime of blocking calls: a current-thread runtime that the calling threads drive themselves.
fn caller_runtime() -> &'static Runtime {
    CALLER_RUNTIME.get_or_init(|| {
        Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the Moments SDK could not start its tokio runtime for blocking calls")
    })
}

/// Runs `fut` to completion on the calling thread (the blocking API).
///
/// The call, its connections' I/O (blocking calls have their own connection pool) and its timers run on a
/// current-thread runtime driven by the calling thread itself, as a blocking HTTP client reads its socket on the
/// calling thread: no hand-off to the SDK's threads and back, which costs more than the call's own work on an
/// idle device (docs/performance.md). When several threads make blocking calls at once, one drives the shared
/// I/O at a time and the others wait for their answers. A panic inside `fut` becomes `MomentsError::Internal`.
///
/// On a thread already inside a tokio runtime (the SDK's own threads: listeners, token providers, log sinks are
/// called there) blocking would stall or deadlock the runtime, so it fails at once with `InvalidArgument`
/// (code `blocking_call_on_sdk_thread`) instead of panicking.
pub(crate) fn block_on<T, F>(fut: F) -> Result<T, MomentsError>
where
    F: Future<Output = Result<T, MomentsError>>,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(MomentsError::local(
            Kind::InvalidArgument,
            ErrorCode::BlockingCallOnSdkThread,
            "a blocking Moments SDK call was made on a thread of an async runtime (an SDK callback?); \
             use the async API there",
            false,
        ));
    }
    use futures_util::FutureExt;
    match caller_runtime().block_on(std::panic::AssertUnwindSafe(fut).catch_unwind()) {
        Ok(result) => result,
        Err(panic) => Err(MomentsError::internal(panic_text(panic))),
    }
}

/// Best-effort text of a panic payload (for the error's `reason`; never contains secrets we put there).
pub(crate) fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panic in the Moments SDK: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panic in the Moments SDK: {s}")
    } else {
        "panic in the Moments SDK".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_error() {
        let result: Result<(), _> = runtime().block_on(run(async { panic!("boom") }));
        let err = result.unwrap_err();
        assert_eq!(err.code(), ErrorCode::InternalError);
        assert!(err.reason().contains("boom"));
    }

    #[test]
    fn dropping_the_future_aborts_the_task() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let fut = run(async move {
            let _tx = tx; // dropped when the task is aborted
            std::future::pending::<()>().await;
            Ok(())
        });
        // Poll once so the task is spawned, then drop it.
        runtime().block_on(async {
            let mut fut = Box::pin(fut);
            let _ = futures_poll_once(fut.as_mut()).await;
            drop(fut);
            assert!(
                rx.await.is_err(),
                "the task's sender must be dropped by the abort"
            );
        });
    }

    #[test]
    fn block_on_runs_the_future_and_refuses_runtime_threads() {
        assert_eq!(block_on(run(async { Ok(7) })).unwrap(), 7);
        let err = runtime()
            .block_on(async { block_on(async { Ok(()) }) })
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::BlockingCallOnSdkThread);
        assert!(matches!(err, MomentsError::InvalidArgument { .. }));
        let on_worker = runtime().block_on(AbortOnDrop(
            runtime().spawn(async { block_on(async { Ok(()) }).map_err(|e| e.code()) }),
        ));
        assert_eq!(
            on_worker.unwrap().unwrap_err(),
            ErrorCode::BlockingCallOnSdkThread
        );
    }

    async fn futures_poll_once<F: Future + Unpin>(mut fut: F) -> Poll<F::Output> {
        std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut fut).poll(cx))).await
    }
}
