//! The idempotency key of the call a tool runs for.

use std::future::Future;

tokio::task_local! {
    static CALL_ID: String;
}

/// The idempotency key of the call this tool runs for: its call id, the
/// same on every attempt of the call. A tool that changes the world keys
/// its effect on it (an upsert, a payment's idempotency key), so a call
/// that runs again after a crash makes its effect once.
///
/// `None` outside a call run by [`ToolService`](crate::ToolService), and
/// in a task the tool spawns itself (a task-local value does not follow
/// `tokio::spawn`; the service runs calls without `spawn` for this).
pub fn idempotency_key() -> Option<String> {
    CALL_ID.try_with(Clone::clone).ok()
}

/// Run `future` with `id` as the idempotency key.
pub(crate) async fn with_key<F: Future>(id: String, future: F) -> F::Output {
    CALL_ID.scope(id, future).await
}
