//! Gather-style dispatch: every call of one assistant message starts at once,
//! and exactly one result per call comes back, in the order of the calls.
//!
//! The calls run as futures inside the dispatch future itself (no spawned
//! tasks), so dropping it cancels every call still running, and a call's panic
//! is caught at its own future so the others finish normally.

use std::borrow::Cow;
use std::future::{Future, IntoFuture, poll_fn};
use std::num::NonZeroUsize;
use std::task::Poll;
use std::time::Duration;

use crate::approval::Approval;
use crate::call::{CallResult, ToolCall};
use crate::run::Emitter;
use crate::runner::{Runner, Stops, unanswered};
use crate::tool::BoxFuture;
use crate::toolset::ToolSet;

/// How a batch of calls is run. Start from [`DispatchOptions::parallel`]
/// or [`DispatchOptions::sequential`] and set what differs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DispatchOptions {
    /// At most this many calls run at once (`None`: all of them; 1: sequential).
    pub max_concurrency: Option<NonZeroUsize>,
    /// Default per-call timeout; a tool's own `timeout` attribute overrides it.
    pub call_timeout: Option<Duration>,
    /// Deadline for the whole batch, from its start.
    pub batch_timeout: Option<Duration>,
    /// Calls whose argument text is longer are refused.
    pub max_argument_bytes: usize,
    /// Run every call as a task on the runtime (as `#[tool(spawn)]` does for
    /// one tool), so CPU-bound tools use every worker thread.
    pub spawn: bool,
}

impl Default for DispatchOptions {
    fn default() -> Self {
        DispatchOptions {
            max_concurrency: None,
            call_timeout: None,
            batch_timeout: None,
            max_argument_bytes: DispatchOptions::DEFAULT_MAX_ARGUMENT_BYTES,
            spawn: false,
        }
    }
}

impl DispatchOptions {
    /// The default limit on one call's argument text: 1 MiB.
    pub const DEFAULT_MAX_ARGUMENT_BYTES: usize = 1 << 20;

    /// All calls at once (the default).
    pub fn parallel() -> Self {
        Self::default()
    }

    /// One call after another, in call order.
    pub fn sequential() -> Self {
        Self::default().max_concurrency(1)
    }

    /// At most `n` calls at once (0 is taken as 1).
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = Some(NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN));
        self
    }

    /// Default per-call timeout.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = Some(timeout);
        self
    }

    /// Deadline for the whole batch.
    pub fn batch_timeout(mut self, timeout: Duration) -> Self {
        self.batch_timeout = Some(timeout);
        self
    }

    /// Limit on one call's argument text, in bytes.
    pub fn max_argument_bytes(mut self, bytes: usize) -> Self {
        self.max_argument_bytes = bytes;
        self
    }

    /// Run every call as its own task on the runtime, so a multi-thread
    /// runtime runs CPU-bound tools on all its workers. By default calls run
    /// inside the dispatch future, on one thread, which is cheaper for tools
    /// that mostly wait. The guarantees are the same either way: one result
    /// per call in call order, panics caught, timeouts, and dropping the
    /// dispatch aborts the tasks.
    pub fn spawn(mut self, yes: bool) -> Self {
        self.spawn = yes;
        self
    }

    /// Whether calls run one at a time.
    pub fn is_sequential(&self) -> bool {
        self.max_concurrency == Some(NonZeroUsize::MIN)
    }
}

/// The results of one batch, one per call in call order, with its timing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Batch {
    /// One result per call, in the order of the calls.
    pub results: Vec<CallResult>,
    /// From the start of the batch to its last result.
    pub makespan: Duration,
}

impl Batch {
    /// A batch of these results that took `makespan` (to replay or draw one).
    pub fn new(results: Vec<CallResult>, makespan: Duration) -> Self {
        Batch { results, makespan }
    }

    /// The sum of the calls' times: what running them one after another costs.
    pub fn total_call_time(&self) -> Duration {
        self.results.iter().map(|r| r.elapsed).sum()
    }

    /// Time saved against running the calls one after another.
    pub fn saved(&self) -> Duration {
        self.total_call_time().saturating_sub(self.makespan)
    }

    /// Whether every call succeeded.
    pub fn all_ok(&self) -> bool {
        self.results.iter().all(|r| r.outcome.is_ok())
    }
}

impl ToolSet {
    /// Dispatch one message's calls; await the returned builder to run them
    /// all at once, or set options on it first.
    pub fn dispatch<'a>(&'a self, calls: &'a [ToolCall]) -> Dispatch<'a> {
        Dispatch {
            tools: self,
            calls,
            options: DispatchOptions::default(),
            cancel: None,
            approval: None,
            events: None,
        }
    }

    /// Run one call by name with its JSON arguments text.
    pub async fn call(&self, name: &str, arguments: &str) -> CallResult {
        let call = [ToolCall::new("call_0", name, arguments)];
        let mut batch = self.dispatch(&call).await;
        batch
            .results
            .pop()
            .unwrap_or_else(|| unanswered(&call[0], Duration::ZERO))
    }
}

/// A batch about to run; `.await` it.
///
/// ```
/// use std::time::Duration;
/// use toolcall_runtime::{DispatchOptions, Outcome, ToolCall, ToolSet};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), toolcall_runtime::BuildError> {
/// let tools = ToolSet::builder().build()?;
/// let calls = [
///     ToolCall::new("call_1", "nope", "{}"),
///     ToolCall::new("call_2", "", "{}"),
/// ];
/// let batch = tools
///     .dispatch(&calls)
///     .options(DispatchOptions::parallel().max_concurrency(4).call_timeout(Duration::from_secs(5)))
///     .await;
/// // Exactly one result per call, in call order, whatever went wrong.
/// assert_eq!(batch.results[0].call_id, "call_1");
/// assert_eq!(batch.results[0].outcome, Outcome::UnknownTool);
/// assert_eq!(batch.results[1].outcome, Outcome::InvalidArguments);
/// # Ok(())
/// # }
/// ```
#[must_use = "a dispatch does nothing until awaited"]
pub struct Dispatch<'a> {
    tools: &'a ToolSet,
    calls: &'a [ToolCall],
    options: DispatchOptions,
    cancel: Option<BoxFuture<'a, ()>>,
    approval: Option<&'a dyn Approval>,
    events: Option<Emitter>,
}

impl<'a> Dispatch<'a> {
    /// Tell each call's start and result to a run's events.
    pub(crate) fn events(mut self, events: Option<Emitter>) -> Self {
        self.events = events;
        self
    }

    /// Consult `policy` before each call, in call order: it may approve,
    /// deny, rewrite the arguments or defer (see [`Approval`]). Denied and
    /// deferred calls get their result at once and hold nothing.
    pub fn approval(mut self, policy: &'a dyn Approval) -> Self {
        self.approval = Some(policy);
        self
    }

    /// Use these options.
    pub fn options(mut self, options: DispatchOptions) -> Self {
        self.options = options;
        self
    }

    /// Run the calls one after another.
    pub fn sequential(self) -> Self {
        let options = self.options.clone().max_concurrency(1);
        self.options(options)
    }

    /// Stop the batch when `signal` completes: calls not finished by then get
    /// a `Cancelled` result (for example `token.cancelled_owned()`).
    pub fn cancel_on(mut self, signal: impl Future<Output = ()> + Send + 'a) -> Self {
        self.cancel = Some(Box::pin(signal));
        self
    }

    /// Run the batch.
    pub async fn run(self) -> Batch {
        let mut stops = Stops::new(&self.options, self.cancel);
        let mut runner = Runner::new(self.tools, self.options, Cow::Borrowed(self.calls))
            .approval(self.approval)
            .events(self.events);
        stops.start(runner.start);
        if let Some(stop) = stops.poll_now() {
            // Cancelled before it began: no call starts.
            return runner.stop(stop);
        }
        loop {
            poll_fn(|cx| {
                runner.fill(cx);
                Poll::Ready(())
            })
            .await;
            if runner.is_idle() {
                return runner.finish();
            }
            // Calls first: one that finishes at the batch deadline made it,
            // as one that finishes at its own timeout does.
            let stop = poll_fn(|cx| {
                if runner.poll_finished(cx).is_ready() {
                    return Poll::Ready(None);
                }
                stops.poll(cx).map(Some)
            })
            .await;
            if let Some(stop) = stop {
                return runner.stop(stop);
            }
        }
    }
}

impl<'a> IntoFuture for Dispatch<'a> {
    type Output = Batch;
    type IntoFuture = BoxFuture<'a, Batch>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}
