//! Draws the schedules dispatch runs, as the README shows them:
//! resource keys and per-tool limits, approval with a deferred call, and
//! CPU-bound tools inline or spawned on every core.
//!
//! `cargo run --example schedules` writes `docs/schedules/*.svg`. The first
//! two run on tokio's paused clock, so their timings are exact (and
//! `tests/schedule_pictures.rs` checks the committed pictures are what the
//! code draws); the third measures real CPU time on a 2-worker runtime.

use std::time::{Duration, Instant};

use toolcall::{Batch, Decision, ToolCall, ToolSet, tool};
use toolcall_sim::Timeline;

/// Write a file.
#[tool(writes = "file:{path}")]
async fn write_file(path: String, text: String) -> usize {
    tokio::time::sleep(Duration::from_millis(100)).await;
    path.len() + text.len()
}

/// Read a file.
#[tool(reads = "file:{path}")]
async fn read_file(path: String) -> String {
    tokio::time::sleep(Duration::from_millis(40)).await;
    path
}

/// Fetch a page from a backend that allows two requests at a time.
#[tool(max_concurrency = 2)]
async fn fetch(url: String) -> String {
    tokio::time::sleep(Duration::from_millis(30)).await;
    url
}

/// Send an email.
#[tool]
async fn send_email(to: String) -> String {
    tokio::time::sleep(Duration::from_millis(60)).await;
    format!("sent to {to}")
}

/// Burn about 100 ms of one core.
#[tool]
async fn crunch() -> u64 {
    spin(Duration::from_millis(100))
}

/// The same work, as a task on the runtime: it uses any free worker.
#[tool(spawn)]
async fn crunch_spawned() -> u64 {
    spin(Duration::from_millis(100))
}

fn spin(how_long: Duration) -> u64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < how_long {
        n = std::hint::black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
    n
}

fn paused<T>(work: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime")
        .block_on(work)
}

/// Two writes and a read of `a.txt`, a read of `b.txt`, three fetches.
fn keyed_calls() -> Vec<ToolCall> {
    vec![
        ToolCall::new("w1", "write_file", r#"{"path": "a.txt", "text": "x"}"#),
        ToolCall::new("r1", "read_file", r#"{"path": "a.txt"}"#),
        ToolCall::new("r2", "read_file", r#"{"path": "b.txt"}"#),
        ToolCall::new("f1", "fetch", r#"{"url": "u1"}"#),
        ToolCall::new("f2", "fetch", r#"{"url": "u2"}"#),
        ToolCall::new("f3", "fetch", r#"{"url": "u3"}"#),
        ToolCall::new("w2", "write_file", r#"{"path": "a.txt", "text": "y"}"#),
    ]
}

/// The keyed batch, sequential and as the keys allow, on the paused clock.
pub fn resource_keys_svg() -> String {
    let tools = ToolSet::builder()
        .tools(toolcall::tools![write_file, read_file, fetch])
        .build()
        .expect("tools");
    let calls = keyed_calls();
    let (sequential, keyed) = paused(async {
        let sequential = tools.dispatch(&calls).sequential().await;
        let keyed = tools.dispatch(&calls).await;
        (sequential, keyed)
    });
    Timeline::new("Resource keys: writes to a.txt take turns, the rest runs beside them")
        .lane("sequential", &sequential)
        .lane(
            "reads/writes = \"file:{path}\", fetch max_concurrency = 2",
            &keyed,
        )
        .to_svg()
}

/// Four calls: one approved, one denied, one rewritten, one deferred and
/// approved later, on the paused clock.
pub fn approval_svg() -> String {
    let tools = ToolSet::builder()
        .tools(toolcall::tools![write_file, read_file, send_email])
        .build()
        .expect("tools");
    let calls = vec![
        ToolCall::new("c1", "read_file", r#"{"path": "notes.txt"}"#),
        ToolCall::new("c2", "send_email", r#"{"to": "all@example.com"}"#),
        ToolCall::new("c3", "send_email", r#"{"to": "boss@example.com"}"#),
        ToolCall::new(
            "c4",
            "write_file",
            r#"{"path": "notes.txt", "text": "done"}"#,
        ),
    ];
    let policy = |call: &ToolCall| match call.id.as_str() {
        "c2" => Decision::Deny("no mass email".into()),
        "c3" => Decision::Rewrite(r#"{"to": "me@example.com"}"#.into()),
        "c4" => Decision::Defer,
        _ => Decision::Approve,
    };
    let (first, resumed) = paused(async {
        let first = tools.dispatch(&calls).approval(&policy).await;
        let resumed = tools.dispatch(&calls[3..]).await;
        (first, resumed)
    });
    Timeline::new("Approval: c2 denied, c3 rewritten, c4 deferred, then approved")
        .lane("the batch (c4 deferred)", &first)
        .lane("after the decision: c4 only", &resumed)
        .to_svg()
}

/// Four ~100 ms CPU-bound calls on a 2-worker runtime, inline and spawned.
fn all_cores() -> (Batch, Batch) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let tools = ToolSet::builder()
        .tools(toolcall::tools![crunch, crunch_spawned])
        .build()
        .expect("tools");
    let batch = |name: &str| -> Vec<ToolCall> {
        (1..=4)
            .map(|i| ToolCall::new(format!("c{i}"), name, "{}"))
            .collect()
    };
    runtime.block_on(async {
        let inline = tools.dispatch(&batch("crunch")).await;
        let spawned = tools.dispatch(&batch("crunch_spawned")).await;
        (inline, spawned)
    })
}

fn main() -> std::io::Result<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schedules");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("resource_keys.svg"), resource_keys_svg())?;
    std::fs::write(dir.join("approval.svg"), approval_svg())?;
    let (inline, spawned) = all_cores();
    let svg = Timeline::new("Four ~100 ms CPU-bound calls on a 2-worker runtime")
        .lane("inline in the dispatch future", &inline)
        .lane("#[tool(spawn)]", &spawned)
        .to_svg();
    std::fs::write(dir.join("all_cores.svg"), svg)?;
    println!(
        "CPU-bound: inline {:.1} ms, spawned {:.1} ms; wrote {}",
        inline.makespan.as_secs_f64() * 1e3,
        spawned.makespan.as_secs_f64() * 1e3,
        dir.display()
    );
    Ok(())
}
