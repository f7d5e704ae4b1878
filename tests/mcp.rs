//! The `mcp_server` example's server (the four clinical tools on a fresh
//! SQLite database, with their simulated latencies), in process: rmcp's own
//! client initialises, lists, calls each tool and checks `structuredContent`
//! against `outputSchema`; and an agent whose tools come from that server,
//! against the simulator, dispatches all four at once.
//!
//! The real clock: sqlx's SQLite worker threads answer in real time, which a
//! paused clock would jump past. Overlap is judged from when each call ran
//! on the server (every call started before any ended), not from wall-clock
//! thresholds.

#[path = "../examples/patient_summary/db.rs"]
#[allow(dead_code)]
mod db;
#[path = "../examples/patient_summary/mcp.rs"]
#[allow(dead_code)]
mod mcp;
#[path = "../examples/patient_summary/tools.rs"]
#[allow(dead_code)]
mod tools;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use schemars::SchemaGenerator;
use serde_json::{Value, json};
use toolcall::mcp::rmcp::model::{CallToolRequestParams, CallToolResult, ErrorCode, JsonObject};
use toolcall::mcp::rmcp::service::{RoleClient, RunningService};
use toolcall::mcp::rmcp::{ServiceError, ServiceExt};
use toolcall::mcp::{McpClient, McpServer};
use toolcall::{
    Agent, CallError, Outcome, StateMap, Tool, ToolAnnotations, ToolFuture, ToolPolicy, ToolSet,
};
use toolcall_sim::{Script, ScriptedCall, SimModel};

use db::Db;

/// A fresh SQLite file in the system's temp directory, removed on drop.
struct TempDb {
    dir: PathBuf,
}

impl TempDb {
    fn new() -> TempDb {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "toolcall-mcp-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDb { dir }
    }

    async fn open(&self) -> Db {
        let url = format!(
            "sqlite://{}?mode=rwc",
            self.dir.join("clinic.sqlite3").display()
        );
        Db::connect(&url).await.expect("open the database")
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// When each call ran on the server, from the test's start.
type Spans = Arc<Mutex<Vec<(String, f64, f64)>>>;

/// A served tool that notes when each call started and ended.
struct Timed {
    inner: Arc<dyn Tool>,
    epoch: Instant,
    spans: Spans,
}

impl Tool for Timed {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn description(&self) -> &str {
        self.inner.description()
    }
    fn policy(&self) -> ToolPolicy {
        self.inner.policy()
    }
    fn annotations(&self) -> ToolAnnotations {
        self.inner.annotations()
    }
    fn parameters(&self, generator: &mut SchemaGenerator) -> Value {
        self.inner.parameters(generator)
    }
    fn output_schema(&self, generator: &mut SchemaGenerator) -> Option<Value> {
        self.inner.output_schema(generator)
    }
    fn state_needs(&self) -> Vec<toolcall::StateNeed> {
        self.inner.state_needs()
    }
    fn call(&self, arguments: &str, state: &StateMap) -> Result<ToolFuture, CallError> {
        let call = self.inner.call(arguments, state)?;
        let (name, epoch, spans) = (
            self.inner.name().to_owned(),
            self.epoch,
            Arc::clone(&self.spans),
        );
        Ok(Box::pin(async move {
            let start = epoch.elapsed().as_secs_f64();
            let reply = call.await;
            let end = epoch.elapsed().as_secs_f64();
            spans.lock().expect("lock").push((name, start, end));
            reply
        }))
    }
}

/// The example's server, and the example's tools each timed.
fn timed_server(db: Db, spans: &Spans) -> McpServer {
    let epoch = Instant::now();
    let timed = tools::with_network_latency().into_iter().map(|tool| {
        Arc::new(Timed {
            inner: tool,
            epoch,
            spans: Arc::clone(spans),
        }) as Arc<dyn Tool>
    });
    let tools = ToolSet::builder()
        .tools(timed)
        .state(db)
        .relaxed()
        .build()
        .expect("tools");
    McpServer::new(tools).expect("server")
}

type Client = RunningService<RoleClient, ()>;

/// rmcp's client on `server` through an in-memory stream.
async fn connect(server: McpServer) -> Client {
    let (client_io, server_io) = tokio::io::duplex(1 << 16);
    let (read, write) = tokio::io::split(server_io);
    tokio::spawn(async move { server.serve_io(read, write).await });
    let (read, write) = tokio::io::split(client_io);
    ().serve((read, write)).await.expect("initialize")
}

async fn call(client: &Client, name: &str, arguments: Value) -> CallToolResult {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object");
    };
    client
        .peer()
        .call_tool(CallToolRequestParams::new(name.to_owned()).with_arguments(arguments))
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn text(result: &CallToolResult) -> &str {
    result
        .content
        .first()
        .and_then(|c| c.as_text())
        .map_or("", |t| t.text.as_str())
}

const FOUR: [&str; 4] = [
    "get_patient_demographics",
    "get_active_medications",
    "get_allergies",
    "get_recent_labs",
];

#[tokio::test]
async fn rmcps_client_lists_and_calls_the_four_tools() {
    let temp = TempDb::new();
    let server = mcp::server(temp.open().await).expect("server");
    let client = connect(server).await;
    let info = client.peer().peer_info().expect("initialised");
    assert_eq!(
        info.server_info.as_ref().map(|i| i.name.as_str()),
        Some("patient-summary")
    );
    assert!(info.instructions.is_some());

    let listed = client.peer().list_all_tools().await.expect("list");
    let names: Vec<&str> = listed.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, FOUR);
    for tool in &listed {
        let input = Value::Object((*tool.input_schema).clone());
        jsonschema::draft202012::meta::validate(&input)
            .unwrap_or_else(|e| panic!("{}: invalid input schema: {e}", tool.name));
        assert_eq!(input["type"], "object");
        assert_eq!(input["required"], json!(["patient_id"]), "{}", tool.name);
        assert!(tool.description.as_ref().is_some_and(|d| !d.is_empty()));
        let output = Value::Object((**tool.output_schema.as_ref().expect("outputSchema")).clone());
        jsonschema::draft202012::meta::validate(&output)
            .unwrap_or_else(|e| panic!("{}: invalid output schema: {e}", tool.name));
        assert_eq!(output["type"], "object", "MCP wants object results");
    }

    for tool in &listed {
        let result = call(&client, &tool.name, json!({"patient_id": "P-00001"})).await;
        assert_eq!(result.is_error, Some(false), "{}: {result:?}", tool.name);
        let structured = result.structured_content.clone().expect("structured");
        let schema = Value::Object((**tool.output_schema.as_ref().expect("schema")).clone());
        let validator = jsonschema::draft202012::new(&schema).expect("a valid schema");
        if let Err(error) = validator.validate(&structured) {
            panic!(
                "{}: {structured} does not fit its schema: {error}",
                tool.name
            );
        }
        // The text is the value's JSON (unwrapped when the value is a list).
        let value: Value = serde_json::from_str(text(&result)).expect("JSON text");
        let expected = structured
            .get("result")
            .filter(|_| structured.as_object().is_some_and(|o| o.len() == 1))
            .cloned()
            .unwrap_or(structured);
        assert_eq!(value, expected, "{}", tool.name);
    }
    let result = call(
        &client,
        "get_patient_demographics",
        json!({"patient_id": "P-00001"}),
    )
    .await;
    assert_eq!(
        result
            .structured_content
            .as_ref()
            .map(|v| v["patient_id"].clone()),
        Some(json!("P-00001"))
    );
    let labs = call(
        &client,
        "get_recent_labs",
        json!({"patient_id": "P-00001", "limit": 2}),
    )
    .await;
    assert_eq!(
        labs.structured_content
            .as_ref()
            .and_then(|v| v["result"].as_array())
            .map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn bad_arguments_are_error_results_and_an_unknown_tool_an_error() {
    let temp = TempDb::new();
    let client = connect(mcp::server(temp.open().await).expect("server")).await;
    for (name, arguments, needle) in [
        (
            "get_allergies",
            json!({"patient_id": 12345}),
            "invalid arguments",
        ),
        (
            "get_recent_labs",
            json!({"patient_id": "P-00001", "limit": "five"}),
            "limit",
        ),
        (
            "get_patient_demographics",
            json!({"patient_id": "P-99999"}),
            "no patient with id P-99999",
        ),
    ] {
        let result = call(&client, name, arguments).await;
        assert_eq!(result.is_error, Some(true), "{name}: {result:?}");
        assert!(
            text(&result).contains(needle),
            "{name}: {:?}",
            text(&result)
        );
    }
    let error = client
        .peer()
        .call_tool(CallToolRequestParams::new("get_weather").with_arguments(JsonObject::new()))
        .await
        .expect_err("no such tool");
    match error {
        ServiceError::McpError(error) => assert_eq!(error.code, ErrorCode::INVALID_PARAMS),
        other => panic!("not a protocol error: {other:?}"),
    }
}

#[tokio::test]
async fn four_concurrent_requests_overlap_on_the_server() {
    let temp = TempDb::new();
    let spans = Spans::default();
    let client = connect(timed_server(temp.open().await, &spans)).await;
    let id = || json!({"patient_id": "P-00002"});
    let results = tokio::join!(
        call(&client, FOUR[0], id()),
        call(&client, FOUR[1], id()),
        call(&client, FOUR[2], id()),
        call(&client, FOUR[3], id()),
    );
    for result in [&results.0, &results.1, &results.2, &results.3] {
        assert_eq!(result.is_error, Some(false), "{result:?}");
    }
    assert_overlap(&spans);
}

/// Every call started before any call ended: they all ran at once.
fn assert_overlap(spans: &Spans) {
    let spans = spans.lock().expect("lock").clone();
    assert_eq!(spans.len(), 4, "{spans:?}");
    let last_start = spans.iter().map(|s| s.1).fold(f64::MIN, f64::max);
    let first_end = spans.iter().map(|s| s.2).fold(f64::MAX, f64::min);
    assert!(
        last_start < first_end,
        "the calls did not all run at once: {spans:?}"
    );
}

#[tokio::test]
async fn an_agent_dispatches_the_mcp_servers_four_tools_at_once() {
    let temp = TempDb::new();
    let spans = Spans::default();
    let (client_io, server_io) = tokio::io::duplex(1 << 16);
    let (read, write) = tokio::io::split(server_io);
    let server = timed_server(temp.open().await, &spans);
    tokio::spawn(async move { server.serve_io(read, write).await });
    let (read, write) = tokio::io::split(client_io);
    let remote = McpClient::io(read, write).await.expect("connect");
    let tools = ToolSet::builder()
        .tools(remote.tools().await.expect("list"))
        .build()
        .expect("the server's tools");
    assert_eq!(tools.names().collect::<Vec<_>>(), FOUR);

    let id = json!({"patient_id": "P-00001"});
    let script = Script::new()
        .tool_calls(FOUR.map(|name| ScriptedCall::new(name, id.clone())))
        .auto();
    let model = SimModel::builder().script(script).model();
    let run = Agent::new(model, tools)
        .run("Summarize patient P-00001.")
        .await
        .expect("the run completes");

    assert_eq!(run.rounds.len(), 2, "four calls, then the answer");
    let round = &run.rounds[0];
    let names: Vec<&str> = round.tool_calls.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, FOUR);
    let batch = round.batch.as_ref().expect("a batch");
    let ids: Vec<&str> = batch.results.iter().map(|r| r.call_id.as_str()).collect();
    let call_ids: Vec<&str> = round.tool_calls.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, call_ids, "results in call order");
    assert!(
        batch.results.iter().all(|r| r.outcome == Outcome::Ok),
        "{:?}",
        batch.results
    );
    // The agent started the four together, and the server ran them together.
    let started: Vec<_> = batch.results.iter().map(|r| r.started).collect();
    assert!(started.iter().all(|s| *s == started[0]), "{started:?}");
    assert_overlap(&spans);
    assert_eq!(
        batch.results[0].structured().map(|v| v["name"].clone()),
        Some(json!("Ada Okafor")),
        "the demographics' structured value"
    );
    for result in &batch.results {
        let line = format!("- {}: {}", result.name, result.content);
        assert!(
            run.answer.contains(&line),
            "the answer lists every result: {}",
            run.answer
        );
    }
}
