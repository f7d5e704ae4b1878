//! OpenAI-shaped [`wiremock::Respond`] implementations, for tests that
//! already run a [`wiremock::MockServer`] (feature `wiremock`).
//!
//! ```no_run
//! # async fn demo() {
//! use serde_json::json;
//! use toolcall_sim::responders::{ChatResponder, ErrorResponder};
//! use toolcall_sim::{Script, ScriptedCall};
//! use wiremock::matchers::{method, path};
//! use wiremock::{Mock, MockServer};
//!
//! let server = MockServer::start().await;
//! let script = Script::new()
//!     .tool_calls([ScriptedCall::new("get_weather", json!({"city": "Paris"}))])
//!     .text("Sunny in Paris.");
//! let responder = ChatResponder::scripted(script);
//! Mock::given(method("POST"))
//!     .and(path("/v1/chat/completions"))
//!     .respond_with(responder.clone())
//!     .mount(&server)
//!     .await;
//! // ... point the client at format!("{}/v1", server.uri()) ...
//! responder.assert_consumed();
//! # }
//! ```
//!
//! Every responder reads the request as the real API does: a body that is not
//! a chat request gets a 400 with an OpenAI error body, and `stream: true`
//! gets a `text/event-stream` body (with the usage chunk when
//! `stream_options.include_usage` is set, and `data: [DONE]`).
//!
//! # What wiremock cannot do
//!
//! wiremock's [`Respond::respond`] is synchronous and returns the whole
//! response at once, and its delay covers the whole response. So a streamed
//! reply here is **buffered**: every chunk arrives together, after one delay
//! (the simulated time of the last chunk), with no gaps between chunks. A
//! simulated disconnect cannot cut the connection: a stream ends without
//! `[DONE]`, and a plain reply's JSON body is cut in half. wiremock serves from
//! its own thread on the real clock, so tokio's paused clock does not drive
//! these delays. For chunk timings, disconnects and virtual time, use the
//! simulator's own [`Server`](crate::Server), which runs on the caller's
//! runtime.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use wiremock::{Request, Respond, ResponseTemplate};

use crate::engine::Outcome;
use crate::engine::journal::{Journal, Transport};
use crate::engine::script::{Script, ScriptedCall, Turn};
use crate::engine::simulator::{ScriptError, SimBuilder, Simulator};
use crate::wire::chat::{self, Chat};
use crate::wire::chat_body::read_chat_body;
use crate::wire::{ApiError, Format};

/// The content type of a buffered stream, as the real API sends it.
const EVENT_STREAM: &str = "text/event-stream; charset=utf-8";

/// The response to an error: its status, its OpenAI error body and, for a
/// 429, `Retry-After` (whole seconds) and `retry-after-ms`.
fn error_template(error: &ApiError) -> ResponseTemplate {
    let mut template = ResponseTemplate::new(error.status)
        .set_body_raw(error.body().to_string(), "application/json");
    if let Some((secs, ms)) = error.retry_after_headers() {
        template = template
            .insert_header("retry-after", secs.to_string().as_str())
            .insert_header("retry-after-ms", ms.to_string().as_str());
    }
    template
}

/// Answer one wiremock request from a simulator's engine, as the HTTP server
/// would, but in one piece.
fn answer(
    sim: &Simulator,
    request: &Request,
    always_stream: bool,
    delay: bool,
) -> ResponseTemplate {
    let engine = &sim.engine;
    let body = match read_chat_body(engine, &request.body) {
        Ok(body) => body,
        Err(error) => return error_template(&error),
    };
    let stream = body.stream || always_stream;
    let plan = engine.plan(
        std::borrow::Cow::Borrowed(&body.request),
        body.tools.offered(),
        &body.asks,
        stream,
        Transport::Http,
        None,
        (Chat.id_prefix(), Chat.call_id_prefix()),
    );
    let reply = match plan.outcome {
        Outcome::Error(error) => return error_template(&error),
        Outcome::Reply(reply) => reply,
    };
    let (template, took) = if stream {
        let (frames, dropped) = chat::frames(&plan.envelope, &reply, &body.options);
        let bytes: Vec<u8> = frames
            .iter()
            .flat_map(|(_, frame)| frame.iter().copied())
            .collect();
        let template = ResponseTemplate::new(200)
            .set_body_raw(bytes, EVENT_STREAM)
            .insert_header("cache-control", "no-cache");
        (template, dropped.unwrap_or(reply.end))
    } else {
        let mut text = serde_json::to_string(&chat::completion(
            &plan.envelope,
            &reply.response,
            &body.options,
        ))
        .unwrap_or_default();
        let took = match reply.drop_at() {
            Some(dropped) => {
                // No way to cut the connection: cut the body instead.
                let mut half = text.len() / 2;
                while !text.is_char_boundary(half) {
                    half -= 1;
                }
                text.truncate(half);
                dropped
            }
            None => reply.end,
        };
        (
            ResponseTemplate::new(200).set_body_raw(text, "application/json"),
            took,
        )
    };
    if delay && !took.is_zero() {
        template.set_delay(took)
    } else {
        template
    }
}

/// Answers turn after turn from a simulator: a [`Script`] (an exhausted
/// script answers a 500 whose OpenAI error body says so, code
/// `script_exhausted`), or auto mode. The same engine as the
/// [`Server`](crate::Server): same bodies, same faults, same journal.
///
/// Cheap to clone: clones share the script position and the journal, so keep
/// one to assert on after mounting another.
#[derive(Debug, Clone)]
pub struct ChatResponder {
    sim: Simulator,
    always_stream: bool,
    delay: bool,
}

impl ChatResponder {
    /// Answer from this simulator (its script or auto mode, latency and faults).
    pub fn new(sim: Simulator) -> Self {
        ChatResponder {
            sim,
            always_stream: false,
            delay: true,
        }
    }

    /// Follow this script.
    pub fn scripted(script: Script) -> Self {
        ChatResponder::new(Simulator::scripted(script))
    }

    /// Auto mode with this seed: call every offered tool, then report.
    pub fn auto(seed: u64) -> Self {
        ChatResponder::new(Simulator::auto(seed))
    }

    /// Answer with a buffered `text/event-stream` even when the request
    /// does not ask for `stream: true`.
    pub fn streamed(mut self) -> Self {
        self.always_stream = true;
        self
    }

    /// Ignore the simulator's model latency and stalls: answer at once.
    /// (By default the whole response waits for the simulated time of its
    /// last chunk, through wiremock's delay.)
    pub fn without_delay(mut self) -> Self {
        self.delay = false;
        self
    }

    /// The simulator it answers from.
    pub fn simulator(&self) -> &Simulator {
        &self.sim
    }

    /// The requests seen so far.
    pub fn journal(&self) -> Journal {
        self.sim.journal()
    }

    /// Check that every script turn was used and no request came after the
    /// script ran out.
    pub fn check_consumed(&self) -> Result<(), ScriptError> {
        self.sim.check_consumed()
    }

    /// Panic (failing the test) unless the script was used up exactly.
    #[track_caller]
    pub fn assert_consumed(&self) {
        self.sim.assert_consumed();
    }
}

impl Respond for ChatResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        answer(&self.sim, request, self.always_stream, self.delay)
    }
}

/// The same reply to every request: a text, or tool calls (with call ids
/// drawn from the seed and the request's number unless the calls give them).
/// Requests are still read as the API does (a bad body gets a 400), and
/// `stream: true` gets the reply as a buffered `text/event-stream`.
#[derive(Debug)]
pub struct CannedCompletion {
    turn: Turn,
    seed: u64,
    always_stream: bool,
    delay: Option<Duration>,
    requests: Arc<AtomicU64>,
}

impl Clone for CannedCompletion {
    fn clone(&self) -> Self {
        CannedCompletion {
            turn: self.turn.clone(),
            seed: self.seed,
            always_stream: self.always_stream,
            delay: self.delay,
            requests: self.requests.clone(),
        }
    }
}

impl CannedCompletion {
    /// Always answer this turn (a fault in it applies to every request).
    pub fn turn(turn: Turn) -> Self {
        CannedCompletion {
            turn,
            seed: 0,
            always_stream: false,
            delay: None,
            requests: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Always answer this text, `finish_reason: "stop"`.
    pub fn text(text: impl Into<String>) -> Self {
        CannedCompletion::turn(Turn::text(text))
    }

    /// Always call these tools, `finish_reason: "tool_calls"`.
    pub fn tool_calls(calls: impl IntoIterator<Item = ScriptedCall>) -> Self {
        CannedCompletion::turn(Turn::tool_calls(calls))
    }

    /// The seed of the ids and the stream chunking (0 by default).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Answer with a buffered `text/event-stream` even when the request
    /// does not ask for `stream: true`.
    pub fn streamed(mut self) -> Self {
        self.always_stream = true;
        self
    }

    /// Wait this long before the whole response (wiremock's delay).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// How many requests it has answered.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

impl Respond for CannedCompletion {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        // A one-turn simulator per request: the engine's bodies and checks,
        // without a script to run out.
        let sim = SimBuilder::default()
            .seed(self.seed.wrapping_add(n))
            .script(Script::new().turn(self.turn.clone()))
            .build();
        let template = answer(&sim, request, self.always_stream, true);
        match self.delay {
            Some(delay) => template.set_delay(delay),
            None => template,
        }
    }
}

/// An error status with an OpenAI error body
/// (`{"error": {"message", "type", "param", "code"}}`) for every request.
#[derive(Debug, Clone)]
pub struct ErrorResponder {
    error: ApiError,
}

impl ErrorResponder {
    /// Answer this error.
    pub fn new(error: ApiError) -> Self {
        ErrorResponder { error }
    }

    /// 429 with `Retry-After` (whole seconds, rounded up) and `retry-after-ms`.
    pub fn rate_limited(wait: Duration) -> Self {
        ErrorResponder::new(ApiError::rate_limited("gpt-4o-mini", wait))
    }

    /// 500, worded as the real API does.
    pub fn server_error() -> Self {
        ErrorResponder::new(ApiError::server_error())
    }

    /// 400 `invalid_request_error` with this message and, maybe, the
    /// parameter at fault.
    pub fn bad_request(message: impl Into<String>, param: Option<&str>) -> Self {
        ErrorResponder::new(ApiError::invalid_request(message, param.map(str::to_owned)))
    }

    /// The error it answers.
    pub fn error(&self) -> &ApiError {
        &self.error
    }
}

impl From<ApiError> for ErrorResponder {
    fn from(error: ApiError) -> Self {
        ErrorResponder::new(error)
    }
}

impl Respond for ErrorResponder {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        error_template(&self.error)
    }
}
