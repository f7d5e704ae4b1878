//! The agent loop: model, tool calls, dispatch, tool messages, model... until
//! a final answer or the round limit.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tracing::Instrument;

use crate::approval::{Approval, Decision};
use crate::call::{Outcome, ToolCall};
use crate::content::Content;
use crate::dispatch::{Batch, DispatchOptions};
use crate::message::{ChatRequest, Message, ToolChoice, Usage};
use crate::model::{Model, ModelError};
use crate::resume::{self, ResumeError};
use crate::run::{
    Budget, Emitter, Gate, Limits, RunCancel, RunEvent, RunStream, Spent, stop_answer,
};
use crate::settings::Settings;
use crate::stream::TextSink;
use crate::telemetry::spans;
use crate::toolset::ToolSet;
use crate::typed_output::RunShape;

/// Whether the agent streams the model's replies, and when calls start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Streaming {
    /// Whole replies; calls start when the reply is in (the default).
    #[default]
    Off,
    /// Streamed replies; calls start after the whole message.
    AfterMessage,
    /// Streamed replies; each call starts as soon as its arguments are complete.
    Eager,
}

/// The default limit on model rounds in one run.
const DEFAULT_MAX_ROUNDS: usize = 8;

/// Runs a model with a tool set until it answers: model, tool calls (all
/// of a message's calls at once), tool results, model... up to a round limit.
///
/// ```
/// use toolcall_runtime::{Agent, BoxFuture, ChatRequest, ChatResponse, Message, Model, ModelError, ToolSet};
///
/// /// A model that answers at once (use `OpenAiModel` or the simulator).
/// struct Canned;
///
/// impl Model for Canned {
///     fn complete<'a>(&'a self, _: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse, ModelError>> {
///         Box::pin(async { Ok(ChatResponse::text("42")) })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let agent = Agent::new(Canned, ToolSet::builder().build()?)
///     .system("Answer briefly.")
///     .max_rounds(4);
/// let run = agent.run("The answer?").await?;
/// assert_eq!(run.answer, "42");
/// assert_eq!(run.rounds.len(), 1);
/// assert!(matches!(run.transcript.last(), Some(Message::Assistant { .. })));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Agent<M> {
    model: M,
    tools: ToolSet,
    model_name: String,
    system: Option<String>,
    max_rounds: usize,
    tool_choice: Option<ToolChoice>,
    parallel_tool_calls: Option<bool>,
    dispatch: DispatchOptions,
    streaming: Streaming,
    text: Option<TextSink>,
    approval: Option<Hook>,
    limits: Limits,
    cancel: Option<RunCancel>,
    settings: Settings,
    /// `gen_ai.agent.name` on the run's span.
    name: Option<String>,
}

/// The approval policy, shared by clones of the agent.
#[derive(Clone)]
struct Hook(Arc<dyn Approval>);

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Approval")
    }
}

/// One round: a model request and, if it asked for tools, their batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Round {
    /// How long the model took.
    pub model_time: Duration,
    /// The calls the model asked for.
    pub tool_calls: Vec<ToolCall>,
    /// Their results and timing, when there were calls. When streaming, the
    /// calls' offsets count from the start of the model's reply.
    pub batch: Option<Batch>,
    /// The whole round; less than model time plus tool time when eager
    /// streaming overlapped them.
    pub elapsed: Duration,
}

/// A finished run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AgentRun {
    /// The model's final answer.
    pub answer: String,
    /// Every message, from the system prompt to the answer.
    pub transcript: Vec<Message>,
    /// One entry per model request.
    pub rounds: Vec<Round>,
    /// Tokens used over all rounds.
    pub usage: Usage,
    /// Wall time (or virtual time under a paused clock) of the whole run.
    pub elapsed: Duration,
}

/// Why a run stopped without an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AgentErrorKind {
    /// The model failed.
    Model(ModelError),
    /// The model was still calling tools after the round limit.
    RoundLimit(usize),
    /// The approval policy deferred calls: the run waits for decisions,
    /// and resumes from this state with [`Agent::resume`].
    Suspended(Box<Suspended>),
    /// [`Agent::resume`] refused the state or the decisions, or the state
    /// was resumed already; nothing ran, and the state is given back as it
    /// came.
    Resume(Box<ResumeError>),
    /// The run was cancelled from outside ([`RunCancel`]); every call of
    /// the transcript's last assistant message has a result.
    Cancelled,
    /// The run used more tokens than [`Agent::max_total_tokens`] allows.
    TokenBudget {
        /// The budget.
        limit: u64,
        /// The tokens used.
        used: u64,
    },
    /// The model asked for more calls than [`Agent::max_tool_calls`]
    /// allows; those over it were denied without running.
    ToolCallBudget(usize),
    /// The model made more invalid calls (unknown tool, invalid arguments)
    /// than [`Agent::max_invalid_calls`] or
    /// [`Agent::max_invalid_calls_per_tool`] allow.
    InvalidCalls {
        /// The tool over its own budget; `None` for the run's.
        tool: Option<String>,
        /// The budget.
        limit: usize,
    },
}

/// An agent run stopped because its approval policy deferred calls: the
/// conversation so far and the last batch, whose deferred calls have not
/// run and whose other calls have. Serialise it (serde), decide, and
/// resume it with [`Agent::resume`], in this process or another.
///
/// A state is resumed at most once in a process (by its `id`); across
/// processes, keep one copy and claim it before resuming it (see
/// [`Agent::resume`]). A stored state is trusted as it is: protect it like
/// a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Suspended {
    /// This suspension's identity: 128 random bits in hex, new for every
    /// state a run or a resume stops with. The process remembers the ids
    /// it resumed, and the same id is not resumed twice.
    pub id: String,
    /// The messages up to the assistant message whose calls wait.
    pub transcript: Vec<Message>,
    /// The rounds so far; the last one's batch has a
    /// [`Outcome::Deferred`] result for each call that waits.
    pub rounds: Vec<Round>,
    /// Tokens used so far.
    pub usage: Usage,
    /// The W3C `traceparent` of the run that stopped, when a trace exporter
    /// gave it one: the resumed run's `invoke_agent` span links to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_parent: Option<String>,
}

impl Suspended {
    /// The calls that wait for a decision, in call order.
    pub fn pending(&self) -> Vec<&ToolCall> {
        let Some(Round {
            tool_calls,
            batch: Some(batch),
            ..
        }) = self.rounds.last()
        else {
            return Vec::new();
        };
        tool_calls
            .iter()
            .zip(&batch.results)
            .filter(|(_, r)| r.outcome == Outcome::Deferred)
            .map(|(call, _)| call)
            .collect()
    }
}

/// A run that stopped without an answer, with everything that happened before.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AgentError {
    /// Why it stopped.
    pub kind: AgentErrorKind,
    /// The messages up to the failure.
    pub transcript: Vec<Message>,
    /// The rounds completed.
    pub rounds: Vec<Round>,
}

impl std::fmt::Display for AgentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            AgentErrorKind::Model(e) => write!(
                f,
                "the model failed in round {}: {e}",
                self.rounds.len() + 1
            ),
            AgentErrorKind::RoundLimit(n) => write!(f, "no final answer after {n} rounds"),
            AgentErrorKind::Suspended(state) => {
                let ids: Vec<&str> = state.pending().iter().map(|c| c.id.as_str()).collect();
                write!(f, "the run waits for decisions on calls {}", ids.join(", "))
            }
            AgentErrorKind::Resume(error) => write!(f, "cannot resume: {error}"),
            AgentErrorKind::Cancelled => f.write_str("the run was cancelled"),
            AgentErrorKind::TokenBudget { limit, used } => {
                write!(f, "the run used {used} tokens, over its budget of {limit}")
            }
            AgentErrorKind::ToolCallBudget(limit) => {
                write!(
                    f,
                    "the model asked for more than the run's {limit} tool calls"
                )
            }
            AgentErrorKind::InvalidCalls {
                tool: Some(tool),
                limit,
            } => write!(
                f,
                "the model made more than {limit} invalid calls of `{tool}`"
            ),
            AgentErrorKind::InvalidCalls { tool: None, limit } => {
                write!(f, "the model made more than {limit} invalid calls")
            }
        }
    }
}

impl std::error::Error for AgentError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            AgentErrorKind::Model(e) => Some(e),
            AgentErrorKind::Resume(e) => Some(e),
            _ => None,
        }
    }
}

impl<M: Model> Agent<M> {
    /// An agent over this model and these tools.
    pub fn new(model: M, tools: ToolSet) -> Self {
        Agent {
            model,
            tools,
            model_name: "gpt-4o-mini".to_owned(),
            system: None,
            max_rounds: DEFAULT_MAX_ROUNDS,
            tool_choice: None,
            parallel_tool_calls: None,
            dispatch: DispatchOptions::default(),
            streaming: Streaming::Off,
            text: None,
            approval: None,
            limits: Limits::default(),
            cancel: None,
            settings: Settings::default(),
            name: None,
        }
    }

    /// End the run when a call of `tool` succeeds: its result's text is
    /// the answer, and the model is not asked again. The other calls of
    /// its message still run and get their results, so the transcript
    /// stays one the API accepts. Give it more than once for more tools.
    pub fn stop_after_tool(mut self, tool: impl Into<String>) -> Self {
        self.limits.stop_after.push(tool.into());
        self
    }

    /// End the run with [`AgentErrorKind::TokenBudget`] once its replies
    /// have used more than `tokens` in all (checked after each round).
    pub fn max_total_tokens(mut self, tokens: u64) -> Self {
        self.limits.max_tokens = Some(tokens);
        self
    }

    /// Run at most `calls` tool calls in one run: a call over the budget is
    /// denied without running, and the run ends after its round with
    /// [`AgentErrorKind::ToolCallBudget`].
    pub fn max_tool_calls(mut self, calls: usize) -> Self {
        self.limits.max_tool_calls = Some(calls);
        self
    }

    /// Let the model retry invalid calls (unknown tool, invalid arguments:
    /// it reads why and tries again) at most `retries` times in one run;
    /// one more ends the run with [`AgentErrorKind::InvalidCalls`].
    pub fn max_invalid_calls(mut self, retries: usize) -> Self {
        self.limits.max_invalid = Some(retries);
        self
    }

    /// As [`Agent::max_invalid_calls`], counted for each tool on its own.
    pub fn max_invalid_calls_per_tool(mut self, retries: usize) -> Self {
        self.limits.max_invalid_per_tool = Some(retries);
        self
    }

    /// Cancel this agent's runs with `handle` (see [`RunCancel`]); each
    /// [`RunStream`] also has its own, [`RunStream::cancel_handle`].
    pub fn cancel_with(mut self, handle: RunCancel) -> Self {
        self.cancel = Some(handle);
        self
    }

    /// Generation settings for every request (see [`Settings`]); a run
    /// may override them ([`Agent::run_with`]).
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// The agent's generation settings.
    pub fn generation_settings(&self) -> &Settings {
        &self.settings
    }

    /// Consult `policy` before each tool call (see [`Approval`]). A deferred
    /// call ends the run with [`AgentErrorKind::Suspended`] once the other
    /// calls of its batch have run; [`Agent::resume`] goes on from there.
    pub fn approval(mut self, policy: impl Approval + 'static) -> Self {
        self.approval = Some(Hook(Arc::new(policy)));
        self
    }

    /// Stream the model's replies, and choose when calls start.
    pub fn streaming(mut self, mode: Streaming) -> Self {
        self.streaming = mode;
        self
    }

    /// Receive the reply's text as it arrives: a reader of the run's
    /// [`RunEvent::TextDelta`]s, called by [`Agent::run`],
    /// [`Agent::run_messages`] and [`Agent::resume`] (with a
    /// [`Agent::run_stream`], read the events yourself).
    pub fn on_text(mut self, sink: TextSink) -> Self {
        self.text = Some(sink);
        self
    }

    /// The model name sent in requests.
    pub fn model_name(mut self, name: impl Into<String>) -> Self {
        self.model_name = name.into();
        self
    }

    /// The agent's name: its runs' spans are `invoke_agent {name}` with
    /// `gen_ai.agent.name` (see [`telemetry`](crate::telemetry)).
    pub fn agent_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The system prompt.
    pub fn system(mut self, prompt: impl Into<String>) -> Self {
        self.system = Some(prompt.into());
        self
    }

    /// The most model requests in one run (default 8).
    pub fn max_rounds(mut self, rounds: usize) -> Self {
        self.max_rounds = rounds;
        self
    }

    /// `tool_choice` for every request.
    pub fn tool_choice(mut self, choice: ToolChoice) -> Self {
        self.tool_choice = Some(choice);
        self
    }

    /// `parallel_tool_calls` for every request.
    pub fn parallel_tool_calls(mut self, yes: bool) -> Self {
        self.parallel_tool_calls = Some(yes);
        self
    }

    /// How each round's calls are dispatched.
    pub fn dispatch_options(mut self, options: DispatchOptions) -> Self {
        self.dispatch = options;
        self
    }

    /// The tools.
    pub fn tools(&self) -> &ToolSet {
        &self.tools
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// Run from one user message: [`Agent::run_stream`] followed to its end.
    /// Text, or [`Content`](crate::Content) with images and documents:
    /// `agent.run(Content::new().text("what is this?").image_url(url))`.
    pub async fn run(&self, user: impl Into<Content>) -> Result<AgentRun, AgentError> {
        self.run_stream(user).finish(|e| self.read(e)).await
    }

    /// Run from a conversation: [`Agent::run_messages_stream`] followed to its end.
    pub async fn run_messages(&self, messages: Vec<Message>) -> Result<AgentRun, AgentError> {
        self.run_messages_stream(messages)
            .finish(|e| self.read(e))
            .await
    }

    /// Run from one user message, as a stream of the run's events (see
    /// [`RunEvent`]) that ends with [`RunEvent::End`]. Dropping the stream
    /// cancels the run and the calls still running.
    pub fn run_stream(&self, user: impl Into<Content>) -> RunStream<'_> {
        self.run_messages_stream(self.opening(Message::user(user)))
    }

    /// Run from a conversation, as a stream of the run's events.
    pub fn run_messages_stream(&self, messages: Vec<Message>) -> RunStream<'_> {
        self.shaped_stream(messages, RunShape::default())
    }

    /// A run whose requests are shaped by a typed output (or a settings
    /// override), as a stream of its events.
    pub(crate) fn shaped_stream(&self, messages: Vec<Message>, shape: RunShape) -> RunStream<'_> {
        self.watched(None, move |events, cancel| {
            Box::pin(async move {
                let mut request = self.request(messages);
                shape.apply(&mut request);
                let run = Progress {
                    start: Instant::now(),
                    request,
                    rounds: Vec::new(),
                    usage: Usage::default(),
                    final_tool: shape.final_tool,
                };
                self.drive(run, &events, &cancel).await
            })
        })
    }

    /// Go on with a suspended run (see [`Agent::resume`]), as a stream of
    /// its events: the resumed calls' start and result come first.
    pub fn resume_stream(
        &self,
        state: Suspended,
        decisions: impl IntoIterator<Item = (impl Into<String>, Decision)>,
    ) -> RunStream<'_> {
        let decisions: Vec<(String, Decision)> = decisions
            .into_iter()
            .map(|(id, decision)| (id.into(), decision))
            .collect();
        let resumed_from = (state.id.clone(), state.trace_parent.clone());
        self.watched(Some(&resumed_from), move |events, cancel| {
            Box::pin(async move { self.resumed(state, decisions, &events, &cancel).await })
        })
    }

    /// A run as a stream: `run` made with the stream's events and cancel
    /// handle, inside the run's `invoke_agent` span (a resumed run's names
    /// the state it continues, by id, and links to the span that stopped).
    fn watched<'a>(
        &'a self,
        resumed_from: Option<&(String, Option<String>)>,
        run: impl FnOnce(Emitter, RunCancel) -> crate::tool::BoxFuture<'a, Result<AgentRun, AgentError>>,
    ) -> RunStream<'a> {
        let events = Emitter::default();
        let cancel = self.cancel.clone().unwrap_or_default();
        let run = run(events.clone(), cancel.clone());
        let span = spans::agent(
            self.name.as_deref(),
            &self.model.endpoint(),
            &self.model_name,
            resumed_from.map(|(id, _)| id.as_str()),
        );
        if let Some((_, Some(traceparent))) = resumed_from {
            crate::telemetry::link(&span, traceparent);
        }
        let run = if span.is_disabled() {
            run
        } else {
            let inner = span.clone();
            Box::pin(
                async move {
                    let result = run.await;
                    spans::agent_done(&inner, &result);
                    result
                }
                .instrument(span),
            )
        };
        RunStream::new(run, events, cancel)
    }

    /// What the agent's own readers take from a run's events.
    fn read(&self, event: &RunEvent) {
        if let (RunEvent::TextDelta { text, .. }, Some(sink)) = (event, &self.text) {
            sink.send(text);
        }
    }

    /// Run from a conversation with these settings over the agent's own
    /// (each one set here wins).
    pub async fn run_with(
        &self,
        messages: Vec<Message>,
        settings: &Settings,
    ) -> Result<AgentRun, AgentError> {
        let shape = RunShape {
            settings: Some(settings.clone()),
            ..RunShape::default()
        };
        self.run_shaped(messages, &shape).await
    }

    /// The conversation with the system prompt first, if there is one.
    pub(crate) fn opening(&self, user: Message) -> Vec<Message> {
        let mut messages = Vec::with_capacity(4);
        if let Some(system) = &self.system {
            messages.push(Message::system(system.clone()));
        }
        messages.push(user);
        messages
    }

    /// A run whose requests are shaped by a typed output (or a settings
    /// override), followed to its end.
    pub(crate) async fn run_shaped(
        &self,
        messages: Vec<Message>,
        shape: &RunShape,
    ) -> Result<AgentRun, AgentError> {
        self.shaped_stream(messages, shape.clone())
            .finish(|e| self.read(e))
            .await
    }

    /// Go on with a suspended run: the deferred calls of its last batch get
    /// these decisions (by call id), those approved or rewritten run now,
    /// and the run continues as if the batch had finished. A call left
    /// without a decision (or deferred again) keeps the run suspended, with
    /// the calls decided so far kept in the new state (which has a new id).
    ///
    /// The state and the decisions are checked whole before anything runs
    /// (see [`ResumeErrorKind`](crate::ResumeErrorKind)): a refusal runs
    /// nothing and gives the state back untouched in
    /// [`AgentErrorKind::Resume`]. Two decisions for one call, or one for a
    /// call that does not wait, are refused. In one process a state is
    /// resumed at most once: resuming it again (a clone, or a copy read
    /// from the same saved text) runs nothing and is refused with
    /// [`ResumeErrorKind::AlreadyResumed`](crate::ResumeErrorKind::AlreadyResumed).
    /// Two processes resuming copies of one saved state both run its calls:
    /// claim the stored copy atomically before resuming it. A stored state
    /// is trusted as it is (it names the tools to run and their arguments):
    /// protect it like a credential.
    pub async fn resume(
        &self,
        state: Suspended,
        decisions: impl IntoIterator<Item = (impl Into<String>, Decision)>,
    ) -> Result<AgentRun, AgentError> {
        self.resume_stream(state, decisions)
            .finish(|e| self.read(e))
            .await
    }

    /// The work of [`Agent::resume`], telling `events`.
    async fn resumed(
        &self,
        state: Suspended,
        decisions: Vec<(String, Decision)>,
        events: &Emitter,
        cancel: &RunCancel,
    ) -> Result<AgentRun, AgentError> {
        let start = Instant::now();
        let watch = events.for_round(state.rounds.len().saturating_sub(1));
        let ready = resume::prepare(state, decisions).map_err(|error| AgentError {
            transcript: error.state.transcript.clone(),
            rounds: error.state.rounds.clone(),
            kind: AgentErrorKind::Resume(Box::new(error)),
        })?;
        let state = ready
            .run(&self.tools, self.dispatch.clone(), &watch, cancel)
            .await;
        if !state.pending().is_empty() && !cancel.is_cancelled() {
            return Err(suspend(state.transcript, state.rounds, state.usage));
        }
        let Suspended {
            transcript,
            rounds,
            usage,
            ..
        } = state;
        let mut request = self.request(transcript);
        if let Some(batch) = rounds.last().and_then(|r| r.batch.as_ref()) {
            request
                .messages
                .extend(batch.results.iter().map(Message::tool));
        }
        if cancel.is_cancelled() {
            return Err(cancelled(request.messages, rounds));
        }
        self.drive(
            Progress {
                start,
                request,
                rounds,
                usage,
                final_tool: None,
            },
            events,
            cancel,
        )
        .await
    }

    /// The request for a conversation, with this agent's tools and settings.
    fn request(&self, messages: Vec<Message>) -> ChatRequest {
        let mut request = ChatRequest {
            model: self.model_name.clone(),
            messages,
            tools: self.tools.definitions().to_vec(),
            tool_choice: self.tool_choice.clone(),
            parallel_tool_calls: self.parallel_tool_calls,
            settings: self.settings.clone(),
            output: None,
        };
        if request.tools.is_empty() {
            request.tool_choice = None;
            request.parallel_tool_calls = None;
        }
        request
    }

    /// The `chat` span of one request, when someone listens.
    fn chat_span(&self, request: &ChatRequest) -> tracing::Span {
        if !tracing::level_enabled!(tracing::Level::INFO) {
            return tracing::Span::none();
        }
        let stream = self.streaming != Streaming::Off;
        spans::chat(&self.model.endpoint(), request, stream)
    }

    /// The loop: model, calls, results... from where `run` stands, telling
    /// `events` as it goes and stopping when `cancel` says so.
    async fn drive(
        &self,
        run: Progress,
        events: &Emitter,
        cancel: &RunCancel,
    ) -> Result<AgentRun, AgentError> {
        let Progress {
            start,
            mut request,
            mut rounds,
            mut usage,
            final_tool,
        } = run;
        let mut budget = Budget::default();
        while rounds.len() < self.max_rounds {
            if cancel.is_cancelled() {
                return Err(cancelled(request.messages, rounds));
            }
            let round = rounds.len();
            let watch = events.for_round(round);
            events.emit(RunEvent::ModelRequest { round });
            // The agent's policy, then the tool-call budget.
            let gate = Gate {
                policy: self.approval.as_ref().map(|hook| &*hook.0),
                limits: &self.limits,
                budget: &budget,
            };
            let approval: Option<&dyn Approval> =
                (gate.policy.is_some() || self.limits.max_tool_calls.is_some()).then_some(&gate);
            let asked = Instant::now();
            let chat = self.chat_span(&request);
            let (response, batch, model_time, broken) = if self.streaming == Streaming::Off {
                let reply = {
                    let reply =
                        std::pin::pin!(self.model.complete(&request).instrument(chat.clone()));
                    let stop = std::pin::pin!(cancel.cancelled());
                    match futures_util::future::select(reply, stop).await {
                        futures_util::future::Either::Left((reply, _)) => Some(reply),
                        futures_util::future::Either::Right(((), _)) => None,
                    }
                };
                let Some(reply) = reply else {
                    return Err(cancelled(request.messages, rounds));
                };
                match &reply {
                    Ok(response) => spans::chat_response(&chat, response),
                    Err(error) => spans::chat_error(&chat, error),
                }
                // The request's span ends here: the calls are its siblings.
                drop(chat);
                match reply {
                    Ok(response) => {
                        let model_time = asked.elapsed();
                        if let Some(text) = response.content.as_ref().filter(|t| !t.is_empty()) {
                            events.emit(RunEvent::TextDelta {
                                round,
                                text: text.clone(),
                            });
                        }
                        // A typed output's final-answer call ends the run
                        // before any dispatch: its arguments are the answer.
                        let answered = final_call(&response, final_tool.as_deref()).is_some();
                        let batch = if response.tool_calls.is_empty() || answered {
                            None
                        } else {
                            let mut dispatch = self
                                .tools
                                .dispatch(&response.tool_calls)
                                .options(self.dispatch.clone())
                                .events(Some(watch))
                                .cancel_on(cancel.cancelled());
                            if let Some(policy) = approval {
                                dispatch = dispatch.approval(policy);
                            }
                            Some(dispatch.await)
                        };
                        (response, batch, model_time, None)
                    }
                    Err(error) => {
                        return Err(AgentError {
                            kind: AgentErrorKind::Model(error),
                            transcript: request.messages,
                            rounds,
                        });
                    }
                }
            } else {
                let text = events.clone();
                let mut dispatch = self
                    .tools
                    .dispatch_stream(spans::chat_stream(self.model.stream(&request), chat))
                    .options(self.dispatch.clone())
                    .eager(self.streaming == Streaming::Eager)
                    .on_text(TextSink::new(move |delta| {
                        text.emit(RunEvent::TextDelta {
                            round,
                            text: delta.to_owned(),
                        });
                    }))
                    .events(Some(watch))
                    .cancel_on(cancel.cancelled());
                if let Some(policy) = approval {
                    dispatch = dispatch.approval(policy);
                }
                let turn = dispatch.await;
                let batch = (!turn.response.tool_calls.is_empty()).then_some(turn.batch);
                (turn.response, batch, turn.message_end, turn.error)
            };
            let final_answer =
                final_call(&response, final_tool.as_deref()).filter(|_| broken.is_none());
            let batch = batch.filter(|_| final_answer.is_none());
            if let Some(u) = response.usage {
                usage += u;
                events.emit(RunEvent::Usage { round, usage: u });
            }
            let stopped = cancel.is_cancelled();
            // A reply cut off before anything came adds no message.
            let empty = response.content.is_none() && response.tool_calls.is_empty();
            if !((broken.is_some() || stopped) && empty) {
                request.messages.push(response.to_message());
            }
            let deferred = batch
                .as_ref()
                .is_some_and(|b| b.results.iter().any(|r| r.outcome == Outcome::Deferred));
            // A cancelled run answers every call, deferred ones too, so the
            // transcript is one the API accepts.
            if let (Some(batch), false) = (&batch, deferred && !stopped) {
                request
                    .messages
                    .extend(batch.results.iter().map(Message::tool));
            }
            let round_info = Round {
                model_time,
                tool_calls: response.tool_calls,
                batch,
                elapsed: asked.elapsed(),
            };
            if stopped {
                rounds.push(round_info);
                return Err(cancelled(request.messages, rounds));
            }
            if let Some(error) = broken {
                return Err(AgentError {
                    kind: AgentErrorKind::Model(error),
                    transcript: request.messages,
                    rounds,
                });
            }
            let results = round_info
                .batch
                .as_ref()
                .map_or(&[][..], |b| &b.results[..]);
            let answer = if deferred {
                None
            } else {
                stop_answer(&self.limits, results)
            };
            let spent = budget.check(&self.limits, usage, results);
            let done = round_info.batch.is_none();
            events.emit(RunEvent::RoundFinished {
                round,
                info: Box::new(round_info.clone()),
            });
            rounds.push(round_info);
            if deferred {
                return Err(suspend(request.messages, rounds, usage));
            }
            if let Some(spent) = spent {
                let kind = match spent {
                    Spent::Tokens { limit, used } => AgentErrorKind::TokenBudget { limit, used },
                    Spent::ToolCalls { limit } => AgentErrorKind::ToolCallBudget(limit),
                    Spent::InvalidCalls { tool, limit } => {
                        AgentErrorKind::InvalidCalls { tool, limit }
                    }
                };
                return Err(AgentError {
                    kind,
                    transcript: request.messages,
                    rounds,
                });
            }
            if done || answer.is_some() {
                return Ok(AgentRun {
                    answer: answer
                        .or(final_answer)
                        .unwrap_or_else(|| response.content.unwrap_or_default()),
                    transcript: request.messages,
                    rounds,
                    usage,
                    elapsed: start.elapsed(),
                });
            }
        }
        Err(AgentError {
            kind: AgentErrorKind::RoundLimit(self.max_rounds),
            transcript: request.messages,
            rounds,
        })
    }
}

/// The error of a run cancelled from outside.
fn cancelled(transcript: Vec<Message>, rounds: Vec<Round>) -> AgentError {
    AgentError {
        kind: AgentErrorKind::Cancelled,
        transcript,
        rounds,
    }
}

/// A run in progress.
struct Progress {
    start: Instant,
    request: ChatRequest,
    rounds: Vec<Round>,
    usage: Usage,
    /// The tool whose call is the final answer (typed output, tool mode).
    final_tool: Option<String>,
}

/// The arguments of a call to the final-answer tool, if the reply makes one.
fn final_call(response: &crate::message::ChatResponse, tool: Option<&str>) -> Option<String> {
    let tool = tool?;
    response
        .tool_calls
        .iter()
        .find(|c| c.name == tool)
        .map(|c| c.arguments.clone())
}

/// The error that stops a run whose last batch has deferred calls; the
/// transcript ends with the assistant message that asked for them.
fn suspend(transcript: Vec<Message>, rounds: Vec<Round>, usage: Usage) -> AgentError {
    let state = Suspended {
        id: resume::new_id(),
        transcript: transcript.clone(),
        rounds: rounds.clone(),
        usage,
        // Inside the run's `invoke_agent` span.
        trace_parent: crate::telemetry::current_traceparent(),
    };
    AgentError {
        kind: AgentErrorKind::Suspended(Box::new(state)),
        transcript,
        rounds,
    }
}
