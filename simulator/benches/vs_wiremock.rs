//! The server's CPU time a request of `toolcall-sim serve` against a bare
//! hyper server's (the floor), and requests per second against a plain
//! wiremock server answering the same completion as canned JSON, with one
//! load client at 1, 16 and 64 keep-alive connections; prints the ratios.
//!
//! - **floor** (the goal rows, first): the simulator's CPU time a request
//!   (user + system, from `/proc`, so it holds on a busy machine where
//!   requests per second do not) against a bare hyper server answering the
//!   same bytes canned, both as processes, at 16 and 64 clients: for a JSON
//!   reply (the floor sends the canned completion in one piece) and a
//!   streamed one (the floor sends the simulator's SSE events canned, one
//!   body frame each, as the simulator does). The two take turns, 8 rounds
//!   (`TOOLCALL_BENCH_ROUNDS`) of a slice of the row's time each, and the
//!   ratio is taken round by round: this machine's speed drifts too much
//!   for two rows timed one after the other. Goal: at most 1.5x for JSON,
//!   2x streamed.
//! - **process**: each server in its own process, as users run them:
//!   `toolcall-sim serve` (auto mode, so every reply is planned, journalled
//!   and written afresh), and wiremock in this bench's executable re-run with
//!   `TOOLCALL_BENCH_SERVE_WIREMOCK=1` (its `MockServer` with a
//!   `ResponseTemplate`). The load client is this process.
//! - **in process**: both servers on this process's multi-thread runtime
//!   (wiremock on its own runtime and thread, as it always is), the client
//!   on the same runtime.
//! - **sse**: the simulator's streamed reply (`stream: true`, a canned
//!   script-free auto reply) against wiremock's canned JSON, as processes.
//! - **floor**: a bare hyper server that reads each request and answers
//!   the canned bytes with no other work, as a process (this executable
//!   re-run with `TOOLCALL_BENCH_SERVE_FLOOR=1`), against wiremock: the most
//!   any server on hyper, tokio and this machine's loopback could show.
//!
//! `cargo bench -p toolcall-sim --bench vs_wiremock` (a few seconds per row;
//! `TOOLCALL_BENCH_SECONDS=N` measures N seconds a row, default 3, split
//! into the goal rows' rounds, each server's slice after half a second of
//! warm-up); add `-- floor` (or `-- wiremock`) for those rows alone.
//! `TOOLCALL_BENCH_SIM_ARGS="--journal-limit 0 --no-cors"` adds flags to
//! `toolcall-sim serve` (to see what a default costs), and
//! `TOOLCALL_BENCH_SIM_THREADS=N` gives it N threads.
//!
//! To profile a server (callgrind, strace, perf) under this bench's load:
//! `TOOLCALL_BENCH_LOAD=ADDR:PORT,CLIENTS,REQUESTS[,stream]` runs the load
//! client alone, each of `CLIENTS` connections sending `REQUESTS` requests;
//! `TOOLCALL_BENCH_SERVE_FLOOR=1` (stdin: the canned body) runs the floor,
//! and `TOOLCALL_BENCH_FLOOR_SPIN_NS=N` makes it spin N ns a request.

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use std::convert::Infallible;

use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
use tokio::net::TcpStream;
use toolcall_sim::Server;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[path = "../tests/common/process.rs"]
mod process;

use process::Process;

const CLIENTS: [usize; 3] = [1, 16, 64];
const SERVE_WIREMOCK: &str = "TOOLCALL_BENCH_SERVE_WIREMOCK";
const SERVE_FLOOR: &str = "TOOLCALL_BENCH_SERVE_FLOOR";
/// The load client alone: `ADDR:PORT,CLIENTS,REQUESTS[,stream]`.
const LOAD_ONLY: &str = "TOOLCALL_BENCH_LOAD";
/// The floor's mode for a streamed reply: the canned SSE body, an event a frame.
const SERVE_FLOOR_SSE: &str = "TOOLCALL_BENCH_SERVE_FLOOR_SSE";
const FLOOR_SPIN_NS: &str = "TOOLCALL_BENCH_FLOOR_SPIN_NS";
/// The client counts of the goal rows.
const FLOOR_CLIENTS: [usize; 2] = [16, 64];
const SIM: &str = "toolcall-sim";
const FLOOR: &str = "  bare hyper";

/// The request every server is sent: a user message and one tool.
fn request_body(stream: bool) -> Vec<u8> {
    json!({
        "model": "gpt-4o-mini",
        "stream": stream,
        "messages": [
            {"role": "system", "content": "You are a weather assistant."},
            {"role": "user", "content": "What is the weather in Paris and Oslo?"}
        ],
        "tools": [{"type": "function", "function": {
            "name": "get_weather",
            "description": "The current weather in a city",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
                },
                "required": ["city", "unit"],
                "additionalProperties": false
            }
        }}]
    })
    .to_string()
    .into_bytes()
}

fn request_bytes(addr: SocketAddr, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\nauthorization: Bearer sk-bench\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

/// One keep-alive connection: send, read the whole response (by
/// content-length or chunked to its end), again.
async fn client(
    addr: SocketAddr,
    request: Arc<Vec<u8>>,
    stop: Arc<AtomicBool>,
    done: Arc<AtomicU64>,
    requests: Option<u64>,
) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut stream = AsyncBufReader::new(stream);
    let mut line = String::new();
    let mut body = Vec::new();
    let mut sent = 0;
    while !stop.load(Ordering::Relaxed) && requests.is_none_or(|n| sent < n) {
        sent += 1;
        stream.get_mut().write_all(&request).await.expect("send");
        let mut length = None;
        let mut chunked = false;
        let mut first = true;
        loop {
            line.clear();
            let read = stream.read_line(&mut line).await.expect("read the head");
            assert!(read > 0, "the server closed the connection");
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if first {
                assert!(header.starts_with("HTTP/1.1 200"), "{header}");
                first = false;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<usize>().ok();
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = value.trim().eq_ignore_ascii_case("chunked");
                }
            }
        }
        if chunked {
            loop {
                line.clear();
                stream.read_line(&mut line).await.expect("a chunk size");
                let size = usize::from_str_radix(line.trim_end(), 16).expect("a hex size");
                body.resize(size + 2, 0);
                stream.read_exact(&mut body).await.expect("a chunk");
                if size == 0 {
                    break;
                }
            }
        } else {
            body.resize(length.expect("a content-length"), 0);
            stream.read_exact(&mut body).await.expect("the body");
        }
        done.fetch_add(1, Ordering::Relaxed);
    }
}

/// Requests per second with `clients` connections, after a warm-up.
async fn load(addr: SocketAddr, body: &[u8], clients: usize, seconds: f64) -> (f64, u64) {
    let request = Arc::new(request_bytes(addr, body));
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (request, stop, done) = (request.clone(), stop.clone(), done.clone());
            tokio::spawn(client(addr, request, stop, done, None))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (start, before) = (Instant::now(), done.load(Ordering::Relaxed));
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    let rate = (done.load(Ordering::Relaxed) - before) as f64 / start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("a client");
    }
    (rate, done.load(Ordering::Relaxed))
}

/// CPU time a process used so far (user + system), where `/proc` says.
fn cpu(process: &Process) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", process.child.id())).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // Linux counts in USER_HZ, 100 a second.
    Some(Duration::from_millis(ticks * 10))
}

/// Requests per second, and the server's CPU time per request (µs) where
/// it can be read: that one holds even on a busy machine.
fn measure(
    runtime: &tokio::runtime::Runtime,
    server: &Process,
    body: &[u8],
    clients: usize,
    seconds: f64,
) -> (f64, Option<f64>) {
    let before = cpu(server);
    let (rate, total) = runtime.block_on(load(server.addr(), body, clients, seconds));
    let cpu = before
        .zip(cpu(server))
        .map(|(before, after)| (after - before).as_secs_f64() * 1e6 / total as f64);
    (rate, cpu)
}

fn simulator_process(threads: Option<usize>) -> Process {
    let mut command = Command::new(env!("CARGO_BIN_EXE_toolcall-sim"));
    command
        .args(["serve", "--port", "0", "--seed", "1"])
        .stderr(Stdio::null());
    if let Some(threads) = threads {
        command.args(["--threads", &threads.to_string()]);
    }
    // What each default costs: e.g. `--journal-limit 0 --no-cors`.
    if let Ok(args) = std::env::var("TOOLCALL_BENCH_SIM_ARGS") {
        command.args(args.split_whitespace());
    }
    Process::start(command)
}

/// This executable re-run in the child mode `mode`, given the canned body.
fn canned_process(mode: &str, canned: &[u8]) -> Process {
    let exe = std::env::current_exe().expect("this bench");
    let mut command = Command::new(exe);
    command
        .env(mode, "1")
        .stdin(Stdio::piped())
        .stderr(Stdio::null());
    let mut process = Process::start(command);
    let mut stdin = process.child.stdin.take().expect("stdin");
    stdin.write_all(canned).expect("the canned body");
    drop(stdin);
    // The canned body is in place once the server answers it.
    wait_mounted(process.addr());
    process
}

fn wait_mounted(addr: SocketAddr) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        for _ in 0..200 {
            if let Ok(stream) = TcpStream::connect(addr).await {
                let mut stream = AsyncBufReader::new(stream);
                let request = request_bytes(addr, &request_body(false));
                if stream.get_mut().write_all(&request).await.is_ok() {
                    let mut line = String::new();
                    if stream.read_line(&mut line).await.is_ok() && line.starts_with("HTTP/1.1 200")
                    {
                        return;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the server did not answer with the canned body");
    });
}

/// The child mode: a wiremock server answering the body read from stdin.
fn serve_wiremock() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let server = MockServer::start().await;
        println!("http://{}", server.address());
        let canned = tokio::task::spawn_blocking(|| {
            let mut canned = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut canned).map(|_| canned)
        })
        .await
        .expect("a reader")
        .expect("the canned body");
        mount(&server, canned).await;
        // Serve until killed.
        std::future::pending::<()>().await;
    });
}

/// The canned completion, as a wiremock user mounts it.
async fn mount(server: &MockServer, canned: Vec<u8>) {
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(canned, "application/json"))
        .mount(server)
        .await;
}

/// A wiremock server in this process answering the canned completion.
async fn mounted_wiremock(canned: &[u8]) -> MockServer {
    let server = MockServer::start().await;
    mount(&server, canned.to_vec()).await;
    server
}

/// The child mode: hyper answering the body read from stdin to every
/// request, on a current-thread runtime (as wiremock and `toolcall-sim
/// serve` run), with no other work.
fn serve_floor(streamed: bool) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        // The parent sends the body once it has the address.
        println!("http://{}", listener.local_addr().expect("an address"));
        let mut canned = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut canned).expect("the canned body");
        let canned = Bytes::from(canned);
        // A streamed reply goes out an SSE event a frame, as the simulator
        // sends it; a JSON one in one piece.
        let pieces: Arc<[Bytes]> = if streamed {
            sse_events(&canned).into()
        } else {
            vec![canned].into()
        };
        let kind = HeaderValue::from_static(if streamed {
            "text/event-stream"
        } else {
            "application/json"
        });
        // A floor that also spins this long a request shows what a server's
        // own work costs on top of itself (the kernel wakes the client more).
        let spin = Duration::from_nanos(
            std::env::var(FLOOR_SPIN_NS)
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
        );
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let (pieces, kind) = (pieces.clone(), kind.clone());
            let service = service_fn(move |request: Request<Incoming>| {
                let (pieces, kind) = (pieces.clone(), kind.clone());
                async move {
                    // Read the body, as any server must.
                    let _ = request.into_body().collect().await;
                    if !spin.is_zero() {
                        let started = Instant::now();
                        while started.elapsed() < spin {
                            std::hint::spin_loop();
                        }
                    }
                    let body: UnsyncBoxBody<Bytes, Infallible> = if pieces.len() == 1 {
                        Full::new(pieces[0].clone()).boxed_unsync()
                    } else {
                        let frames =
                            (0..pieces.len()).map(move |i| Ok(Frame::data(pieces[i].clone())));
                        StreamBody::new(futures_util::stream::iter(frames)).boxed_unsync()
                    };
                    let mut response = Response::new(body);
                    response.headers_mut().insert(CONTENT_TYPE, kind);
                    Ok::<_, Infallible>(response)
                }
            });
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        }
    });
}

/// The simulator's reply to the request, whole (what wiremock serves
/// canned) or streamed (its SSE body, what the streamed floor serves).
async fn canned_body(streamed: bool) -> Vec<u8> {
    let server = Server::builder().seed(1).start().await.expect("start");
    let addr = server.addr();
    let stream = TcpStream::connect(addr).await.expect("connect");
    let mut stream = AsyncBufReader::new(stream);
    stream
        .get_mut()
        .write_all(&request_bytes(addr, &request_body(streamed)))
        .await
        .expect("send");
    let mut length = None;
    let mut line = String::new();
    loop {
        line.clear();
        stream.read_line(&mut line).await.expect("a head");
        if line.trim_end().is_empty() {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = Some(value.trim().parse().expect("a length"));
        }
    }
    let mut body = Vec::new();
    match length {
        Some(length) => {
            body.resize(length, 0);
            stream.read_exact(&mut body).await.expect("a body");
        }
        // Chunked: the chunks' data, in order.
        None => loop {
            line.clear();
            stream.read_line(&mut line).await.expect("a chunk size");
            let size = usize::from_str_radix(line.trim_end(), 16).expect("a hex size");
            let mut chunk = vec![0; size + 2];
            stream.read_exact(&mut chunk).await.expect("a chunk");
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        },
    }
    server.shutdown().await;
    body
}

/// An SSE body cut after each event (a blank line).
fn sse_events(body: &Bytes) -> Vec<Bytes> {
    let mut events = Vec::new();
    let mut start = 0;
    while let Some(end) = body[start..].windows(2).position(|w| w == b"\n\n") {
        events.push(body.slice(start..start + end + 2));
        start += end + 2;
    }
    if start < body.len() {
        events.push(body.slice(start..));
    }
    events
}

/// The goal rows: the simulator's CPU time a request against the floor's,
/// both as processes, for a JSON and a streamed reply. This machine's speed
/// drifts by a third from minute to minute, so two rows timed one after the
/// other can land in different states: the two servers take turns instead,
/// `ROUNDS` rounds of a slice each (which goes first alternating), and the
/// ratio is taken round by round; the median and the middle half are printed.
fn against_floor(
    runtime: &tokio::runtime::Runtime,
    (canned, canned_sse): (&[u8], &[u8]),
    threads: Option<usize>,
    seconds: f64,
) {
    let rounds = std::env::var("TOOLCALL_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse::<usize>().ok())
        .unwrap_or(ROUNDS)
        .max(1);
    let slice = seconds / rounds as f64;
    println!(
        "server CPU a request against a bare hyper server answering the same bytes canned (the floor): {rounds} rounds of {slice:.2} s each, taking turns"
    );
    let sim = simulator_process(threads);
    let floors = [
        (
            "JSON",
            request_body(false),
            canned_process(SERVE_FLOOR, canned),
            1.5,
        ),
        (
            "SSE",
            request_body(true),
            canned_process(SERVE_FLOOR_SSE, canned_sse),
            2.0,
        ),
    ];
    for clients in FLOOR_CLIENTS {
        for (name, body, floor, goal) in &floors {
            let mut ratios = Vec::with_capacity(rounds);
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            for round in 0..rounds {
                let time = |server| measure(runtime, server, body, clients, slice).1;
                let (us, them) = if round % 2 == 0 {
                    let us = time(&sim);
                    (us, time(floor))
                } else {
                    let them = time(floor);
                    (time(&sim), them)
                };
                let (Some(us), Some(them)) = (us, them) else {
                    break;
                };
                ratios.push(us / them);
                ours.push(us);
                theirs.push(them);
            }
            if ratios.is_empty() {
                println!("floor, {name:<4} {clients:>3} clients  (no /proc: CPU time not read)");
                continue;
            }
            let ratio = Spread::of(&mut ratios);
            let (ours, theirs) = (Spread::of(&mut ours), Spread::of(&mut theirs));
            println!(
                "floor, {name:<4} {clients:>3} clients  ratio {:.2}x, middle half {:.2}-{:.2}x (goal {goal}x)  {SIM} {:.1} us  bare hyper {:.1} us (medians)",
                ratio.median, ratio.low, ratio.high, ours.median, theirs.median
            );
        }
    }
}

/// How many rounds the goal rows take turns in (`TOOLCALL_BENCH_ROUNDS`).
const ROUNDS: usize = 8;

/// The median and middle half of some measurements.
struct Spread {
    median: f64,
    low: f64,
    high: f64,
}

impl Spread {
    fn of(values: &mut [f64]) -> Spread {
        values.sort_by(f64::total_cmp);
        let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
        Spread {
            median: at(0.5),
            low: at(0.25),
            high: at(0.75),
        }
    }
}

/// One row: `who` (the simulator, or the floor) against wiremock.
fn row(name: &str, who: &str, clients: usize, ours: f64, theirs: f64) {
    println!(
        "{name:<22} {clients:>3} clients  {who} {ours:>7.0} req/s  wiremock {theirs:>7.0} req/s  ratio {:.2}x",
        ours / theirs
    );
}

fn cpu_row(who: &str, ours: Option<f64>, theirs: Option<f64>) {
    if let (Some(ours), Some(theirs)) = (ours, theirs) {
        println!(
            "{:<34} server CPU a request: {who} {ours:>5.1} us  wiremock {theirs:>5.1} us  ratio {:.2}x",
            "",
            theirs / ours
        );
    }
}

/// The child mode: the load client alone (`ADDR:PORT,CLIENTS,REQUESTS[,stream]`),
/// for a profiler attached to the server.
fn load_only(spec: &str) {
    let parts: Vec<&str> = spec.split(',').collect();
    let (Some(addr), Some(clients), Some(requests)) = (
        parts.first().and_then(|a| a.parse::<SocketAddr>().ok()),
        parts.get(1).and_then(|c| c.parse::<usize>().ok()),
        parts.get(2).and_then(|r| r.parse::<u64>().ok()),
    ) else {
        panic!("{LOAD_ONLY}: expected ADDR:PORT,CLIENTS,REQUESTS[,stream], got `{spec}`");
    };
    let stream = parts.get(3) == Some(&"stream");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let request = Arc::new(request_bytes(addr, &request_body(stream)));
    let (stop, done) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
    );
    let start = Instant::now();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let (request, stop, done) = (request.clone(), stop.clone(), done.clone());
                tokio::spawn(client(addr, request, stop, done, Some(requests)))
            })
            .collect();
        for task in tasks {
            task.await.expect("a client");
        }
    });
    let done = done.load(Ordering::Relaxed);
    println!("{done} requests in {:.2} s", start.elapsed().as_secs_f64());
}

fn main() {
    if let Ok(spec) = std::env::var(LOAD_ONLY) {
        load_only(&spec);
        return;
    }
    if std::env::var_os(SERVE_WIREMOCK).is_some() {
        serve_wiremock();
        return;
    }
    if std::env::var_os(SERVE_FLOOR).is_some() {
        serve_floor(false);
        return;
    }
    if std::env::var_os(SERVE_FLOOR_SSE).is_some() {
        serve_floor(true);
        return;
    }
    // `-- floor` or `-- wiremock`: those rows alone.
    let only: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let runs = |rows: &str| only.as_deref().is_none_or(|only| rows.contains(only));
    // `cargo bench` passes `--bench`; a filter-free run does everything.
    let seconds: f64 = std::env::var("TOOLCALL_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let canned = runtime.block_on(canned_body(false));
    let json = request_body(false);
    let sse = request_body(true);
    let threads = std::env::var("TOOLCALL_BENCH_SIM_THREADS")
        .ok()
        .and_then(|t| t.parse().ok());
    if runs("floor") {
        let canned_sse = runtime.block_on(canned_body(true));
        against_floor(&runtime, (&canned, &canned_sse), threads, seconds);
    }
    if !runs("wiremock") {
        return;
    }

    println!("processes (server in its own process, load client in this one), {seconds} s a row");
    let sim = simulator_process(threads);
    let mut ratios = Vec::new();
    for (name, ours_body) in [("process, JSON", &json), ("process, SSE vs JSON", &sse)] {
        for clients in CLIENTS {
            // A fresh wiremock each row: it keeps every request it is sent
            // and slows down as they pile up.
            let mock = canned_process(SERVE_WIREMOCK, &canned);
            let (ours, our_cpu) = measure(&runtime, &sim, ours_body, clients, seconds);
            let (theirs, their_cpu) = measure(&runtime, &mock, &json, clients, seconds);
            row(name, SIM, clients, ours, theirs);
            cpu_row(SIM, our_cpu, their_cpu);
            ratios.push(ours / theirs);
        }
    }
    drop(sim);

    // Not a goal row: what no work at all would show here.
    let floor = canned_process(SERVE_FLOOR, &canned);
    for clients in CLIENTS {
        let mock = canned_process(SERVE_WIREMOCK, &canned);
        let (ours, our_cpu) = measure(&runtime, &floor, &json, clients, seconds);
        let (theirs, their_cpu) = measure(&runtime, &mock, &json, clients, seconds);
        row("floor", FLOOR, clients, ours, theirs);
        cpu_row(FLOOR, our_cpu, their_cpu);
    }
    drop(floor);

    println!("in process (both servers in this process, multi-thread runtime)");
    let sim = runtime
        .block_on(Server::builder().seed(1).start())
        .expect("start");
    for clients in CLIENTS {
        let mock = runtime.block_on(mounted_wiremock(&canned));
        let (ours, _) = runtime.block_on(load(sim.addr(), &json, clients, seconds));
        let (theirs, _) = runtime.block_on(load(*mock.address(), &json, clients, seconds));
        row("in process, JSON", SIM, clients, ours, theirs);
        ratios.push(ours / theirs);
    }
    runtime.block_on(sim.shutdown());
    let min = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    println!("lowest ratio: {min:.2}x (goal: 1.5x)");
}
