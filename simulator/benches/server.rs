//! Throughput of the simulator's HTTP server answering chat completions,
//! against a plain wiremock `MockServer` answering a canned completion, in the
//! same run, with the same client and the same request body.
//!
//! The client is raw HTTP/1.1 on one keep-alive `tokio::net::TcpStream`:
//! one request at a time, so a figure is the time of one round trip.
//! Both servers are asked on two runtimes: a current-thread one (as under
//! `#[tokio::test]`), and a two-worker multi-thread one. wiremock serves from a
//! thread and runtime of its own whatever the caller's; the simulator serves on
//! the caller's runtime.
//!
//! - `toolcall-sim/scripted`: a script with one turn per request (the turn is
//!   the canned reply: two tool calls), on a fresh server per sample;
//! - `toolcall-sim/auto`: auto mode, arguments generated from the schema;
//! - `wiremock/canned`: `ResponseTemplate` with the same completion body;
//! - `wiremock/auto-responder`: wiremock with this crate's `ChatResponder` in
//!   auto mode (with the `wiremock` feature).
//!
//! `cargo bench -p toolcall-sim --bench server -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use toolcall_sim::{Script, ScriptedCall, Server, Simulator, Turn};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The request every server is sent: a user message and one tool.
fn request_body() -> Vec<u8> {
    json!({
        "model": "gpt-4o-mini",
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

/// The scripted (and canned) reply: two tool calls.
fn turn() -> Turn {
    Turn::tool_calls([
        ScriptedCall::new("get_weather", json!({"city": "Paris", "unit": "celsius"})),
        ScriptedCall::new("get_weather", json!({"city": "Oslo", "unit": "celsius"})),
    ])
}

/// A keep-alive HTTP/1.1 connection sending one fixed request.
struct Client {
    stream: BufReader<TcpStream>,
    request: Vec<u8>,
    head: String,
    body: Vec<u8>,
}

impl Client {
    async fn connect(addr: SocketAddr, body: &[u8]) -> Client {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let mut request = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\nauthorization: Bearer sk-bench\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        Client {
            stream: BufReader::new(stream),
            request,
            head: String::new(),
            body: Vec::new(),
        }
    }

    /// One request and its whole response; the body's length.
    async fn round_trip(&mut self) -> usize {
        self.stream
            .get_mut()
            .write_all(&self.request)
            .await
            .expect("send");
        self.head.clear();
        let mut length = None;
        loop {
            let start = self.head.len();
            let read = self
                .stream
                .read_line(&mut self.head)
                .await
                .expect("read the head");
            assert!(read > 0, "the server closed the connection");
            let line = self.head[start..].trim_end();
            if line.is_empty() {
                break;
            }
            if start == 0 {
                assert!(line.starts_with("HTTP/1.1 200"), "{line}");
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = Some(value.trim().parse::<usize>().expect("a length"));
            }
        }
        let length = length.expect("a content-length");
        self.body.resize(length, 0);
        self.stream
            .read_exact(&mut self.body)
            .await
            .expect("read the body");
        length
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// Time `iters` round trips on one connection (connecting is not timed).
/// The client runs as a task of the runtime, as an application's would:
/// criterion's `block_on` thread is outside the runtime's workers.
async fn timed(addr: SocketAddr, body: &[u8], iters: u64) -> Duration {
    let body = body.to_vec();
    let client = tokio::spawn(async move {
        let mut client = Client::connect(addr, &body).await;
        let start = Instant::now();
        for _ in 0..iters {
            black_box(client.round_trip().await);
        }
        start.elapsed()
    });
    client.await.expect("the client task")
}

/// The simulator's completion for the scripted turn, to serve from wiremock.
async fn canned_body(body: &[u8]) -> Vec<u8> {
    let server = Simulator::scripted(Script::new().turn(turn()))
        .server()
        .start()
        .await
        .expect("start");
    let mut client = Client::connect(server.addr(), body).await;
    client.round_trip().await;
    let reply = client.json();
    assert_eq!(reply["choices"][0]["finish_reason"], "tool_calls");
    server.shutdown().await;
    client.body
}

fn runtimes() -> Vec<(&'static str, Runtime)> {
    vec![
        (
            "current_thread",
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
        ),
        (
            "multi_thread",
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime"),
        ),
    ]
}

fn bench_server(c: &mut Criterion) {
    let body = request_body();
    for (name, runtime) in runtimes() {
        let mut group = c.benchmark_group(format!("server/{name}"));
        group.throughput(Throughput::Elements(1));

        group.bench_function("toolcall-sim/scripted", |b| {
            b.to_async(&runtime).iter_custom(|iters| {
                let body = body.clone();
                async move {
                    let turns = vec![turn(); iters as usize];
                    let server = Server::builder()
                        .script(Script { turns })
                        .start()
                        .await
                        .expect("start");
                    let took = timed(server.addr(), &body, iters).await;
                    server.assert_consumed();
                    server.shutdown().await;
                    took
                }
            });
        });

        let auto =
            runtime.block_on(async { Server::builder().seed(1).start().await.expect("start") });
        group.bench_function("toolcall-sim/auto", |b| {
            b.to_async(&runtime)
                .iter_custom(|iters| timed(auto.addr(), &body, iters));
        });

        let canned = runtime.block_on(canned_body(&body));
        let plain = runtime.block_on(async {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .and(path("/v1/chat/completions"))
                .respond_with(
                    ResponseTemplate::new(200).set_body_raw(canned.clone(), "application/json"),
                )
                .mount(&server)
                .await;
            server
        });
        group.bench_function("wiremock/canned", |b| {
            b.to_async(&runtime)
                .iter_custom(|iters| timed(*plain.address(), &body, iters));
        });

        #[cfg(feature = "wiremock")]
        let responder = runtime.block_on(async {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .and(path("/v1/chat/completions"))
                .respond_with(toolcall_sim::responders::ChatResponder::auto(1))
                .mount(&server)
                .await;
            server
        });
        #[cfg(feature = "wiremock")]
        group.bench_function("wiremock/auto-responder", |b| {
            b.to_async(&runtime)
                .iter_custom(|iters| timed(*responder.address(), &body, iters));
        });
        group.finish();

        runtime.block_on(async move {
            auto.shutdown().await;
            drop(plain);
            #[cfg(feature = "wiremock")]
            drop(responder);
        });
    }
}

criterion_group!(benches, bench_server);
criterion_main!(benches);
