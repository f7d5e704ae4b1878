//! The machinery behind a batch: the calls running as one set of futures,
//! each guarded against panics and raced against its timeout, and the batch's
//! deadline and cancel signal. Shared by static and streamed dispatch.

use std::borrow::Cow;
use std::future::Future;
use std::hash::BuildHasher;
use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use hashbrown::{HashTable, hash_table};
use rustc_hash::FxBuildHasher;
use tokio::time::{Instant, Sleep};

use crate::approval::{Approval, Decision};
use crate::call::{CallResult, Extra, Outcome, ToolCall};
use crate::dispatch::{Batch, DispatchOptions};
use crate::in_order::InOrder;
use crate::output::{ToolError, ToolOutput};
use crate::run::Emitter;
use crate::schedule::Schedule;
use crate::shared_str::SharedStr;
use crate::telemetry::spans;
use crate::tool::{BoxFuture, CallError, ToolFuture};
use crate::toolset::{Entry, ToolSet};

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

    /// Arm the deadline from the batch's start. A limit too far away to
    /// be an instant is no limit.
    pub(crate) fn start(&mut self, start: Instant) {
        self.deadline = self
            .limit
            .and_then(|d| start.checked_add(d))
            .map(|at| Box::pin(tokio::time::sleep_until(at)));
    }

    /// Whether the batch is stopped already (a cancel signal that fired
    /// before it started, a zero deadline): then no call starts.
    pub(crate) fn poll_now(&mut self) -> Option<Stop> {
        let waker = futures_util::task::noop_waker();
        match self.poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(stop) => Some(stop),
            Poll::Pending => None,
        }
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

/// A call's `execute_tool` span (see [`spans::tool`]).
type CallSpan = Option<Box<tracing::Span>>;

/// What a call's future yields when it ends.
struct Finished {
    index: usize,
    /// The tool's registered name: the same text as the call's, shared
    /// by every result of its calls.
    name: Option<SharedStr>,
    /// When it started, from the batch's start.
    started: Duration,
    elapsed: Duration,
    outcome: Outcome,
    reply: Reply,
    /// Told the result when it is recorded.
    span: CallSpan,
}

/// A finished call's result, before it meets its call.
enum Reply {
    Output(ToolOutput),
    Error(ToolError),
    /// A failure the dispatcher describes (panic, timeout).
    Text(String),
}

/// One running call: the tool's future, guarded against panics, raced
/// against its timeout. Written by hand so every call future has one type and
/// no allocation beyond the tool's own.
struct CallFuture {
    index: usize,
    /// Taken when it finishes.
    name: Option<SharedStr>,
    /// A plain fn on the blocking pool: a timeout cannot stop its body.
    blocking: bool,
    began: Instant,
    /// `began`, from the batch's start.
    offset: Duration,
    /// `None` once finished: dropped then, or when the call is cancelled,
    /// with a panic in its `Drop` caught like any other.
    tool: Option<ToolFuture>,
    /// The call's time limit and when it passes.
    timeout: Option<(Duration, Instant)>,
    /// Armed when the tool first waits: a call that ends in its first poll
    /// never makes one.
    timer: Option<Pin<Box<Sleep>>>,
    span: CallSpan,
}

/// How a call ended, before it is timed.
type Ended = (Outcome, Reply);

impl CallFuture {
    /// Drop the tool's future; a panic in its `Drop` is caught and described.
    fn drop_tool(&mut self) -> Option<String> {
        let tool = self.tool.take()?;
        std::panic::catch_unwind(AssertUnwindSafe(move || drop(tool)))
            .err()
            .map(|panic| panic_message(&*panic))
    }

    /// Poll the tool once, in its span, a panic caught; its future is
    /// dropped when it ends (a panic in that drop is ignored: it has its result).
    fn poll_tool(&mut self, cx: &mut Context<'_>) -> Poll<Ended> {
        let Some(tool) = self.tool.as_mut() else {
            return Poll::Pending;
        };
        let span = self.span.as_deref();
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let _entered = span.map(tracing::Span::enter);
            tool.as_mut().poll(cx)
        }));
        let ended = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(Ok(output))) => (Outcome::Ok, Reply::Output(output)),
            Ok(Poll::Ready(Err(error))) => (Outcome::ToolError, Reply::Error(error)),
            Err(panic) => (
                Outcome::Panicked,
                Reply::Text(format!("the tool panicked: {}", panic_message(&*panic))),
            ),
        };
        let _ = self.drop_tool();
        Poll::Ready(ended)
    }

    /// Whether the call's time limit passed; if so its tool is dropped.
    fn poll_timeout(&mut self, cx: &mut Context<'_>) -> Poll<Ended> {
        let Some((limit, at)) = self.timeout else {
            return Poll::Pending;
        };
        let sleep = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        if sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let mut text = format!("the call timed out after {limit:?}");
        if self.blocking {
            text.push_str(BLOCKING_RUNS_ON);
        }
        if let Some(panic) = self.drop_tool() {
            text.push_str(&format!(" (and panicked when cancelled: {panic})"));
        }
        Poll::Ready((Outcome::TimedOut, Reply::Text(text)))
    }

    /// The call ended after running for `elapsed`: what it yields.
    fn finished(&mut self, (outcome, reply): Ended, elapsed: Duration) -> Finished {
        Finished {
            index: self.index,
            name: self.name.take(),
            started: self.offset,
            elapsed,
            outcome,
            reply,
            span: self.span.take(),
        }
    }
}

impl Drop for CallFuture {
    fn drop(&mut self) {
        // Cancelled (batch deadline, cancel signal, dispatch dropped): a
        // panicking `Drop` must not take the other calls' results with it.
        if self.tool.is_some() {
            if let Some(span) = &self.span {
                spans::tool_outcome(span, Outcome::Cancelled);
            }
            let _ = self.drop_tool();
        }
    }
}

impl Future for CallFuture {
    type Output = Finished;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Finished> {
        let this = &mut *self;
        if this.tool.is_none() {
            return Poll::Pending;
        }
        let ended = match this.poll_tool(cx) {
            Poll::Ready(ended) => ended,
            Poll::Pending => std::task::ready!(this.poll_timeout(cx)),
        };
        let elapsed = this.began.elapsed();
        Poll::Ready(this.finished(ended, elapsed))
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
    results: InOrder,
    /// Calls whose result was replaced while they ran: what they return is
    /// discarded.
    withdrawn: Vec<bool>,
    /// The calls with an id no earlier call has, hashed by that id: a
    /// later call with one of them is refused as a duplicate. Indices are
    /// `u32`, so a batch of 100,000 calls keeps its table in half the cache.
    ids: HashTable<u32>,
    /// The calls known at the start whose id an earlier call has, in call
    /// order (almost always none). Found in one pass before any call runs:
    /// probing the table call by call, between parsing and results, cost a
    /// batch of 100,000 calls half again its time in cache misses.
    duplicates: Vec<u32>,
    /// How many calls the table held when the batch began: a call pushed
    /// later is checked against it when admitted.
    checked: usize,
    running: FuturesUnordered<CallFuture>,
    /// The first call not yet considered for starting.
    next: usize,
    /// Whether each call has started (or was answered without running).
    launched: Vec<bool>,
    /// Calls considered but held back by the schedule, in call order.
    waiting: Vec<usize>,
    schedule: Schedule<'a>,
    approval: Option<&'a dyn Approval>,
    /// Calls whose arguments the policy rewrote, in call order: their
    /// results record what they ran with.
    rewritten: Vec<usize>,
    cap: usize,
    /// Where each call's start and result are told, when a run is watched.
    watch: Option<Watch>,
    /// The tool the last lookup found, by its name: a batch mostly calls
    /// few tools, and a comparison is cheaper than hashing the name.
    last_tool: Option<(&'a str, &'a Entry)>,
    /// Calls that finished in the poll that started them, with their
    /// spans, not yet timed nor told (see [`Runner::settle`]).
    unsettled: Vec<(usize, CallSpan)>,
}

/// How many calls that finish without waiting share one clock read: a
/// read costs about as much as such a call's whole dispatch.
const SETTLE_EVERY: usize = 16;

/// The events of a watched batch: each call is told started once, then
/// finished (a call refused without running, at the same instant).
struct Watch {
    events: Emitter,
    announced: Vec<bool>,
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
        let mut ids = HashTable::with_capacity(n);
        let duplicates = (0..n)
            .filter(|&index| !insert_id(&mut ids, &calls, index))
            .map(|index| index as u32)
            .collect();
        Runner {
            tools,
            options,
            calls,
            start: Instant::now(),
            results: InOrder::new(n),
            withdrawn: vec![false; n],
            ids,
            duplicates,
            checked: n,
            running: FuturesUnordered::new(),
            next: 0,
            launched: vec![false; n],
            waiting: Vec::new(),
            schedule: Schedule::default(),
            approval: None,
            rewritten: Vec::new(),
            cap,
            watch: None,
            last_tool: None,
            unsettled: Vec::new(),
        }
    }

    /// Tell each call's start and result to `events`.
    pub(crate) fn events(mut self, events: Option<Emitter>) -> Self {
        self.watch = events.map(|events| Watch {
            events,
            announced: vec![false; self.calls.len()],
        });
        self
    }

    /// Tell that call `index` started, unless it was told already.
    fn tell_started(&mut self, index: usize) {
        if let Some(watch) = &mut self.watch
            && !watch.announced[index]
        {
            watch.announced[index] = true;
            watch.events.started(index, &self.calls[index]);
        }
    }

    /// Tell call `index`'s result (after its start, if that was not told).
    #[inline]
    fn tell_finished(&mut self, index: usize) {
        if self.watch.is_some() {
            self.tell_finished_watched(index);
        }
    }

    fn tell_finished_watched(&mut self, index: usize) {
        self.tell_started(index);
        if let (Some(watch), Some(result)) = (&self.watch, self.results.get(index)) {
            watch.events.finished(index, result);
        }
    }

    /// Consult this policy before each call.
    pub(crate) fn approval(mut self, approval: Option<&'a dyn Approval>) -> Self {
        self.approval = approval;
        self
    }

    /// Add a call whose arguments are complete; it starts when the policy allows.
    pub(crate) fn push(&mut self, call: ToolCall) {
        self.calls.to_mut().push(call);
        self.results.add_call();
        self.withdrawn.push(false);
        self.launched.push(false);
        if let Some(watch) = &mut self.watch {
            watch.announced.push(false);
        }
    }

    /// Replace call `index`'s result with this one, whether it finished,
    /// runs or waits: its text went on after it started, so it ran with less
    /// than the model sent. What a running call returns is then discarded.
    pub(crate) fn withdraw(
        &mut self,
        index: usize,
        call: ToolCall,
        outcome: Outcome,
        content: String,
    ) {
        if index >= self.calls.len() {
            return;
        }
        let started = self.launched[index];
        let now = self.start.elapsed();
        let at = if started {
            self.started_at(index).unwrap_or(now)
        } else {
            now
        };
        if !started {
            // It never runs now: what it would have held is free.
            self.launched[index] = true;
            self.waiting.retain(|&w| w != index);
            self.schedule.finished(index);
        }
        self.withdrawn[index] = started;
        self.rewritten.retain(|&r| r != index);
        self.results.set(
            index,
            CallResult::new(call.id.clone(), call.name.clone(), outcome, content)
                .timed(at, now.saturating_sub(at)),
        );
        self.calls.to_mut()[index] = call;
        // A call that had finished is told again: the result that stands.
        self.tell_finished(index);
    }

    /// When started call `index` started, from the batch's start: a
    /// running call's own start, or its result's.
    fn started_at(&self, index: usize) -> Option<Duration> {
        match self.running.iter().find(|call| call.index == index) {
            Some(call) => Some(call.offset),
            None => self.results.get(index).map(|result| result.started),
        }
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

    /// Start every call the schedule allows: first the calls held back, then
    /// new ones, all in call order (see [`crate::schedule`]). Each call is
    /// polled once here: one that finishes at once (a cache hit, a refusal)
    /// never costs a task in the running set, and frees what it held at
    /// once, so the pass repeats for the calls that waited on it.
    pub(crate) fn fill(&mut self, cx: &mut Context<'_>) {
        self.start_calls(cx);
        self.settle();
    }

    /// [`Runner::fill`]'s passes, before the calls that ended are settled.
    fn start_calls(&mut self, cx: &mut Context<'_>) {
        // One clock read for every call this pass starts: they start together.
        let now = Instant::now();
        let offset = now - self.start;
        loop {
            let mut freed = false;
            let mut i = 0;
            while i < self.waiting.len() && self.running.len() < self.cap {
                let index = self.waiting[i];
                if self.may_start(index) {
                    self.waiting.remove(i);
                    let entry = self.entry(index);
                    freed |= self.start_call(index, entry, (now, offset), cx);
                } else {
                    i += 1;
                }
            }
            while self.next < self.calls.len() && self.running.len() < self.cap {
                let index = self.next;
                self.next += 1;
                if self.results.has(index) {
                    // Answered when it was pushed.
                    self.launched[index] = true;
                    continue;
                }
                let Some(entry) = self.admit(index, now) else {
                    continue;
                };
                if self.may_start(index) {
                    freed |= self.start_call(index, entry, (now, offset), cx);
                } else {
                    self.waiting.push(index);
                }
            }
            if !freed || self.waiting.is_empty() {
                return;
            }
        }
    }

    /// Whether call `index` may start: its tool's claims allow it, and an
    /// exclusive call has nothing before it left.
    fn may_start(&self, index: usize) -> bool {
        self.schedule.may_start(index, || {
            self.running.is_empty() && self.waiting.first().is_none_or(|&w| w >= index)
        })
    }

    /// Refuse call `index` if it is malformed, ask the approval policy
    /// about it, refuse it if its arguments (as rewritten) are too long,
    /// and register what it will hold; `None` when it is answered without
    /// running, else its tool. Every refusal comes before the call can
    /// wait for anything.
    fn admit(&mut self, index: usize, now: Instant) -> Option<Option<&'a Entry>> {
        if let Some((outcome, content)) = self.malformed(index) {
            self.refuse_now(index, outcome, content, now);
            return None;
        }
        if let Some(approval) = self.approval {
            let decision =
                std::panic::catch_unwind(AssertUnwindSafe(|| approval.decide(&self.calls[index])));
            let refusal = match decision {
                Ok(Decision::Approve) => None,
                Ok(Decision::Rewrite(arguments)) => {
                    self.calls.to_mut()[index].arguments = arguments;
                    self.rewritten.push(index);
                    None
                }
                Ok(Decision::Deny(reason)) => Some((Outcome::Denied, denied(&reason))),
                Ok(Decision::Defer) => Some((Outcome::Deferred, DEFERRED.to_owned())),
                Err(panic) => Some((
                    Outcome::Denied,
                    denied(&format!(
                        "the approval policy panicked: {}",
                        panic_message(&*panic)
                    )),
                )),
            };
            if let Some((outcome, content)) = refusal {
                self.refuse_now(index, outcome, content, now);
                return None;
            }
        }
        let arguments = &self.calls[index].arguments;
        if arguments.len() > self.options.max_argument_bytes {
            let content = format!(
                "the arguments are {} bytes, over the limit of {} bytes",
                arguments.len(),
                self.options.max_argument_bytes
            );
            self.refuse_now(index, Outcome::InvalidArguments, content, now);
            return None;
        }
        let entry = self.entry(index);
        if let Some(entry) = entry {
            self.schedule.register(
                index,
                entry.tool.name(),
                &entry.policy,
                &self.calls[index].arguments,
            );
        }
        Some(entry)
    }

    /// Why call `index` cannot run whatever the policy says: no tool name,
    /// or the id of an earlier call (deferred, denied or run alike).
    fn malformed(&mut self, index: usize) -> Option<(Outcome, String)> {
        let duplicate = self.is_duplicate_id(index);
        let call = &self.calls[index];
        if call.name.is_empty() {
            Some((Outcome::InvalidArguments, NO_NAME.to_owned()))
        } else if duplicate {
            Some((Outcome::InvalidArguments, duplicate_id(&call.id)))
        } else {
            None
        }
    }

    /// The tool call `index` names.
    fn entry(&mut self, index: usize) -> Option<&'a Entry> {
        let name = self.calls[index].name.as_str();
        if let Some((last, entry)) = self.last_tool
            && same_text(last, name)
        {
            return Some(entry);
        }
        let (name, entry) = self.tools.entry_named(name)?;
        self.last_tool = Some((name, entry));
        Some(entry)
    }

    /// Answer call `index` at once, before it started.
    fn refuse_now(&mut self, index: usize, outcome: Outcome, content: String, now: Instant) {
        self.launched[index] = true;
        self.refuse(index, outcome, content, now - self.start);
    }

    /// Start call `index`; `true` when it finished at once.
    fn start_call(
        &mut self,
        index: usize,
        entry: Option<&'a Entry>,
        now: (Instant, Duration),
        cx: &mut Context<'_>,
    ) -> bool {
        self.launched[index] = true;
        self.schedule.started(index);
        let Some(mut call) = self.launch(index, entry, now) else {
            return true;
        };
        // Polled with the dispatch's own waker: if it is pending, the
        // running set polls it again at once with the call's waker (and
        // arms its timer then).
        match call.poll_tool(cx) {
            Poll::Ready(ended) => {
                // Timed when settled, with the calls around it.
                let finished = call.finished(ended, Duration::ZERO);
                if let Some(stored) = self.store(finished) {
                    self.unsettled.push(stored);
                    if self.unsettled.len() >= SETTLE_EVERY {
                        self.settle();
                    }
                }
                true
            }
            Poll::Pending => {
                self.running.push(call);
                false
            }
        }
    }

    /// No call running and none waiting to start.
    pub(crate) fn is_idle(&self) -> bool {
        self.running.is_empty() && self.next >= self.calls.len() && self.waiting.is_empty()
    }

    /// Record every call that has finished; `Ready(false)` when none is
    /// running. Calls that finish at the same instant are all recorded
    /// before any waiting call starts, so what they free is shared out in
    /// call order, whatever order they were polled in.
    pub(crate) fn poll_finished(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        let mut any = false;
        loop {
            match self.running.poll_next_unpin(cx) {
                Poll::Ready(Some(finished)) => {
                    self.record(finished);
                    any = true;
                }
                Poll::Ready(None) => return Poll::Ready(any),
                Poll::Pending if any => return Poll::Ready(true),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Whether an earlier call already has this id.
    fn is_duplicate_id(&mut self, index: usize) -> bool {
        if index < self.checked {
            self.duplicates.binary_search(&(index as u32)).is_ok()
        } else {
            !insert_id(&mut self.ids, &self.calls, index)
        }
    }

    /// Start call `index` at `began` (`offset` from the batch's start), or
    /// record its result at once when it cannot start.
    fn launch(
        &mut self,
        index: usize,
        entry: Option<&'a Entry>,
        (began, offset): (Instant, Duration),
    ) -> Option<CallFuture> {
        self.tell_started(index);
        let call = &self.calls[index];
        let Some(entry) = entry else {
            let names: Vec<&str> = self.tools.names().take(32).collect();
            let content = format!(
                "unknown tool `{}`; the tools are: {}",
                echo(&call.name),
                names.join(", ")
            );
            self.refuse(index, Outcome::UnknownTool, content, offset);
            return None;
        };
        let span = spans::tool(call, || Some(entry.tool.description()));
        let state = &self.tools.inner.state;
        let started = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let _entered = span.as_deref().map(tracing::Span::enter);
            entry.tool.call(&call.arguments, state)
        }));
        let future = match started {
            Ok(Ok(future)) if entry.policy.spawn || self.options.spawn => spawned(future),
            Ok(Ok(future)) => future,
            Ok(Err(CallError::InvalidArguments(message))) => {
                let content = format!(
                    "invalid arguments for `{}`: {}",
                    call.name,
                    echo_at_most(&message, MAX_ECHO_MESSAGE)
                );
                self.refuse_in(span, index, Outcome::InvalidArguments, content, offset);
                return None;
            }
            Ok(Err(error)) => {
                let content = format!("error: {error}");
                self.refuse_in(span, index, Outcome::ToolError, content, offset);
                return None;
            }
            Err(panic) => {
                let content = format!("the tool panicked: {}", panic_message(&*panic));
                self.refuse_in(span, index, Outcome::Panicked, content, offset);
                return None;
            }
        };
        // A call's timeout counts from its own launch: an earlier call's
        // slow synchronous start in the same pass does not use it up. A
        // limit too far away to be an instant is no limit.
        let (began, offset) = match entry.policy.timeout.or(self.options.call_timeout) {
            Some(_) => {
                let now = Instant::now();
                (now, now.saturating_duration_since(self.start))
            }
            None => (began, offset),
        };
        let timeout = entry
            .policy
            .timeout
            .or(self.options.call_timeout)
            .and_then(|limit| Some((limit, began.checked_add(limit)?)));
        Some(CallFuture {
            index,
            name: Some(entry.name.clone()),
            blocking: entry.policy.blocking,
            began,
            offset,
            tool: Some(future),
            timeout,
            timer: None,
            span,
        })
    }

    /// Answer call `index` without running it; its `execute_tool` span
    /// (of no length) says how (denied, deferred, unknown...).
    fn refuse(&mut self, index: usize, outcome: Outcome, content: String, at: Duration) {
        let call = &self.calls[index];
        let tools = self.tools;
        let span = spans::tool(call, || {
            tools.entry(&call.name).map(|e| e.tool.description())
        });
        self.refuse_in(span, index, outcome, content, at);
    }

    /// [`Runner::refuse`] with the call's span already made.
    fn refuse_in(
        &mut self,
        span: CallSpan,
        index: usize,
        outcome: Outcome,
        content: String,
        at: Duration,
    ) {
        self.schedule.finished(index);
        let call = &self.calls[index];
        tracing::debug!(tool = %call.name, call_id = %call.id, %outcome, "tool call refused");
        let deferred = outcome == Outcome::Deferred;
        let result = CallResult::new(call.id.clone(), call.name.clone(), outcome, content)
            .timed(at, Duration::ZERO);
        if let Some(span) = &span {
            spans::tool_done(span, &result);
        }
        self.results.set(index, result);
        // A deferred call has not run: it is told when a resume runs it.
        if !deferred {
            self.tell_finished(index);
        }
    }

    /// Time the calls that finished in the poll that started them, by one
    /// clock read: each ran from its start until now, at most
    /// [`SETTLE_EVERY`] such calls later. Then tell their spans and watchers.
    fn settle(&mut self) {
        if self.unsettled.is_empty() {
            return;
        }
        let now = self.start.elapsed();
        let mut unsettled = std::mem::take(&mut self.unsettled);
        for (index, span) in unsettled.drain(..) {
            if let Some(result) = self.results.get_mut(index) {
                result.elapsed = now.saturating_sub(result.started);
            }
            self.announce(index, span);
        }
        // The vector's room is kept for the next calls.
        self.unsettled = unsettled;
    }

    fn record(&mut self, finished: Finished) {
        if let Some((index, span)) = self.store(finished) {
            self.announce(index, span);
        }
    }

    /// Tell call `index`'s span and watchers its result.
    fn announce(&mut self, index: usize, span: CallSpan) {
        if let (Some(span), Some(result)) = (&span, self.results.get(index)) {
            spans::tool_done(span, result);
        }
        self.tell_finished(index);
    }

    /// Free what a finished call held and keep its result, unless it was
    /// withdrawn; then its index and span, to announce it.
    fn store(&mut self, finished: Finished) -> Option<(usize, CallSpan)> {
        self.schedule.finished(finished.index);
        if self.withdrawn[finished.index] {
            return None;
        }
        let call = &self.calls[finished.index];
        let (content, json, extra) = match finished.reply {
            Reply::Output(output) => {
                let (content, json, parts) = output.into_parts();
                (content, json, Extra::of(parts, None))
            }
            Reply::Error(error) => (
                format!("error: {error}"),
                false,
                Extra::of(Vec::new(), Some(error)),
            ),
            Reply::Text(text) => (text, false, None),
        };
        // Built in one piece: this runs once a call.
        let result = CallResult {
            call_id: call.id.clone(),
            name: finished.name.unwrap_or_else(|| call.name.clone()),
            outcome: finished.outcome,
            content,
            json,
            started: finished.started,
            elapsed: finished.elapsed,
            extra,
        };
        self.results.set(finished.index, result);
        Some((finished.index, finished.span))
    }

    /// End the batch early: the running calls are dropped (which cancels
    /// them) and every call without a result gets one saying why.
    pub(crate) fn stop(mut self, stop: Stop) -> Batch {
        let (outcome, cause) = match stop {
            Stop::Deadline(limit) => (
                Outcome::TimedOut,
                format!("the batch deadline of {limit:?} passed"),
            ),
            Stop::Cancelled => (Outcome::Cancelled, "the batch was cancelled".to_owned()),
        };
        // The running calls' starts, before they are dropped.
        let mut began = vec![None; self.results.len()];
        for call in self.running.iter_mut() {
            if let Some(span) = call.span.take() {
                spans::tool_outcome(&span, outcome);
            }
            began[call.index] = Some(call.offset);
        }
        self.running = FuturesUnordered::new();
        let now = self.start.elapsed();
        for (index, began) in began.into_iter().enumerate() {
            if !self.results.has(index) {
                let call = &self.calls[index];
                let started = self.launched[index];
                let begin = began.filter(|_| started).unwrap_or(now);
                let when = if started { "finished" } else { "started" };
                let mut text = format!("{cause} before this call {when}");
                if started
                    && self
                        .tools
                        .entry(&call.name)
                        .is_some_and(|e| e.policy.blocking)
                {
                    text.push_str(BLOCKING_RUNS_ON);
                }
                self.results.set(
                    index,
                    CallResult::new(call.id.clone(), call.name.clone(), outcome, text)
                        .timed(begin, now.saturating_sub(begin)),
                );
                self.tell_finished(index);
            }
        }
        self.finish()
    }

    pub(crate) fn finish(self) -> Batch {
        let makespan = self.start.elapsed();
        let calls = &self.calls;
        let mut results = self
            .results
            .into_vec(|index| unanswered(&calls[index], makespan));
        for &index in &self.rewritten {
            results[index].set_arguments(self.calls[index].arguments.clone());
        }
        Batch { results, makespan }
    }
}

/// The result text of a call without a tool name.
pub(crate) const NO_NAME: &str = "the call has no tool name";

/// The result text of a call the approval policy deferred.
pub(crate) const DEFERRED: &str = "the call was deferred: it waits for a decision and has not run";

/// The result text of a call the approval policy denied.
pub(crate) fn denied(reason: &str) -> String {
    format!("the call was denied: {reason}")
}

/// The result text of a call whose id an earlier call of its batch has.
pub(crate) fn duplicate_id(id: &str) -> String {
    format!(
        "duplicate call id `{}`: an earlier call in this message has the same id",
        echo(id)
    )
}

/// The result of a call the dispatcher never answered; unreachable by
/// construction, but a result is owed to every call whatever happens.
pub(crate) fn unanswered(call: &ToolCall, at: Duration) -> CallResult {
    CallResult::new(
        call.id.clone(),
        call.name.clone(),
        Outcome::Cancelled,
        "the call was not run",
    )
    .timed(at, Duration::ZERO)
}

/// The call's future run as a task on the runtime, so calls use every
/// worker. Awaiting it is awaiting the task; dropping it (a timeout, the
/// batch deadline, the dispatch dropped) aborts the task; the task's panic
/// resurfaces here, where the call's guard catches it.
fn spawned(future: ToolFuture) -> ToolFuture {
    /// Aborts the task unless it finished.
    struct AbortOnDrop(tokio::task::JoinHandle<crate::tool::ToolReply>);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let mut task = AbortOnDrop(tokio::spawn(future));
    Box::pin(async move {
        match (&mut task.0).await {
            Ok(reply) => reply,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(_) => Err(ToolError::new("the call's task was cancelled")),
        }
    })
}

/// What a timed-out or cancelled plain fn's result adds: its body, once
/// running, cannot be stopped.
const BLOCKING_RUNS_ON: &str = "; a plain fn cannot be stopped once it runs: its body goes on until it returns, and its result is discarded";

/// The most of a model's own text (a tool name, a call id) echoed back in a
/// result: a 10 MiB name must not become a 10 MiB tool message.
const MAX_ECHO: usize = 256;
/// The most of a parser's message, which may quote the arguments.
const MAX_ECHO_MESSAGE: usize = 2048;

/// Whether two texts are equal; a short one compared inline, as tool
/// names mostly are, not through `memcmp`.
#[inline]
fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len()
        && if a.len() <= 16 {
            a.iter().zip(b).all(|(x, y)| x == y)
        } else {
            a == b
        }
}

/// `text`, cut to [`MAX_ECHO`] bytes at a character boundary, saying so.
pub(crate) fn echo(text: &str) -> Cow<'_, str> {
    echo_at_most(text, MAX_ECHO)
}

fn echo_at_most(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let cut = (0..=max)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    Cow::Owned(format!("{}... ({} bytes)", &text[..cut], text.len()))
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

/// Add call `index`'s id to `ids`, unless an earlier call has it: whether
/// it was new.
fn insert_id(ids: &mut HashTable<u32>, calls: &[ToolCall], index: usize) -> bool {
    let id = calls[index].id.as_str();
    let hash = FxBuildHasher.hash_one(id);
    let slot = ids.entry(
        hash,
        |&i| calls[i as usize].id == id,
        |&i| FxBuildHasher.hash_one(calls[i as usize].id.as_str()),
    );
    match slot {
        hash_table::Entry::Occupied(_) => false,
        hash_table::Entry::Vacant(slot) => {
            // An index is far below 2^32: the calls would not fit in memory.
            slot.insert(index as u32);
            true
        }
    }
}
