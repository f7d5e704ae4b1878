//! The patient_summary example exports its run to a real trace backend over
//! OTLP, and the backend stores the tree: Arize Phoenix (from PyPI, pinned
//! in `tests/phoenix/requirements.txt`) started as its own process, the
//! example binary run with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at it, and
//! the stored spans read back through Phoenix's REST API: one
//! `invoke_agent` root, two `chat` spans, four `execute_tool` spans that
//! overlap, with their attributes. (Phoenix keeps no OTLP span kind; the
//! in-memory test `tests/otel.rs` checks kinds.)
//!
//! Skips where Python or the package cannot be had, unless
//! `TOOLCALL_REQUIRE_TRACE_BACKEND=1` (CI) makes that a failure.

#[path = "../simulator/tests/python/mod.rs"]
mod python;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Phoenix, killed when dropped.
struct Phoenix {
    child: Child,
    base: String,
    _dir: TempDir,
}

impl Drop for Phoenix {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start_phoenix(python: &Path) -> Phoenix {
    let dir =
        TempDir(std::env::temp_dir().join(format!("toolcall-phoenix-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).expect("Phoenix's working dir");
    let port = free_port();
    let log = std::fs::File::create(dir.0.join("phoenix.log")).expect("log file");
    let child = Command::new(python.with_file_name("phoenix"))
        .arg("serve")
        .env("PHOENIX_WORKING_DIR", &dir.0)
        .env("PHOENIX_HOST", "127.0.0.1")
        .env("PHOENIX_PORT", port.to_string())
        .env("PHOENIX_GRPC_PORT", free_port().to_string())
        .env("PHOENIX_TELEMETRY_ENABLED", "false")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .expect("phoenix serve");
    let phoenix = Phoenix {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(180);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "Phoenix did not start: {}",
            phoenix.log()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    phoenix
}

impl Phoenix {
    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.0.join("phoenix.log")).unwrap_or_default()
    }
}

/// The example binary, built now (a no-op after `cargo test --workspace`,
/// which builds the examples; `cargo test --test otel_phoenix` alone does
/// not) beside this test binary.
fn example_binary() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--example", "patient_summary"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo build --example patient_summary");
    assert!(status.success(), "the example builds");
    let exe = std::env::current_exe().expect("test binary");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    profile.join("examples/patient_summary")
}

fn attr<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    span["attributes"]
        .as_array()?
        .iter()
        .find(|kv| kv["key"] == key)
        .map(|kv| &kv["value"])
}

fn text<'a>(span: &'a Value, key: &str) -> &'a str {
    attr(span, key)
        .and_then(|v| v["string_value"].as_str())
        .unwrap_or_else(|| panic!("{} has no string {key}: {span}", span["name"]))
}

fn nanos(span: &Value, key: &str) -> u128 {
    match &span[key] {
        Value::Number(n) => n.as_u64().map(u128::from),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .unwrap_or_else(|| panic!("{key} of {span}"))
}

#[test]
fn a_real_backend_stores_the_examples_tree() {
    let requirements = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/phoenix/requirements.txt");
    let Some(python) =
        python::venv_python(&requirements, "phoenix", "TOOLCALL_REQUIRE_TRACE_BACKEND")
    else {
        return;
    };
    let binary = example_binary();
    assert!(binary.exists(), "cargo test builds the example: {binary:?}");
    let phoenix = start_phoenix(&python);
    let db =
        TempDir(std::env::temp_dir().join(format!("toolcall-phoenix-db-{}", std::process::id())));
    std::fs::create_dir_all(&db.0).expect("db dir");

    let output = Command::new(&binary)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &phoenix.base)
        .env("OTEL_SERVICE_NAME", "patient_summary")
        .env(
            "DATABASE_URL",
            format!(
                "sqlite://{}?mode=rwc",
                db.0.join("clinic.sqlite3").display()
            ),
        )
        .env_remove("OTEL_EXPORTER_OTLP_PROTOCOL")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove(toolcall::telemetry::CAPTURE_CONTENT_VAR)
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .stdin(Stdio::null())
        .output()
        .expect("the example runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let traces = format!("{}/v1/traces", phoenix.base);
    assert!(stdout.contains(&traces), "the example says where: {stdout}");

    // Phoenix ingests in the background: read until the run's tree is in.
    let deadline = Instant::now() + Duration::from_secs(60);
    let spans = loop {
        let out = python::run_script(
            &python,
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/phoenix/spans.py")
                .display()
                .to_string(),
            &[&phoenix.base, "default"],
            &[],
        );
        let spans: Vec<Value> = serde_json::from_str(&out).expect("Phoenix's spans as JSON");
        let ready = spans
            .iter()
            .filter(|s| {
                s["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("execute_tool "))
            })
            .count()
            >= 4
            && spans
                .iter()
                .filter(|s| s["name"].as_str().is_some_and(|n| n.starts_with("chat ")))
                .count()
                >= 2
            && spans
                .iter()
                .any(|s| s["name"] == "invoke_agent patient_summary");
        if ready {
            break spans;
        }
        assert!(
            Instant::now() < deadline,
            "the run's spans never arrived: {spans:#?}\n{}",
            phoenix.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    };

    let roots: Vec<&Value> = spans
        .iter()
        .filter(|s| s["name"] == "invoke_agent patient_summary")
        .collect();
    assert_eq!(roots.len(), 1);
    let root = roots[0];
    assert!(
        root["parent_span_id"].is_null(),
        "the run is a root: {root}"
    );
    assert_eq!(text(root, "gen_ai.operation.name"), "invoke_agent");
    let trace = &root["trace_id"];
    let root_id = &root["span_id"];
    let tree: Vec<&Value> = spans.iter().filter(|s| &s["trace_id"] == trace).collect();

    let chats: Vec<&Value> = tree
        .iter()
        .copied()
        .filter(|s| s["name"].as_str().is_some_and(|n| n.starts_with("chat ")))
        .collect();
    assert_eq!(chats.len(), 2, "{tree:#?}");
    for chat in &chats {
        assert_eq!(&chat["parent_span_id"], root_id);
        assert_eq!(text(chat, "gen_ai.operation.name"), "chat");
        assert_eq!(
            chat["name"].as_str(),
            Some(format!("chat {}", text(chat, "gen_ai.request.model")).as_str())
        );
        assert!(!text(chat, "gen_ai.provider.name").is_empty());
    }

    let calls: Vec<&Value> = tree
        .iter()
        .copied()
        .filter(|s| {
            s["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("execute_tool "))
        })
        .collect();
    assert_eq!(calls.len(), 4, "{tree:#?}");
    let mut tools = Vec::new();
    for call in &calls {
        assert_eq!(&call["parent_span_id"], root_id);
        assert_eq!(text(call, "gen_ai.operation.name"), "execute_tool");
        assert_eq!(text(call, "gen_ai.tool.type"), "function");
        assert!(text(call, "gen_ai.tool.call.id").starts_with("call_"));
        assert_eq!(text(call, "toolcall.outcome"), "ok");
        let tool = text(call, "gen_ai.tool.name");
        assert_eq!(
            call["name"].as_str(),
            Some(format!("execute_tool {tool}").as_str())
        );
        tools.push(tool.to_owned());
    }
    tools.sort();
    assert_eq!(
        tools,
        [
            "get_active_medications",
            "get_allergies",
            "get_patient_demographics",
            "get_recent_labs"
        ]
    );
    for (i, a) in calls.iter().enumerate() {
        for b in &calls[i + 1..] {
            let overlap = nanos(a, "start_time_unix_nano") < nanos(b, "end_time_unix_nano")
                && nanos(b, "start_time_unix_nano") < nanos(a, "end_time_unix_nano");
            assert!(overlap, "{} and {} ran at once", a["name"], b["name"]);
        }
    }
}
