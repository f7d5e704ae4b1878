//! The official Anthropic Node SDK's own agent loop,
//! `client.beta.messages.toolRunner`, against `toolcall-sim serve` (run as
//! its own process): a two-tool run whose second request continues a
//! server-held thread with only the tool results. The SDK is installed from
//! npm into a project under `target/` (kept between runs, reinstalled when
//! `tests/node_sdks/package.json` changes). Skips where node or npm cannot be
//! had, unless `TOOLCALL_REQUIRE_NODE=1` makes that a failure;
//! `tests/anthropic_threads.rs` sends the same bodies in Rust in every case.

mod packages;
#[path = "common/process.rs"]
mod process;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use packages::{locked_dir, npm_project, required, run};
use process::Process;

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node_sdks")
}

#[test]
fn the_official_node_tool_runner_completes_a_two_tool_run() {
    let (root, _lock) = locked_dir("node-sdks");
    let project = match npm_project(&root, &here(), &["anthropic_tool_runner.mjs"]) {
        Ok(project) => project,
        Err(why) if required("TOOLCALL_REQUIRE_NODE") => {
            panic!("node and the Node SDKs are required here: {why}")
        }
        Err(why) => {
            eprintln!("skipped: the official Node SDKs are not available: {why}");
            return;
        }
    };
    let mut command = Command::new(env!("CARGO_BIN_EXE_toolcall-sim"));
    command
        .args(["serve", "--port", "0", "--api-key", "sk-sim"])
        .args(["--model-latency", "zero", "--seed", "5"])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    let server = Process::start(command);
    let root_url = server.base_url.trim_end_matches("/v1");
    let out = run(
        Command::new("node")
            .arg("anthropic_tool_runner.mjs")
            .args([root_url, "sk-sim"])
            .current_dir(&project)
            .env_remove("ANTHROPIC_API_KEY")
            .env_remove("ANTHROPIC_BASE_URL"),
        "node anthropic_tool_runner.mjs",
    )
    .unwrap_or_else(|failure| panic!("{failure}"));
    assert!(out.contains("all checks passed"), "{out}");
}
