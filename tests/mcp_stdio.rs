//! The `mcp_server` example's server over real stdio, a process of its own:
//! this test binary, re-run with `TOOLCALL_MCP_STDIO_SERVER=1`, serves the
//! four clinical tools on its stdin and stdout exactly as the example does
//! (`examples/patient_summary/mcp.rs`). No libtest harness (it would print
//! on that stdout): `main` either serves, or runs the checks below.
//!
//! - rmcp's client, through toolcall's `McpClient::stdio`, always runs: the
//!   four tools join a `ToolSet` and run at once.
//! - The official MCP Python SDK (`simulator/tests/python/mcp_client.py`)
//!   runs when Python and the SDK are available, else skips (the harness
//!   says why; `TOOLCALL_REQUIRE_PYTHON_SDKS=1` makes that a failure).

#[path = "../examples/patient_summary/db.rs"]
#[allow(dead_code)]
mod db;
#[path = "../examples/patient_summary/mcp.rs"]
#[allow(dead_code)]
mod mcp;
#[path = "../simulator/tests/python/mod.rs"]
mod python;
#[path = "../examples/patient_summary/tools.rs"]
#[allow(dead_code)]
mod tools;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;
use toolcall::mcp::McpClient;
use toolcall::{Outcome, ToolCall, ToolSet};

/// Set to `1` in the environment of the server process.
const SERVE: &str = "TOOLCALL_MCP_STDIO_SERVER";

/// The tools' simulated latencies add up to this: four calls that ran one
/// after another cannot take less.
const SUM_OF_LATENCIES: Duration = Duration::from_millis(750);

fn main() -> ExitCode {
    if std::env::var(SERVE).is_ok_and(|v| v == "1") {
        return serve();
    }
    let checks: [(&str, fn()); 2] = [
        ("rmcp_client_over_stdio", rmcp_client_over_stdio),
        ("python_sdk_over_stdio", python_sdk_over_stdio),
    ];
    // Like libtest: run the checks whose name contains a filter, if any.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut failed = 0;
    let mut ran = 0;
    for (name, check) in checks {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        ran += 1;
        println!("test {name} ...");
        match std::panic::catch_unwind(check) {
            Ok(()) => println!("test {name} ... ok"),
            Err(_) => {
                failed += 1;
                println!("test {name} ... FAILED");
            }
        }
    }
    println!(
        "\ntest result: {}. {} passed; {failed} failed",
        if failed == 0 { "ok" } else { "FAILED" },
        ran - failed
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The server: what `cargo run --example mcp_server` does, on the database
/// `DATABASE_URL` names.
fn serve() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let database_url = std::env::var("DATABASE_URL").ok();
    match runtime.block_on(mcp::run(mcp::Transport::Stdio, database_url.as_deref())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// A fresh SQLite database in the system's temp directory, removed on drop.
struct TempDb {
    dir: PathBuf,
}

impl TempDb {
    fn new(name: &str) -> TempDb {
        let dir =
            std::env::temp_dir().join(format!("toolcall-mcp-stdio-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDb { dir }
    }

    fn url(&self) -> String {
        format!(
            "sqlite://{}?mode=rwc",
            self.dir.join("clinic.sqlite3").display()
        )
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn this_binary() -> PathBuf {
    std::env::current_exe().expect("the test binary's path")
}

fn rmcp_client_over_stdio() {
    let temp = TempDb::new("rmcp");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let mut command = tokio::process::Command::new(this_binary());
        command.env(SERVE, "1").env("DATABASE_URL", temp.url());
        let remote = McpClient::stdio(command).await.expect("start the server");
        assert_eq!(
            remote.server_name().map(|(name, _)| name),
            Some("patient-summary".to_owned())
        );
        let tools = ToolSet::builder()
            .tools(remote.tools().await.expect("list"))
            .build()
            .expect("the server's tools");
        let names: Vec<&str> = tools.names().collect();
        assert_eq!(
            names,
            [
                "get_patient_demographics",
                "get_active_medications",
                "get_allergies",
                "get_recent_labs"
            ]
        );
        let id = json!({"patient_id": "P-00003"}).to_string();
        let mut calls: Vec<ToolCall> = names
            .iter()
            .enumerate()
            .map(|(i, name)| ToolCall::new(format!("c{i}"), *name, id.clone()))
            .collect();
        calls.push(ToolCall::new("c4", "get_allergies", r#"{"patient_id": 3}"#));
        let batch = tools.dispatch(&calls).await;
        let outcomes: Vec<Outcome> = batch.results.iter().map(|r| r.outcome).collect();
        assert_eq!(
            outcomes,
            [
                Outcome::Ok,
                Outcome::Ok,
                Outcome::Ok,
                Outcome::Ok,
                Outcome::ToolError
            ],
            "{:?}",
            batch.results
        );
        assert!(batch.results[4].content.contains("invalid arguments"));
        assert_eq!(
            batch.results[0]
                .structured()
                .map(|v| v["patient_id"].clone()),
            Some(json!("P-00003"))
        );
        // One after another, the calls could not take less than the sum of
        // their latencies.
        assert!(
            batch.makespan < SUM_OF_LATENCIES,
            "the calls did not overlap: {:?}",
            batch.makespan
        );
        remote.close().await;
    });
}

fn python_sdk_over_stdio() {
    let Some(python) = python::sdk_python() else {
        return;
    };
    let temp = TempDb::new("python");
    let binary = this_binary();
    let url = temp.url();
    let out = python::run_script(
        &python,
        "mcp_client.py",
        &[binary.to_str().expect("a UTF-8 path")],
        &[(SERVE, "1"), ("DATABASE_URL", url.as_str())],
    );
    assert!(out.contains("ok:"), "{out}");
    print!("{out}");
}
