//! `toolcall-sim record`: a proxy between a client and a chat API (any of
//! the formats; it forwards bytes) that writes each exchange to a
//! recording as it ends: the request, the reply's status and body chunks
//! with their timing, and the tools' time as the client lived it.
//!
//! Credentials never reach the file: no request header is kept, only the
//! reply headers in [`KEPT_HEADERS`](crate::KEPT_HEADERS), and the values
//! of the credential headers are replaced by `[redacted]` wherever they
//! appear in a body.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use toolcall_sim::Recorder;
//!
//! let recorder = Recorder::start("https://api.openai.com", "session.recording.json", "127.0.0.1:0".parse()?).await?;
//! println!("OPENAI_BASE_URL={}", recorder.base_url());
//! // ... run the agent against it ...
//! recorder.shutdown().await;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::{StreamExt, stream};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::header::HeaderValue;
use hyper::{Request, Response, StatusCode};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::server::listen::{Body, Listening, full, listen};
use crate::sessions::recording::{Chunk, Exchange, KEPT_HEADERS, Recording, body_value};

/// Request headers that carry credentials: forwarded, never written.
const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "cookie",
];

/// Headers that belong to one hop, not forwarded either way.
const HOP_HEADERS: &[&str] = &[
    "host",
    "connection",
    "content-length",
    "transfer-encoding",
    "keep-alive",
    "upgrade",
    "accept-encoding",
    "content-encoding",
];

/// Why the recorder could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum RecordError {
    /// The upstream is not an `http://` or `https://` URL.
    Upstream(String),
    /// The HTTP client could not be built.
    Client(String),
    /// The address could not be bound.
    Bind(std::io::Error),
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::Upstream(why) => write!(f, "--upstream: {why}"),
            RecordError::Client(why) => write!(f, "cannot build the HTTP client: {why}"),
            RecordError::Bind(error) => write!(f, "cannot listen: {error}"),
        }
    }
}

impl std::error::Error for RecordError {}

struct State {
    client: reqwest::Client,
    /// `scheme://host[:port]` of the upstream.
    origin: String,
    out: PathBuf,
    started: Instant,
    book: Mutex<Book>,
}

/// The recording so far, and what the next request needs to know.
struct Book {
    recording: Recording,
    /// When the last reply that asked for tools ended (µs).
    tools_asked_at: Option<u64>,
    save_errors: Vec<String>,
}

/// A running recording proxy ([`Recorder::start`]): it forwards each
/// request to the upstream and the reply back as it streams, and writes
/// the recording after each exchange. No request header reaches the file,
/// only the reply headers in [`KEPT_HEADERS`](crate::KEPT_HEADERS), and the
/// credential headers' values are redacted wherever they appear in a body.
pub struct Recorder {
    listening: Listening,
    state: Arc<State>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("addr", &self.listening.addr)
            .field("upstream", &self.state.origin)
            .field("out", &self.state.out)
            .finish()
    }
}

impl Recorder {
    /// Listen at `addr` (port 0 picks one), forward to `upstream` (its
    /// scheme, host and port; the client's path is kept), and write the
    /// recording to `out` after each exchange.
    pub async fn start(
        upstream: &str,
        out: impl AsRef<Path>,
        addr: SocketAddr,
    ) -> Result<Recorder, RecordError> {
        let url = reqwest::Url::parse(upstream)
            .map_err(|e| RecordError::Upstream(format!("`{upstream}` is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(RecordError::Upstream(format!(
                "`{upstream}` is not an http:// or https:// URL"
            )));
        }
        // Credentials in the URL are neither kept nor sent.
        let origin = url.origin().ascii_serialization();
        // reqwest is built without a TLS provider of its own: pick ring, once
        // (deprecated from rustls 0.23.48 for lacking post-quantum groups;
        // kept for its plain build, as in the runtime's `install_ring`).
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .build()
            .map_err(|e| RecordError::Client(e.to_string()))?;
        let state = Arc::new(State {
            client,
            out: out.as_ref().to_owned(),
            started: Instant::now(),
            book: Mutex::new(Book {
                recording: Recording::new(Some(origin.clone())),
                tools_asked_at: None,
                save_errors: Vec::new(),
            }),
            origin,
        });
        let shared = state.clone();
        let listening = listen(addr, move |request| forward(shared.clone(), request))
            .await
            .map_err(RecordError::Bind)?;
        Ok(Recorder { listening, state })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.listening.addr
    }

    /// The base URL for OpenAI clients: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.listening.addr)
    }

    /// The recording so far.
    pub fn recording(&self) -> Recording {
        lock(&self.state.book).recording.clone()
    }

    /// The writes of the file that failed, in order.
    pub fn save_errors(&self) -> Vec<String> {
        lock(&self.state.book).save_errors.clone()
    }

    /// Stop, let exchanges in flight finish (briefly), and wait.
    pub async fn shutdown(self) {
        self.listening.shutdown().await;
    }
}

fn lock(book: &Mutex<Book>) -> MutexGuard<'_, Book> {
    book.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn micros(since: Instant, now: Instant) -> u64 {
    u64::try_from(now.saturating_duration_since(since).as_micros()).unwrap_or(u64::MAX)
}

/// Every credential value of these headers (and a bearer token alone).
fn secrets(headers: &hyper::HeaderMap) -> Vec<String> {
    let mut found = Vec::new();
    for name in CREDENTIAL_HEADERS {
        for value in headers.get_all(*name) {
            let Ok(value) = value.to_str() else { continue };
            if let Some((_, token)) = value.split_once(' ') {
                found.push(token.trim().to_owned());
            }
            found.push(value.to_owned());
        }
    }
    // The longest first, so a token inside a whole value goes with it.
    found.retain(|s| s.len() >= 4);
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    found
}

fn redact(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .fold(text.to_owned(), |t, s| t.replace(s.as_str(), "[redacted]"))
}

fn bad_gateway(message: String) -> Response<Body> {
    let body = json!({"error": {"message": message, "type": "upstream_unreachable", "param": null, "code": null}});
    let mut response = Response::new(full(body.to_string()));
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn forward(state: Arc<State>, request: Request<Incoming>) -> Response<Body> {
    let arrived = Instant::now();
    let (parts, body) = request.into_parts();
    let secrets = secrets(&parts.headers);
    let body = match body.collect().await {
        Ok(body) => body.to_bytes(),
        Err(error) => return bad_gateway(format!("cannot read the request: {error}")),
    };
    let path = parts.uri.path().to_owned();
    let target = format!(
        "{}{}",
        state.origin,
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let method = match reqwest::Method::from_bytes(parts.method.as_str().as_bytes()) {
        Ok(method) => method,
        Err(error) => return bad_gateway(format!("unsupported method: {error}")),
    };
    let mut upstream = state.client.request(method, &target);
    for (name, value) in &parts.headers {
        if !HOP_HEADERS.contains(&name.as_str()) {
            upstream = upstream.header(name.as_str(), value.as_bytes());
        }
    }
    // Plain bodies: a recording holds what the client reads.
    upstream = upstream.header("accept-encoding", "identity");
    let reply = match upstream.body(body.clone()).send().await {
        Ok(reply) => reply,
        Err(error) => return bad_gateway(format!("upstream {target}: {error}")),
    };
    let status = reply.status().as_u16();
    let mut response = Response::new(full(Bytes::new()));
    let mut kept = Vec::new();
    for (name, value) in reply.headers() {
        if HOP_HEADERS.contains(&name.as_str()) {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            hyper::header::HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            response.headers_mut().append(n, v);
        }
        if KEPT_HEADERS.contains(&name.as_str())
            && let Ok(value) = value.to_str()
        {
            kept.push((name.as_str().to_owned(), value.to_owned()));
        }
    }
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let request_text = redact(&String::from_utf8_lossy(&body), &secrets);
    let exchange = Exchange {
        method: parts.method.to_string(),
        path,
        request: body_value(request_text.as_bytes()),
        arrived_us: micros(state.started, arrived),
        ended_us: 0,
        tool_gap_us: None,
        status,
        headers: kept,
        chunks: Vec::new(),
    };
    // The upstream's chunks go to the client as they come, and to the book.
    let (sender, receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    tokio::spawn(relay(state, reply, exchange, arrived, secrets, sender));
    let frames = stream::unfold(receiver, |mut receiver| async move {
        let item = receiver.recv().await?;
        Some((item.map(Frame::data), receiver))
    });
    *response.body_mut() = StreamBody::new(frames).boxed_unsync();
    response
}

/// Pass the reply on chunk by chunk, then write the exchange down.
async fn relay(
    state: Arc<State>,
    reply: reqwest::Response,
    mut exchange: Exchange,
    arrived: Instant,
    secrets: Vec<String>,
    sender: mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let mut body = reply.bytes_stream();
    // Bytes of a character cut between chunks wait for the rest of it.
    let mut pending: Vec<u8> = Vec::new();
    while let Some(piece) = body.next().await {
        let now = Instant::now();
        match piece {
            Ok(bytes) => {
                pending.extend_from_slice(&bytes);
                let whole = match std::str::from_utf8(&pending) {
                    Ok(_) => pending.len(),
                    Err(error) if error.error_len().is_none() => error.valid_up_to(),
                    Err(_) => pending.len(),
                };
                let rest = pending.split_off(whole);
                let text = String::from_utf8_lossy(&pending).into_owned();
                pending = rest;
                if !text.is_empty() {
                    exchange.chunks.push(Chunk {
                        at_us: micros(arrived, now),
                        data: redact(&text, &secrets),
                    });
                }
                // A client that left still gets its exchange recorded.
                let _ = sender.send(Ok(bytes)).await;
            }
            Err(error) => {
                let _ = sender
                    .send(Err(std::io::Error::other(error.to_string())))
                    .await;
                break;
            }
        }
    }
    if !pending.is_empty() {
        exchange.chunks.push(Chunk {
            at_us: micros(arrived, Instant::now()),
            data: String::from_utf8_lossy(&pending).into_owned(),
        });
    }
    exchange.ended_us = micros(state.started, Instant::now());
    drop(sender);
    let mut book = lock(&state.book);
    if exchange.is_model_request() {
        // Only a request that brings tool results closes a tool gap: one
        // without them starts a new conversation (the calls were dropped).
        if let Some(asked) = book.tools_asked_at.take()
            && !exchange.tool_results().is_empty()
        {
            exchange.tool_gap_us = Some(exchange.arrived_us.saturating_sub(asked));
        }
        if exchange.reply().is_some_and(|r| !r.calls.is_empty()) {
            book.tools_asked_at = Some(exchange.ended_us);
        }
    }
    // In the order the requests arrived, whatever order replies ended in.
    let at = book
        .recording
        .exchanges
        .partition_point(|e| e.arrived_us <= exchange.arrived_us);
    book.recording.exchanges.insert(at, exchange);
    if let Err(error) = book.recording.save(&state.out) {
        book.save_errors.push(error.to_string());
    }
}
