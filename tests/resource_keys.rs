//! `#[tool(reads, writes, max_concurrency)]` as a user writes them: the
//! policy they give, and the schedule dispatch runs on the paused clock.

use std::time::Duration;

use toolcall::{ToolCall, ToolSet, tool};

/// Write a file.
#[tool(writes = "file:{path}")]
async fn write_file(path: String, text: String) -> usize {
    tokio::time::sleep(Duration::from_millis(100)).await;
    path.len() + text.len()
}

/// Read a file.
#[tool(reads = ["file:{path}", "disk"])]
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

fn tools() -> ToolSet {
    ToolSet::builder()
        .tools(toolcall::tools![write_file, read_file, fetch])
        .build()
        .expect("tools")
}

#[test]
fn the_attributes_set_the_policy() {
    let tools = tools();
    let write = tools.policy("write_file").expect("write_file");
    assert_eq!(write.writes, ["file:{path}"]);
    assert!(write.reads.is_empty());
    let read = tools.policy("read_file").expect("read_file");
    assert_eq!(read.reads, ["file:{path}", "disk"]);
    let fetch = tools.policy("fetch").expect("fetch");
    assert_eq!(fetch.max_concurrency.map(|n| n.get()), Some(2));
}

#[tokio::test(start_paused = true)]
async fn calls_on_one_file_take_turns_and_the_rest_run_in_parallel() {
    let tools = tools();
    let calls = [
        ToolCall::new("w1", "write_file", r#"{"path": "a.txt", "text": "x"}"#),
        ToolCall::new("r1", "read_file", r#"{"path": "a.txt"}"#),
        ToolCall::new("r2", "read_file", r#"{"path": "b.txt"}"#),
        ToolCall::new("f1", "fetch", r#"{"url": "u1"}"#),
        ToolCall::new("f2", "fetch", r#"{"url": "u2"}"#),
        ToolCall::new("f3", "fetch", r#"{"url": "u3"}"#),
        ToolCall::new("w2", "write_file", r#"{"path": "a.txt", "text": "y"}"#),
    ];
    let batch = tools.dispatch(&calls).await;
    assert!(batch.all_ok(), "{batch:?}");
    let starts: Vec<u128> = batch
        .results
        .iter()
        .map(|r| r.started.as_millis())
        .collect();
    // r1 waits for w1's write of a.txt; r2 reads another file; the third
    // fetch waits for one of the first two; w2 waits for r1 to read a.txt.
    assert_eq!(starts, [0, 100, 0, 0, 0, 30, 140]);
    assert_eq!(batch.makespan, Duration::from_millis(240));
}

/// Set a row's value; rows are numbered.
#[tool(writes = "row:{id}")]
async fn set_row(id: f64, value: String) -> usize {
    tokio::time::sleep(Duration::from_millis(100)).await;
    value.len() + id as usize
}

/// A point on a grid.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Cell {
    x: i32,
    y: i32,
}

/// Paint a cell.
#[tool(writes = "cell:{at}")]
async fn paint(at: Cell) -> i32 {
    tokio::time::sleep(Duration::from_millis(100)).await;
    at.x + at.y
}

/// A key from a number or an object is its value, not its text: `1` and
/// `1.0` are one row, and `{"x":1,"y":2}` is the cell `{"y":2,"x":1}`.
#[tokio::test(start_paused = true)]
async fn equal_values_written_differently_are_one_key() {
    let tools = ToolSet::builder()
        .tools(toolcall::tools![set_row, paint])
        .build()
        .expect("tools");
    let calls = [
        ToolCall::new("r1", "set_row", r#"{"id": 1, "value": "a"}"#),
        ToolCall::new("r2", "set_row", r#"{"id": 1.0, "value": "b"}"#),
        ToolCall::new("r3", "set_row", r#"{"id": 2, "value": "c"}"#),
        ToolCall::new("c1", "paint", r#"{"at": {"x": 1, "y": 2}}"#),
        ToolCall::new("c2", "paint", r#"{"at": {"y": 2, "x": 1}}"#),
    ];
    let batch = tools.dispatch(&calls).await;
    assert!(batch.all_ok(), "{batch:?}");
    let starts: Vec<u128> = batch
        .results
        .iter()
        .map(|r| r.started.as_millis())
        .collect();
    assert_eq!(starts, [0, 100, 0, 0, 100]);
}

/// A call over `max_argument_bytes` is refused at once, not after waiting
/// for its key.
#[tokio::test(start_paused = true)]
async fn a_keyed_call_too_long_is_refused_before_it_waits() {
    let tools = tools();
    let long = format!(r#"{{"path": "a.txt", "text": "{}"}}"#, "x".repeat(200));
    let calls = [
        ToolCall::new("w1", "write_file", r#"{"path": "a.txt", "text": "x"}"#),
        ToolCall::new("w2", "write_file", long),
    ];
    let batch = tools
        .dispatch(&calls)
        .options(toolcall::DispatchOptions::parallel().max_argument_bytes(100))
        .await;
    let w2 = &batch.results[1];
    assert_eq!(w2.outcome, toolcall::Outcome::InvalidArguments);
    assert!(
        w2.content.contains("over the limit of 100 bytes"),
        "{}",
        w2.content
    );
    assert_eq!((w2.started, w2.elapsed), (Duration::ZERO, Duration::ZERO));
    assert_eq!(batch.results[0].outcome, toolcall::Outcome::Ok);
}
