//! Human in the loop: a policy consulted before each call approves it,
//! denies it, rewrites its arguments, or defers it for a decision made later.

use serde::{Deserialize, Serialize};

use crate::call::ToolCall;

/// What an [`Approval`] policy decides about one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", content = "value", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Decision {
    /// Run the call as the model sent it.
    Approve,
    /// Do not run it; the model reads this reason in the call's result
    /// ([`Outcome::Denied`](crate::Outcome::Denied)).
    Deny(String),
    /// Run it with these arguments (JSON text) instead of the model's. The
    /// call's result records them ([`CallResult::arguments`](crate::CallResult::arguments));
    /// the transcript keeps the model's own.
    Rewrite(String),
    /// Decide later: the call does not run now and its result is
    /// [`Outcome::Deferred`](crate::Outcome::Deferred); an agent run stops
    /// with a [`Suspended`](crate::Suspended) state to resume from.
    Defer,
}

/// A policy consulted before each call of a batch, in call order, as the
/// call is about to be scheduled. Closures `Fn(&ToolCall) -> Decision`
/// are policies.
///
/// The hook is synchronous on purpose: a decision that needs a person
/// (or any long wait) is [`Decision::Defer`], and the run resumes when it
/// is made, possibly in another process.
///
/// A policy that panics denies that call ([`Outcome::Denied`](crate::Outcome::Denied),
/// with the panic's message); the other calls go on. A call the
/// dispatcher refuses whatever the policy says (no tool name, an id an
/// earlier call of the batch has) is refused before the policy sees it.
///
/// ```
/// use toolcall_runtime::{Decision, ToolCall};
///
/// let policy = |call: &ToolCall| match call.name.as_str() {
///     "delete_file" => Decision::Defer,
///     "send_email" => Decision::Deny("email is disabled in this session".into()),
///     _ => Decision::Approve,
/// };
/// # let _: &dyn toolcall_runtime::Approval = &policy;
/// ```
pub trait Approval: Send + Sync {
    /// The decision about `call`.
    fn decide(&self, call: &ToolCall) -> Decision;
}

impl<F> Approval for F
where
    F: Fn(&ToolCall) -> Decision + Send + Sync,
{
    fn decide(&self, call: &ToolCall) -> Decision {
        self(call)
    }
}
