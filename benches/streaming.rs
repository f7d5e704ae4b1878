//! One streamed turn of the seed's four clinical tools at 50 tokens/s:
//! sequential after the message, parallel after the message, and eager
//! (each call starts as soon as its arguments are complete).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::StreamExt;
use toolcall::{
    DispatchOptions, EventStream, FinishReason, ModelError, StreamEvent, ToolCallDelta, ToolSet,
    tool,
};

/// Simulated remote latency of each tool, as in the flagship example.
async fn remote(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// Demographics.
#[tool]
async fn get_patient_demographics(
    /// Patient id.
    patient_id: String,
) -> String {
    remote(200).await;
    format!("{patient_id}: demographics")
}

/// Active medications.
#[tool]
async fn get_active_medications(
    /// Patient id.
    patient_id: String,
) -> String {
    remote(180).await;
    format!("{patient_id}: medications")
}

/// Allergies.
#[tool]
async fn get_allergies(
    /// Patient id.
    patient_id: String,
) -> String {
    remote(150).await;
    format!("{patient_id}: allergies")
}

/// Recent labs.
#[tool]
async fn get_recent_labs(
    /// Patient id.
    patient_id: String,
    /// How many.
    limit: Option<u32>,
) -> String {
    remote(220).await;
    format!("{patient_id}: {} labs", limit.unwrap_or(5))
}

/// 50 tokens/s, about four characters a token.
const TOKEN: Duration = Duration::from_millis(20);
const CHARS_PER_TOKEN: usize = 4;

const CALLS: [(&str, &str); 4] = [
    ("get_patient_demographics", r#"{"patient_id":"P-00001"}"#),
    ("get_active_medications", r#"{"patient_id":"P-00001"}"#),
    ("get_allergies", r#"{"patient_id":"P-00001"}"#),
    ("get_recent_labs", r#"{"patient_id":"P-00001","limit":5}"#),
];

/// The assistant message calling the four tools in this order, streamed token by token.
fn message(order: [usize; 4]) -> EventStream<'static> {
    let calls = order.map(|i| CALLS[i]);
    let mut events = Vec::new();
    for (i, (name, args)) in calls.iter().enumerate() {
        events.push(StreamEvent::ToolCall(ToolCallDelta {
            index: i as u32,
            id: Some(format!("call_{i}")),
            name: Some((*name).to_owned()),
            arguments: Some(String::new()),
        }));
        for piece in args.as_bytes().chunks(CHARS_PER_TOKEN) {
            events.push(StreamEvent::ToolCall(ToolCallDelta {
                index: i as u32,
                arguments: Some(String::from_utf8_lossy(piece).into_owned()),
                ..Default::default()
            }));
        }
    }
    events.push(StreamEvent::Finish(FinishReason::ToolCalls));
    Box::pin(futures_util::stream::iter(events).then(|event| async move {
        tokio::time::sleep(TOKEN).await;
        Ok::<_, ModelError>(event)
    }))
}

fn streamed_turn(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let tools = ToolSet::builder()
        .tools(toolcall::tools![
            get_patient_demographics,
            get_active_medications,
            get_allergies,
            get_recent_labs
        ])
        .build()
        .expect("tools");
    // The seed's order ends with the slowest tool (labs, 220 ms); the model
    // may as well call it first, which is where eager dispatch pays most.
    for (order_name, order) in [
        ("seed_order", [0, 1, 2, 3]),
        ("slowest_first", [3, 0, 1, 2]),
    ] {
        let mut group = c.benchmark_group(format!("streamed_turn_4_tools_50_tok_s/{order_name}"));
        group
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(12));
        group.bench_function("sequential_after_message", |b| {
            b.to_async(&rt).iter(|| async {
                black_box(
                    tools
                        .dispatch_stream(message(order))
                        .eager(false)
                        .options(DispatchOptions::sequential())
                        .await,
                )
            });
        });
        group.bench_function("parallel_after_message", |b| {
            b.to_async(&rt).iter(|| async {
                black_box(tools.dispatch_stream(message(order)).eager(false).await)
            });
        });
        group.bench_function("eager", |b| {
            b.to_async(&rt)
                .iter(|| async { black_box(tools.dispatch_stream(message(order)).await) });
        });
        group.finish();
    }
}

criterion_group!(benches, streamed_turn);
criterion_main!(benches);
