//! Replay: a recording served back over HTTP, byte for byte, each chunk at
//! its recorded offset from the request on tokio's clock (exact under a
//! paused clock), with the recorded reply headers (request ids included).
//!
//! A request is answered by the first unused recorded exchange with the same
//! method, path and body (compared as JSON: key order aside, every field
//! counts), so concurrent conversations replay in whatever order their
//! requests come, and a conversation's identical requests take its exchanges
//! in recorded order. A request that matches none is answered with an error
//! naming the closest unused recorded request and where it differs, and
//! [`ReplayServer::check`] fails the test with the same words.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use toolcall_sim::Recording;
//!
//! let recording = Recording::load("session.recording.json")?;
//! let server = recording.replay("127.0.0.1:0".parse()?).await?;
//! println!("point the client at {}", server.base_url());
//! // ... run the client ...
//! server.check()?;
//! server.shutdown().await;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::engine::latency::wait_after;
use crate::server::listen::{Body, Listening, full, listen};
use crate::sessions::recording::{Exchange, Recording, first_difference};

/// Where a replayed session left the recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// The request's number, from 1.
    pub request: usize,
    /// What differed.
    pub detail: String,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "request #{} diverged from the recording: {}",
            self.request, self.detail
        )
    }
}

impl std::error::Error for Divergence {}

struct Cursor {
    /// Which recorded exchanges have been replayed.
    used: Vec<bool>,
    seen: usize,
    divergences: Vec<Divergence>,
}

impl Cursor {
    fn served(&self) -> usize {
        self.used.iter().filter(|u| **u).count()
    }
}

/// A recording served over HTTP ([`Recording::replay`]): the recorded
/// replies byte for byte, each chunk at its recorded offset from the
/// request on tokio's clock (exact under a paused clock). A request that
/// differs from the recorded one gets a 409 saying where it diverged, and
/// [`ReplayServer::check`] fails the test with the same words.
#[derive(Debug)]
pub struct ReplayServer {
    listening: Listening,
    state: Arc<(Recording, Mutex<Cursor>)>,
}

impl std::fmt::Debug for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cursor")
            .field("served", &self.served())
            .finish()
    }
}

impl Recording {
    /// Serve this recording at `addr` (port 0 picks one), on this runtime.
    pub async fn replay(&self, addr: SocketAddr) -> std::io::Result<ReplayServer> {
        let state = Arc::new((
            self.clone(),
            Mutex::new(Cursor {
                used: vec![false; self.exchanges.len()],
                seen: 0,
                divergences: Vec::new(),
            }),
        ));
        let shared = state.clone();
        let listening = listen(addr, move |request| answer(shared.clone(), request)).await?;
        Ok(ReplayServer { listening, state })
    }
}

impl ReplayServer {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.listening.addr
    }

    /// The base URL for OpenAI clients: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.listening.addr)
    }

    /// Exchanges not replayed yet.
    pub fn remaining(&self) -> usize {
        let cursor = lock(&self.state.1);
        self.state.0.exchanges.len() - cursor.served()
    }

    /// Where the session diverged, in order (empty while it follows).
    pub fn divergences(&self) -> Vec<Divergence> {
        lock(&self.state.1).divergences.clone()
    }

    /// The first divergence, or an unused exchange, as an error.
    pub fn check(&self) -> Result<(), Divergence> {
        let cursor = lock(&self.state.1);
        if let Some(first) = cursor.divergences.first() {
            return Err(first.clone());
        }
        let total = self.state.0.exchanges.len();
        let served = cursor.served();
        if served < total {
            return Err(Divergence {
                request: cursor.seen + 1,
                detail: format!(
                    "the recording has {total} exchange(s) and only {served} were requested"
                ),
            });
        }
        Ok(())
    }

    /// Stop serving and wait.
    pub async fn shutdown(self) {
        self.listening.shutdown().await;
    }
}

fn lock(cursor: &Mutex<Cursor>) -> std::sync::MutexGuard<'_, Cursor> {
    cursor
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn answer(
    state: Arc<(Recording, Mutex<Cursor>)>,
    request: Request<Incoming>,
) -> Response<Body> {
    let arrived = Instant::now();
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(error) => return diverged_response(&format!("cannot read the request: {error}")),
    };
    let (recording, cursor) = &*state;
    let exchange = {
        let mut cursor = lock(cursor);
        cursor.seen += 1;
        let number = cursor.seen;
        let matched = find(&recording.exchanges, &cursor.used, &method, &path, &body);
        match matched {
            Ok(index) => {
                cursor.used[index] = true;
                recording.exchanges[index].clone()
            }
            Err(detail) => {
                let divergence = Divergence {
                    request: number,
                    detail,
                };
                let text = divergence.to_string();
                cursor.divergences.push(divergence);
                return diverged_response(&text);
            }
        }
    };
    replay(exchange, arrived)
}

/// The first unused exchange the request equals; if none, the closest
/// unused one and where the request differs from it.
fn find(
    exchanges: &[Exchange],
    used: &[bool],
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<usize, String> {
    let got = crate::sessions::recording::body_value(body);
    let unused = || {
        exchanges
            .iter()
            .enumerate()
            .filter(|(i, _)| !used.get(*i).copied().unwrap_or(true))
    };
    let same_route = |e: &&Exchange| e.method == method && e.path == path;
    if let Some((index, _)) = unused().find(|(_, e)| same_route(e) && e.request == got) {
        return Ok(index);
    }
    // The closest: the same route first, then the most equal leaves.
    let closest = unused().max_by_key(|(i, e)| {
        (
            same_route(e),
            common_leaves(&e.request, &got),
            std::cmp::Reverse(*i),
        )
    });
    let Some((index, exchange)) = closest else {
        return Err(format!(
            "the recording has {} exchange(s), all replayed; {method} {path} came after the last",
            exchanges.len()
        ));
    };
    let detail = compare(exchange, method, path, &got).unwrap_or_default();
    Err(format!(
        "it matches no unused recorded request; the closest is #{}: {detail}",
        index + 1
    ))
}

/// Where a request differs from a recorded one (`None` if it does not).
fn compare(exchange: &Exchange, method: &str, path: &str, got: &Value) -> Option<String> {
    if exchange.method != method || exchange.path != path {
        return Some(format!(
            "expected {} {}, got {method} {path}",
            exchange.method, exchange.path
        ));
    }
    first_difference(&exchange.request, got).map(|(at, recorded, got)| {
        format!(
            "at `{}`: recorded {}, got {}",
            if at.is_empty() { "(the body)" } else { &at },
            clip(&recorded),
            clip(&got)
        )
    })
}

/// How many leaf values two JSON values share at the same places.
fn common_leaves(a: &Value, b: &Value) -> usize {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x
            .iter()
            .filter_map(|(k, v)| y.get(k).map(|w| common_leaves(v, w)))
            .sum(),
        (Value::Array(x), Value::Array(y)) => {
            x.iter().zip(y).map(|(v, w)| common_leaves(v, w)).sum()
        }
        (x, y) => usize::from(x == y),
    }
}

/// A value's JSON, cut to a readable length.
fn clip(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(120) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

fn diverged_response(message: &str) -> Response<Body> {
    let body = json!({"error": {"message": message, "type": "replay_diverged", "param": null, "code": "replay_diverged"}});
    let mut response = Response::new(full(body.to_string()));
    *response.status_mut() = StatusCode::CONFLICT;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // A retry diverges the same way: the official SDKs skip it when told.
    response
        .headers_mut()
        .insert("x-should-retry", HeaderValue::from_static("false"));
    response
}

/// The recorded reply: its status, kept headers, and chunks on time.
fn replay(exchange: Exchange, arrived: Instant) -> Response<Body> {
    let chunks = exchange
        .chunks
        .into_iter()
        .map(|c| (Duration::from_micros(c.at_us), Bytes::from(c.data)));
    let frames = stream::unfold(chunks, move |mut chunks| async move {
        let (at, bytes) = chunks.next()?;
        wait_after(arrived, at).await;
        Some((Ok::<_, std::io::Error>(Frame::data(bytes)), chunks))
    });
    let mut response = Response::new(StreamBody::new(frames).boxed_unsync());
    *response.status_mut() =
        StatusCode::from_u16(exchange.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in &exchange.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
