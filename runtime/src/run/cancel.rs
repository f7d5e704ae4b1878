//! Cancelling a run from outside.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// Cancels a run from outside (another task, a UI's stop button): get it
/// from [`crate::RunStream::cancel_handle`], or make one and give it to
/// [`crate::Agent::cancel_with`]. The run stops where it stands: calls
/// still running are dropped and get a `Cancelled` result, so the
/// transcript it ends with is one the API accepts next time (every call of
/// the last assistant message has a result); it ends with an error of kind
/// [`crate::AgentErrorKind::Cancelled`].
#[derive(Debug, Clone, Default)]
pub struct RunCancel(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    cancelled: AtomicBool,
    notify: Notify,
}

impl RunCancel {
    /// A handle that has not cancelled anything yet.
    pub fn new() -> Self {
        RunCancel::default()
    }

    /// Cancel the run (or runs) this handle was given to.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    /// Whether [`RunCancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// Completes once the run is cancelled.
    pub(crate) async fn cancelled(&self) {
        loop {
            let notified = self.0.notify.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}
