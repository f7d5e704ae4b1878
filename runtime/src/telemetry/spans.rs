//! The GenAI spans themselves: made here, recorded here, so the run loop and
//! the dispatcher each add one line per span.
//!
//! Each field name is the attribute name of the conventions
//! (`docs/gen-ai/gen-ai-spans.md`, `gen-ai-agent-spans.md`, see the module
//! above); `toolcall.*` fields are this crate's own. Fields are declared
//! `Empty` at creation and recorded when known: `tracing` drops a record
//! for a field a span did not declare.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_util::Stream;
use tracing::Span;
use tracing::field::Empty;

use super::{ModelEndpoint, TARGET, capture_content, content};
use crate::agent::{AgentError, AgentErrorKind, AgentRun};
use crate::call::{CallResult, Outcome, ToolCall};
use crate::message::{ChatRequest, ChatResponse, FinishReason, Usage};
use crate::model::{EventStream, ModelError, StreamEvent};

/// `{operation} {name}`, or the operation alone when there is no name: the
/// span names of the conventions, written only when a span is recorded.
struct Named<'a>(&'static str, Option<&'a str>);

impl fmt::Display for Named<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(name) if !name.is_empty() => write!(f, "{} {name}", self.0),
            _ => f.write_str(self.0),
        }
    }
}

/// No subscriber wants an `INFO` span: make none. A span the subscriber
/// disables would still cost `tracing`'s `log` fallback (a dependency such
/// as sqlx turns it on) a check at each creation, entry, exit and drop.
fn off() -> bool {
    !tracing::level_enabled!(tracing::Level::INFO)
}

/// The `invoke_agent` span of a run (kind INTERNAL: the agent runs in this
/// process). A resumed run names the suspended state it continues.
pub(crate) fn agent(
    name: Option<&str>,
    endpoint: &ModelEndpoint,
    model: &str,
    resumed_from: Option<&str>,
) -> Span {
    if off() {
        return Span::none();
    }
    tracing::info_span!(
        target: TARGET,
        "invoke_agent",
        "otel.name" = %Named("invoke_agent", name),
        "otel.kind" = "internal",
        "otel.status_code" = Empty,
        "gen_ai.operation.name" = "invoke_agent",
        "gen_ai.provider.name" = endpoint.provider,
        "gen_ai.agent.name" = name,
        "gen_ai.request.model" = model,
        "server.address" = endpoint.address.as_deref(),
        "server.port" = endpoint.port.map(i64::from),
        "gen_ai.usage.input_tokens" = Empty,
        "gen_ai.usage.output_tokens" = Empty,
        "gen_ai.usage.cache_read.input_tokens" = Empty,
        "gen_ai.usage.cache_creation.input_tokens" = Empty,
        "error.type" = Empty,
        "toolcall.rounds" = Empty,
        "toolcall.resumed_from" = resumed_from,
        "toolcall.suspended_id" = Empty,
    )
}

/// What a run ended with, on its span.
pub(crate) fn agent_done(span: &Span, result: &Result<AgentRun, AgentError>) {
    if span.is_disabled() {
        return;
    }
    match result {
        Ok(run) => {
            usage(span, run.usage);
            span.record("toolcall.rounds", run.rounds.len() as i64);
        }
        Err(error) => {
            span.record("toolcall.rounds", error.rounds.len() as i64);
            // A suspended run waits for decisions: not a failure.
            if let AgentErrorKind::Suspended(state) = &error.kind {
                usage(span, state.usage);
                span.record("toolcall.suspended_id", state.id.as_str());
                return;
            }
            span.record("error.type", agent_error_type(&error.kind));
            span.record("otel.status_code", "ERROR");
        }
    }
}

fn agent_error_type(kind: &AgentErrorKind) -> &'static str {
    match kind {
        AgentErrorKind::Model(error) => model_error_type(error),
        AgentErrorKind::RoundLimit(_) => "round_limit",
        AgentErrorKind::Cancelled => "cancelled",
        AgentErrorKind::Suspended(_) => "suspended",
        AgentErrorKind::Resume(_) => "resume_refused",
        AgentErrorKind::TokenBudget { .. } => "token_budget",
        AgentErrorKind::ToolCallBudget(_) => "tool_call_budget",
        AgentErrorKind::InvalidCalls { .. } => "invalid_calls",
    }
}

/// The `chat {model}` span of one model request (kind CLIENT), with the
/// settings that were sent.
pub(crate) fn chat(endpoint: &ModelEndpoint, request: &ChatRequest, stream: bool) -> Span {
    if off() {
        return Span::none();
    }
    let settings = &request.settings;
    let span = tracing::info_span!(
        target: TARGET,
        "chat",
        "otel.name" = %Named("chat", Some(request.model.as_str())),
        "otel.kind" = "client",
        "otel.status_code" = Empty,
        "gen_ai.operation.name" = "chat",
        "gen_ai.provider.name" = endpoint.provider,
        "gen_ai.request.model" = request.model.as_str(),
        "server.address" = endpoint.address.as_deref(),
        "server.port" = endpoint.port.map(i64::from),
        "gen_ai.request.stream" = stream,
        "gen_ai.request.temperature" = settings.temperature.map(f64::from),
        "gen_ai.request.top_p" = settings.top_p.map(f64::from),
        "gen_ai.request.max_tokens" = settings.max_tokens.map(i64::from),
        "gen_ai.request.seed" = settings.seed,
        "gen_ai.request.stop_sequences" = Empty,
        "gen_ai.output.type" = request.output.as_ref().map(|_| "json"),
        "gen_ai.response.id" = Empty,
        "gen_ai.response.model" = Empty,
        "gen_ai.response.finish_reasons" = Empty,
        "gen_ai.response.time_to_first_chunk" = Empty,
        "gen_ai.usage.input_tokens" = Empty,
        "gen_ai.usage.output_tokens" = Empty,
        "gen_ai.usage.cache_read.input_tokens" = Empty,
        "gen_ai.usage.cache_creation.input_tokens" = Empty,
        "error.type" = Empty,
        "gen_ai.system_instructions" = Empty,
        "gen_ai.input.messages" = Empty,
        "gen_ai.output.messages" = Empty,
        "gen_ai.tool.definitions" = Empty,
    );
    if span.is_disabled() {
        return span;
    }
    if !settings.stop.is_empty() {
        span.record(
            "gen_ai.request.stop_sequences",
            content::json(&settings.stop).as_str(),
        );
    }
    if capture_content() {
        let (system, input) = content::input(&request.messages);
        if let Some(system) = system {
            span.record("gen_ai.system_instructions", system.as_str());
        }
        span.record("gen_ai.input.messages", input.as_str());
        if !request.tools.is_empty() {
            span.record(
                "gen_ai.tool.definitions",
                content::tool_definitions(&request.tools).as_str(),
            );
        }
    }
    span
}

/// A whole reply, on its `chat` span.
pub(crate) fn chat_response(span: &Span, response: &ChatResponse) {
    if span.is_disabled() {
        return;
    }
    if let Some(reason) = response.finish_reason {
        finish_reason(span, reason);
    }
    if let Some(u) = response.usage {
        usage(span, u);
    }
    if capture_content() {
        let output = content::output(response.content.as_deref(), &response.tool_calls);
        span.record("gen_ai.output.messages", output.as_str());
    }
}

/// The reply's id and model, told by a provider while its request runs in
/// its `chat` span (the current span then; elsewhere nothing is recorded).
#[cfg_attr(not(feature = "openai"), allow(dead_code))]
pub(crate) fn response_meta(id: &str, model: &str) {
    let span = Span::current();
    if span.is_disabled() {
        return;
    }
    if !id.is_empty() {
        span.record("gen_ai.response.id", id);
    }
    if !model.is_empty() {
        span.record("gen_ai.response.model", model);
    }
}

/// A failed request, on its `chat` span.
pub(crate) fn chat_error(span: &Span, error: &ModelError) {
    if span.is_disabled() {
        return;
    }
    let status;
    let kind = match error {
        ModelError::Api { status: s, .. } => {
            status = s.to_string();
            status.as_str()
        }
        other => model_error_type(other),
    };
    span.record("error.type", kind);
    span.record("otel.status_code", "ERROR");
}

fn model_error_type(error: &ModelError) -> &'static str {
    match error {
        ModelError::Api { .. } => "api_error",
        ModelError::RateLimited { .. } => "429",
        ModelError::Timeout(_) => "timeout",
        ModelError::Transport { .. } => "transport",
        ModelError::InvalidResponse(_) => "invalid_response",
        ModelError::Config(_) => "config",
        ModelError::Unsupported { .. } => "unsupported",
    }
}

fn finish_reason(span: &Span, reason: FinishReason) {
    let name = match reason {
        FinishReason::Stop => "[\"stop\"]",
        FinishReason::ToolCalls => "[\"tool_calls\"]",
        FinishReason::Length => "[\"length\"]",
        FinishReason::ContentFilter => "[\"content_filter\"]",
    };
    span.record("gen_ai.response.finish_reasons", name);
}

fn usage(span: &Span, u: Usage) {
    // As i64: tracing-opentelemetry keeps an i64 an integer, a u64 not.
    span.record("gen_ai.usage.input_tokens", i64::from(u.prompt_tokens));
    span.record("gen_ai.usage.output_tokens", i64::from(u.completion_tokens));
    // A provider that reports no cache says 0: only a count is recorded.
    if u.cache_read_tokens > 0 {
        span.record(
            "gen_ai.usage.cache_read.input_tokens",
            i64::from(u.cache_read_tokens),
        );
    }
    if u.cache_creation_tokens > 0 {
        span.record(
            "gen_ai.usage.cache_creation.input_tokens",
            i64::from(u.cache_creation_tokens),
        );
    }
}

/// A model's streamed reply inside its `chat` span: each poll runs in the
/// span (so a provider records its response id and model on it), and the
/// span ends with the reply's last event, not when the dispatch that reads
/// it is done with its calls.
pub(crate) fn chat_stream<'a>(inner: EventStream<'a>, span: Span) -> EventStream<'a> {
    if span.is_disabled() {
        return inner;
    }
    Box::pin(InChat {
        inner,
        span: Some(span),
        asked: Instant::now(),
        first: true,
        output: capture_content().then(content::Assembly::default),
    })
}

struct InChat<'a> {
    inner: EventStream<'a>,
    span: Option<Span>,
    asked: Instant,
    first: bool,
    /// The reply as it streams, when content is captured.
    output: Option<content::Assembly>,
}

impl Stream for InChat<'_> {
    type Item = Result<StreamEvent, ModelError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(span) = this.span.as_ref() else {
            return this.inner.as_mut().poll_next(cx);
        };
        let polled = {
            let _entered = span.enter();
            this.inner.as_mut().poll_next(cx)
        };
        match &polled {
            Poll::Pending => {}
            Poll::Ready(Some(Ok(event))) => {
                if std::mem::take(&mut this.first) {
                    span.record(
                        "gen_ai.response.time_to_first_chunk",
                        this.asked.elapsed().as_secs_f64(),
                    );
                }
                match event {
                    StreamEvent::Finish(reason) => finish_reason(span, *reason),
                    StreamEvent::Usage(u) => usage(span, *u),
                    _ => {}
                }
                if let Some(output) = &mut this.output {
                    output.push(event);
                }
            }
            Poll::Ready(Some(Err(error))) => {
                chat_error(span, error);
                this.span = None;
            }
            Poll::Ready(None) => {
                if let Some(output) = this.output.take() {
                    span.record("gen_ai.output.messages", output.finish().as_str());
                }
                this.span = None;
            }
        }
        polled
    }
}

/// The `execute_tool {name}` span of one call (kind INTERNAL), made when
/// the call starts (or is answered without running); `None` when no
/// subscriber wants it, so a batch without telemetry moves and drops no
/// span per call. The tool's description is looked up only for a span.
pub(crate) fn tool<'d>(
    call: &ToolCall,
    description: impl FnOnce() -> Option<&'d str>,
) -> Option<Box<Span>> {
    if off() {
        return None;
    }
    let description = description();
    let span = tracing::info_span!(
        target: TARGET,
        "execute_tool",
        "otel.name" = %Named("execute_tool", Some(call.name.as_str())),
        "otel.kind" = "internal",
        "otel.status_code" = Empty,
        "gen_ai.operation.name" = "execute_tool",
        "gen_ai.tool.name" = call.name.as_str(),
        "gen_ai.tool.call.id" = call.id.as_str(),
        "gen_ai.tool.type" = "function",
        "gen_ai.tool.description" = description,
        "gen_ai.tool.call.arguments" = Empty,
        "gen_ai.tool.call.result" = Empty,
        "error.type" = Empty,
        "toolcall.outcome" = Empty,
    );
    if !span.is_disabled() && capture_content() {
        span.record("gen_ai.tool.call.arguments", call.arguments.as_str());
    }
    (!span.is_none()).then(|| Box::new(span))
}

/// How a call ended, on its span: its outcome, and for a failure the
/// outcome as `error.type` and an error status. A deferred call has not
/// run and waits for a decision: it says so and is not an error.
pub(crate) fn tool_done(span: &Span, result: &CallResult) {
    if span.is_disabled() {
        return;
    }
    tool_outcome(span, result.outcome);
    if result.outcome == Outcome::Ok && capture_content() {
        span.record("gen_ai.tool.call.result", result.content.as_str());
    }
}

/// How a call ended, when there is no result to show (a cancelled call).
pub(crate) fn tool_outcome(span: &Span, outcome: Outcome) {
    span.record("toolcall.outcome", outcome.as_str());
    if !matches!(outcome, Outcome::Ok | Outcome::Deferred) {
        span.record("error.type", outcome.as_str());
        span.record("otel.status_code", "ERROR");
    }
}
