//! The HTTP server: every wire format on one port. On a current-thread
//! runtime it serves on that runtime, so a paused clock drives its
//! latencies too; otherwise on threads of its own, each a current-thread
//! runtime, so no reply waits on another thread's wake-up or on the
//! caller's tasks.

mod control;
mod header_timer;
pub(crate) mod listen;
mod per_request;
mod session_scope;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use crate::engine::latency::wait_after;
use futures_util::{FutureExt as _, stream};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited, StreamBody};
use hyper::body::{Body as _, Bytes, Frame, Incoming};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::runtime::RuntimeFlavor;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::engine::Envelope;
use crate::engine::fault::FaultRates;
use crate::engine::journal::{Journal, RawHttp, Transport};
use crate::engine::latency::ModelLatency;
use crate::engine::script::Script;
use crate::engine::simulator::{SimBuilder, Simulator};
use crate::engine::{Chunking, Engine, Outcome};
use crate::server::header_timer::HeaderTimer;
use crate::server::listen::accept_loop;
use crate::server::session_scope::Scopes;
use crate::wire::anthropic::Anthropic;
use crate::wire::anthropic_routes;
use crate::wire::chat::{self, Chat};
use crate::wire::gemini::Gemini;
use crate::wire::responses::Responses;
use crate::wire::threads::Messages;
use crate::wire::{ApiError, Blanks, Format, drop_blank, to_json};

/// The default limit on a request body.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The default [`ServerBuilder::header_read_timeout`].
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The default [`ServerBuilder::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the server could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServerError {
    /// The address could not be bound.
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The system's reason.
        source: std::io::Error,
    },
    /// A server thread or its runtime could not be started.
    Thread(std::io::Error),
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServerError::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            ServerError::Thread(source) => write!(f, "cannot start a server thread: {source}"),
        }
    }
}

impl std::error::Error for ServerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServerError::Bind { source, .. } | ServerError::Thread(source) => Some(source),
        }
    }
}

/// Configures a [`Server`]: the simulator's settings (or an existing
/// simulator), the address and the API key.
#[derive(Debug)]
pub struct ServerBuilder {
    builder: SimBuilder,
    sim: Option<Simulator>,
    addr: SocketAddr,
    api_key: Option<String>,
    max_body: usize,
    cors: bool,
    header_read_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    threads: Option<usize>,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        ServerBuilder {
            builder: SimBuilder::default(),
            sim: None,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            api_key: None,
            max_body: DEFAULT_MAX_BODY_BYTES,
            cors: true,
            header_read_timeout: Some(DEFAULT_HEADER_READ_TIMEOUT),
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            threads: None,
        }
    }
}

impl Simulator {
    /// An HTTP server over this simulator (configure, then `start().await`).
    pub fn server(&self) -> ServerBuilder {
        ServerBuilder::with_simulator(self.clone())
    }
}

impl SimBuilder {
    /// Build the simulator and a server builder over it.
    pub fn server(self) -> ServerBuilder {
        self.build().server()
    }
}

impl ServerBuilder {
    pub(crate) fn with_simulator(sim: Simulator) -> Self {
        ServerBuilder {
            sim: Some(sim),
            ..ServerBuilder::default()
        }
    }

    /// The seed (ignored when serving an existing simulator).
    pub fn seed(mut self, seed: u64) -> Self {
        self.builder = self.builder.seed(seed);
        self
    }

    /// Follow this script (ignored when serving an existing simulator).
    pub fn script(mut self, script: Script) -> Self {
        self.builder = self.builder.script(script);
        self
    }

    /// The model's latency (ignored when serving an existing simulator).
    pub fn model_latency(mut self, latency: ModelLatency) -> Self {
        self.builder = self.builder.model_latency(latency);
        self
    }

    /// Faults by rate (ignored when serving an existing simulator).
    pub fn faults(mut self, rates: FaultRates) -> Self {
        self.builder = self.builder.faults(rates);
        self
    }

    /// Answer from these fixtures before the script (ignored when serving
    /// an existing simulator).
    pub fn fixtures(mut self, fixtures: crate::Fixtures) -> Self {
        self.builder = self.builder.fixtures(fixtures);
        self
    }

    /// Real time per simulated time (ignored when serving an existing
    /// simulator): at 0.01 latencies pass 100 times faster, and replies
    /// and the journal carry the simulated times.
    pub fn time_scale(mut self, scale: f64) -> Self {
        self.builder = self.builder.time_scale(scale);
        self
    }

    /// Stream chunking (ignored when serving an existing simulator).
    pub fn chunking(mut self, chunking: Chunking) -> Self {
        self.builder = self.builder.chunking(chunking);
        self
    }

    /// Serve this simulator, sharing its script, draws and journal.
    pub fn simulator(mut self, sim: Simulator) -> Self {
        self.sim = Some(sim);
        self
    }

    /// Listen here (default `127.0.0.1:0`, a free port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Listen on this port of 127.0.0.1.
    pub fn port(mut self, port: u16) -> Self {
        self.addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        self
    }

    /// Require `Authorization: Bearer <key>`; others get 401.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The largest request body accepted (413 above).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Answer CORS preflights and let browser pages read the replies (on by
    /// default: a local test server, called from any origin).
    pub fn cors(mut self, on: bool) -> Self {
        self.cors = on;
        self
    }

    /// Close a connection that takes longer than this to send a request's
    /// head, counted from when the server starts waiting for it: a new
    /// connection, or a kept-alive one after its last reply (default
    /// [`DEFAULT_HEADER_READ_TIMEOUT`]; `None`: wait for ever). On tokio's
    /// clock, so a paused clock moves it too.
    pub fn header_read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Close a connection whose request body stops arriving for this long
    /// (default [`DEFAULT_IDLE_TIMEOUT`]; `None`: wait for ever).
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Serve on `threads` threads of its own (at least one), each a
    /// current-thread runtime accepting from the same socket. By default it
    /// serves on the caller's runtime when that is a current-thread one
    /// (tokio's test runtime, where the clock may be paused), and on one
    /// thread of its own otherwise, as wiremock does.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads.max(1));
        self
    }

    /// Bind and start serving (see [`threads`](Self::threads) for where).
    pub async fn start(self) -> Result<Server, ServerError> {
        let listener = TcpListener::bind(self.addr)
            .await
            .map_err(|source| ServerError::Bind {
                addr: self.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: self.addr,
            source,
        })?;
        let sim = self.sim.unwrap_or_else(|| self.builder.build());
        let context = Arc::new(Context {
            engine: sim.engine.clone(),
            api_key: self.api_key,
            max_body: self.max_body,
            responses: Responses::default(),
            messages: Messages::default(),
            cors: self.cors,
            idle_timeout: self.idle_timeout,
            templates: Templates::new(self.cors),
            scopes: Scopes::new(sim.engine.config.clone()),
        });
        let mut http = http1::Builder::new();
        // Each runtime its own timer (a sleep belongs to the runtime that made it).
        let with_timer = |http: &http1::Builder| {
            let mut http = http.clone();
            http.timer(HeaderTimer::default());
            http
        };
        http.header_read_timeout(self.header_read_timeout);
        let (stop, stopped) = watch::channel(());
        let on_caller = self.threads.is_none()
            && tokio::runtime::Handle::current().runtime_flavor() == RuntimeFlavor::CurrentThread;
        let running = if on_caller {
            Running::Task(tokio::spawn(serve(
                listener,
                with_timer(&http),
                context,
                stopped,
            )))
        } else {
            let listener = listener.into_std().map_err(ServerError::Thread)?;
            let threads = (0..self.threads.unwrap_or(1))
                .map(|i| {
                    let listener = listener.try_clone().map_err(ServerError::Thread)?;
                    let (http, context, stopped) =
                        (with_timer(&http), context.clone(), stopped.clone());
                    serve_on_thread(i, move || async move {
                        match TcpListener::from_std(listener) {
                            Ok(listener) => serve(listener, http, context, stopped).await,
                            Err(error) => eprintln!("toolcall-sim: server thread {i}: {error}"),
                        }
                    })
                })
                .collect::<Result<_, _>>()?;
            Running::Threads(AssertUnwindSafe(threads))
        };
        Ok(Server {
            addr,
            sim,
            stop: Some(stop),
            running: Some(running),
        })
    }
}

/// Where a server runs: a task on the caller's runtime, or threads of its
/// own (each tells when it is done). The receivers are only awaited by
/// `shutdown`, which consumes the server: a panic elsewhere cannot leave
/// them half-used, so the server stays unwind-safe as it was.
#[derive(Debug)]
enum Running {
    Task(JoinHandle<()>),
    Threads(AssertUnwindSafe<Vec<oneshot::Receiver<()>>>),
}

/// Run `serve` on a new thread with a current-thread runtime of its own.
fn serve_on_thread<F, Fut>(index: usize, serve: F) -> Result<oneshot::Receiver<()>, ServerError>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ServerError::Thread)?;
    let (done, finished) = oneshot::channel();
    std::thread::Builder::new()
        .name(format!("toolcall-sim-{index}"))
        .spawn(move || {
            runtime.block_on(serve());
            let _ = done.send(());
        })
        .map_err(ServerError::Thread)?;
    Ok(finished)
}

/// A running simulated API. Dropping it stops it (replies in flight get a
/// short grace); `shutdown().await` stops it and waits.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    sim: Simulator,
    stop: Option<watch::Sender<()>>,
    running: Option<Running>,
}

impl Server {
    /// Configure a server with its own simulator.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL for OpenAI clients: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The simulator it serves.
    pub fn simulator(&self) -> &Simulator {
        &self.sim
    }

    /// The requests seen so far.
    pub fn journal(&self) -> Journal {
        self.sim.journal()
    }

    /// Panic unless the script was used up exactly.
    #[track_caller]
    pub fn assert_consumed(&self) {
        self.sim.assert_consumed();
    }

    /// Stop accepting, let replies in flight finish (briefly), and wait.
    pub async fn shutdown(mut self) {
        self.stop.take();
        match self.running.take() {
            Some(Running::Task(task)) => {
                let _ = task.await;
            }
            Some(Running::Threads(AssertUnwindSafe(threads))) => {
                for finished in threads {
                    let _ = finished.await;
                }
            }
            None => {}
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Dropping the sender wakes the accept loop, which then winds down.
        self.stop.take();
    }
}

struct Context {
    engine: Arc<Engine>,
    api_key: Option<String>,
    max_body: usize,
    /// The Responses format and the responses it keeps.
    responses: Responses,
    /// The Messages format and the threads it keeps.
    messages: Messages,
    cors: bool,
    idle_timeout: Option<Duration>,
    templates: Templates,
    /// The engines of requests that name a session (`x-sim-session`).
    scopes: Scopes,
}

/// The headers every reply of a format starts with, whole (JSON) or
/// streamed, built once: a reply copies them instead of inserting each.
struct Templates {
    json: [HeaderMap; 4],
    sse: [HeaderMap; 4],
}

impl Templates {
    fn new(cors: bool) -> Templates {
        let template =
            |fixed: &[(&'static str, &'static str)], per_reply: &[&'static str], stream: bool| {
                let mut headers = HeaderMap::with_capacity(16);
                let content_type = if stream {
                    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                    "text/event-stream; charset=utf-8"
                } else {
                    "application/json"
                };
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
                if cors {
                    cors_headers(&mut headers);
                }
                for (name, value) in fixed {
                    headers.insert(
                        HeaderName::from_static(name),
                        HeaderValue::from_static(value),
                    );
                }
                // Blanks each reply fills in, in the order it sets them: a
                // copy of the map has no room to spare, and growing it costs
                // more than replacing a value.
                let per_reply = per_reply.iter().map(|name| HeaderName::from_static(name));
                for name in per_reply.chain([SIM_TIME, SIM_ELAPSED]) {
                    headers.insert(name, HeaderValue::from_static(""));
                }
                headers
            };
        let each = |stream| {
            let mut all: [HeaderMap; 4] = Default::default();
            all[Chat::SLOT] = template(Chat::FIXED_HEADERS, Chat::REPLY_HEADERS, stream);
            all[Responses::SLOT] =
                template(Responses::FIXED_HEADERS, Responses::REPLY_HEADERS, stream);
            all[Anthropic::SLOT] =
                template(Anthropic::FIXED_HEADERS, Anthropic::REPLY_HEADERS, stream);
            all[Gemini::SLOT] = template(Gemini::FIXED_HEADERS, Gemini::REPLY_HEADERS, stream);
            all
        };
        Templates {
            json: each(false),
            sse: each(true),
        }
    }

    /// A copy of `F`'s headers for a reply.
    fn of<F: Format>(&self, stream: bool) -> HeaderMap {
        if stream {
            self.sse[F::SLOT].clone()
        } else {
            self.json[F::SLOT].clone()
        }
    }

    /// A reply's headers: a copy of `F`'s, its blanks filled by place
    /// with the format's own values (`processing` is the time they give),
    /// then the simulated times (when the request came, how long the reply takes).
    fn reply<F: Format>(
        &self,
        format: &F,
        stream: bool,
        (envelope, processing): (&Envelope, Duration),
        (time, elapsed): (Duration, Duration),
    ) -> HeaderMap {
        let mut headers = self.of::<F>(stream);
        let mut blanks = Blanks::new(&mut headers, F::REPLY_HEADERS.len() + 2);
        format.reply_headers(envelope, processing, &mut blanks);
        let ms = |d: Duration| Some(crate::wire::millis(d));
        blanks.fill(ms(time));
        blanks.fill(ms(elapsed));
        if blanks.missed() {
            let names = F::REPLY_HEADERS.iter().map(|n| HeaderName::from_static(n));
            drop_blank(&mut headers, names);
        }
        headers
    }
}

async fn serve(
    listener: TcpListener,
    http: http1::Builder,
    context: Arc<Context>,
    stopped: watch::Receiver<()>,
) {
    accept_loop(listener, stopped, move |stream| {
        let context = context.clone();
        let service = service_fn(move |request| handle(context.clone(), request));
        http.serve_connection(TokioIo::new(stream), service)
    })
    .await;
}

/// The response body: whole, or streamed with pauses.
type Body = UnsyncBoxBody<Bytes, Disconnected>;

/// A simulated disconnect: hyper closes the connection without finishing the response.
#[derive(Debug)]
pub struct Disconnected;

impl std::fmt::Display for Disconnected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("simulated disconnect")
    }
}

impl std::error::Error for Disconnected {}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    json_bytes_response(status, to_json(body))
}

fn json_bytes_response(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(full(body));
    // Room for every header a reply carries, without growing the map.
    response.headers_mut().reserve(16);
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// An error in `format`'s shape; a 429 carries `Retry-After` (whole
/// seconds) and `retry-after-ms`.
fn error_response<F: Format>(format: &F, error: &ApiError) -> Response<Body> {
    let status =
        StatusCode::from_u16(format.status(error)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_response(status, &format.error_body(error));
    if matches!(
        error.code.as_deref(),
        Some("script_exhausted" | "not_simulated" | "no_fixture_matched")
    ) {
        // A retry finds the same answer (the script as empty, no fixture,
        // the endpoint still not simulated): the SDKs skip it when told.
        response
            .headers_mut()
            .insert("x-should-retry", HeaderValue::from_static("false"));
    }
    if let Some((secs, ms)) = error.retry_after_headers() {
        let headers = response.headers_mut();
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        headers.insert("retry-after-ms", HeaderValue::from(ms));
        headers.insert(
            "x-ratelimit-remaining-requests",
            HeaderValue::from_static("0"),
        );
        if let Ok(reset) = HeaderValue::from_str(&format!("{ms}ms")) {
            headers.insert("x-ratelimit-reset-requests", reset);
        }
    }
    response
}

enum Route {
    Chat,
    Responses,
    Response(String),
    Messages,
    /// `POST /v1/messages/count_tokens`.
    CountTokens,
    /// `/v1/messages/batches` and below: not simulated.
    Batches,
    /// Gemini's `models/{model}:{method}` (`?alt=sse` for a stream).
    Gemini {
        model: String,
        method: String,
    },
    Models,
    Model(String),
    /// `/__sim/journal`: read (GET) or clear (DELETE).
    Journal,
    /// `POST /__sim/reset`.
    Reset,
    /// `PUT /__sim/script`.
    Script,
    /// `PUT /__sim/fixtures`.
    Fixtures,
    /// `GET /__sim/verify`: every turn used, every request answered.
    Verify,
    /// `DELETE /__sim/session`: forget the request's session.
    Session,
}

impl Route {
    /// The methods it answers, as the `Allow` header lists them.
    fn allowed(&self) -> &'static str {
        match self {
            Route::Chat
            | Route::Responses
            | Route::Messages
            | Route::CountTokens
            | Route::Gemini { .. }
            | Route::Reset => "POST",
            Route::Response(_) | Route::Models | Route::Model(_) => "GET",
            Route::Journal => "GET, DELETE",
            Route::Script | Route::Fixtures => "PUT",
            Route::Verify => "GET",
            Route::Session => "DELETE",
            Route::Batches => "GET, POST, DELETE",
        }
    }
}

/// The route of `path`, or `None` for a path the API does not have.
fn route(path: &str) -> Option<Route> {
    let trimmed = path.trim_end_matches('/');
    // Gemini: `/v1beta/models/{model}:{method}` and the same under `/v1`.
    if let Some(call) = ["/v1beta/models/", "/v1/models/"]
        .iter()
        .find_map(|prefix| trimmed.strip_prefix(prefix))
        && let Some((model, method)) = call.split_once(':')
        && !model.is_empty()
        && !model.contains('/')
    {
        return Some(Route::Gemini {
            model: model.to_owned(),
            method: method.to_owned(),
        });
    }
    Some(match trimmed.strip_prefix("/v1").unwrap_or(trimmed) {
        "/chat/completions" => Route::Chat,
        "/responses" => Route::Responses,
        "/messages" => Route::Messages,
        "/messages/count_tokens" => Route::CountTokens,
        "/messages/batches" => Route::Batches,
        "/models" => Route::Models,
        "/__sim/journal" => Route::Journal,
        "/__sim/reset" => Route::Reset,
        "/__sim/script" => Route::Script,
        "/__sim/fixtures" => Route::Fixtures,
        "/__sim/verify" => Route::Verify,
        "/__sim/session" => Route::Session,
        other if other.starts_with("/messages/batches/") => Route::Batches,
        other => match (
            other.strip_prefix("/models/"),
            other.strip_prefix("/responses/"),
        ) {
            (Some(name), _) if !name.is_empty() => Route::Model(name.to_owned()),
            (_, Some(id)) if !id.is_empty() && !id.contains('/') => Route::Response(id.to_owned()),
            _ => return None,
        },
    })
}

/// Answer one request; with CORS on, answer preflights and let pages of any
/// origin read every reply (and the headers a client may want).
async fn handle(
    context: Arc<Context>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Disconnected> {
    if !context.cors {
        return dispatch(&context, request).await;
    }
    if request.method() == Method::OPTIONS {
        return Ok(preflight(request.headers()));
    }
    let mut response = dispatch(&context, request).await?;
    // Replies start from a template that has them.
    if !response
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    {
        cors_headers(response.headers_mut());
    }
    Ok(response)
}

/// What lets a page of any origin read a reply (and the headers a client may want).
fn cors_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED_HEADERS),
    );
}

/// The reply headers a page may read: ids, timing, rate limits, retries.
/// The simulated time a request came, in ms since the server started.
const SIM_TIME: HeaderName = HeaderName::from_static("x-sim-time-ms");
/// The simulated time its whole reply takes, in ms.
const SIM_ELAPSED: HeaderName = HeaderName::from_static("x-sim-elapsed-ms");

const EXPOSED_HEADERS: &str = "x-sim-time-ms, x-sim-elapsed-ms, x-request-id, request-id, openai-processing-ms, retry-after, retry-after-ms, x-ratelimit-limit-requests, x-ratelimit-remaining-requests, x-ratelimit-reset-requests, x-ratelimit-limit-tokens, x-ratelimit-remaining-tokens, x-ratelimit-reset-tokens";

/// 204 to a CORS preflight: any origin, the methods served, the headers asked for.
fn preflight(request: &HeaderMap) -> Response<Body> {
    let mut response = Response::new(full(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"),
    );
    let asked = request
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("*"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked);
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    // Chromium asks before a public page may call a loopback server.
    if request
        .get("access-control-request-private-network")
        .is_some_and(|v| v == "true")
    {
        headers.insert(
            "access-control-allow-private-network",
            HeaderValue::from_static("true"),
        );
    }
    response
}

async fn dispatch(
    context: &Context,
    request: Request<Incoming>,
) -> Result<Response<Body>, Disconnected> {
    let method = request.method();
    // The path borrowed from a copy of the URI (its text shared, not
    // copied), so the request can move on with it.
    let uri = request.uri().clone();
    let (scope, path) = match session_scope::split(request.headers(), uri.path()) {
        Ok((scope, path)) => (scope.map(str::to_owned), path),
        Err(error) => return Ok(error_response(&Chat, &error)),
    };
    let engine = match &scope {
        None => context.engine.clone(),
        Some(id) => match context.scopes.engine(id) {
            Ok(engine) => engine,
            Err(error) => return Ok(error_response(&Chat, &error)),
        },
    };
    let Some(route) = route(path) else {
        let error = ApiError::not_found(method.as_str(), request.uri().path());
        return Ok(error_response(&Chat, &error));
    };
    let allowed = route.allowed();
    if allowed != method.as_str() && !allowed.split(", ").any(|m| m == method.as_str()) {
        let error = ApiError::method_not_allowed(method.as_str(), request.uri().path());
        let mut response = match &route {
            Route::Messages | Route::CountTokens | Route::Batches => {
                error_response(&Anthropic, &error)
            }
            Route::Gemini { model, .. } => error_response(
                &Gemini {
                    model: model.clone(),
                    stream: false,
                },
                &error,
            ),
            _ => error_response(&Chat, &error),
        };
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(route.allowed()));
        return Ok(response);
    }
    match route {
        Route::Chat => answer(context, (&engine, path), &Chat, request).await,
        Route::Responses => answer(context, (&engine, path), &context.responses, request).await,
        Route::Messages => answer(context, (&engine, path), &context.messages, request).await,
        Route::CountTokens => count_tokens(context, request).await,
        Route::Batches => Ok(error_response(&Anthropic, &anthropic_routes::batches())),
        Route::Gemini { model, method } => {
            let stream = match method.as_str() {
                "generateContent" => false,
                "streamGenerateContent" => true,
                other => {
                    let format = Gemini {
                        model,
                        stream: false,
                    };
                    let error = ApiError::not_found("POST", path);
                    let error = ApiError {
                        message: format!(
                            "toolcall-sim serves `generateContent` and `streamGenerateContent`, not `{other}`"
                        ),
                        ..error
                    };
                    return Ok(error_response(&format, &error));
                }
            };
            let format = Gemini { model, stream };
            // The API streams a JSON array without `alt=sse`; the SDKs all ask for SSE.
            let sse = request
                .uri()
                .query()
                .is_some_and(|q| q.split('&').any(|p| p == "alt=sse"));
            if stream && !sse {
                let error = ApiError::unsupported("alt", "server-sent events: add `?alt=sse`");
                return Ok(error_response(&format, &error));
            }
            answer(context, (&engine, path), &format, request).await
        }
        Route::Response(id) => {
            let responses = &context.responses;
            if let Some(key) = &context.api_key
                && let Err(error) = responses.authorize(request.headers(), key)
            {
                return Ok(error_response(responses, &error));
            }
            Ok(match responses.retrieve(&id) {
                Ok(body) => json_response(StatusCode::OK, &body),
                Err(error) => error_response(responses, &error),
            })
        }
        route @ (Route::Models | Route::Model(_)) if from_anthropic(request.headers()) => {
            if let Some(key) = &context.api_key
                && let Err(error) = Anthropic.authorize(request.headers(), key)
            {
                return Ok(error_response(&Anthropic, &error));
            }
            Ok(anthropic_models(context, route))
        }
        route => {
            if let Some(key) = &context.api_key
                && let Err(error) = Chat.authorize(request.headers(), key)
            {
                return Ok(error_response(&Chat, &error));
            }
            let engine = &*engine;
            Ok(match route {
                Route::Journal if request.method() == Method::DELETE => {
                    engine.journal.clear();
                    json_response(StatusCode::OK, &control::journal_json(engine))
                }
                Route::Journal => json_response(StatusCode::OK, &control::journal_json(engine)),
                Route::Reset => json_response(StatusCode::OK, &control::reset(engine)),
                Route::Verify => match control::verify(engine) {
                    Ok(value) => json_response(StatusCode::OK, &value),
                    Err(value) => json_response(StatusCode::CONFLICT, &value),
                },
                Route::Session => match scope {
                    Some(id) => {
                        let journal = control::journal_json(engine);
                        context.scopes.remove(&id);
                        json_response(StatusCode::OK, &journal)
                    }
                    None => error_response(
                        &Chat,
                        &ApiError::invalid_request(
                            "toolcall-sim: name the session to end with the `x-sim-session` header or a `/__sim/s/{id}` path",
                            None,
                        ),
                    ),
                },
                Route::Script | Route::Fixtures => {
                    let body = match read_body(context, request.into_body()).await {
                        Ok(body) => body,
                        Err(BodyError::Gone) => return Err(Disconnected),
                        Err(BodyError::Refused(error)) => return Ok(error_response(&Chat, &error)),
                    };
                    let replaced = match route {
                        Route::Script => control::replace_script(engine, &body),
                        _ => control::replace_fixtures(engine, &body),
                    };
                    match replaced {
                        Ok(value) => json_response(StatusCode::OK, &value),
                        Err(error) => error_response(&Chat, &error),
                    }
                }
                route => models_response(context, route),
            })
        }
    }
}

/// Why a request body could not be read.
enum BodyError {
    /// Answer this error (too large, stopped arriving).
    Refused(ApiError),
    /// The client went away: nobody to answer.
    Gone,
}

/// Read a whole request body: at most `max_body` bytes, and no pause
/// longer than the idle timeout between its pieces.
async fn read_body(context: &Context, body: Incoming) -> Result<Bytes, BodyError> {
    let mut body = Limited::new(body, context.max_body);
    let mut bytes = Vec::new();
    loop {
        // A piece already read (the whole body, as a rule, read with the
        // head) needs no timer.
        let ready = body.frame().now_or_never();
        let frame = match (ready, context.idle_timeout) {
            (Some(frame), _) => frame,
            (None, Some(idle)) => tokio::time::timeout(idle, body.frame())
                .await
                .map_err(|_| BodyError::Refused(ApiError::body_timeout(idle)))?,
            (None, None) => body.frame().await,
        };
        match frame {
            None => return Ok(Bytes::from(bytes)),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    if bytes.is_empty() && body.size_hint().exact() == Some(0) {
                        // The whole body in one piece: no copy.
                        return Ok(data);
                    }
                    bytes.extend_from_slice(&data);
                }
            }
            Some(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
                return Err(BodyError::Refused(ApiError::too_large(context.max_body)));
            }
            Some(Err(_)) => return Err(BodyError::Gone),
        }
    }
}

fn models_response(context: &Context, route: Route) -> Response<Body> {
    let created = context.engine.created(context.engine.started);
    match route {
        Route::Model(name) if !model_names(context).contains(&name) => {
            let error =
                ApiError::invalid_request(format!("The model `{name}` does not exist"), None);
            error_response(
                &Chat,
                &ApiError {
                    status: 404,
                    code: Some("model_not_found".into()),
                    ..error
                },
            )
        }
        Route::Model(name) => json_response(StatusCode::OK, &chat::model(&name, created)),
        _ => json_response(
            StatusCode::OK,
            &chat::models(&model_names(context), created),
        ),
    }
}

/// Whether a request comes from an Anthropic client (which sends its
/// version, and its key as `x-api-key`), so it is answered in that shape.
fn from_anthropic(headers: &HeaderMap) -> bool {
    headers.contains_key("anthropic-version") || headers.contains_key("x-api-key")
}

/// `GET /v1/models` and `/v1/models/{id}` in Anthropic's shape.
fn anthropic_models(context: &Context, route: Route) -> Response<Body> {
    let created = context.engine.created(context.engine.started);
    let names = match &context.engine.config.models {
        names if names.is_empty() => anthropic_routes::DEFAULT_MODELS.map(String::from).to_vec(),
        names => names.clone(),
    };
    match route {
        Route::Model(name) if !names.contains(&name) => {
            error_response(&Anthropic, &anthropic_routes::model_not_found(&name))
        }
        Route::Model(name) => {
            json_response(StatusCode::OK, &anthropic_routes::model(&name, created))
        }
        _ => json_response(StatusCode::OK, &anthropic_routes::models(&names, created)),
    }
}

/// `POST /v1/messages/count_tokens`: checked and counted, not journalled
/// (it asks for no reply), and it uses no turn of the script.
async fn count_tokens(
    context: &Context,
    request: Request<Incoming>,
) -> Result<Response<Body>, Disconnected> {
    if let Some(key) = &context.api_key
        && let Err(error) = Anthropic.authorize(request.headers(), key)
    {
        return Ok(error_response(&Anthropic, &error));
    }
    let body = match read_body(context, request.into_body()).await {
        Ok(body) => body,
        Err(BodyError::Gone) => return Err(Disconnected),
        Err(BodyError::Refused(error)) => return Ok(error_response(&Anthropic, &error)),
    };
    Ok(match anthropic_routes::count_tokens(&body) {
        Ok(count) => json_response(StatusCode::OK, &count),
        Err(error) => error_response(&Anthropic, &error),
    })
}

fn model_names(context: &Context) -> Vec<String> {
    match &context.engine.config.models {
        names if names.is_empty() => vec!["gpt-4o-mini".to_owned(), "gpt-4o".to_owned()],
        names => names.clone(),
    }
}

/// Answer one model request in `format`: check the key, read the body,
/// plan the reply, and send it whole or as timed frames.
async fn answer<F: Format>(
    context: &Context,
    (engine, endpoint): (&Engine, &str),
    format: &F,
    request: Request<Incoming>,
) -> Result<Response<Body>, Disconnected> {
    let (head, body) = request.into_parts();
    // The journal keeps the request as it came, credentials redacted.
    let http = |body: &[u8]| RawHttp::new(head.method.clone(), endpoint, &head.headers, body);
    let refuse = |error: &ApiError, body: &[u8]| {
        engine.journal.attach_refused(&error.message, http(body));
        Ok(error_response(format, error))
    };
    if let Some(key) = &context.api_key
        && let Err(error) = format.authorize(&head.headers, key)
    {
        engine.reject(&error, "", false);
        return refuse(&error, &[]);
    }
    let body = match read_body(context, body).await {
        Ok(body) => body,
        Err(BodyError::Refused(error)) => {
            engine.reject(&error, "", false);
            return refuse(&error, &[]);
        }
        Err(BodyError::Gone) => return Err(Disconnected),
    };
    let mut parsed = match format.parse(engine, &body) {
        Ok(parsed) => parsed,
        Err(error) => return refuse(&error, &body),
    };
    parsed.asks.endpoint = Some(F::ENDPOINT);
    match per_request::read(&head.headers) {
        Ok((fault, latency)) => (parsed.asks.fault, parsed.asks.latency) = (fault, latency),
        Err(error) => {
            engine.reject(&error, &parsed.request.model, parsed.stream);
            return refuse(&error, &body);
        }
    }
    let raw = engine
        .journal
        .keeps_entries()
        .then(|| (http(&body), F::REREAD));
    let plan = engine.plan(
        std::borrow::Cow::Owned(parsed.request),
        parsed.tools.offered(),
        &parsed.asks,
        parsed.stream,
        Transport::Http,
        raw,
        (format.id_prefix(), format.call_id_prefix()),
    );
    let reply = match plan.outcome {
        Outcome::Error(error) => return Ok(error_response(format, &error)),
        Outcome::Reply(reply) => reply,
    };
    format.remember(&plan.envelope, &reply, &parsed.options);
    // Simulated times for a client at a time scale: when the request came
    // and how long its reply takes.
    let times = (engine.simulated_since_start(plan.arrived), reply.end);
    // A stall holds back even the headers.
    wait_after(plan.arrived, engine.real(reply.stall)).await;
    if !parsed.stream {
        if let Some(drop) = reply.drop_at() {
            wait_after(plan.arrived, engine.real(drop)).await;
            return Err(Disconnected);
        }
        wait_after(plan.arrived, engine.real(reply.end)).await;
        let mut response =
            Response::new(full(format.reply(&plan.envelope, &reply, &parsed.options)));
        *response.headers_mut() =
            context
                .templates
                .reply(format, false, (&plan.envelope, reply.end), times);
        return Ok(response);
    }
    let (frames, drop) = format.frames(&plan.envelope, &reply, &parsed.options);
    let mut queue: VecDeque<(Duration, Result<Bytes, Disconnected>)> = frames
        .into_iter()
        .map(|(at, bytes)| (at, Ok(bytes)))
        .collect();
    if let Some(drop) = drop {
        queue.push_back((drop, Err(Disconnected)));
    }
    let arrived = plan.arrived;
    let scale = engine.config.scale();
    let frames = stream::unfold(queue, move |mut queue| async move {
        let (at, item) = queue.pop_front()?;
        wait_after(arrived, at.mul_f64(scale)).await;
        if item.is_err() {
            // Let hyper flush what was sent before the drop: it discards
            // buffered output when the body fails.
            tokio::task::yield_now().await;
        }
        Some((item.map(Frame::data), queue))
    });
    let mut response = Response::new(StreamBody::new(frames).boxed_unsync());
    *response.headers_mut() =
        context
            .templates
            .reply(format, true, (&plan.envelope, reply.role_at), times);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every blank a reply's header map starts with is filled by its
    /// format's `reply_headers` (the simulated times by `answer`).
    #[test]
    fn reply_headers_fill_every_blank() {
        fn blanks<F: Format>(format: &F, templates: &Templates) -> Vec<String> {
            let envelope = Envelope {
                id: format!("{}abc", format.id_prefix()),
                created: 0,
                model: "m".into(),
                fingerprint: "fp".into(),
            };
            let mut headers = templates.of::<F>(false);
            let mut blanks = Blanks::new(&mut headers, F::REPLY_HEADERS.len() + 2);
            format.reply_headers(&envelope, Duration::from_millis(5), &mut blanks);
            headers
                .iter()
                .filter(|(_, value)| value.is_empty())
                .map(|(name, _)| name.to_string())
                .collect()
        }
        let templates = Templates::new(true);
        let gemini = Gemini {
            model: "m".into(),
            stream: false,
        };
        let times = [SIM_TIME.to_string(), SIM_ELAPSED.to_string()];
        assert_eq!(blanks(&Chat, &templates), times);
        assert_eq!(blanks(&Anthropic, &templates), times);
        assert_eq!(blanks(&gemini, &templates), times);
    }
}
