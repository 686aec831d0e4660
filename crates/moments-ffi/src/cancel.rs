//! Explicit cancellation for long calls.

use tokio_util::sync::CancellationToken as Token;

/// A handle the app keeps to cancel a call it started (for example when the user leaves the screen).
///
/// Pass it to a call that accepts one; `cancel()` makes that call fail promptly with code `cancelled`.
/// One token may be shared by several calls. Cancelling is idempotent.
#[derive(uniffi::Object, Debug, Default)]
pub struct CancellationToken {
    pub(crate) inner: Token,
}

#[uniffi::export]
impl CancellationToken {
    /// A new, not yet cancelled token.
    #[uniffi::constructor]
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every call using this token.
    pub fn cancel(&self) {
        self.inner.cancel();
    }

    /// Whether `cancel()` was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }
}
