//! The request journal: the requests the simulator saw, in order, with their
//! time on the (possibly paused) tokio clock, for tests to assert on; a
//! bounded ring with exact counts, so a long-running server stays flat.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hyper::body::Bytes;
use tokio::time::Instant;
use toolcall_runtime::{
    ChatRequest, ChatResponse, Message, OutputFormat, Settings, ToolChoice, ToolDefinition,
};

use crate::engine::fault::Fault;

/// How a request reached the simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Through [`SimModel`](crate::SimModel).
    InProcess,
    /// Through the HTTP server.
    Http,
}

/// What the simulator answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A completion (maybe cut short by a disconnect: see the entry's `fault`).
    Reply(ChatResponse),
    /// An error status with an OpenAI-shaped body.
    Error {
        /// The HTTP status.
        status: u16,
        /// The error message.
        message: String,
        /// The error code, if any.
        code: Option<String>,
    },
}

impl Answer {
    /// The HTTP status: 200 for a reply.
    pub fn status(&self) -> u16 {
        match self {
            Answer::Reply(_) => 200,
            Answer::Error { status, .. } => *status,
        }
    }

    /// The reply, if the answer was one.
    pub fn reply(&self) -> Option<&ChatResponse> {
        match self {
            Answer::Reply(reply) => Some(reply),
            Answer::Error { .. } => None,
        }
    }
}

/// One request and its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    /// Its position among all requests, from 0.
    pub index: usize,
    /// When it arrived, on tokio's clock.
    pub at: Instant,
    /// When it arrived, from the simulator's creation.
    pub since_start: Duration,
    /// In-process or HTTP.
    pub transport: Transport,
    /// Whether the reply was streamed.
    pub stream: bool,
    /// The model asked for (empty when the request could not be read).
    pub model: String,
    /// The names of the tools offered, in order.
    pub tools_offered: Vec<String>,
    /// The request's `tool_choice`.
    pub tool_choice: Option<ToolChoice>,
    /// The request's `parallel_tool_calls`.
    pub parallel_tool_calls: Option<bool>,
    /// The generation settings sent, read from the format's own fields
    /// (`max_completion_tokens`, `max_output_tokens`, `max_tokens`...).
    pub settings: Settings,
    /// The answer's schema, when the request asked for structured output
    /// (`response_format`, `text.format`, `output_config.format`).
    pub output: Option<OutputFormat>,
    /// The conversation sent.
    pub messages: Vec<Message>,
    /// The `tool_call_id` of every tool message, in the order sent.
    pub tool_message_ids: Vec<String>,
    /// The script turn that answered (from 0), if a script did.
    pub script_turn: Option<usize>,
    /// The fixture that answered it, by its place in the list.
    pub fixture: Option<usize>,
    /// The fault injected, if any.
    pub fault: Option<Fault>,
    /// Simulated time from its arrival to the reply's last byte (or the
    /// drop of a disconnect); zero for an error.
    pub took: Duration,
    /// The answer.
    pub answer: Answer,
    /// How it came over HTTP (`None` in process).
    pub http: Option<HttpRequest>,
}

/// A request as it came over HTTP: where it went, its headers (credentials
/// redacted) and its body as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method.
    pub method: String,
    /// The path, without a session prefix (`/v1/chat/completions`).
    pub endpoint: String,
    /// The headers in the order sent, names in lower case; the values of
    /// `authorization`, `x-api-key`, `api-key` and `cookie` are `[redacted]`.
    pub headers: Vec<(String, String)>,
    /// The body, byte for byte.
    pub body: Bytes,
}

/// The headers that carry credentials.
const SECRET_HEADERS: [&str; 5] = [
    "authorization",
    "x-api-key",
    "api-key",
    "cookie",
    "proxy-authorization",
];

/// A request's HTTP side as it came, packed into one buffer of its own and
/// turned into an [`HttpRequest`] only when someone reads the journal: most
/// entries are never read. Packed, not kept as hyper read it: hyper's header
/// values and a body read with the head are slices of the connection's read
/// buffer, and a journal holding them would pin a buffer a request (hyper
/// then allocates a fresh one for the next), which cost a server 2-3 µs a
/// request, mostly in cache misses.
#[derive(Debug)]
pub(crate) struct RawHttp {
    method: hyper::Method,
    /// The endpoint, each header's name and value, and the body, in this
    /// order, each after its length as 4 bytes (the body's is implied).
    packed: Box<[u8]>,
    /// How many headers `packed` holds.
    headers: usize,
    /// Where in `packed` the body starts.
    body_at: usize,
}

impl RawHttp {
    /// A request's HTTP side, as received.
    pub(crate) fn new(
        method: hyper::Method,
        endpoint: &str,
        headers: &hyper::header::HeaderMap,
        body: &[u8],
    ) -> RawHttp {
        let size = 4
            + endpoint.len()
            + headers
                .iter()
                .map(|(name, value)| 8 + name.as_str().len() + value.len())
                .sum::<usize>()
            + body.len();
        let mut packed = Vec::with_capacity(size);
        let mut put = |piece: &[u8]| {
            // A header or path over 4 GiB cannot reach here: hyper refuses
            // heads past its buffer's limit.
            packed.extend_from_slice(&u32::try_from(piece.len()).unwrap_or(u32::MAX).to_le_bytes());
            packed.extend_from_slice(piece);
        };
        put(endpoint.as_bytes());
        for (name, value) in headers {
            put(name.as_str().as_bytes());
            put(value.as_bytes());
        }
        let body_at = packed.len();
        packed.extend_from_slice(body);
        RawHttp {
            method,
            packed: packed.into_boxed_slice(),
            headers: headers.len(),
            body_at,
        }
    }

    /// The body, byte for byte.
    pub(crate) fn body(&self) -> &[u8] {
        &self.packed[self.body_at..]
    }

    fn secret(name: &str) -> bool {
        SECRET_HEADERS.contains(&name)
    }

    /// The journal's view: names in lower case, credentials redacted.
    fn to_http(&self) -> HttpRequest {
        let mut rest = &self.packed[..self.body_at];
        let mut take = || {
            let (length, after) = rest.split_at_checked(4).unwrap_or((&[0; 4], &[]));
            let length = u32::from_le_bytes(length.try_into().unwrap_or([0; 4])) as usize;
            let (piece, after) = after.split_at_checked(length).unwrap_or((after, &[]));
            rest = after;
            String::from_utf8_lossy(piece).into_owned()
        };
        let endpoint = take();
        let headers = (0..self.headers)
            .map(|_| {
                let name = take();
                let value = take();
                if RawHttp::secret(&name) {
                    (name, REDACTED.to_owned())
                } else {
                    (name, value)
                }
            })
            .collect();
        HttpRequest {
            method: self.method.as_str().to_owned(),
            endpoint,
            headers,
            body: Bytes::copy_from_slice(self.body()),
        }
    }

    /// About how much memory it holds.
    fn size(&self) -> usize {
        self.packed.len()
    }
}

/// What a credential header's value reads as in the journal.
const REDACTED: &str = "[redacted]";

impl JournalEntry {
    /// The status answered: 200 for a reply.
    pub fn status(&self) -> u16 {
        self.answer.status()
    }

    /// The ids of the trailing tool messages: the results this request delivered.
    pub fn delivered_results(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .messages
            .iter()
            .rev()
            .map_while(|m| match m {
                Message::Tool { tool_call_id, .. } => Some(tool_call_id.as_str()),
                _ => None,
            })
            .collect();
        ids.reverse();
        ids
    }
}

/// How many entries a journal keeps by default: enough for any test, small
/// enough (a few MB) for a server that runs for days.
pub const DEFAULT_JOURNAL_LIMIT: usize = 10_000;

/// How many bytes of messages a journal keeps by default, whatever its
/// entry limit: large requests (a long conversation each) go out sooner.
pub const DEFAULT_JOURNAL_BYTES: usize = 32 * 1024 * 1024;

/// Counts over every request a journal saw, kept exactly however many
/// entries it still holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JournalStats {
    /// Requests seen since creation (or the last [`Journal::clear`]).
    pub requests: u64,
    /// Of those, answered with a reply.
    pub replies: u64,
    /// Of those, answered with an error status.
    pub errors: u64,
    /// Of those, with a fault injected.
    pub faults: u64,
    /// Entries dropped to stay within the limit (the oldest first).
    pub dropped: u64,
}

/// A request's own fields, what its body says.
#[derive(Debug, Default)]
pub(crate) struct RequestFields {
    pub model: String,
    pub tools_offered: Vec<String>,
    pub tool_choice: Option<ToolChoice>,
    pub parallel_tool_calls: Option<bool>,
    pub settings: Settings,
    pub output: Option<OutputFormat>,
    pub messages: Vec<Message>,
}

/// A format's reading of a request's own fields from its body alone, for
/// a format whose reading depends on nothing else (no earlier response or
/// thread): with one, the journal keeps the request's bytes and reads its
/// fields again when someone reads the entry. Kept read, the parsed
/// conversation of every entry stays in memory, and the cache misses of
/// writing and dropping it cost a server more time than the reading.
pub(crate) type Reread = fn(&[u8]) -> Option<RequestFields>;

impl RequestFields {
    /// A request's own fields, the names of the `tools` offered with it.
    pub(crate) fn of(request: ChatRequest, tools: &[ToolDefinition]) -> RequestFields {
        RequestFields {
            model: request.model,
            tools_offered: tools.iter().map(|t| t.name.clone()).collect(),
            tool_choice: request.tool_choice,
            parallel_tool_calls: request.parallel_tool_calls,
            settings: request.settings,
            output: request.output,
            messages: request.messages,
        }
    }
}

impl JournalEntry {
    /// Request `index`'s entry, which came at `at` (`since_start` from the
    /// simulator's creation) and got `answer`: none of the request's own
    /// fields yet ([`fill`](Self::fill) sets them), no script turn,
    /// fixture or fault, and no time taken.
    pub(crate) fn new(
        index: usize,
        (at, since_start): (Instant, Duration),
        (transport, stream): (Transport, bool),
        answer: Answer,
    ) -> JournalEntry {
        JournalEntry {
            index,
            at,
            since_start,
            transport,
            stream,
            model: String::new(),
            tools_offered: Vec::new(),
            tool_choice: None,
            parallel_tool_calls: None,
            settings: Settings::default(),
            output: None,
            messages: Vec::new(),
            tool_message_ids: Vec::new(),
            script_turn: None,
            fixture: None,
            fault: None,
            took: Duration::ZERO,
            answer,
            http: None,
        }
    }

    /// An entry's fields from its request.
    pub(crate) fn fill(&mut self, fields: RequestFields) {
        self.tool_message_ids = tool_message_ids(&fields.messages);
        self.model = fields.model;
        self.tools_offered = fields.tools_offered;
        self.tool_choice = fields.tool_choice;
        self.parallel_tool_calls = fields.parallel_tool_calls;
        self.settings = fields.settings;
        self.output = fields.output;
        self.messages = fields.messages;
    }
}

/// The `tool_call_id` of every tool message, in order.
fn tool_message_ids(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|m| match m {
            Message::Tool { tool_call_id, .. } => Some(tool_call_id.clone()),
            _ => None,
        })
        .collect()
}

/// An entry as the ring keeps it: its HTTP side raw until read (and the
/// request's own fields, when they can be read again from it), and the
/// size counted for both (given back when it goes, not counted again).
#[derive(Debug)]
struct Kept {
    entry: JournalEntry,
    http: Option<RawHttp>,
    reread: Option<Reread>,
    bytes: usize,
}

impl Kept {
    /// The entry as readers see it.
    fn read(&self) -> JournalEntry {
        let mut entry = self.entry.clone();
        if let Some(http) = &self.http {
            if let Some(fields) = self.reread.and_then(|reread| reread(http.body())) {
                entry.fill(fields);
            }
            entry.http = Some(http.to_http());
        }
        entry
    }
}

#[derive(Debug)]
struct Ring {
    entries: VecDeque<Kept>,
    limit: usize,
    stats: JournalStats,
    /// The approximate size of the entries kept, and its bound.
    bytes: usize,
    max_bytes: usize,
}

impl Ring {
    /// Drop the oldest entries until within both bounds.
    fn trim(&mut self) {
        while self.entries.len() > self.limit
            || (self.bytes > self.max_bytes && self.entries.len() > 1)
        {
            if let Some(old) = self.entries.pop_front() {
                self.bytes = self.bytes.saturating_sub(old.bytes);
                self.stats.dropped += 1;
            }
        }
    }
}

/// About how much memory a content part holds: its text, data or URL.
fn part_bytes(part: &toolcall_runtime::ContentPart) -> usize {
    use toolcall_runtime::ContentPart as P;
    match part {
        P::Text { text } => text.len(),
        P::Image { data, .. } | P::Document { data, .. } => data.len() + 32,
        P::ImageUrl { url } | P::DocumentUrl { url } => url.len(),
        _ => 64,
    }
}

/// About how much memory an entry holds: its texts, arguments and names.
fn approx_bytes(entry: &JournalEntry) -> usize {
    let calls = |calls: &[toolcall_runtime::ToolCall]| {
        calls
            .iter()
            .map(|c| c.id.len() + c.name.len() + c.arguments.len() + 64)
            .sum::<usize>()
    };
    let messages: usize = entry
        .messages
        .iter()
        .map(|m| {
            64 + match m {
                Message::System { content } => content.len(),
                Message::User { content } => content.parts().iter().map(part_bytes).sum(),
                Message::Tool {
                    content,
                    tool_call_id,
                    parts,
                    ..
                } => {
                    content.len() + tool_call_id.len() + parts.iter().map(part_bytes).sum::<usize>()
                }
                Message::Assistant {
                    content,
                    tool_calls,
                } => content.as_ref().map_or(0, String::len) + calls(tool_calls),
                _ => 0,
            }
        })
        .sum();
    let reply = match &entry.answer {
        Answer::Reply(reply) => {
            reply.content.as_ref().map_or(0, String::len) + calls(&reply.tool_calls)
        }
        Answer::Error { message, .. } => message.len(),
    };
    // The HTTP side is kept apart (`RawHttp::size`).
    256 + messages + reply + entry.tools_offered.iter().map(String::len).sum::<usize>()
}

/// A shared log of requests, in order: the latest `limit` entries (a
/// ring; [`DEFAULT_JOURNAL_LIMIT`] unless set) and exact counts of all.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct Journal {
    ring: Arc<Mutex<Ring>>,
}

impl Default for Journal {
    fn default() -> Self {
        Journal::with_limit(DEFAULT_JOURNAL_LIMIT)
    }
}

impl Journal {
    /// A journal keeping the latest `limit` entries (0 keeps none, only the counts).
    pub fn with_limit(limit: usize) -> Self {
        Journal {
            ring: Arc::new(Mutex::new(Ring {
                entries: VecDeque::with_capacity(limit.min(1024)),
                limit,
                stats: JournalStats::default(),
                bytes: 0,
                max_bytes: DEFAULT_JOURNAL_BYTES,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Ring> {
        // A panic elsewhere while holding the lock leaves the log readable.
        self.ring
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether entries are kept at all (a limit of 0 keeps only counts,
    /// so the engine need not build them).
    pub(crate) fn keeps_entries(&self) -> bool {
        self.lock().limit > 0
    }

    /// Count a request whose entry is not kept (limit 0).
    pub(crate) fn count(&self, answer_ok: bool, fault: bool) {
        let mut ring = self.lock();
        ring.stats.count(answer_ok, fault);
        ring.stats.dropped += 1;
    }

    /// Add the HTTP side to the entry of request `index`, if still kept.
    pub(crate) fn attach(&self, index: usize, http: RawHttp) {
        let mut ring = self.lock();
        let Some(first) = ring.entries.front().map(|e| e.entry.index) else {
            return;
        };
        let size = http.size();
        if let Some(kept) = index
            .checked_sub(first)
            .and_then(|at| ring.entries.get_mut(at))
            .filter(|kept| kept.entry.index == index)
        {
            kept.http = Some(http);
            kept.bytes += size;
            ring.bytes += size;
            ring.trim();
        }
    }

    /// Add the HTTP side to the latest refused entry with this message and
    /// none yet (a format journals a request it cannot read as it parses).
    pub(crate) fn attach_refused(&self, message: &str, http: RawHttp) {
        let index = {
            let ring = self.lock();
            ring.entries
                .iter()
                .rev()
                .find_map(|kept| match &kept.entry.answer {
                    Answer::Error { message: m, .. } if m == message && kept.http.is_none() => {
                        Some(kept.entry.index)
                    }
                    _ => None,
                })
        };
        if let Some(index) = index {
            self.attach(index, http);
        }
    }

    /// Add an entry, with its HTTP side as it came if it came over HTTP
    /// (its own fields left empty when `reread` reads them from its body).
    pub(crate) fn push(&self, entry: JournalEntry, http: Option<RawHttp>, reread: Option<Reread>) {
        let mut ring = self.lock();
        ring.stats.count(
            matches!(entry.answer, Answer::Reply(_)),
            entry.fault.is_some(),
        );
        if ring.limit == 0 {
            ring.stats.dropped += 1;
            return;
        }
        let bytes = approx_bytes(&entry) + http.as_ref().map_or(0, RawHttp::size);
        ring.bytes += bytes;
        let reread = reread.filter(|_| http.is_some());
        ring.entries.push_back(Kept {
            entry,
            http,
            reread,
            bytes,
        });
        ring.trim();
    }

    /// Every entry kept, in arrival order. Each is built as it is read:
    /// the server keeps a request's bytes and, for a Chat Completions
    /// request, reads its fields from them again here, which costs about
    /// what reading the request cost the server.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.lock().entries.iter().map(Kept::read).collect()
    }

    /// The entry of request `index` (counted from 0), if still kept.
    pub fn get(&self, index: usize) -> Option<JournalEntry> {
        let ring = self.lock();
        let first = ring.entries.front()?.entry.index;
        ring.entries.get(index.checked_sub(first)?).map(Kept::read)
    }

    /// The latest entry.
    pub fn last(&self) -> Option<JournalEntry> {
        self.lock().entries.back().map(Kept::read)
    }

    /// The number of entries kept (at most the limit; see [`Journal::stats`]
    /// for the count of all requests).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no entry is kept.
    pub fn is_empty(&self) -> bool {
        self.lock().entries.is_empty()
    }

    /// The most entries kept.
    pub fn limit(&self) -> usize {
        self.lock().limit
    }

    /// Keep at most `limit` entries from now on (the oldest go first).
    pub fn set_limit(&self, limit: usize) {
        let mut ring = self.lock();
        ring.limit = limit;
        ring.trim();
    }

    /// Keep about `bytes` of messages and replies at most (default
    /// [`DEFAULT_JOURNAL_BYTES`]), the oldest entries going first; the
    /// latest entry is always kept.
    pub fn set_max_bytes(&self, bytes: usize) {
        let mut ring = self.lock();
        ring.max_bytes = bytes;
        ring.trim();
    }

    /// Exact counts over every request seen.
    pub fn stats(&self) -> JournalStats {
        self.lock().stats
    }

    /// Forget every entry and reset the counts.
    pub fn clear(&self) {
        let mut ring = self.lock();
        ring.entries.clear();
        ring.bytes = 0;
        ring.stats = JournalStats::default();
    }
}

impl JournalStats {
    fn count(&mut self, reply: bool, fault: bool) {
        self.requests += 1;
        if reply {
            self.replies += 1;
        } else {
            self.errors += 1;
        }
        if fault {
            self.faults += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::{HeaderMap, HeaderValue};

    #[test]
    fn a_packed_request_reads_back_as_sent_with_credentials_redacted() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert(
            "authorization",
            HeaderValue::from_static("Bearer sk-secret"),
        );
        headers.append("x-empty", HeaderValue::from_static(""));
        headers.append("x-twice", HeaderValue::from_static("one"));
        headers.append("x-twice", HeaderValue::from_static("two"));
        let body = br#"{"model":"m"}"#;
        let raw = RawHttp::new(hyper::Method::POST, "/v1/chat/completions", &headers, body);
        let http = raw.to_http();
        assert_eq!(http.method, "POST");
        assert_eq!(http.endpoint, "/v1/chat/completions");
        assert_eq!(&http.body[..], body);
        let pairs: Vec<(&str, &str)> = http
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("content-type", "application/json"),
                ("authorization", "[redacted]"),
                ("x-empty", ""),
                ("x-twice", "one"),
                ("x-twice", "two"),
            ]
        );
        let empty = RawHttp::new(hyper::Method::GET, "/", &HeaderMap::new(), &[]);
        assert_eq!(empty.to_http().endpoint, "/");
        assert!(empty.to_http().body.is_empty() && empty.to_http().headers.is_empty());
    }
}
