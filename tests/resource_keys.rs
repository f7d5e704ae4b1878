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
