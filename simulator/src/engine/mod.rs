//! The engine shared by the in-process model and the HTTP server: it checks a
//! request, picks the reply (script or auto mode), injects faults and draws
//! the timing of every chunk. All randomness is drawn here, once per request,
//! so both transports replay the same plan for the same seed.

pub(crate) mod auto;
mod error;
pub(crate) mod fault;
pub(crate) mod fixture;
mod gemini_options;
pub(crate) mod journal;
pub(crate) mod latency;
pub(crate) mod latency_spec;
pub(crate) mod media;
pub(crate) mod recent;
pub(crate) mod rng;
pub(crate) mod script;
pub(crate) mod script_file;
pub(crate) mod simulator;
pub(crate) mod tool;

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;
use toolcall_runtime::{
    ChatRequest, ChatResponse, FinishReason, Message, StreamEvent, ToolCall, ToolCallDelta,
    ToolDefinition, Usage,
};

use crate::engine::auto::{AutoReply, auto_reply};
use crate::engine::fault::{Fault, FaultRates};
use crate::engine::fixture::{Endpoint, FixtureState, Fixtures, Seen, Unmatched};
use crate::engine::journal::{
    Answer, Journal, JournalEntry, RawHttp, RequestFields, Reread, Transport,
};
use crate::engine::latency::ModelLatency;
use crate::engine::rng::SimRng;
use crate::engine::script::{Reply, Script, Turn};

pub use error::ApiError;
pub use gemini_options::GeminiOptions;
pub(crate) use recent::Recent;

/// What every body of one reply shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Envelope {
    /// The reply's id, with its format's prefix.
    pub id: String,
    /// Seconds since the epoch (simulated).
    pub created: u64,
    /// The model named in the request.
    pub model: String,
    /// The backend fingerprint of this simulator (shared: the same for every reply).
    pub fingerprint: Arc<str>,
}

/// How a reply is cut into streamed chunks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Chunking {
    /// Fewest characters of `arguments` per fragment.
    pub min_chars: usize,
    /// Most characters of `arguments` per fragment.
    pub max_chars: usize,
    /// Most characters of text per chunk (text is cut at words first).
    pub max_text_chars: usize,
    /// Interleave the fragments of different calls (headers stay in index order).
    pub interleave: bool,
}

impl Default for Chunking {
    fn default() -> Self {
        Chunking {
            min_chars: 1,
            max_chars: 6,
            max_text_chars: 12,
            interleave: false,
        }
    }
}

impl Chunking {
    /// Fragments of `arguments` between `min` and `max` characters.
    pub fn fragments(mut self, min: usize, max: usize) -> Self {
        self.min_chars = min.max(1);
        self.max_chars = max.max(self.min_chars);
        self
    }

    /// Interleave the fragments of different calls.
    pub fn interleaved(mut self, yes: bool) -> Self {
        self.interleave = yes;
        self
    }
}

/// The settings of a simulator.
#[derive(Debug, Clone, Default)]
pub(crate) struct Config {
    pub seed: u64,
    pub script: Option<Script>,
    pub model_latency: ModelLatency,
    pub faults: FaultRates,
    pub chunking: Chunking,
    pub models: Vec<String>,
    /// Journal entries kept (`None`: the default).
    pub journal_limit: Option<usize>,
    /// How the Gemini format shapes its replies.
    pub gemini: GeminiOptions,
    /// Replies chosen by what the request looks like, before the script.
    pub fixtures: Fixtures,
    /// Real time per simulated time (`None`: 1, real time is simulated time).
    pub time_scale: Option<f64>,
}

impl Config {
    /// Real time per simulated time: 0.01 passes latencies 100 times faster.
    pub fn scale(&self) -> f64 {
        self.time_scale
            .filter(|s| s.is_finite() && *s > 0.0)
            .unwrap_or(1.0)
    }
}

/// What a request asks of its reply beyond the neutral request.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Asks {
    /// The most tokens (stream events) the reply may have: past it, the
    /// reply is cut and ends with `FinishReason::Length`.
    pub max_tokens: Option<u32>,
    /// The shape of an auto-mode text answer.
    pub response_format: Option<ResponseFormat>,
    /// The API format the request came in (`None` in process).
    pub endpoint: Option<Endpoint>,
    /// A fault this request asks for (`x-sim-fault`), over the drawn one.
    pub fault: Option<Fault>,
    /// The time to first token this request asks for (`x-sim-latency`).
    pub latency: Option<Duration>,
}

/// A structured-output request (`response_format`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ResponseFormat {
    /// Any JSON object.
    JsonObject,
    /// A JSON value valid for this schema.
    JsonSchema(serde_json::Value),
}

/// A reply, timed: offsets are from the request's arrival.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReplyPlan {
    /// The whole reply, with usage.
    pub response: ChatResponse,
    /// Silence before anything is sent (a stall).
    pub stall: Duration,
    /// When the role chunk goes out.
    pub role_at: Duration,
    /// Text and tool-call events and when each goes out.
    pub chunks: Vec<(Duration, StreamEvent)>,
    /// When the finish (and usage) chunk goes out.
    pub end: Duration,
    /// Chunks sent before the connection drops, for a disconnect.
    pub disconnect_after: Option<usize>,
}

impl ReplyPlan {
    /// When the connection drops, for a disconnect.
    pub fn drop_at(&self) -> Option<Duration> {
        let n = self.disconnect_after?;
        Some(match n.min(self.chunks.len()) {
            0 => self.role_at,
            n => self.chunks[n - 1].0,
        })
    }

    /// Whether the reply starts with text (the role chunk then carries `content: ""`).
    pub fn text_first(&self) -> bool {
        matches!(self.chunks.first(), Some((_, StreamEvent::Text(_))))
            || self.response.tool_calls.is_empty()
    }
}

/// What the engine decided for one request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// An error status, answered at once.
    Error(ApiError),
    /// A reply.
    Reply(Box<ReplyPlan>),
}

/// The plan of one request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    /// The request's index in the journal.
    pub index: usize,
    pub arrived: Instant,
    pub envelope: Envelope,
    pub outcome: Outcome,
}

struct ScriptCursor {
    turns: Vec<Turn>,
    next: usize,
    overruns: Vec<usize>,
}

struct Draws {
    ids: SimRng,
    arguments: SimRng,
    faults: SimRng,
    latency: SimRng,
    chunks: SimRng,
}

struct State {
    requests: usize,
    script: Option<ScriptCursor>,
    fixtures: FixtureState,
    draws: Draws,
}

/// Where a request's reply comes from.
struct Source {
    turn: Option<Turn>,
    script_turn: Option<usize>,
    fixture: Option<usize>,
    latency: Option<Duration>,
}

/// The simulator's engine. One per simulator; shared by its model and server.
pub(crate) struct Engine {
    pub config: Config,
    pub journal: Journal,
    /// Chat Completions tool lists read lately, by their JSON text.
    pub chat_tools: Recent<Tools>,
    pub started: Instant,
    /// The wall clock at `started`, in seconds since the epoch.
    wall_started: u64,
    fingerprint: Arc<str>,
    state: Mutex<State>,
}

/// Seconds since the epoch now, as `created` fields count them.
fn wall_clock_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Engine {
    pub fn new(config: Config) -> Self {
        let seed = config.seed;
        let script = config.script.clone().map(|s| ScriptCursor {
            turns: s.turns,
            next: 0,
            overruns: Vec::new(),
        });
        let mut fp = SimRng::derive(seed, "fingerprint");
        Engine {
            fingerprint: format!("fp_{:010x}", fp.next_u64() & 0xff_ffff_ffff).into(),
            journal: config
                .journal_limit
                .map_or_else(Journal::default, Journal::with_limit),
            chat_tools: Recent::default(),
            started: Instant::now(),
            wall_started: wall_clock_secs(),
            state: Mutex::new(State {
                requests: 0,
                script,
                fixtures: FixtureState::new(config.fixtures.clone()),
                draws: Draws {
                    ids: SimRng::derive(seed, "ids"),
                    arguments: SimRng::derive(seed, "arguments"),
                    faults: SimRng::derive(seed, "faults"),
                    latency: SimRng::derive(seed, "latency"),
                    chunks: SimRng::derive(seed, "chunks"),
                },
            }),
            config,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The `created` timestamp of a request arriving at `at`: the wall
    /// clock when the simulator was built, plus the time since on tokio's
    /// clock (so a paused clock moves it too).
    pub fn created(&self, at: Instant) -> u64 {
        self.wall_started + self.simulated_since_start(at).as_secs()
    }

    /// The real time a simulated span takes, at the time scale.
    pub fn real(&self, simulated: Duration) -> Duration {
        match self.config.scale() {
            1.0 => simulated,
            scale => simulated.mul_f64(scale),
        }
    }

    /// Simulated time since the engine started, at `at`.
    pub fn simulated_since_start(&self, at: Instant) -> Duration {
        let real = at.saturating_duration_since(self.started);
        match self.config.scale() {
            1.0 => real,
            scale => real.div_f64(scale),
        }
    }

    /// Follow `script` from its first turn (auto mode with `None`).
    pub fn reset_script(&self, script: Option<Script>) {
        self.lock().script = script.map(|s| ScriptCursor {
            turns: s.turns,
            next: 0,
            overruns: Vec::new(),
        });
    }

    /// Answer from these fixtures from now on, every use count at zero.
    pub fn reset_fixtures(&self, fixtures: Fixtures) {
        self.lock().fixtures = FixtureState::new(fixtures);
    }

    /// Each fixture's uses, and the requests none matched.
    pub fn fixture_uses(&self) -> (Vec<usize>, Vec<usize>) {
        let state = self.lock();
        (
            state.fixtures.uses.clone(),
            state.fixtures.unmatched.clone(),
        )
    }

    /// Fixtures used fewer times than asked, and requests none matched.
    pub fn fixture_status(&self) -> (usize, Vec<fixture::Underused>, Vec<usize>) {
        let state = self.lock();
        let fixtures = &state.fixtures;
        (
            fixtures.set.fixtures.len(),
            fixtures.underused(),
            fixtures.unmatched.clone(),
        )
    }

    /// Turns not used yet, and requests that came after the script ran out.
    pub fn script_status(&self) -> Option<(usize, usize, Vec<usize>)> {
        let state = self.lock();
        state
            .script
            .as_ref()
            .map(|s| (s.turns.len(), s.next, s.overruns.clone()))
    }

    /// Record a request refused before it could be read (HTTP only).
    pub fn reject(&self, error: &ApiError, model: &str, stream: bool) {
        let at = Instant::now();
        let mut state = self.lock();
        let index = state.requests;
        state.requests += 1;
        if !self.journal.keeps_entries() {
            self.journal.count(false, false);
            return;
        }
        let mut entry = JournalEntry::new(
            index,
            (at, self.simulated_since_start(at)),
            (Transport::Http, stream),
            error_answer(error),
        );
        entry.model = model.to_owned();
        self.journal.push(entry, None, None);
    }

    /// Decide everything about one request, and journal it (with `http`,
    /// the request as it came over HTTP, if the journal keeps entries, and
    /// maybe the way to read its fields again from its body); the reply's
    /// id starts with `ids.0`, its calls' ids with `ids.1`.
    #[allow(clippy::too_many_arguments)]
    pub fn plan(
        &self,
        request: Cow<'_, ChatRequest>,
        offered: Offered<'_>,
        asks: &Asks,
        stream: bool,
        transport: Transport,
        http: Option<(RawHttp, Option<Reread>)>,
        ids: (&str, &str),
    ) -> Plan {
        let (id_prefix, call_prefix) = ids;
        let tools = offered.list;
        let arrived = Instant::now();
        let owned = request;
        let request = &*owned;
        let mut state = self.lock();
        let state = &mut *state;
        let index = state.requests;
        state.requests += 1;
        let envelope = Envelope {
            id: state.draws.ids.id(id_prefix, 29),
            created: self.created(arrived),
            model: request.model.clone(),
            fingerprint: self.fingerprint.clone(),
        };
        let mut script_turn = None;
        let mut fixture = None;
        let mut fault = None;
        let outcome = match check_pairing(&request.messages).map_err(Unpaired::chat_error) {
            Err(error) => Outcome::Error(error),
            Ok(()) => {
                // One draw per request whatever the rates, so rates do not shift other draws.
                let drawn = self.config.faults.draw(&mut state.draws.faults);
                let drawn = asks.fault.clone().or(drawn);
                match drawn {
                    Some(rejection) if rejection.is_rejection() => {
                        fault = Some(rejection.clone());
                        Outcome::Error(rejection_error(&rejection, &request.model))
                    }
                    drawn => match self.source(state, index, request, tools, asks) {
                        Err(error) => Outcome::Error(error),
                        Ok(source) => {
                            script_turn = source.script_turn;
                            fixture = source.fixture;
                            let (reply, scripted) = match source.turn {
                                Some(turn) => (turn.reply, turn.fault),
                                None => (Reply::Auto, None),
                            };
                            // A header's fault wins over the script's.
                            let scripted = asks.fault.clone().or(scripted);
                            match scripted.or(drawn) {
                                Some(rejection) if rejection.is_rejection() => {
                                    fault = Some(rejection.clone());
                                    Outcome::Error(rejection_error(&rejection, &request.model))
                                }
                                injected => {
                                    let (plan, applied) = self.reply(
                                        state,
                                        (request, offered),
                                        (asks, stream),
                                        (reply, injected, asks.latency.or(source.latency)),
                                        call_prefix,
                                    );
                                    fault = applied;
                                    Outcome::Reply(Box::new(plan))
                                }
                            }
                        }
                    },
                }
            }
        };
        if !self.journal.keeps_entries() {
            self.journal
                .count(matches!(outcome, Outcome::Reply(_)), fault.is_some());
            return Plan {
                index,
                arrived,
                envelope,
                outcome,
            };
        }
        let (http, reread) = match http {
            Some((raw, reread)) => (Some(raw), reread),
            None => (None, None),
        };
        let answer = match &outcome {
            Outcome::Error(error) => error_answer(error),
            Outcome::Reply(plan) => Answer::Reply(plan.response.clone()),
        };
        let mut entry = JournalEntry::new(
            index,
            (arrived, self.simulated_since_start(arrived)),
            (transport, stream),
            answer,
        );
        entry.script_turn = script_turn;
        entry.fixture = fixture;
        entry.fault = fault;
        if let Outcome::Reply(plan) = &outcome {
            entry.took = plan.drop_at().unwrap_or(plan.end);
        }
        if reread.is_none() || http.is_none() {
            // The server's request is moved into the journal, not copied.
            entry.fill(RequestFields::of(owned.into_owned(), tools));
        }
        self.journal.push(entry, http, reread);
        Plan {
            index,
            arrived,
            envelope,
            outcome,
        }
    }

    /// The reply's source: the first fixture that matches, else the next
    /// script turn, else auto mode (or an error, when fixtures are loaded
    /// and ask for one).
    fn source(
        &self,
        state: &mut State,
        index: usize,
        request: &ChatRequest,
        tools: &[ToolDefinition],
        asks: &Asks,
    ) -> Result<Source, ApiError> {
        let mut source = Source {
            turn: None,
            script_turn: None,
            fixture: None,
            latency: None,
        };
        if !state.fixtures.is_empty() {
            let seen = Seen::new(
                request,
                asks.endpoint,
                tools.iter().map(|t| t.name.as_str()),
            );
            if let Some(picked) = state.fixtures.pick(&seen) {
                source.fixture = Some(picked.index);
                source.turn = Some(picked.turn);
                source.latency = picked.latency;
                return Ok(source);
            }
            if state.script.is_none() {
                match state.fixtures.set.unmatched {
                    Unmatched::Auto => return Ok(source),
                    Unmatched::Error => {
                        state.fixtures.unmatched.push(index);
                        return Err(ApiError::no_fixture(state.fixtures.explain(&seen)));
                    }
                }
            }
        }
        let turn = self.take_turn(state, index)?;
        source.script_turn = turn.as_ref().map(|(i, _)| *i);
        source.turn = turn.map(|(_, turn)| turn);
        Ok(source)
    }

    /// The next script turn: `Ok(None)` in auto mode, an error past the end.
    fn take_turn(
        &self,
        state: &mut State,
        index: usize,
    ) -> Result<Option<(usize, Turn)>, ApiError> {
        let Some(script) = state.script.as_mut() else {
            return Ok(None);
        };
        match script.turns.get(script.next) {
            Some(turn) => {
                let turn = turn.clone();
                script.next += 1;
                Ok(Some((script.next - 1, turn)))
            }
            None => {
                script.overruns.push(index);
                Err(ApiError::script_exhausted(script.turns.len(), index))
            }
        }
    }

    /// Build and time the reply; returns the fault actually applied.
    fn reply(
        &self,
        state: &mut State,
        (request, offered): (&ChatRequest, Offered<'_>),
        (asks, stream): (&Asks, bool),
        (reply, fault, first_token): (Reply, Option<Fault>, Option<Duration>),
        call_prefix: &str,
    ) -> (ReplyPlan, Option<Fault>) {
        let tools = offered.list;
        let draws = &mut state.draws;
        let new_id = |ids: &mut SimRng| ids.id(call_prefix, 24);
        // The wire formats put their own fields in `asks`; an in-process
        // request carries the neutral settings and output schema.
        let response_format = asks.response_format.clone().or_else(|| {
            request
                .output
                .as_ref()
                .map(|format| ResponseFormat::JsonSchema(format.schema.clone()))
        });
        let max_tokens = asks.max_tokens.or(request.settings.max_tokens);
        let (content, mut calls) = match reply {
            Reply::Text(text) => (Some(text), Vec::new()),
            Reply::ToolCalls { text, calls } => (
                text,
                calls
                    .into_iter()
                    .map(|c| {
                        let id = c.id.unwrap_or_else(|| new_id(&mut draws.ids));
                        ToolCall::new(id, c.name, c.arguments)
                    })
                    .collect(),
            ),
            Reply::Auto => match auto_reply(request, tools, &mut draws.arguments) {
                AutoReply::Text(text) => match &response_format {
                    Some(format) => (
                        Some(structured_answer(format, &mut draws.arguments)),
                        Vec::new(),
                    ),
                    None => (Some(text), Vec::new()),
                },
                AutoReply::Calls(calls) => (
                    None,
                    calls
                        .into_iter()
                        .map(|(name, args)| ToolCall::new(new_id(&mut draws.ids), name, args))
                        .collect(),
                ),
            },
        };
        let applied = match fault {
            Some(f) => corrupt(&mut calls, f, tools),
            None => None,
        };
        let mut finish = if calls.is_empty() {
            FinishReason::Stop
        } else {
            FinishReason::ToolCalls
        };
        // A stop sequence ends the text before it (the sequence is not sent).
        let content = content.map(|text| cut_at_stop(text, &request.settings.stop));
        // A whole reply only needs its events counted, unless it is cut
        // short (a token limit, a disconnect); the chunk draws are the same.
        let chunking = &self.config.chunking;
        let events_needed = stream || matches!(applied, Some(Fault::Disconnect { .. }));
        let before = draws.chunks.clone();
        let mut events =
            events_needed.then(|| split(content.as_deref(), &calls, chunking, &mut draws.chunks));
        let mut count = match &events {
            Some(events) => events.len(),
            None => count_pieces(content.as_deref(), &calls, chunking, &mut draws.chunks),
        };
        let (mut content, mut calls) = (content, calls);
        if let Some(max) = max_tokens
            && count > max as usize
        {
            let mut cut = events.unwrap_or_else(|| {
                split(content.as_deref(), &calls, chunking, &mut before.clone())
            });
            cut.truncate(max as usize);
            (content, calls) = rejoin(&cut, &calls);
            finish = FinishReason::Length;
            count = cut.len();
            events = events_needed.then_some(cut);
        }

        let stall = match &applied {
            Some(Fault::Stall { ms }) => Duration::from_millis(*ms),
            _ => Duration::ZERO,
        };
        let latency = &self.config.model_latency;
        // The draw is made even when overridden, so the later draws stay put.
        let drawn_first = latency.time_to_first_token.sample(&mut draws.latency);
        let role_at = stall + first_token.unwrap_or(drawn_first);
        let mut at = role_at;
        let mut next = || {
            at += latency.per_token.sample(&mut draws.latency);
            at
        };
        let chunks: Vec<(Duration, StreamEvent)> = match events {
            Some(events) => events.into_iter().map(|event| (next(), event)).collect(),
            None => {
                (0..count).for_each(|_| {
                    next();
                });
                Vec::new()
            }
        };
        let disconnect_after = match &applied {
            Some(Fault::Disconnect { after_chunks }) => Some(after_chunks.unwrap_or(count / 2)),
            _ => None,
        };
        let completion_tokens = count.max(1) as u32;
        let prompt_tokens = prompt_tokens(request, offered.chars);
        let usage = Usage::new(prompt_tokens, completion_tokens);
        let response = ChatResponse {
            content,
            tool_calls: calls,
            finish_reason: Some(finish),
            usage: Some(usage),
        };
        (
            ReplyPlan {
                response,
                stall,
                role_at,
                chunks,
                end: at,
                disconnect_after,
            },
            applied,
        )
    }
}

/// The text up to the first of these sequences, or all of it.
fn cut_at_stop(mut text: String, stops: &[String]) -> String {
    if let Some(at) = stops
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()))
        .min()
    {
        text.truncate(at);
    }
    text
}

fn error_answer(error: &ApiError) -> Answer {
    Answer::Error {
        status: error.status,
        message: error.message.clone(),
        code: error.code.clone(),
    }
}

fn rejection_error(fault: &Fault, model: &str) -> ApiError {
    match fault {
        Fault::RateLimited { retry_after_ms } => {
            ApiError::rate_limited(model, Duration::from_millis(*retry_after_ms))
        }
        Fault::Overloaded => ApiError::overloaded(),
        _ => ApiError::server_error(),
    }
}

/// An auto-mode answer in the requested format: a value generated from the
/// schema, or a small JSON object.
fn structured_answer(format: &ResponseFormat, rng: &mut SimRng) -> String {
    match format {
        ResponseFormat::JsonSchema(schema) => auto::generate_text(schema, rng),
        ResponseFormat::JsonObject => {
            serde_json::json!({"answer": "toolcall-sim auto mode"}).to_string()
        }
    }
}

/// The text and calls the kept events of a cut reply make up: a call whose
/// header was cut off is gone, one cut mid-arguments keeps what was sent.
fn rejoin(events: &[StreamEvent], calls: &[ToolCall]) -> (Option<String>, Vec<ToolCall>) {
    let mut text: Option<String> = None;
    let mut kept: Vec<ToolCall> = Vec::new();
    for event in events {
        match event {
            StreamEvent::Text(piece) => text.get_or_insert_with(String::new).push_str(piece),
            StreamEvent::ToolCall(delta) => {
                let index = delta.index as usize;
                if index == kept.len()
                    && let Some(call) = calls.get(index)
                {
                    kept.push(ToolCall::new(
                        call.id.clone(),
                        call.name.clone(),
                        String::new(),
                    ));
                }
                if let (Some(call), Some(arguments)) = (kept.get_mut(index), &delta.arguments) {
                    call.arguments.push_str(arguments);
                }
            }
            _ => {}
        }
    }
    (text, kept)
}

/// Apply a fault that changes the reply; `None` when it has nothing to change.
fn corrupt(calls: &mut Vec<ToolCall>, fault: Fault, tools: &[ToolDefinition]) -> Option<Fault> {
    match &fault {
        Fault::MalformedArguments => {
            let call = calls.first_mut()?;
            // Cut before the closing brace: a JSON object that never ends.
            let keep = call
                .arguments
                .len()
                .saturating_sub(1)
                .max(1)
                .min(call.arguments.len());
            let cut = (0..=keep)
                .rev()
                .find(|i| call.arguments.is_char_boundary(*i))
                .unwrap_or(0);
            call.arguments.truncate(cut);
            call.arguments.push_str(",\"");
        }
        Fault::UnknownTool => {
            let call = calls.first_mut()?;
            let mut name = format!("{}_unknown", call.name);
            while tools.iter().any(|t| t.name == name) {
                name.push('_');
            }
            call.name = name.into();
        }
        Fault::DuplicateIds => match calls.len() {
            0 => return None,
            1 => {
                let copy = calls[0].clone();
                calls.push(copy);
            }
            _ => calls[1].id = calls[0].id.clone(),
        },
        Fault::Stall { .. } | Fault::Disconnect { .. } => {}
        Fault::RateLimited { .. } | Fault::ServerError | Fault::Overloaded => return None,
    }
    Some(fault)
}

/// A transcript whose tool calls and results do not pair up; each wire
/// format words it in its own way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unpaired {
    /// The result at message `at` answers no earlier call.
    Stray {
        /// Where the result is.
        at: usize,
        /// The id it answers.
        id: String,
    },
    /// The calls of the assistant message at `at` with no result before the
    /// next message that is not a result.
    Unanswered {
        /// Where the assistant message is.
        at: usize,
        /// The ids without a result, in call order.
        ids: Vec<String>,
    },
}

impl Unpaired {
    /// The Chat Completions error.
    fn chat_error(self) -> ApiError {
        match self {
            Unpaired::Stray { at, id } => ApiError::invalid_request(
                format!(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'. No call has the id '{id}'."
                ),
                Some(format!("messages.[{at}].role")),
            ),
            Unpaired::Unanswered { at, ids } => ApiError::invalid_request(
                format!(
                    "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {}",
                    ids.join(", ")
                ),
                Some(format!("messages.[{at}].role")),
            ),
        }
    }
}

/// Check the tool-call pairing as the real APIs do: every tool message
/// answers an earlier call, and every call is answered before the next
/// non-tool message.
pub(crate) fn check_pairing(messages: &[Message]) -> Result<(), Unpaired> {
    let mut known: HashSet<&str> = HashSet::new();
    let mut pending: Vec<&str> = Vec::new();
    let mut pending_at = 0;
    let unanswered = |at: usize, ids: &[&str]| Unpaired::Unanswered {
        at,
        ids: ids.iter().map(|id| (*id).to_owned()).collect(),
    };
    for (i, message) in messages.iter().enumerate() {
        match message {
            Message::Tool { tool_call_id, .. } => {
                if !known.contains(tool_call_id.as_str()) {
                    return Err(Unpaired::Stray {
                        at: i,
                        id: tool_call_id.clone(),
                    });
                }
                pending.retain(|id| id != tool_call_id);
            }
            other => {
                if !pending.is_empty() {
                    return Err(unanswered(pending_at, &pending));
                }
                if let Message::Assistant { tool_calls, .. } = other {
                    pending_at = i;
                    for call in tool_calls {
                        known.insert(call.id.as_str());
                        pending.push(call.id.as_str());
                    }
                }
            }
        }
    }
    if pending.is_empty() {
        Ok(())
    } else {
        Err(unanswered(pending_at, &pending))
    }
}

/// A request's tools (read once a list, as a format that keeps lists
/// does), with their part of the prompt: the characters of their names,
/// descriptions and schemas, which counting means writing each schema out.
#[derive(Debug, Default)]
pub(crate) struct Tools {
    list: Vec<ToolDefinition>,
    chars: usize,
}

impl std::ops::Deref for Tools {
    type Target = [ToolDefinition];

    fn deref(&self) -> &[ToolDefinition] {
        &self.list
    }
}

impl Tools {
    /// The list, its characters counted.
    pub fn new(list: Vec<ToolDefinition>) -> Tools {
        let chars = tool_chars(&list);
        Tools { list, chars }
    }

    /// The list and its count, for [`Engine::plan`].
    #[must_use]
    pub fn offered(&self) -> Offered<'_> {
        Offered {
            list: &self.list,
            chars: self.chars,
        }
    }
}

/// The tools a request offers, and their characters of its prompt.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Offered<'a> {
    list: &'a [ToolDefinition],
    chars: usize,
}

impl<'a> Offered<'a> {
    /// `list`, its characters counted now.
    pub fn count(list: &'a [ToolDefinition]) -> Offered<'a> {
        Offered {
            list,
            chars: tool_chars(list),
        }
    }
}

fn tool_chars(tools: &[ToolDefinition]) -> usize {
    tools
        .iter()
        .map(|tool| tool.name.len() + tool.description.len() + json_len(&tool.parameters))
        .sum()
}

/// The input tokens of `request` with its own tools, as a reply's usage
/// counts them (Anthropic's `count_tokens`).
pub(crate) fn input_tokens(request: &ChatRequest) -> u32 {
    prompt_tokens(request, tool_chars(&request.tools))
}

/// About four characters a token, plus a few per message; `tool_chars`
/// for the tools offered; images and documents by their fixed estimate
/// (see [`media`]).
fn prompt_tokens(request: &ChatRequest, tool_chars: usize) -> u32 {
    let mut chars = tool_chars;
    for message in &request.messages {
        chars += 16;
        match message {
            Message::System { content } | Message::Tool { content, .. } => {
                chars += content.len();
            }
            Message::User { content } => chars += content.to_text().len(),
            Message::Assistant {
                content,
                tool_calls,
            } => {
                chars += content.as_ref().map_or(0, String::len);
                chars += tool_calls
                    .iter()
                    .map(|c| c.name.len() + c.arguments.len() + c.id.len())
                    .sum::<usize>();
            }
            _ => {}
        }
    }
    let media: u32 = request.messages.iter().map(media::media_tokens).sum();
    ((chars / 4).max(1) as u32).saturating_add(media)
}

/// The length of a value's JSON text, counted without writing it out.
fn json_len(value: &serde_json::Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// One piece of a streamed reply, borrowing the reply's text: a piece of
/// its text, a call's header (id and name), or a fragment of a call's arguments.
#[derive(Clone, Copy)]
enum Piece<'a> {
    Text(&'a str),
    Header(usize),
    Arguments(usize, &'a str),
}

impl Piece<'_> {
    fn event(self, calls: &[ToolCall]) -> StreamEvent {
        let delta = |index: usize, id, name, arguments: &str| {
            StreamEvent::ToolCall(ToolCallDelta {
                index: index as u32,
                id,
                name,
                arguments: Some(arguments.to_owned()),
            })
        };
        match self {
            Piece::Text(text) => StreamEvent::Text(text.to_owned()),
            Piece::Header(i) => delta(
                i,
                Some(calls[i].id.to_string()),
                Some(calls[i].name.to_string()),
                "",
            ),
            Piece::Arguments(i, fragment) => delta(i, None, None, fragment),
        }
    }
}

/// Cut the reply into the pieces it streams in, in order: text by words,
/// then each call's header and its arguments in seeded fragments. A whole
/// reply is only counted ([`count_pieces`]); the same draws are made either way.
fn cut<'a>(
    content: Option<&'a str>,
    calls: &'a [ToolCall],
    chunking: &Chunking,
    rng: &mut SimRng,
    mut emit: impl FnMut(Piece<'a>),
) {
    if let Some(text) = content {
        text_pieces(text, chunking.max_text_chars.max(1), |p| {
            emit(Piece::Text(p))
        });
    }
    let min = chunking.min_chars.max(1) as u64;
    let max = (chunking.max_chars as u64).max(min);
    let fragments = |index: usize, rng: &mut SimRng, emit: &mut dyn FnMut(Piece<'a>)| {
        emit(Piece::Header(index));
        let mut rest = calls[index].arguments.as_str();
        // In ASCII (arguments, as a rule) a character is a byte: no walk.
        let ascii = rest.is_ascii();
        while !rest.is_empty() {
            let take = rng.range_u64(min, max) as usize;
            let at = if ascii {
                take.min(rest.len())
            } else {
                rest.char_indices()
                    .nth(take)
                    .map_or(rest.len(), |(at, _)| at)
            };
            let (fragment, after) = rest.split_at(at);
            emit(Piece::Arguments(index, fragment));
            rest = after;
        }
    };
    if !chunking.interleave {
        for index in 0..calls.len() {
            fragments(index, rng, &mut emit);
        }
        return;
    }
    let mut queues: Vec<std::collections::VecDeque<Piece<'a>>> = (0..calls.len())
        .map(|index| {
            let mut queue = std::collections::VecDeque::new();
            fragments(index, rng, &mut |piece| queue.push_back(piece));
            queue
        })
        .collect();
    let mut headers_sent = 0;
    loop {
        // A call may send once its header is due: headers go out in index order.
        let ready: Vec<usize> = (0..queues.len())
            .filter(|&i| !queues[i].is_empty() && i <= headers_sent)
            .collect();
        if ready.is_empty() {
            break;
        }
        let pick = ready[rng.index(ready.len())];
        if pick == headers_sent {
            headers_sent += 1;
        }
        if let Some(piece) = queues[pick].pop_front() {
            emit(piece);
        }
    }
}

/// The reply's stream events (see [`cut`]).
fn split(
    content: Option<&str>,
    calls: &[ToolCall],
    chunking: &Chunking,
    rng: &mut SimRng,
) -> Vec<StreamEvent> {
    let mut events = Vec::new();
    cut(content, calls, chunking, rng, |piece| {
        events.push(piece.event(calls));
    });
    events
}

/// How many stream events the reply has (see [`cut`]), without building them.
fn count_pieces(
    content: Option<&str>,
    calls: &[ToolCall],
    chunking: &Chunking,
    rng: &mut SimRng,
) -> usize {
    let mut count = 0;
    cut(content, calls, chunking, rng, |_| count += 1);
    count
}

/// Text pieces as a tokenizer would cut them: a word with its leading
/// whitespace, long words cut to `max` characters.
fn text_pieces<'a>(text: &'a str, max: usize, mut emit: impl FnMut(&'a str)) {
    let (mut start, mut chars, mut seen_word) = (0, 0, false);
    for (at, c) in text.char_indices() {
        let starts_gap = c.is_whitespace() && seen_word;
        if starts_gap || chars >= max {
            emit(&text[start..at]);
            (start, chars, seen_word) = (at, 0, false);
        }
        if !c.is_whitespace() {
            seen_word = true;
        }
        chars += 1;
    }
    if start < text.len() {
        emit(&text[start..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_pieces_rejoin() {
        let text = "Here is what\n- a: {\"long_field_name\": 1}";
        let mut pieces = Vec::new();
        text_pieces(text, 8, |p| pieces.push(p));
        assert_eq!(pieces.concat(), text);
        assert!(pieces.iter().all(|p| p.chars().count() <= 8), "{pieces:?}");
        assert_eq!(pieces[0], "Here");
        assert_eq!(pieces[1], " is");
    }

    /// A kept tool list's counted characters are the ones counting it
    /// afresh gives, and they are in the prompt tokens.
    #[test]
    fn a_kept_tool_list_counts_as_a_counted_one() {
        let schema = serde_json::json!({"type": "object", "properties": {"city": {"type": "string", "description": "A \"city\""}}});
        let list = vec![ToolDefinition::new("get_weather", "The weather", schema)];
        let chars = "get_weather".len() + "The weather".len() + json_len(&list[0].parameters);
        let kept = Tools::new(list.clone());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let _guard = runtime.enter();
        let request = ChatRequest::new("m", vec![Message::user("weather?")]);
        let prompt = |offered: Offered<'_>| {
            let engine = Engine::new(Config::default());
            let plan = engine.plan(
                Cow::Borrowed(&request),
                offered,
                &Asks::default(),
                false,
                Transport::Http,
                None,
                ("chatcmpl-", "call_"),
            );
            match plan.outcome {
                Outcome::Reply(reply) => reply.response.usage.expect("usage").prompt_tokens,
                Outcome::Error(error) => panic!("{error:?}"),
            }
        };
        let (with_kept, with_counted) = (prompt(kept.offered()), prompt(Offered::count(&list)));
        assert_eq!(with_kept, with_counted);
        // The tools' characters, about four a token, are in it.
        let without = prompt(Offered::count(&[]));
        let added = (with_kept - without) as usize;
        assert!(
            added.abs_diff(chars / 4) <= 1,
            "{added} tokens for {chars} chars"
        );
    }

    /// A whole reply only counts its events; it must be the reply a stream
    /// would have sent, with the same usage and timing, cut by a token limit
    /// or not, and leave the generators where a stream leaves them.
    #[test]
    fn a_whole_reply_is_the_streamed_one() {
        let tools = [ToolDefinition::new(
            "get_weather",
            "",
            serde_json::json!({"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}, "required": ["city", "days"]}),
        )];
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("a runtime");
        let _guard = runtime.enter();
        for max_tokens in [None, Some(3), Some(1000)] {
            let plans = [false, true].map(|stream| {
                let engine = Engine::new(Config {
                    seed: 11,
                    model_latency: ModelLatency::realistic(),
                    ..Config::default()
                });
                let asks = Asks {
                    max_tokens,
                    ..Asks::default()
                };
                let request = ChatRequest::new("m", vec![Message::user("weather?")]);
                (0..3)
                    .map(|_| {
                        let plan = engine.plan(
                            Cow::Borrowed(&request),
                            Offered::count(&tools),
                            &asks,
                            stream,
                            Transport::Http,
                            None,
                            ("chatcmpl-", "call_"),
                        );
                        match plan.outcome {
                            Outcome::Reply(reply) => {
                                (reply.response, reply.role_at, reply.end, reply.chunks.len())
                            }
                            Outcome::Error(error) => panic!("{error:?}"),
                        }
                    })
                    .collect::<Vec<_>>()
            });
            let [whole, streamed] = plans;
            for ((w, s), i) in whole.iter().zip(&streamed).zip(0..) {
                assert_eq!(
                    (&w.0, w.1, w.2),
                    (&s.0, s.1, s.2),
                    "request {i}, max_tokens {max_tokens:?}"
                );
                assert_eq!(w.3, 0, "a whole reply builds no events");
                assert!(s.3 > 1, "a stream has its events");
            }
            if max_tokens == Some(3) {
                assert_eq!(whole[0].0.finish_reason, Some(FinishReason::Length));
            }
        }
    }

    #[test]
    fn pairing_rules() {
        let call = |id: &str| ToolCall::new(id, "f", "{}");
        let tool = |id: &str| Message::tool_result(id, "r");
        let ok = vec![
            Message::user("q"),
            Message::assistant(None, vec![call("a"), call("b")]),
            tool("b"),
            tool("a"),
        ];
        assert_eq!(check_pairing(&ok), Ok(()));
        let stray = vec![Message::user("q"), tool("zz")];
        assert_eq!(
            check_pairing(&stray).map_err(|e| e.chat_error().param),
            Err(Some("messages.[1].role".into()))
        );
        let open = vec![
            Message::user("q"),
            Message::assistant(None, vec![call("a"), call("b")]),
            tool("a"),
            Message::user("again"),
        ];
        let err = check_pairing(&open).expect_err("unanswered").chat_error();
        assert!(err.message.ends_with(": b"), "{}", err.message);
        assert_eq!(err.param.as_deref(), Some("messages.[1].role"));
    }

    #[test]
    fn interleaved_fragments_keep_headers_in_order() {
        let calls: Vec<ToolCall> = (0..3)
            .map(|i| ToolCall::new(format!("c{i}"), "f", r#"{"a": "some longer text"}"#))
            .collect();
        let chunking = Chunking::default().interleaved(true);
        let events = split(None, &calls, &chunking, &mut SimRng::new(9));
        let mut headers = Vec::new();
        let mut args = vec![String::new(); 3];
        let mut switches = 0;
        let mut last = None;
        for event in &events {
            let StreamEvent::ToolCall(d) = event else {
                panic!("only calls")
            };
            if d.id.is_some() {
                headers.push(d.index);
            } else {
                assert!(headers.contains(&d.index), "fragment before its header");
            }
            args[d.index as usize].push_str(d.arguments.as_deref().unwrap_or(""));
            if last != Some(d.index) {
                switches += 1;
            }
            last = Some(d.index);
        }
        assert_eq!(headers, vec![0, 1, 2]);
        assert!(args.iter().all(|a| a == r#"{"a": "some longer text"}"#));
        assert!(switches > 3, "interleaved");
    }
}
