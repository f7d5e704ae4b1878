//! The official Anthropic Python SDK as the client of `toolcall-sim serve`
//! (run as its own process): `messages.create`, `messages.stream`,
//! `disable_parallel_tool_use`, and the 400s and 401 it raises. Skips where
//! Python or the SDK cannot be had; `tests/anthropic_wire.rs` makes the same
//! checks in Rust in every case. Its own agent loop, `tool_runner`, runs a
//! two-tool exchange on a server-held thread.

mod python;

use python::{root_url, run_script, sdk_python, serve};

/// Run `script` against a fresh `toolcall-sim serve` in auto mode; it
/// must print that all its checks passed.
fn check(script: &str, envs: &[(&str, &str)]) {
    let Some(python) = sdk_python() else { return };
    let server = serve(
        env!("CARGO_BIN_EXE_toolcall-sim"),
        &[
            "--api-key",
            "sk-sim",
            "--model-latency",
            "zero",
            "--seed",
            "5",
        ],
    );
    let out = run_script(&python, script, &[root_url(&server), "sk-sim"], envs);
    assert!(out.contains("all checks passed"), "{out}");
}

#[test]
fn the_official_anthropic_sdk_drives_the_simulator() {
    check(
        "anthropic_messages.py",
        &[("PYTHONWARNINGS", "error::DeprecationWarning")],
    );
}

/// `client.beta.messages.tool_runner` continues a server-held thread with
/// only the tool results; `tests/anthropic_threads.rs` sends the same
/// bodies in Rust.
#[test]
fn the_official_python_tool_runner_completes_a_two_tool_run() {
    check("anthropic_tool_runner.py", &[]);
}
