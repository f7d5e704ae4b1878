//! Gather-style dispatch: every call of one assistant message starts at once,
//! and exactly one result per call comes back, in the order of the calls.
//!
//! The calls run as futures inside the dispatch future itself (no spawned
//! tasks), so dropping it cancels every call still running, and a call's panic
//! is caught at its own future so the others finish normally.

use std::collections::HashSet;
use std::future::{Future, IntoFuture, poll_fn};
use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::task::Poll;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use tokio::time::Instant;
use tracing::Instrument;

use crate::call::{CallResult, Outcome, ToolCall};
use crate::tool::{BoxFuture, CallError, ToolFuture};
use crate::toolset::ToolSet;

/// The default limit on one call's argument text.
pub const DEFAULT_MAX_ARGUMENT_BYTES: usize = 1 << 20;

/// How a batch of calls is run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchOptions {
    /// At most this many calls run at once (`None`: all of them; 1: sequential).
    pub max_concurrency: Option<NonZeroUsize>,
    /// Default per-call timeout; a tool's own `timeout` attribute overrides it.
    pub call_timeout: Option<Duration>,
    /// Deadline for the whole batch, from its start.
    pub batch_timeout: Option<Duration>,
    /// Calls whose argument text is longer are refused.
    pub max_argument_bytes: usize,
}

impl Default for DispatchOptions {
    fn default() -> Self {
        DispatchOptions {
            max_concurrency: None,
            call_timeout: None,
            batch_timeout: None,
            max_argument_bytes: DEFAULT_MAX_ARGUMENT_BYTES,
        }
    }
}

impl DispatchOptions {
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

    /// Whether calls run one at a time.
    pub fn is_sequential(&self) -> bool {
        self.max_concurrency == Some(NonZeroUsize::MIN)
    }
}

/// The results of one batch, one per call in call order, with its timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// One result per call, in the order of the calls.
    pub results: Vec<CallResult>,
    /// From the start of the batch to its last result.
    pub makespan: Duration,
}

impl Batch {
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
#[must_use = "a dispatch does nothing until awaited"]
pub struct Dispatch<'a> {
    tools: &'a ToolSet,
    calls: &'a [ToolCall],
    options: DispatchOptions,
    cancel: Option<BoxFuture<'a, ()>>,
}

impl<'a> Dispatch<'a> {
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
        Runner::new(self).run().await
    }
}

impl<'a> IntoFuture for Dispatch<'a> {
    type Output = Batch;
    type IntoFuture = BoxFuture<'a, Batch>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// What a call's future yields when it ends.
struct Finished {
    index: usize,
    exclusive: bool,
    elapsed: Duration,
    outcome: Outcome,
    content: String,
}

enum Event {
    Finished(Option<Finished>),
    Deadline,
    Cancelled,
}

struct Runner<'a> {
    dispatch: Dispatch<'a>,
    start: Instant,
    slots: Vec<Option<CallResult>>,
    starts: Vec<Duration>,
    seen_ids: HashSet<&'a str>,
}

impl<'a> Runner<'a> {
    fn new(dispatch: Dispatch<'a>) -> Self {
        let n = dispatch.calls.len();
        Runner {
            dispatch,
            start: Instant::now(),
            slots: (0..n).map(|_| None).collect(),
            starts: vec![Duration::ZERO; n],
            seen_ids: HashSet::new(),
        }
    }

    async fn run(mut self) -> Batch {
        let calls = self.dispatch.calls;
        let cap = self
            .dispatch
            .options
            .max_concurrency
            .map_or(usize::MAX, NonZeroUsize::get);
        let mut deadline = self
            .dispatch
            .options
            .batch_timeout
            .map(|d| Box::pin(tokio::time::sleep_until(self.start + d)));
        let mut cancel = self.dispatch.cancel.take();
        let mut running = FuturesUnordered::new();
        let mut next = 0;
        let mut exclusive_running = false;
        loop {
            while next < calls.len() && !exclusive_running && running.len() < cap {
                let exclusive = self.is_exclusive(&calls[next]);
                if exclusive && !running.is_empty() {
                    break;
                }
                if let Some(future) = self.launch(next) {
                    running.push(future);
                    exclusive_running = exclusive;
                }
                next += 1;
            }
            if running.is_empty() && next >= calls.len() {
                break;
            }
            let event = poll_fn(|cx| {
                if let Some(signal) = cancel.as_mut()
                    && signal.as_mut().poll(cx).is_ready()
                {
                    return Poll::Ready(Event::Cancelled);
                }
                if let Some(sleep) = deadline.as_mut()
                    && sleep.as_mut().poll(cx).is_ready()
                {
                    return Poll::Ready(Event::Deadline);
                }
                running.poll_next_unpin(cx).map(Event::Finished)
            })
            .await;
            match event {
                Event::Finished(Some(finished)) => {
                    if finished.exclusive {
                        exclusive_running = false;
                    }
                    self.record(finished);
                }
                Event::Finished(None) => {}
                Event::Deadline => {
                    drop(running);
                    let limit = self.dispatch.options.batch_timeout.unwrap_or_default();
                    return self.finish_unanswered(Outcome::TimedOut, |started| {
                        if started {
                            format!("the batch deadline of {limit:?} passed before this call finished")
                        } else {
                            format!("the batch deadline of {limit:?} passed before this call started")
                        }
                    }, next);
                }
                Event::Cancelled => {
                    drop(running);
                    return self.finish_unanswered(Outcome::Cancelled, |_| {
                        "the batch was cancelled before this call finished".to_owned()
                    }, next);
                }
            }
        }
        self.finish()
    }

    fn is_exclusive(&self, call: &ToolCall) -> bool {
        self.dispatch
            .tools
            .entry(&call.name)
            .is_some_and(|e| e.policy.exclusive)
    }

    /// Start call `index`, or record its result at once when it cannot start.
    fn launch(&mut self, index: usize) -> Option<impl Future<Output = Finished> + use<'a>> {
        let call = &self.dispatch.calls[index];
        let offset = self.start.elapsed();
        self.starts[index] = offset;
        let refused = |outcome, content: String| CallResult {
            call_id: call.id.clone(),
            name: call.name.clone(),
            outcome,
            content,
            started: offset,
            elapsed: Duration::ZERO,
        };
        let options = &self.dispatch.options;
        let rejection = if call.name.is_empty() {
            Some((Outcome::InvalidArguments, "the call has no tool name".to_owned()))
        } else if !self.seen_ids.insert(call.id.as_str()) {
            Some((
                Outcome::InvalidArguments,
                format!("duplicate call id `{}`: an earlier call in this message has the same id", call.id),
            ))
        } else if call.arguments.len() > options.max_argument_bytes {
            Some((
                Outcome::InvalidArguments,
                format!(
                    "the arguments are {} bytes, over the limit of {} bytes",
                    call.arguments.len(),
                    options.max_argument_bytes
                ),
            ))
        } else {
            None
        };
        if let Some((outcome, content)) = rejection {
            self.slots[index] = Some(refused(outcome, content));
            return None;
        }
        let Some(entry) = self.dispatch.tools.entry(&call.name) else {
            let names: Vec<&str> = self.dispatch.tools.names().take(32).collect();
            self.slots[index] = Some(refused(
                Outcome::UnknownTool,
                format!("unknown tool `{}`; the tools are: {}", call.name, names.join(", ")),
            ));
            return None;
        };
        let state = &self.dispatch.tools.inner.state;
        let began = Instant::now();
        let started = std::panic::catch_unwind(AssertUnwindSafe(|| entry.tool.call(&call.arguments, state)));
        let future: ToolFuture = match started {
            Ok(Ok(future)) => future,
            Ok(Err(CallError::InvalidArguments(message))) => {
                self.slots[index] = Some(refused(
                    Outcome::InvalidArguments,
                    format!("invalid arguments for `{}`: {message}", call.name),
                ));
                return None;
            }
            Ok(Err(error)) => {
                self.slots[index] = Some(refused(Outcome::ToolError, format!("error: {error}")));
                return None;
            }
            Err(panic) => {
                self.slots[index] = Some(refused(
                    Outcome::Panicked,
                    format!("the tool panicked: {}", panic_message(&*panic)),
                ));
                return None;
            }
        };
        let timeout = entry.policy.timeout.or(options.call_timeout);
        let exclusive = entry.policy.exclusive;
        let span = tracing::debug_span!(
            "tool_call",
            tool = %call.name,
            call_id = %call.id,
            outcome = tracing::field::Empty,
            elapsed_us = tracing::field::Empty,
        );
        Some(async move {
            let guarded = AssertUnwindSafe(future).catch_unwind().instrument(span.clone());
            let ended = match timeout {
                None => Ok(guarded.await),
                Some(limit) => tokio::time::timeout(limit, guarded).await.map_err(|_| limit),
            };
            let elapsed = began.elapsed();
            let (outcome, content) = match ended {
                Ok(Ok(Ok(text))) => (Outcome::Ok, text),
                Ok(Ok(Err(error))) => (Outcome::ToolError, format!("error: {error}")),
                Ok(Err(panic)) => (
                    Outcome::Panicked,
                    format!("the tool panicked: {}", panic_message(&*panic)),
                ),
                Err(limit) => (Outcome::TimedOut, format!("the call timed out after {limit:?}")),
            };
            span.record("outcome", outcome.as_str());
            span.record("elapsed_us", elapsed.as_micros() as u64);
            Finished {
                index,
                exclusive,
                elapsed,
                outcome,
                content,
            }
        })
    }

    fn record(&mut self, finished: Finished) {
        let call = &self.dispatch.calls[finished.index];
        self.slots[finished.index] = Some(CallResult {
            call_id: call.id.clone(),
            name: call.name.clone(),
            outcome: finished.outcome,
            content: finished.content,
            started: self.starts[finished.index],
            elapsed: finished.elapsed,
        });
    }

    /// End the batch early: every call without a result gets `outcome`.
    fn finish_unanswered(mut self, outcome: Outcome, content: impl Fn(bool) -> String, launched: usize) -> Batch {
        let now = self.start.elapsed();
        for (index, slot) in self.slots.iter_mut().enumerate() {
            if slot.is_none() {
                let call = &self.dispatch.calls[index];
                let started = index < launched;
                let begin = if started { self.starts[index] } else { now };
                *slot = Some(CallResult {
                    call_id: call.id.clone(),
                    name: call.name.clone(),
                    outcome,
                    content: content(started),
                    started: begin,
                    elapsed: now.saturating_sub(begin),
                });
            }
        }
        self.finish()
    }

    fn finish(self) -> Batch {
        let makespan = self.start.elapsed();
        let calls = self.dispatch.calls;
        let results = self
            .slots
            .into_iter()
            .zip(calls)
            .map(|(slot, call)| slot.unwrap_or_else(|| unanswered(call, makespan)))
            .collect();
        Batch { results, makespan }
    }
}

/// The result of a call the dispatcher never answered; unreachable by
/// construction, but a result is owed to every call whatever happens.
fn unanswered(call: &ToolCall, at: Duration) -> CallResult {
    CallResult {
        call_id: call.id.clone(),
        name: call.name.clone(),
        outcome: Outcome::Cancelled,
        content: "the call was not run".to_owned(),
        started: at,
        elapsed: Duration::ZERO,
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic payload that is not text)".to_owned()
    }
}

