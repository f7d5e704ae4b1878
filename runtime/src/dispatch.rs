//! Gather-style dispatch: every call of one assistant message starts at once,
//! and exactly one result per call comes back, in the order of the calls.
//!
//! The calls run as futures inside the dispatch future itself (no spawned
//! tasks), so dropping it cancels every call still running, and a call's panic
//! is caught at its own future so the others finish normally.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::{Future, IntoFuture, poll_fn};
use std::hash::BuildHasher;
use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::CatchUnwind;
use futures_util::stream::{FuturesUnordered, StreamExt};
use rustc_hash::FxBuildHasher;
use tokio::time::{Instant, Sleep};

use crate::call::{CallResult, Outcome, ToolCall};
use crate::tool::{BoxFuture, CallError, ToolFuture};
use crate::toolset::{Entry, ToolSet};

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
        let mut stops = Stops::new(&self.options, self.cancel);
        let mut runner = Runner::new(self.tools, self.options, Cow::Borrowed(self.calls));
        stops.start(runner.start);
        loop {
            poll_fn(|cx| {
                runner.fill(cx);
                Poll::Ready(())
            })
            .await;
            if runner.is_idle() {
                return runner.finish();
            }
            let stop = poll_fn(|cx| {
                if let Poll::Ready(stop) = stops.poll(cx) {
                    return Poll::Ready(Some(stop));
                }
                runner.poll_finished(cx).map(|_| None)
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

/// Why a batch ended before every call finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    Deadline(Duration),
    Cancelled,
}

/// The batch deadline and the cancel signal, polled beside the calls.
pub(crate) struct Stops<'a> {
    limit: Option<Duration>,
    deadline: Option<Pin<Box<Sleep>>>,
    cancel: Option<BoxFuture<'a, ()>>,
}

impl<'a> Stops<'a> {
    pub(crate) fn new(options: &DispatchOptions, cancel: Option<BoxFuture<'a, ()>>) -> Self {
        Stops {
            limit: options.batch_timeout,
            deadline: None,
            cancel,
        }
    }

    /// Arm the deadline from the batch's start.
    pub(crate) fn start(&mut self, start: Instant) {
        self.deadline = self
            .limit
            .map(|d| Box::pin(tokio::time::sleep_until(start + d)));
    }

    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Stop> {
        if let Some(signal) = self.cancel.as_mut()
            && signal.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Stop::Cancelled);
        }
        if let (Some(sleep), Some(limit)) = (self.deadline.as_mut(), self.limit)
            && sleep.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Stop::Deadline(limit));
        }
        Poll::Pending
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

/// One running call: the tool's future, guarded against panics, raced
/// against its timeout. Written by hand so every call future has one type and
/// no allocation beyond the tool's own.
struct CallFuture {
    index: usize,
    exclusive: bool,
    began: Instant,
    tool: CatchUnwind<AssertUnwindSafe<ToolFuture>>,
    timer: Option<(Duration, Pin<Box<Sleep>>)>,
    span: tracing::Span,
}

impl Future for CallFuture {
    type Output = Finished;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Finished> {
        let this = &mut *self;
        let polled = {
            let _entered = this.span.enter();
            Pin::new(&mut this.tool).poll(cx)
        };
        let (outcome, content) = match polled {
            Poll::Ready(Ok(Ok(text))) => (Outcome::Ok, text),
            Poll::Ready(Ok(Err(error))) => (Outcome::ToolError, format!("error: {error}")),
            Poll::Ready(Err(panic)) => (
                Outcome::Panicked,
                format!("the tool panicked: {}", panic_message(&*panic)),
            ),
            Poll::Pending => {
                let Some((limit, sleep)) = &mut this.timer else {
                    return Poll::Pending;
                };
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                (
                    Outcome::TimedOut,
                    format!("the call timed out after {limit:?}"),
                )
            }
        };
        let elapsed = this.began.elapsed();
        if !this.span.is_disabled() {
            this.span.record("outcome", outcome.as_str());
            this.span.record("elapsed_us", elapsed.as_micros() as u64);
        }
        Poll::Ready(Finished {
            index: this.index,
            exclusive: this.exclusive,
            elapsed,
            outcome,
            content,
        })
    }
}

/// The state of one batch: the calls known so far, the ones running, and the
/// results. Static dispatch knows every call up front; eager streaming
/// dispatch pushes each call as its arguments complete.
pub(crate) struct Runner<'a> {
    tools: &'a ToolSet,
    options: DispatchOptions,
    calls: Cow<'a, [ToolCall]>,
    pub(crate) start: Instant,
    slots: Vec<Option<CallResult>>,
    starts: Vec<Duration>,
    /// Hash of a call id -> the first call with it, to refuse duplicates.
    ids: HashMap<u64, usize, FxBuildHasher>,
    running: FuturesUnordered<CallFuture>,
    next: usize,
    exclusive_running: bool,
    cap: usize,
}

impl<'a> Runner<'a> {
    pub(crate) fn new(
        tools: &'a ToolSet,
        options: DispatchOptions,
        calls: Cow<'a, [ToolCall]>,
    ) -> Self {
        let n = calls.len();
        let cap = options
            .max_concurrency
            .map_or(usize::MAX, NonZeroUsize::get);
        Runner {
            tools,
            options,
            calls,
            start: Instant::now(),
            slots: (0..n).map(|_| None).collect(),
            starts: vec![Duration::ZERO; n],
            ids: HashMap::with_capacity_and_hasher(n, FxBuildHasher),
            running: FuturesUnordered::new(),
            next: 0,
            exclusive_running: false,
            cap,
        }
    }

    /// Add a call whose arguments are complete; it starts when the policy allows.
    pub(crate) fn push(&mut self, call: ToolCall) {
        self.calls.to_mut().push(call);
        self.slots.push(None);
        self.starts.push(Duration::ZERO);
    }

    /// How many calls the batch has so far.
    pub(crate) fn len(&self) -> usize {
        self.calls.len()
    }

    /// Add a call that cannot run, with the result it gets instead.
    pub(crate) fn push_refused(&mut self, call: ToolCall, outcome: Outcome, content: String) {
        self.push(call);
        let index = self.calls.len() - 1;
        self.refuse(index, outcome, content, self.start.elapsed());
    }

    /// Start every call the cap and exclusivity allow, in call order. Each
    /// call is polled once here: one that finishes at once (a cache hit, a
    /// refusal) never costs a task in the running set.
    pub(crate) fn fill(&mut self, cx: &mut Context<'_>) {
        let tools = self.tools;
        // One clock read for every call this pass starts: they start together.
        let now = Instant::now();
        while self.next < self.calls.len()
            && !self.exclusive_running
            && self.running.len() < self.cap
        {
            if self.slots[self.next].is_some() {
                // Answered when it was pushed.
                self.next += 1;
                continue;
            }
            let entry = tools.entry(&self.calls[self.next].name);
            let exclusive = entry.is_some_and(|e| e.policy.exclusive);
            if exclusive && !self.running.is_empty() {
                break;
            }
            if let Some(mut future) = self.launch(self.next, entry, now) {
                // Polled with the dispatch's own waker: if it is pending, the
                // running set polls it again at once with the call's waker.
                match Pin::new(&mut future).poll(cx) {
                    Poll::Ready(finished) => self.record(finished),
                    Poll::Pending => {
                        self.running.push(future);
                        self.exclusive_running = exclusive;
                    }
                }
            }
            self.next += 1;
        }
    }

    /// No call running and none waiting to start.
    pub(crate) fn is_idle(&self) -> bool {
        self.running.is_empty() && self.next >= self.calls.len()
    }

    /// Record the next call to finish; `Ready(false)` when none is running.
    pub(crate) fn poll_finished(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        match self.running.poll_next_unpin(cx) {
            Poll::Ready(Some(finished)) => {
                if finished.exclusive {
                    self.exclusive_running = false;
                }
                self.record(finished);
                Poll::Ready(true)
            }
            Poll::Ready(None) => Poll::Ready(false),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Whether an earlier call already has this id; on a hash collision the
    /// ids themselves are compared.
    fn is_duplicate_id(&mut self, index: usize) -> bool {
        let id = self.calls[index].id.as_str();
        let hash = FxBuildHasher.hash_one(id);
        match self.ids.get(&hash) {
            None => {
                self.ids.insert(hash, index);
                false
            }
            Some(&first) => {
                self.calls[first].id == id || self.calls[..index].iter().any(|c| c.id == id)
            }
        }
    }

    /// Start call `index`, or record its result at once when it cannot start.
    fn launch(
        &mut self,
        index: usize,
        entry: Option<&'a Entry>,
        began: Instant,
    ) -> Option<CallFuture> {
        let offset = began - self.start;
        self.starts[index] = offset;
        let duplicate = self.is_duplicate_id(index);
        let call = &self.calls[index];
        let rejection = if call.name.is_empty() {
            Some((
                Outcome::InvalidArguments,
                "the call has no tool name".to_owned(),
            ))
        } else if duplicate {
            Some((
                Outcome::InvalidArguments,
                format!(
                    "duplicate call id `{}`: an earlier call in this message has the same id",
                    call.id
                ),
            ))
        } else if call.arguments.len() > self.options.max_argument_bytes {
            Some((
                Outcome::InvalidArguments,
                format!(
                    "the arguments are {} bytes, over the limit of {} bytes",
                    call.arguments.len(),
                    self.options.max_argument_bytes
                ),
            ))
        } else if entry.is_none() {
            let names: Vec<&str> = self.tools.names().take(32).collect();
            Some((
                Outcome::UnknownTool,
                format!(
                    "unknown tool `{}`; the tools are: {}",
                    call.name,
                    names.join(", ")
                ),
            ))
        } else {
            None
        };
        let entry = match (rejection, entry) {
            (None, Some(entry)) => entry,
            (rejection, _) => {
                let (outcome, content) = rejection.unwrap_or((Outcome::UnknownTool, String::new()));
                self.refuse(index, outcome, content, offset);
                return None;
            }
        };
        let state = &self.tools.inner.state;
        let started =
            std::panic::catch_unwind(AssertUnwindSafe(|| entry.tool.call(&call.arguments, state)));
        let future = match started {
            Ok(Ok(future)) => future,
            Ok(Err(CallError::InvalidArguments(message))) => {
                let content = format!("invalid arguments for `{}`: {message}", call.name);
                self.refuse(index, Outcome::InvalidArguments, content, offset);
                return None;
            }
            Ok(Err(error)) => {
                self.refuse(index, Outcome::ToolError, format!("error: {error}"), offset);
                return None;
            }
            Err(panic) => {
                let content = format!("the tool panicked: {}", panic_message(&*panic));
                self.refuse(index, Outcome::Panicked, content, offset);
                return None;
            }
        };
        let timer = entry
            .policy
            .timeout
            .or(self.options.call_timeout)
            .map(|limit| (limit, Box::pin(tokio::time::sleep_until(began + limit))));
        let span = tracing::debug_span!(
            "tool_call",
            tool = %call.name,
            call_id = %call.id,
            outcome = tracing::field::Empty,
            elapsed_us = tracing::field::Empty,
        );
        Some(CallFuture {
            index,
            exclusive: entry.policy.exclusive,
            began,
            tool: AssertUnwindSafe(future).catch_unwind(),
            timer,
            span,
        })
    }

    fn refuse(&mut self, index: usize, outcome: Outcome, content: String, at: Duration) {
        let call = &self.calls[index];
        tracing::debug!(tool = %call.name, call_id = %call.id, %outcome, "tool call refused");
        self.slots[index] = Some(CallResult {
            call_id: call.id.clone(),
            name: call.name.clone(),
            outcome,
            content,
            started: at,
            elapsed: Duration::ZERO,
        });
    }

    fn record(&mut self, finished: Finished) {
        let call = &self.calls[finished.index];
        self.slots[finished.index] = Some(CallResult {
            call_id: call.id.clone(),
            name: call.name.clone(),
            outcome: finished.outcome,
            content: finished.content,
            started: self.starts[finished.index],
            elapsed: finished.elapsed,
        });
    }

    /// End the batch early: the running calls are dropped (which cancels
    /// them) and every call without a result gets one saying why.
    pub(crate) fn stop(mut self, stop: Stop) -> Batch {
        self.running = FuturesUnordered::new();
        let now = self.start.elapsed();
        let (outcome, cause) = match stop {
            Stop::Deadline(limit) => (
                Outcome::TimedOut,
                format!("the batch deadline of {limit:?} passed"),
            ),
            Stop::Cancelled => (Outcome::Cancelled, "the batch was cancelled".to_owned()),
        };
        for (index, slot) in self.slots.iter_mut().enumerate() {
            if slot.is_none() {
                let call = &self.calls[index];
                let started = index < self.next;
                let begin = if started { self.starts[index] } else { now };
                let when = if started { "finished" } else { "started" };
                *slot = Some(CallResult {
                    call_id: call.id.clone(),
                    name: call.name.clone(),
                    outcome,
                    content: format!("{cause} before this call {when}"),
                    started: begin,
                    elapsed: now.saturating_sub(begin),
                });
            }
        }
        self.finish()
    }

    pub(crate) fn finish(self) -> Batch {
        let makespan = self.start.elapsed();
        let results = self
            .slots
            .into_iter()
            .zip(self.calls.iter())
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
