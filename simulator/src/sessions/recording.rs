//! Recordings: the exchanges of a real session as `toolcall-sim record`
//! wrote them (each request, its reply's status and body chunks with their
//! timing, and the gap before a request that brings tool results), read
//! back as a [`Script`], as a [`Session`] for `whatif`, and as the
//! [`RecordedTool`]s that take the recorded latencies.
//!
//! Credentials never reach the file: the recorder keeps no request header
//! and only the reply headers listed in [`KEPT_HEADERS`].

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::fault::Fault;
use crate::engine::script::{Script, ScriptedCall, Turn};
use crate::sessions::session::{Session, SessionCall, SessionRound};
use crate::sessions::session_file::{SessionFileError, parse_json, write_atomically};
use crate::sessions::whatif::RecordedTool;

/// The version written in every recording (`"recording": 1`).
pub const RECORDING_VERSION: u32 = 1;

/// The reply headers a recording keeps (lowercase): the content type, the
/// retry advice, and the request ids and timings the official SDKs expose
/// (`_request_id`, `request_id`). No other header, of the request or the
/// reply, is written: none of these carries a credential.
pub const KEPT_HEADERS: &[&str] = &[
    "content-type",
    "retry-after",
    "retry-after-ms",
    "x-should-retry",
    "x-request-id",
    "request-id",
    "openai-processing-ms",
    "openai-version",
    "openai-organization",
    "openai-project",
    "anthropic-organization-id",
];

/// A recorded session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recording {
    /// The file format's version; [`RECORDING_VERSION`].
    pub recording: u32,
    /// The upstream's base URL, without credentials or query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// The exchanges, in the order their requests arrived.
    pub exchanges: Vec<Exchange>,
}

/// One request and its reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    /// `POST`, `GET`...
    pub method: String,
    /// The path, e.g. `/v1/chat/completions`.
    pub path: String,
    /// The request body: its JSON, or its text when it is not JSON.
    #[serde(default)]
    pub request: Value,
    /// When the request arrived, in µs from the recording's start.
    pub arrived_us: u64,
    /// When the reply ended, in µs from the recording's start.
    pub ended_us: u64,
    /// When the previous reply asked for tools and this request brings
    /// their results: the time between them, in µs (the tools' time as
    /// the client lived it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_gap_us: Option<u64>,
    /// The reply's HTTP status.
    pub status: u16,
    /// The reply headers kept ([`KEPT_HEADERS`]), lowercase names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// The reply body, as it arrived.
    pub chunks: Vec<Chunk>,
}

/// A piece of a reply body and when it arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chunk {
    /// µs from the request's arrival.
    pub at_us: u64,
    /// The bytes (whole UTF-8 characters).
    pub data: String,
}

impl Exchange {
    /// The whole reply body.
    pub fn body(&self) -> String {
        self.chunks.iter().map(|c| c.data.as_str()).collect()
    }

    /// From the request's arrival to the reply's end.
    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.ended_us.saturating_sub(self.arrived_us))
    }

    /// The kept header `name` (lowercase), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the reply was streamed (server-sent events).
    pub fn is_streamed(&self) -> bool {
        self.header("content-type")
            .is_some_and(|t| t.starts_with("text/event-stream"))
    }

    /// Whether this exchange is a model request (a POST to one of the
    /// formats' routes).
    pub fn is_model_request(&self) -> bool {
        self.method == "POST"
            && ["/chat/completions", "/responses", "/messages"]
                .iter()
                .any(|route| self.path.ends_with(route))
    }

    /// The reply's text and calls, with when each call's arguments were
    /// complete (µs from the request); `None` for a failed or unreadable reply.
    pub fn reply(&self) -> Option<RecordedReply> {
        if self.status != 200 {
            return None;
        }
        if self.is_streamed() {
            Some(read_stream(&self.chunks))
        } else {
            let body: Value = serde_json::from_str(&self.body()).ok()?;
            let end = self.chunks.last().map_or(0, |c| c.at_us);
            Some(read_whole(&body, end))
        }
    }

    /// The tool results this request carries, by call id (Chat's `tool`
    /// messages, Anthropic's `tool_result` blocks, Responses'
    /// `function_call_output` items).
    pub fn tool_results(&self) -> HashMap<String, String> {
        let mut results = HashMap::new();
        let items = self
            .request
            .get("messages")
            .or_else(|| self.request.get("input"))
            .and_then(Value::as_array);
        for item in items.into_iter().flatten() {
            if item.get("role").and_then(Value::as_str) == Some("tool")
                && let Some(id) = item.get("tool_call_id").and_then(Value::as_str)
            {
                results.insert(id.to_owned(), text_of(item.get("content")));
            }
            if item.get("type").and_then(Value::as_str) == Some("function_call_output")
                && let Some(id) = item.get("call_id").and_then(Value::as_str)
            {
                results.insert(id.to_owned(), text_of(item.get("output")));
            }
            for block in item
                .get("content")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if block.get("type").and_then(Value::as_str) == Some("tool_result")
                    && let Some(id) = block.get("tool_use_id").and_then(Value::as_str)
                {
                    results.insert(id.to_owned(), text_of(block.get("content")));
                }
            }
        }
        results
    }
}

/// A content field's text: a string as is, text parts joined, else its JSON.
fn text_of(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) if parts.iter().all(|p| p.get("text").is_some()) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        Some(other) => other.to_string(),
    }
}

/// What a recorded reply said.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordedReply {
    /// The text, if any.
    pub text: Option<String>,
    /// The calls in order, each with when its arguments were complete (µs
    /// from the request).
    pub calls: Vec<(ScriptedCall, u64)>,
}

/// A whole JSON reply of any of the three formats.
fn read_whole(body: &Value, end: u64) -> RecordedReply {
    let mut reply = RecordedReply::default();
    let mut text = String::new();
    let mut call = |id: Option<&str>, name: Option<&str>, arguments: String| {
        let mut scripted = ScriptedCall::raw(name.unwrap_or_default(), arguments);
        scripted.id = id.map(str::to_owned);
        reply.calls.push((scripted, end));
    };
    // Chat Completions.
    if let Some(message) = body.pointer("/choices/0/message") {
        if let Some(content) = message.get("content").and_then(Value::as_str) {
            text.push_str(content);
        }
        for c in message
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            call(
                c.get("id").and_then(Value::as_str),
                c.pointer("/function/name").and_then(Value::as_str),
                text_of(c.pointer("/function/arguments")),
            );
        }
    }
    // Anthropic Messages (`content` blocks) and Responses (`output` items).
    for block in ["content", "output"]
        .iter()
        .filter_map(|key| body.get(*key).and_then(Value::as_array))
        .flatten()
    {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(block.get("text").and_then(Value::as_str).unwrap_or("")),
            Some("tool_use") => call(
                block.get("id").and_then(Value::as_str),
                block.get("name").and_then(Value::as_str),
                block.get("input").map(Value::to_string).unwrap_or_default(),
            ),
            Some("function_call") => call(
                block.get("call_id").and_then(Value::as_str),
                block.get("name").and_then(Value::as_str),
                text_of(block.get("arguments")),
            ),
            Some("message") => {
                for part in block
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    text.push_str(part.get("text").and_then(Value::as_str).unwrap_or(""));
                }
            }
            _ => {}
        }
    }
    reply.text = (!text.is_empty()).then_some(text);
    reply
}

/// A streamed reply: Chat Completions chunks, or the final event of a
/// Responses or Anthropic stream read whole.
fn read_stream(chunks: &[Chunk]) -> RecordedReply {
    let mut reply = RecordedReply::default();
    let mut text = String::new();
    let mut buffer = String::new();
    let mut last_at = 0;
    let mut anthropic: Option<Value> = None;
    let mut items_done: HashMap<String, u64> = HashMap::new();
    let mut blocks_stopped: HashMap<u64, u64> = HashMap::new();
    for chunk in chunks {
        buffer.push_str(&chunk.data);
        last_at = chunk.at_us;
        // Events end with a blank line; keep a partial one for the next chunk.
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            for data in event.lines().filter_map(|l| l.strip_prefix("data:")) {
                let Ok(value) = serde_json::from_str::<Value>(data.trim_start()) else {
                    continue;
                };
                chat_delta(&value, chunk.at_us, &mut text, &mut reply.calls);
                match value.get("type").and_then(Value::as_str) {
                    Some("response.output_item.done") => {
                        if let Some(id) = value.pointer("/item/call_id").and_then(Value::as_str) {
                            items_done.insert(id.to_owned(), chunk.at_us);
                        }
                    }
                    Some("response.completed") => {
                        if let Some(response) = value.get("response") {
                            // Each function call was complete when its item was done.
                            let mut whole = read_whole(response, chunk.at_us);
                            for (call, at) in &mut whole.calls {
                                if let Some(done) =
                                    call.id.as_ref().and_then(|id| items_done.get(id))
                                {
                                    *at = *done;
                                }
                            }
                            return whole;
                        }
                    }
                    Some("message_start") => anthropic = value.get("message").cloned(),
                    Some("content_block_start") => {
                        if let (Some(message), Some(block)) =
                            (anthropic.as_mut(), value.get("content_block"))
                            && let Some(Value::Array(content)) = message.get_mut("content")
                        {
                            content.push(block.clone());
                        }
                    }
                    Some("content_block_delta") => anthropic_delta(anthropic.as_mut(), &value),
                    Some("content_block_stop") => {
                        if let Some(index) = value.get("index").and_then(Value::as_u64) {
                            blocks_stopped.insert(index, chunk.at_us);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    if let Some(message) = anthropic {
        // Each tool_use block was complete at its `content_block_stop`.
        let stops: Vec<u64> = message
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .filter(|(_, block)| block.get("type").and_then(Value::as_str) == Some("tool_use"))
            .map(|(i, _)| blocks_stopped.get(&(i as u64)).copied().unwrap_or(last_at))
            .collect();
        let mut whole = read_whole(&anthropic_finish(message), last_at);
        for ((_, at), stop) in whole.calls.iter_mut().zip(stops) {
            *at = stop;
        }
        return whole;
    }
    reply.text = (!text.is_empty()).then_some(text);
    reply
}

/// Fold one Chat Completions chunk into the text and calls.
fn chat_delta(value: &Value, at: u64, text: &mut String, calls: &mut Vec<(ScriptedCall, u64)>) {
    let Some(delta) = value.pointer("/choices/0/delta") else {
        return;
    };
    if let Some(content) = delta.get("content").and_then(Value::as_str) {
        text.push_str(content);
    }
    for fragment in delta
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let index = fragment.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
        while calls.len() <= index {
            calls.push((ScriptedCall::raw("", ""), at));
        }
        let (call, ready) = &mut calls[index];
        if let Some(id) = fragment.get("id").and_then(Value::as_str) {
            call.id = Some(id.to_owned());
        }
        if let Some(name) = fragment.pointer("/function/name").and_then(Value::as_str) {
            call.name.push_str(name);
        }
        if let Some(args) = fragment
            .pointer("/function/arguments")
            .and_then(Value::as_str)
        {
            call.arguments.push_str(args);
        }
        *ready = at;
    }
}

/// Fold an Anthropic `content_block_delta` into the message being built.
fn anthropic_delta(message: Option<&mut Value>, value: &Value) {
    let index = value.get("index").and_then(Value::as_u64).unwrap_or(0);
    let Some(block) = message.and_then(|m| m.pointer_mut(&format!("/content/{index}"))) else {
        return;
    };
    let Some(delta) = value.get("delta") else {
        return;
    };
    let (key, piece) = match delta.get("type").and_then(Value::as_str) {
        Some("text_delta") => ("text", delta.get("text")),
        Some("input_json_delta") => ("partial_json", delta.get("partial_json")),
        _ => return,
    };
    let piece = piece.and_then(Value::as_str).unwrap_or("");
    if let Some(object) = block.as_object_mut() {
        let entry = object
            .entry(key)
            .or_insert_with(|| Value::String(String::new()));
        if let Value::String(s) = entry {
            s.push_str(piece);
        }
    }
}

/// A streamed Anthropic message made whole: `partial_json` becomes `input`.
fn anthropic_finish(mut message: Value) -> Value {
    for block in message
        .get_mut("content")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        // No argument text at all keeps the start's `input` (`{}`).
        if let Some(object) = block.as_object_mut()
            && let Some(Value::String(json)) = object.remove("partial_json")
            && !json.is_empty()
        {
            let input = serde_json::from_str(&json).unwrap_or(Value::String(json));
            object.insert("input".into(), input);
        }
    }
    message
}

impl Recording {
    /// An empty recording of `upstream`.
    pub fn new(upstream: Option<String>) -> Self {
        Recording {
            recording: RECORDING_VERSION,
            upstream,
            exchanges: Vec::new(),
        }
    }

    /// The recording as pretty JSON.
    pub fn to_json(&self) -> String {
        // Plain data: it always serialises.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Write the recording to `path` (whole, or not at all).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), SessionFileError> {
        write_atomically(path.as_ref(), &self.to_json())
    }

    /// Read a recording; a bad one is reported as `FILE:LINE:COLUMN: problem`.
    pub fn load(path: impl AsRef<Path>) -> Result<Recording, SessionFileError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| SessionFileError::Read {
            path: path.to_owned(),
            source,
        })?;
        Recording::parse(&text, path)
    }

    /// Parse a recording's JSON text; `path` only names it in errors.
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Recording, SessionFileError> {
        let path = path.as_ref();
        let recording: Recording = parse_json(text, path)?;
        if recording.recording != RECORDING_VERSION {
            return Err(SessionFileError::Version {
                path: path.to_owned(),
                found: recording.recording,
                supported: RECORDING_VERSION,
            });
        }
        Ok(recording)
    }

    /// The model requests, in order.
    pub fn model_exchanges(&self) -> impl Iterator<Item = &Exchange> {
        self.exchanges.iter().filter(|e| e.is_model_request())
    }

    /// The recorded replies as a script: one turn per model request, the
    /// calls with their recorded ids; a 429, 500 or 529 becomes its fault.
    pub fn script(&self) -> Script {
        let turns = self
            .model_exchanges()
            .map(|exchange| match exchange.reply() {
                Some(RecordedReply { text, calls }) if !calls.is_empty() => {
                    let turn = Turn::tool_calls(calls.into_iter().map(|(c, _)| c));
                    match text {
                        Some(text) => turn.with_text(text),
                        None => turn,
                    }
                }
                Some(RecordedReply { text, .. }) => Turn::text(text.unwrap_or_default()),
                None => Turn::fault(match exchange.status {
                    429 => Fault::RateLimited {
                        retry_after_ms: exchange
                            .header("retry-after")
                            .and_then(|s| s.trim().parse::<f64>().ok())
                            .map_or(0, |s| (s * 1000.0) as u64),
                    },
                    503 | 529 => Fault::Overloaded,
                    _ => Fault::ServerError,
                }),
            });
        Script {
            turns: turns.collect(),
        }
    }

    /// The session for `whatif`: per model request its time and calls.
    ///
    /// A recording knows the time between a reply with calls and the
    /// request with their results, not each call's: a lone call took that
    /// whole gap; the calls of a wider round take what single-call rounds
    /// of the same tool took, and share the rest of the gap equally, as if
    /// the client ran them one after another (see [`Session::notes`]).
    pub fn session(&self) -> Session {
        let exchanges: Vec<&Exchange> = self.model_exchanges().collect();
        let replies: Vec<Option<RecordedReply>> = exchanges.iter().map(|e| e.reply()).collect();
        // What each tool took when it ran alone.
        let mut alone: HashMap<String, Vec<Duration>> = HashMap::new();
        for (i, reply) in replies.iter().enumerate() {
            if let (Some(reply), Some(gap)) = (reply, next_gap(&exchanges, i))
                && let [(call, _)] = reply.calls.as_slice()
            {
                alone.entry(call.name.clone()).or_default().push(gap);
            }
        }
        let mut notes = Vec::new();
        let rounds = exchanges
            .iter()
            .zip(&replies)
            .enumerate()
            .filter_map(|(i, (exchange, reply))| {
                let reply = reply.as_ref()?;
                let gap = next_gap(&exchanges, i).unwrap_or_default();
                let known: Vec<Option<Duration>> = reply
                    .calls
                    .iter()
                    .map(|(call, _)| match reply.calls.len() {
                        1 => Some(gap),
                        _ => alone.get(&call.name).map(|d| mean(d)),
                    })
                    .collect();
                let unknown = known.iter().filter(|k| k.is_none()).count() as u32;
                let rest = gap.saturating_sub(known.iter().flatten().sum());
                if unknown > 0 {
                    notes.push(format!(
                        "round {}: {} call(s) shared a {} gap; each unknown call is taken as {} (as if run one after another)",
                        i + 1,
                        reply.calls.len(),
                        crate::sessions::whatif::ms(gap),
                        crate::sessions::whatif::ms(rest / unknown)
                    ));
                }
                // Equal shares that add up to the rest exactly: the last takes what is left.
                // Whole milliseconds, as tokio's timer counts them.
                let share = Duration::from_millis((rest / unknown.max(1)).as_millis() as u64);
                let mut left = unknown;
                let calls = reply
                    .calls
                    .iter()
                    .zip(known)
                    .map(|((call, ready), known)| {
                        let latency = known.unwrap_or_else(|| {
                            left -= 1;
                            if left == 0 { rest - share * (unknown - 1) } else { share }
                        });
                        SessionCall {
                            id: call.id.clone().unwrap_or_default(),
                            name: call.name.clone(),
                            arguments: call.arguments.clone(),
                            latency,
                            // A whole reply says nothing of when each call was complete.
                            ready: exchange
                                .is_streamed()
                                .then(|| Duration::from_micros(*ready)),
                        }
                    })
                    .collect();
                Some(SessionRound {
                    model_time: exchange.duration(),
                    calls,
                })
            })
            .collect();
        Session { rounds, notes }
    }

    /// The recorded tools: one per name called, each call taking its
    /// recorded latency and returning the result the client sent back.
    pub fn tools(&self) -> Vec<RecordedTool> {
        let exchanges: Vec<&Exchange> = self.model_exchanges().collect();
        let session = self.session();
        let mut tools: Vec<RecordedTool> = Vec::new();
        let mut rounds = session.rounds.iter();
        for (i, exchange) in exchanges.iter().enumerate() {
            if exchange.reply().is_none() {
                continue;
            }
            let Some(round) = rounds.next() else { break };
            let results = exchanges
                .get(i + 1)
                .map(|next| next.tool_results())
                .unwrap_or_default();
            for call in &round.calls {
                let index = match tools.iter().position(|t| t.name == call.name) {
                    Some(index) => index,
                    None => {
                        let tool = RecordedTool::new(call.name.clone());
                        tools.push(match offered(exchange, &call.name) {
                            Some((description, parameters, strict)) => {
                                tool.offered_as(&description, parameters, strict)
                            }
                            None => tool,
                        });
                        tools.len() - 1
                    }
                };
                tools[index].push_result(
                    &call.arguments,
                    call.latency,
                    results.get(&call.id).cloned(),
                );
            }
        }
        tools
    }
}

/// How a request offered the tool `name`: its description, its arguments'
/// schema and strictness, in whichever format the request is written.
fn offered(exchange: &Exchange, name: &str) -> Option<(String, Value, bool)> {
    let tools = exchange.request.get("tools")?.as_array()?;
    tools.iter().find_map(|tool| {
        // Chat nests the function; Responses and Anthropic do not.
        let function = tool.get("function").unwrap_or(tool);
        if function.get("name").and_then(Value::as_str) != Some(name) {
            return None;
        }
        let parameters = function
            .get("parameters")
            .or_else(|| function.get("input_schema"))
            .cloned()
            .unwrap_or_else(|| serde_json::json!({"type": "object"}));
        Some((
            text_of(function.get("description")),
            parameters,
            function.get("strict").and_then(Value::as_bool) == Some(true),
        ))
    })
}

/// A request body as a recording keeps it: its JSON, or its text.
pub(crate) fn body_value(body: &[u8]) -> Value {
    match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(_) if body.is_empty() => Value::Null,
        Err(_) => Value::String(String::from_utf8_lossy(body).into_owned()),
    }
}

/// The tool gap before the request after model request `i`.
fn next_gap(exchanges: &[&Exchange], i: usize) -> Option<Duration> {
    exchanges
        .get(i + 1)
        .and_then(|next| next.tool_gap_us)
        .map(Duration::from_micros)
}

fn mean(durations: &[Duration]) -> Duration {
    durations.iter().sum::<Duration>() / (durations.len().max(1) as u32)
}

/// The first place where `got` differs from `recorded`, as a JSON path
/// (`messages[3].content`) with both values; `None` when they are equal.
pub fn first_difference(recorded: &Value, got: &Value) -> Option<(String, Value, Value)> {
    fn walk(path: &mut String, a: &Value, b: &Value) -> Option<(String, Value, Value)> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for (key, value) in x {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                    let found = match y.get(key) {
                        Some(other) => walk(path, value, other),
                        None => Some((path.clone(), value.clone(), Value::Null)),
                    };
                    if found.is_some() {
                        return found;
                    }
                    path.truncate(len);
                }
                let extra = y.keys().find(|k| !x.contains_key(*k))?;
                let at = if path.is_empty() {
                    extra.clone()
                } else {
                    format!("{path}.{extra}")
                };
                Some((at, Value::Null, y[extra].clone()))
            }
            (Value::Array(x), Value::Array(y)) => {
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    if let Some(found) = walk(path, p, q) {
                        return Some(found);
                    }
                    path.truncate(len);
                }
                (x.len() != y.len()).then(|| {
                    let n = x.len().min(y.len());
                    (
                        format!("{path}[{n}]"),
                        x.get(n).cloned().unwrap_or(Value::Null),
                        y.get(n).cloned().unwrap_or(Value::Null),
                    )
                })
            }
            _ => (a != b).then(|| (path.clone(), a.clone(), b.clone())),
        }
    }
    walk(&mut String::new(), recorded, got)
}
