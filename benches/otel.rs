//! What the OpenTelemetry GenAI spans cost: a batch of zero-latency calls
//! and a whole agent run (two model requests, four calls) with no
//! subscriber against the same with OTLP export on (the `toolcall::otel`
//! layer, batch span processor, http/protobuf to a local sink that answers
//! 200). The difference, divided by the calls or runs, is the cost of a
//! span on the dispatching thread; the export itself runs on the
//! processor's own thread.

use std::collections::VecDeque;
use std::hint::black_box;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Mutex;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use toolcall::{Agent, BoxFuture, ChatRequest, ChatResponse, Model, ModelError};
use tracing_subscriber::layer::SubscriberExt;

mod common;
use common::{calls, echo_runtime};

/// Four calls, then an answer; forever.
struct Replay(Mutex<VecDeque<ChatResponse>>);

impl Model for Replay {
    fn complete<'a>(
        &'a self,
        _: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, ModelError>> {
        let mut queue = self.0.lock().expect("lock");
        if queue.is_empty() {
            queue.push_back(ChatResponse::calls(calls(4)));
            queue.push_back(ChatResponse::text("done"));
        }
        let reply = queue.pop_front();
        Box::pin(async move { reply.ok_or_else(|| ModelError::InvalidResponse("none".into())) })
    }
}

/// An OTLP/HTTP sink on 127.0.0.1: reads each request, answers 200.
fn sink() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                loop {
                    let mut length = 0usize;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let line = line.trim_end();
                        if line.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let ok = b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                    if reader.get_mut().write_all(ok).is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

fn overhead(c: &mut Criterion) {
    let otel = toolcall_otel::Otel::from_env()
        .endpoint(&sink())
        .build()
        .expect("exporter");
    let (rt, tools) = echo_runtime();
    let agent = Agent::new(Replay(Mutex::new(VecDeque::new())), tools.clone()).agent_name("bench");
    let exporting = || {
        tracing_subscriber::registry().with(toolcall_otel::layer(
            otel.tracer_provider(),
            otel.meter_provider(),
        ))
    };

    let mut group = c.benchmark_group("otel_dispatch");
    let n = 100;
    let batch = calls(n);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_with_input(BenchmarkId::new("no_subscriber", n), &batch, |b, batch| {
        b.to_async(&rt)
            .iter(|| async { black_box(tools.dispatch(batch).await) });
    });
    group.bench_with_input(BenchmarkId::new("otlp", n), &batch, |b, batch| {
        let _default = tracing::subscriber::set_default(exporting());
        b.to_async(&rt)
            .iter(|| async { black_box(tools.dispatch(batch).await) });
    });
    group.finish();

    let mut group = c.benchmark_group("otel_run");
    group.bench_function("no_subscriber", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(agent.run("go").await.expect("run")) });
    });
    group.bench_function("otlp", |b| {
        let _default = tracing::subscriber::set_default(exporting());
        b.to_async(&rt)
            .iter(|| async { black_box(agent.run("go").await.expect("run")) });
    });
    group.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
