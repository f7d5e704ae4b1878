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

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use packages::{locked_dir, required, run};
use process::Process;

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node_sdks")
}

/// The project with the pinned SDKs installed and the scripts copied in.
fn project(root: &Path) -> Result<PathBuf, String> {
    for tool in ["node", "npm"] {
        run(Command::new(tool).arg("--version"), tool)
            .map_err(|e| format!("no usable {tool}: {e}"))?;
    }
    let project = root.join("project");
    fs::create_dir_all(&project).map_err(|e| format!("{project:?}: {e}"))?;
    let copy = |name: &str| {
        fs::copy(here().join(name), project.join(name)).map_err(|e| format!("{name}: {e}"))
    };
    copy("anthropic_tool_runner.mjs")?;
    let wanted = fs::read_to_string(here().join("package.json"))
        .map_err(|e| format!("package.json: {e}"))?;
    let stamp = root.join("installed.txt");
    if !fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        let _ = fs::remove_dir_all(project.join("node_modules"));
        let _ = fs::remove_file(project.join("package-lock.json"));
        copy("package.json")?;
        run(
            Command::new("npm")
                .args(["--no-audit", "--no-fund", "--loglevel=error", "install"])
                .current_dir(&project),
            "npm install",
        )?;
        fs::write(&stamp, &wanted).map_err(|e| format!("{stamp:?}: {e}"))?;
    }
    Ok(project)
}

#[test]
fn the_official_node_tool_runner_completes_a_two_tool_run() {
    let (root, _lock) = locked_dir("node-sdks");
    let project = match project(&root) {
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
