//! The MCP server and client (feature `mcp`), in process over an in-memory
//! byte stream, on tokio's paused clock: every time below is exact.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult, ErrorCode, JsonObject};
use rmcp::service::{RoleClient, RunningService};
use schemars::SchemaGenerator;
use serde_json::{Value, json};
use tokio::time::Instant;
use toolcall_runtime::mcp::{McpClient, McpServer};
use toolcall_runtime::{
    CallError, ContentPart, DispatchOptions, Outcome, StateMap, Tool, ToolAnnotations, ToolCall,
    ToolError, ToolFuture, ToolOutput, ToolPolicy, ToolSet,
};

/// When each call ran, from the test's start.
type Log = Arc<Mutex<Vec<(String, Duration, Duration)>>>;

/// A tool that sleeps, then answers `{"tool": name, "echo": arguments}`, or
/// what `behaviour` says; it logs when it ran and notes when it is dropped
/// before it finished.
struct Probe {
    name: &'static str,
    latency: Duration,
    policy: ToolPolicy,
    behaviour: Behaviour,
    epoch: Instant,
    log: Log,
    dropped: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone, Copy)]
enum Behaviour {
    Object,
    List,
    Image,
    Fail,
    Panic,
}

struct DropNote {
    name: String,
    done: bool,
    dropped: Arc<Mutex<Vec<String>>>,
}

impl Drop for DropNote {
    fn drop(&mut self) {
        if !self.done {
            self.dropped.lock().expect("lock").push(self.name.clone());
        }
    }
}

impl Tool for Probe {
    fn name(&self) -> &str {
        self.name
    }
    fn description(&self) -> &str {
        "A probe."
    }
    fn policy(&self) -> ToolPolicy {
        self.policy
    }
    fn annotations(&self) -> ToolAnnotations {
        ToolAnnotations::NONE
            .with_read_only(true)
            .with_idempotent(true)
    }
    fn parameters(&self, _: &mut SchemaGenerator) -> Value {
        json!({
            "type": "object",
            "properties": {"n": {"type": "integer"}},
            "required": ["n"],
            "additionalProperties": false
        })
    }
    fn output_schema(&self, _: &mut SchemaGenerator) -> Option<Value> {
        match self.behaviour {
            Behaviour::Object => Some(json!({
                "type": "object",
                "properties": {"tool": {"type": "string"}, "n": {"type": "integer"}},
                "required": ["tool", "n"]
            })),
            Behaviour::List => Some(json!({"type": "array", "items": {"type": "integer"}})),
            _ => None,
        }
    }
    fn call(&self, arguments: &str, _: &StateMap) -> Result<ToolFuture, CallError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Args {
            n: i64,
        }
        let args: Args = serde_json::from_str(arguments)
            .map_err(|e| CallError::InvalidArguments(e.to_string()))?;
        let (name, latency, behaviour) = (self.name, self.latency, self.behaviour);
        let (epoch, log) = (self.epoch, Arc::clone(&self.log));
        let note = DropNote {
            name: name.to_owned(),
            done: false,
            dropped: Arc::clone(&self.dropped),
        };
        Ok(Box::pin(async move {
            // The whole note moves into the future (not just the field set
            // below), so it is dropped with the future.
            let mut note = note;
            let start = epoch.elapsed();
            tokio::time::sleep(latency).await;
            note.done = true;
            log.lock()
                .expect("lock")
                .push((name.to_owned(), start, epoch.elapsed()));
            match behaviour {
                Behaviour::Object => ToolOutput::json(&json!({"tool": name, "n": args.n})),
                Behaviour::List => ToolOutput::json(&[args.n, args.n + 1]),
                Behaviour::Image => Ok(ToolOutput::text("a picture")
                    .with_part(ContentPart::image("iVBORw0KGgo=", "image/png"))),
                Behaviour::Fail => Err(ToolError::new(format!("no record {}", args.n))),
                Behaviour::Panic => panic!("the probe broke"),
            }
        }))
    }
}

struct Bench {
    epoch: Instant,
    log: Log,
    dropped: Arc<Mutex<Vec<String>>>,
}

impl Bench {
    fn new() -> Bench {
        Bench {
            epoch: Instant::now(),
            log: Log::default(),
            dropped: Arc::default(),
        }
    }

    fn probe(&self, name: &'static str, ms: u64, behaviour: Behaviour) -> Probe {
        Probe {
            name,
            latency: Duration::from_millis(ms),
            policy: ToolPolicy::DEFAULT,
            behaviour,
            epoch: self.epoch,
            log: Arc::clone(&self.log),
            dropped: Arc::clone(&self.dropped),
        }
    }

    /// The four tools with the clinical example's latencies, and the odd ones.
    fn tools(&self) -> ToolSet {
        let exclusive = Probe {
            policy: ToolPolicy::DEFAULT.with_exclusive(true),
            ..self.probe("alone", 50, Behaviour::Object)
        };
        let hurried = Probe {
            policy: ToolPolicy::DEFAULT.with_timeout(Some(Duration::from_millis(30))),
            ..self.probe("hurried", 100, Behaviour::Object)
        };
        ToolSet::builder()
            .add(self.probe("demographics", 200, Behaviour::Object))
            .add(self.probe("medications", 180, Behaviour::List))
            .add(self.probe("allergies", 150, Behaviour::Object))
            .add(self.probe("labs", 220, Behaviour::Object))
            .add(self.probe("picture", 10, Behaviour::Image))
            .add(self.probe("failing", 10, Behaviour::Fail))
            .add(self.probe("panicking", 10, Behaviour::Panic))
            .add(self.probe("slow", 10_000, Behaviour::Object))
            .add(exclusive)
            .add(hurried)
            .build()
            .expect("tools")
    }

    fn ran(&self) -> Vec<(String, Duration, Duration)> {
        self.log.lock().expect("lock").clone()
    }
}

type Client = RunningService<RoleClient, ()>;

/// rmcp's client connected to `server` through an in-memory stream.
async fn connect(server: McpServer) -> Client {
    let (client_io, server_io) = tokio::io::duplex(1 << 16);
    let (read, write) = tokio::io::split(server_io);
    tokio::spawn(async move { server.serve_io(read, write).await });
    let (read, write) = tokio::io::split(client_io);
    ().serve((read, write)).await.expect("initialize")
}

fn args(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

async fn call(client: &Client, name: &str, arguments: Value) -> CallToolResult {
    client
        .peer()
        .call_tool(CallToolRequestParams::new(name.to_owned()).with_arguments(args(arguments)))
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn text(result: &CallToolResult) -> &str {
    result.content[0].as_text().map_or("", |t| t.text.as_str())
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test(start_paused = true)]
async fn the_tools_are_listed_with_schemas_and_hints() {
    let bench = Bench::new();
    let tools = bench.tools();
    let client = connect(McpServer::new(tools.clone()).expect("server")).await;
    let info = client.peer().peer_info().expect("initialised");
    assert!(info.capabilities.tools.is_some());
    assert_eq!(
        info.server_info.as_ref().map(|i| i.name.as_str()),
        Some("toolcall")
    );
    let listed = client.peer().list_all_tools().await.expect("list");
    let names: Vec<&str> = listed.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, tools.names().collect::<Vec<_>>());
    for (tool, definition) in listed.iter().zip(tools.definitions()) {
        assert_eq!(
            Value::Object((*tool.input_schema).clone()),
            definition.parameters
        );
        assert_eq!(tool.description.as_deref(), Some("A probe."));
        let hints = tool.annotations.as_ref().expect("annotations");
        assert_eq!(
            (hints.read_only_hint, hints.idempotent_hint),
            (Some(true), Some(true))
        );
    }
    let schema = |name: &str| {
        listed
            .iter()
            .find(|t| t.name == name)
            .and_then(|t| t.output_schema.as_ref())
            .map(|s| Value::Object((**s).clone()))
    };
    assert_eq!(schema("demographics").expect("object")["type"], "object");
    assert_eq!(
        schema("medications"),
        Some(json!({
            "type": "object",
            "properties": {"result": {"type": "array", "items": {"type": "integer"}}},
            "required": ["result"]
        })),
        "a list result is wrapped in an object"
    );
    assert_eq!(schema("picture"), None);
}

#[tokio::test(start_paused = true)]
async fn results_carry_text_structured_content_and_images() {
    let bench = Bench::new();
    let client = connect(McpServer::new(bench.tools()).expect("server")).await;
    let result = call(&client, "demographics", json!({"n": 7})).await;
    assert_eq!(result.is_error, Some(false));
    assert_eq!(text(&result), r#"{"tool":"demographics","n":7}"#);
    assert_eq!(
        result.structured_content,
        Some(json!({"tool": "demographics", "n": 7}))
    );
    let result = call(&client, "medications", json!({"n": 1})).await;
    assert_eq!(text(&result), "[1,2]");
    assert_eq!(result.structured_content, Some(json!({"result": [1, 2]})));
    let result = call(&client, "picture", json!({"n": 1})).await;
    assert_eq!(
        (text(&result), result.structured_content.as_ref()),
        ("a picture", None)
    );
    let image = result.content[1].as_image().expect("an image block");
    assert_eq!(
        (image.data.as_str(), image.mime_type.as_str()),
        ("iVBORw0KGgo=", "image/png")
    );
}

#[tokio::test(start_paused = true)]
async fn failures_the_model_should_read_are_error_results() {
    let bench = Bench::new();
    let client = connect(McpServer::new(bench.tools()).expect("server")).await;
    for (name, arguments, needle) in [
        ("demographics", json!({"n": "seven"}), "invalid arguments"),
        ("demographics", json!({}), "missing field `n`"),
        ("failing", json!({"n": 3}), "no record 3"),
        ("panicking", json!({"n": 1}), "the probe broke"),
        ("hurried", json!({"n": 1}), "timed out after 30ms"),
    ] {
        let result = call(&client, name, arguments).await;
        assert_eq!(result.is_error, Some(true), "{name}: {result:?}");
        assert!(
            text(&result).contains(needle),
            "{name}: {:?}",
            text(&result)
        );
        assert_eq!(result.structured_content, None);
    }
}

#[tokio::test(start_paused = true)]
async fn an_unknown_tool_is_a_protocol_error() {
    let bench = Bench::new();
    let client = connect(McpServer::new(bench.tools()).expect("server")).await;
    let error = client
        .peer()
        .call_tool(CallToolRequestParams::new("nope").with_arguments(JsonObject::new()))
        .await
        .expect_err("unknown tool");
    match error {
        rmcp::ServiceError::McpError(error) => {
            assert_eq!(error.code, ErrorCode::INVALID_PARAMS);
            assert!(error.message.contains("unknown tool `nope`"), "{error:?}");
        }
        other => panic!("not a protocol error: {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn concurrent_requests_run_concurrently() {
    let bench = Bench::new();
    let client = connect(McpServer::new(bench.tools()).expect("server")).await;
    let start = Instant::now();
    let (a, b, c, d) = tokio::join!(
        call(&client, "demographics", json!({"n": 1})),
        call(&client, "medications", json!({"n": 1})),
        call(&client, "allergies", json!({"n": 1})),
        call(&client, "labs", json!({"n": 1})),
    );
    assert!([a, b, c, d].iter().all(|r| r.is_error == Some(false)));
    // The longest call, not the sum (750 ms).
    assert_eq!(start.elapsed(), ms(220));
    let ran = bench.ran();
    assert_eq!(ran.len(), 4);
    assert!(
        ran.iter().all(|(_, started, _)| *started == Duration::ZERO),
        "{ran:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_concurrency_cap_holds_across_requests() {
    let bench = Bench::new();
    let server = McpServer::new(bench.tools())
        .expect("server")
        .dispatch_options(DispatchOptions::parallel().max_concurrency(2));
    // Two clients of one server share its cap.
    let first = connect(server.clone()).await;
    let second = connect(server).await;
    let later = |client: &'static str, delay: u64, name: &'static str| {
        let client = if client == "first" { &first } else { &second };
        async move {
            tokio::time::sleep(ms(delay)).await;
            call(client, name, json!({"n": 1})).await
        }
    };
    tokio::join!(
        later("first", 0, "demographics"),
        later("second", 1, "allergies"),
        later("first", 2, "labs"),
        later("second", 3, "medications"),
    );
    let ran = bench.ran();
    let when = |name: &str| {
        ran.iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, s, e)| (*s, *e))
            .expect("ran")
    };
    // Two run; each of the others takes the first slot to free, in turn.
    assert_eq!(when("demographics"), (ms(0), ms(200)));
    assert_eq!(when("allergies"), (ms(1), ms(151)));
    assert_eq!(when("labs"), (ms(151), ms(371)));
    assert_eq!(when("medications"), (ms(200), ms(380)));
}

#[tokio::test(start_paused = true)]
async fn an_exclusive_tool_runs_alone() {
    let bench = Bench::new();
    let client = connect(McpServer::new(bench.tools()).expect("server")).await;
    let later = |delay: u64, name: &'static str| {
        let client = &client;
        async move {
            tokio::time::sleep(ms(delay)).await;
            call(client, name, json!({"n": 1})).await
        }
    };
    tokio::join!(
        later(0, "allergies"),
        later(10, "alone"),
        later(20, "demographics")
    );
    let ran = bench.ran();
    let when = |name: &str| {
        ran.iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, s, e)| (*s, *e))
            .expect("ran")
    };
    // allergies 0..150; alone waits for it, 150..200; demographics waits
    // behind alone, 200..400.
    assert_eq!(when("allergies"), (ms(0), ms(150)));
    assert_eq!(when("alone"), (ms(150), ms(200)));
    assert_eq!(when("demographics"), (ms(200), ms(400)));
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_request_drops_its_call() {
    let bench = Bench::new();
    let client = connect(McpServer::new(bench.tools()).expect("server")).await;
    let slow = call(&client, "slow", json!({"n": 1}));
    // rmcp's client sends `notifications/cancelled` when the request's
    // future is dropped.
    assert!(tokio::time::timeout(ms(100), slow).await.is_err());
    tokio::time::sleep(ms(10)).await;
    assert_eq!(
        *bench.dropped.lock().expect("lock"),
        vec!["slow".to_owned()]
    );
    assert!(bench.ran().is_empty());
    // The server still answers.
    let result = call(&client, "allergies", json!({"n": 2})).await;
    assert_eq!(result.is_error, Some(false));
}

/// The client half: an MCP server's tools in a `ToolSet`, dispatched at once,
/// results in call order.
#[tokio::test(start_paused = true)]
async fn an_mcp_servers_tools_join_a_tool_set() {
    let bench = Bench::new();
    let (client_io, server_io) = tokio::io::duplex(1 << 16);
    let (read, write) = tokio::io::split(server_io);
    let server = McpServer::new(bench.tools()).expect("server");
    tokio::spawn(async move { server.serve_io(read, write).await });
    let (read, write) = tokio::io::split(client_io);
    let remote = McpClient::io(read, write).await.expect("connect");
    assert_eq!(
        remote.server_name().map(|(name, _)| name),
        Some("toolcall".to_owned())
    );
    let tools = ToolSet::builder()
        .tools(remote.tools().await.expect("list"))
        .build()
        .expect("a tool set");
    let definition = &tools.definitions()[0];
    assert_eq!(definition.name, "demographics");
    assert!(!definition.strict);
    assert_eq!(definition.annotations.read_only, Some(true));
    assert!(definition.output_schema.is_some());

    let calls = [
        ToolCall::new("c1", "labs", r#"{"n": 1}"#),
        ToolCall::new("c2", "demographics", r#"{"n": 2}"#),
        ToolCall::new("c3", "failing", r#"{"n": 3}"#),
        ToolCall::new("c4", "allergies", r#"{"n": "x"}"#),
        ToolCall::new("c5", "medications", "[1]"),
        ToolCall::new("c6", "picture", r#"{"n": 1}"#),
    ];
    let batch = tools.dispatch(&calls).await;
    let ids: Vec<&str> = batch.results.iter().map(|r| r.call_id.as_str()).collect();
    assert_eq!(ids, ["c1", "c2", "c3", "c4", "c5", "c6"]);
    let outcomes: Vec<Outcome> = batch.results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Ok,
            Outcome::Ok,
            Outcome::ToolError,
            Outcome::ToolError,
            Outcome::InvalidArguments,
            Outcome::Ok
        ]
    );
    assert_eq!(batch.makespan, ms(220), "at once, not one after another");
    assert_eq!(
        batch.results[1].structured(),
        Some(json!({"tool": "demographics", "n": 2}))
    );
    assert_eq!(batch.results[2].content, "error: no record 3");
    assert!(batch.results[3].content.contains("invalid arguments"));
    assert!(batch.results[4].content.contains("must be a JSON object"));
    assert_eq!(
        batch.results[5].parts(),
        vec![ContentPart::image("iVBORw0KGgo=", "image/png")]
    );
}

/// A call the dispatcher drops (its timeout) is cancelled on the server.
#[tokio::test(start_paused = true)]
async fn a_client_side_timeout_cancels_the_call_on_the_server() {
    let bench = Bench::new();
    let (client_io, server_io) = tokio::io::duplex(1 << 16);
    let (read, write) = tokio::io::split(server_io);
    let server = McpServer::new(bench.tools()).expect("server");
    tokio::spawn(async move { server.serve_io(read, write).await });
    let (read, write) = tokio::io::split(client_io);
    let remote = McpClient::io(read, write).await.expect("connect");
    let tools = ToolSet::builder()
        .tools(remote.tools().await.expect("list"))
        .build()
        .expect("a tool set");
    let calls = [ToolCall::new("c1", "slow", r#"{"n": 1}"#)];
    let batch = tools
        .dispatch(&calls)
        .options(DispatchOptions::parallel().call_timeout(ms(100)))
        .await;
    assert_eq!(batch.results[0].outcome, Outcome::TimedOut);
    tokio::time::sleep(ms(10)).await;
    assert_eq!(
        *bench.dropped.lock().expect("lock"),
        vec!["slow".to_owned()]
    );
}

/// Streamable HTTP on a real socket (real clock): the client half connects
/// by URL, lists, calls; other paths are not found.
#[tokio::test]
async fn streamable_http_serves_the_tools() {
    let bench = Bench::new();
    let serving = McpServer::new(bench.tools())
        .expect("server")
        .serve_http("127.0.0.1:0")
        .await
        .expect("bind");
    assert!(serving.local_addr().ip().is_loopback());
    assert!(serving.url().ends_with("/mcp"));
    let remote = McpClient::http(&serving.url()).await.expect("connect");
    let tools = ToolSet::builder()
        .tools(remote.tools().await.expect("list"))
        .build()
        .expect("a tool set");
    assert_eq!(tools.len(), bench.tools().len());
    let calls = [
        ToolCall::new("c1", "allergies", r#"{"n": 1}"#),
        ToolCall::new("c2", "failing", r#"{"n": 2}"#),
    ];
    let batch = tools.dispatch(&calls).await;
    assert_eq!(batch.results[0].outcome, Outcome::Ok);
    assert_eq!(
        batch.results[0].structured(),
        Some(json!({"tool": "allergies", "n": 1}))
    );
    assert_eq!(batch.results[1].outcome, Outcome::ToolError);
    remote.close().await;
    serving.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn resource_keys_and_tool_limits_hold_across_requests() {
    let bench = Bench::new();
    let keyed = |name, ms, policy| Probe {
        policy,
        ..bench.probe(name, ms, Behaviour::Object)
    };
    let tools = ToolSet::builder()
        .add(keyed(
            "writer",
            100,
            ToolPolicy::DEFAULT.with_writes(&["row:{n}"]),
        ))
        .add(keyed(
            "reader",
            50,
            ToolPolicy::DEFAULT.with_reads(&["row:{n}"]),
        ))
        .add(keyed(
            "limited",
            40,
            ToolPolicy::DEFAULT.with_max_concurrency(std::num::NonZeroUsize::new(1)),
        ))
        .build()
        .expect("tools");
    let client = connect(McpServer::new(tools).expect("server")).await;
    let later = |delay: u64, name: &'static str, n: i64| {
        let client = &client;
        async move {
            tokio::time::sleep(ms(delay)).await;
            call(client, name, json!({"n": n})).await
        }
    };
    tokio::join!(
        later(0, "writer", 1),
        later(0, "limited", 1),
        later(0, "limited", 2),
        later(10, "reader", 1),
        later(10, "reader", 2),
        later(20, "writer", 1),
    );
    let ran = bench.ran();
    let spans = |name: &str| {
        let mut spans: Vec<(Duration, Duration)> = ran
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, s, e)| (*s, *e))
            .collect();
        spans.sort();
        spans
    };
    // Row 1's reader waits for its writer; row 2's does not; the second
    // writer of row 1 waits for the reader that came before it. The limited
    // tool runs one call at a time.
    assert_eq!(spans("writer"), [(ms(0), ms(100)), (ms(150), ms(250))]);
    assert_eq!(spans("reader"), [(ms(10), ms(60)), (ms(100), ms(150))]);
    assert_eq!(spans("limited"), [(ms(0), ms(40)), (ms(40), ms(80))]);
}

/// A client speaking raw JSON-RPC lines to `serve_io`, to send what rmcp's
/// client never would.
struct Raw {
    write: tokio::io::WriteHalf<tokio::io::DuplexStream>,
    read: tokio::io::BufReader<tokio::io::ReadHalf<tokio::io::DuplexStream>>,
}

impl Raw {
    async fn connect(server: McpServer) -> Raw {
        let (client_io, server_io) = tokio::io::duplex(1 << 16);
        let (read, write) = tokio::io::split(server_io);
        tokio::spawn(async move { server.serve_io(read, write).await });
        let (read, write) = tokio::io::split(client_io);
        let mut raw = Raw {
            write,
            read: tokio::io::BufReader::new(read),
        };
        raw.send(
            &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "0"}
            }}),
        )
        .await;
        assert!(raw.answer().await.get("result").is_some());
        raw.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        raw
    }

    async fn line(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt;
        self.write.write_all(bytes).await.expect("write");
        self.write.write_all(b"\n").await.expect("write");
    }

    async fn send(&mut self, message: &Value) {
        self.line(message.to_string().as_bytes()).await;
    }

    /// The next message from the server, within a (generous) second.
    async fn answer(&mut self) -> Value {
        use tokio::io::AsyncBufReadExt;
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(10), self.read.read_line(&mut line))
            .await
            .expect("the server answers")
            .expect("read");
        serde_json::from_str(&line).expect("a JSON answer")
    }

    /// A `tools/call` with these params, and its answer's error.
    async fn call_error(&mut self, id: i64, params: Value) -> Value {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}))
            .await;
        let answer = self.answer().await;
        assert_eq!(answer["id"], id, "{answer}");
        answer["error"].clone()
    }
}

#[tokio::test]
async fn every_bad_line_gets_an_answer_and_the_connection_goes_on() {
    let bench = Bench::new();
    let server = McpServer::new(bench.tools())
        .expect("server")
        .max_message_bytes(1 << 21);
    assert_eq!(server.message_limit(), 1 << 21);
    let mut raw = Raw::connect(server).await;

    // Over the limit: a parse error, with the id the line starts with.
    let huge = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "allergies", "arguments": {"n": 1, "pad": "x".repeat(3 << 20)}}});
    raw.send(&huge).await;
    let answer = raw.answer().await;
    assert_eq!(answer["id"], 1, "{answer}");
    assert_eq!(answer["error"]["code"], -32700, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("2097152 bytes")),
        "{answer}"
    );

    // Not JSON: a parse error without an id.
    raw.line(b"{\"jsonrpc\": \"2.0\", \"id\": 2, \"method\": ")
        .await;
    let answer = raw.answer().await;
    assert_eq!(answer["error"]["code"], -32700, "{answer}");
    raw.line(b"hello").await;
    let answer = raw.answer().await;
    assert_eq!(answer["error"]["code"], -32700, "{answer}");
    assert_eq!(answer.get("id"), None, "{answer}");

    // JSON, but not a JSON-RPC message: an invalid request.
    raw.send(&json!({"id": 3, "hello": true})).await;
    let answer = raw.answer().await;
    assert_eq!(answer["error"]["code"], -32600, "{answer}");

    // Params that do not read: invalid params, not an unknown method.
    for (id, params) in [
        (4, json!({"name": "allergies", "arguments": [1]})),
        (5, json!({"name": "allergies", "arguments": "{\"n\": 1}"})),
        (6, json!({"arguments": {"n": 1}})),
        (7, json!([])),
    ] {
        let error = raw.call_error(id, params).await;
        assert_eq!(error["code"], -32602, "{error}");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("invalid params for `tools/call`")),
            "{error}"
        );
    }

    // An unknown tool's name is echoed cut short, as the dispatcher does.
    let long = "n".repeat(1 << 20);
    let error = raw
        .call_error(8, json!({"name": long, "arguments": {}}))
        .await;
    let message = error["message"].as_str().unwrap_or_default();
    assert_eq!(error["code"], -32602, "{error}");
    assert!(message.len() < 1024, "{} bytes", message.len());
    assert!(message.contains("(1048576 bytes)"), "{message}");

    // An unknown method is still one, its name cut short too.
    raw.send(&json!({"jsonrpc": "2.0", "id": 9, "method": "m".repeat(10_000)}))
        .await;
    let answer = raw.answer().await;
    assert_eq!(answer["error"]["code"], -32601, "{answer}");
    assert!(answer.to_string().len() < 1024, "{answer}");

    // After all that, a good call still works.
    raw.send(&json!({"jsonrpc": "2.0", "id": 10, "method": "tools/call",
        "params": {"name": "picture", "arguments": {"n": 1}}}))
        .await;
    let answer = raw.answer().await;
    assert_eq!(answer["id"], 10, "{answer}");
    assert_eq!(answer["result"]["isError"], false, "{answer}");
}

/// rmcp's own limit is 16 MiB a line; a longer line is answered too.
#[tokio::test]
async fn a_line_of_16_mib_is_answered() {
    let bench = Bench::new();
    let server = McpServer::new(bench.tools()).expect("server");
    assert_eq!(
        server.message_limit(),
        toolcall_runtime::mcp::DEFAULT_MAX_MESSAGE_BYTES
    );
    let mut raw = Raw::connect(server).await;
    let pad = "x".repeat(16 * 1024 * 1024);
    raw.send(
        &json!({"jsonrpc": "2.0", "id": "big", "method": "tools/call",
        "params": {"name": "allergies", "arguments": {"n": 1, "pad": pad}}}),
    )
    .await;
    let answer = raw.answer().await;
    assert_eq!(answer["id"], "big", "{answer}");
    assert_eq!(answer["error"]["code"], -32700, "{answer}");
}

/// A plain HTTP client (rustls needs its crypto chosen, as toolcall's
/// clients do).
fn http_client() -> reqwest::Client {
    #[allow(deprecated)] // ring lacks post-quantum groups (rustls 0.23.48); fine for a test
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// Over HTTP, a body that is not JSON gets a JSON-RPC parse error, and one
/// over the limit `413`.
#[tokio::test]
async fn streamable_http_answers_bodies_it_cannot_read() {
    let bench = Bench::new();
    let serving = McpServer::new(bench.tools())
        .expect("server")
        .max_message_bytes(4096)
        .serve_http("127.0.0.1:0")
        .await
        .expect("bind");
    let post = |body: String| {
        let url = serving.url();
        async move {
            let response = http_client()
                .post(url)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .body(body)
                .send()
                .await
                .expect("an answer");
            let status = response.status().as_u16();
            (status, response.text().await.expect("a body"))
        }
    };
    let (status, body) = post("{\"id\": 1, \"method\": ".into()).await;
    assert_eq!(status, 400, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["error"]["code"], -32700, "{answer}");
    assert_eq!(answer["id"], 1, "{answer}");
    let (status, body) = post(format!("{{\"pad\": \"{}\"}}", "x".repeat(5000))).await;
    assert_eq!(status, 413, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["error"]["code"], -32700, "{answer}");
    serving.shutdown().await;
}

/// Stateless by default: a request carries no session, so another
/// instance of the same server (a second `serve_http`) answers it.
#[tokio::test]
async fn streamable_http_is_stateless() {
    let bench = Bench::new();
    let one = McpServer::new(bench.tools())
        .expect("server")
        .serve_http("127.0.0.1:0")
        .await
        .expect("bind");
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"}
    }});
    let response = http_client()
        .post(one.url())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(initialize.to_string())
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers().get("mcp-session-id"),
        None,
        "no session is made"
    );
    one.shutdown().await;
}
