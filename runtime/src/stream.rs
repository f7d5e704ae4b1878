//! Streamed replies: eager dispatch (each call starts the moment its
//! arguments are complete, before the message ends; results still come back
//! in call order), and the assembly of tool-call fragments it rests on.

use std::borrow::Cow;
use std::future::{Future, IntoFuture, poll_fn};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_util::StreamExt;

use crate::approval::Approval;
pub use crate::assemble::CallAssembler;
use crate::call::{Outcome, ToolCall};
use crate::dispatch::{Batch, DispatchOptions};
use crate::message::ChatResponse;
pub use crate::model::response_events;
use crate::model::{EventStream, ModelError, StreamEvent};
use crate::run::Emitter;
use crate::runner::{Runner, Stop, Stops};
use crate::tool::BoxFuture;
use crate::toolset::ToolSet;

/// Receives text deltas as they arrive (to show them in a UI).
#[derive(Clone)]
pub struct TextSink(Arc<dyn Fn(&str) + Send + Sync>);

impl TextSink {
    /// A sink calling `f` with each delta.
    pub fn new(f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        TextSink(Arc::new(f))
    }

    pub(crate) fn send(&self, text: &str) {
        (self.0)(text);
    }
}

impl std::fmt::Debug for TextSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TextSink")
    }
}

/// A streamed reply and the results of its calls.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamedTurn {
    /// The assembled reply.
    pub response: ChatResponse,
    /// One result per call, in call order; offsets from the stream's start.
    pub batch: Batch,
    /// When the stream ended, from its start.
    pub message_end: Duration,
    /// The error that broke the stream, if one did. Calls it cut short got an
    /// error result.
    pub error: Option<ModelError>,
}

/// A streamed reply about to be consumed and dispatched; `.await` it.
#[must_use = "a dispatch does nothing until awaited"]
pub struct StreamDispatch<'a> {
    tools: &'a ToolSet,
    events: EventStream<'a>,
    options: DispatchOptions,
    eager: bool,
    text: Option<TextSink>,
    cancel: Option<BoxFuture<'a, ()>>,
    approval: Option<&'a dyn Approval>,
    watch: Option<Emitter>,
}

impl ToolSet {
    /// Consume a streamed reply, starting each tool call as soon as its
    /// arguments are complete.
    pub fn dispatch_stream<'a>(&'a self, events: EventStream<'a>) -> StreamDispatch<'a> {
        StreamDispatch {
            tools: self,
            events,
            options: DispatchOptions::default(),
            eager: true,
            text: None,
            cancel: None,
            approval: None,
            watch: None,
        }
    }
}

impl<'a> StreamDispatch<'a> {
    /// Use these options (cap, timeouts, exclusive tools are honoured).
    pub fn options(mut self, options: DispatchOptions) -> Self {
        self.options = options;
        self
    }

    /// Start calls as they complete (the default), or only after the whole message.
    pub fn eager(mut self, eager: bool) -> Self {
        self.eager = eager;
        self
    }

    /// Receive text deltas as they arrive.
    pub fn on_text(mut self, sink: TextSink) -> Self {
        self.text = Some(sink);
        self
    }

    /// Stop when `signal` completes: unfinished calls get a `Cancelled` result.
    pub fn cancel_on(mut self, signal: impl Future<Output = ()> + Send + 'a) -> Self {
        self.cancel = Some(Box::pin(signal));
        self
    }

    /// Consult `policy` before each call (see [`Dispatch::approval`](crate::Dispatch::approval)).
    pub fn approval(mut self, policy: &'a dyn Approval) -> Self {
        self.approval = Some(policy);
        self
    }

    /// Tell each call's start and result to a run's events.
    pub(crate) fn events(mut self, events: Option<Emitter>) -> Self {
        self.watch = events;
        self
    }

    /// Consume the stream and run the calls.
    pub async fn run(self) -> StreamedTurn {
        let StreamDispatch {
            tools,
            mut events,
            options,
            eager,
            text,
            cancel,
            approval,
            watch,
        } = self;
        let mut stops = Stops::new(&options, cancel);
        let mut runner = Runner::new(tools, options, Cow::Owned(Vec::new()))
            .approval(approval)
            .events(watch);
        stops.start(runner.start);
        let mut assembler = CallAssembler::new();
        let mut message_end = None;
        let mut error = None;
        loop {
            if eager || message_end.is_some() {
                for call in assembler.take_ready() {
                    runner.push(call);
                }
                poll_fn(|cx| {
                    runner.fill(cx);
                    Poll::Ready(())
                })
                .await;
            }
            if message_end.is_some() && runner.is_idle() {
                break;
            }
            let streaming = message_end.is_none();
            // Calls first: one that finishes at the batch deadline made it.
            let step = poll_fn(|cx| {
                if let Poll::Ready(true) = runner.poll_finished(cx) {
                    return Poll::Ready(Step::Finished);
                }
                if let Poll::Ready(stop) = stops.poll(cx) {
                    return Poll::Ready(Step::Stop(stop));
                }
                if streaming && let Poll::Ready(item) = events.poll_next_unpin(cx) {
                    return Poll::Ready(Step::Event(item));
                }
                Poll::Pending
            })
            .await;
            match step {
                Step::Finished => {}
                Step::Event(Some(Ok(event))) => {
                    if let (StreamEvent::Text(delta), Some(sink)) = (&event, &text) {
                        sink.send(delta);
                    }
                    assembler.push(event);
                    // A call that started at its closing brace, and whose
                    // text then went on, gets the error the whole text gives,
                    // however the text was split.
                    for (index, call) in assembler.take_spoiled() {
                        let error = serde_json::from_str::<serde::de::IgnoredAny>(&call.arguments)
                            .err()
                            .map_or_else(
                                || "text after the arguments".to_owned(),
                                |e| e.to_string(),
                            );
                        let content = format!("invalid arguments for `{}`: {error}", call.name);
                        runner.withdraw(index, call, Outcome::InvalidArguments, content);
                    }
                }
                Step::Event(Some(Err(broken))) => {
                    message_end = Some(runner.start.elapsed());
                    refuse_incomplete(&mut assembler, &mut runner, &broken);
                    error = Some(broken);
                }
                Step::Event(None) => {
                    message_end = Some(runner.start.elapsed());
                    // Complete or not, every call runs now; invalid arguments
                    // get the parser's message as their result.
                    for call in assembler.take_rest() {
                        runner.push(call);
                    }
                }
                Step::Stop(stop) => {
                    let end = *message_end.get_or_insert_with(|| runner.start.elapsed());
                    for call in assembler.take_rest() {
                        runner.push(call);
                    }
                    let batch = runner.stop(stop);
                    return StreamedTurn {
                        response: assembler.into_response(),
                        batch,
                        message_end: end,
                        error,
                    };
                }
            }
        }
        StreamedTurn {
            response: assembler.into_response(),
            batch: runner.finish(),
            message_end: message_end.unwrap_or_default(),
            error,
        }
    }
}

impl<'a> IntoFuture for StreamDispatch<'a> {
    type Output = StreamedTurn;
    type IntoFuture = BoxFuture<'a, StreamedTurn>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

enum Step {
    Event(Option<Result<StreamEvent, ModelError>>),
    Finished,
    Stop(Stop),
}

/// After the stream broke: complete calls still run, the others get an error
/// result that says why, so nothing is silently dropped.
fn refuse_incomplete(assembler: &mut CallAssembler, runner: &mut Runner<'_>, error: &ModelError) {
    let first = runner.len();
    let rest: Vec<ToolCall> = assembler.take_rest();
    for (offset, call) in rest.into_iter().enumerate() {
        if assembler.is_complete(first + offset) {
            runner.push(call);
        } else {
            let content =
                format!("the stream broke before this call's arguments were complete: {error}");
            runner.push_refused(call, Outcome::InvalidArguments, content);
        }
    }
}
