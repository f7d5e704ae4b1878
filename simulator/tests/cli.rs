//! The `toolcall-sim` binary, run as a subprocess: `--help`, a bad script,
//! and `serve` answering a real request.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

#[path = "common/process.rs"]
mod process;

use process::Process;

const BIN: &str = env!("CARGO_BIN_EXE_toolcall-sim");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run toolcall-sim")
}

fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts")
}

#[test]
fn help_documents_every_flag() {
    for args in [&["--help"][..], &["serve", "--help"], &["-h"]] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        let help = String::from_utf8(output.stdout).expect("UTF-8 help");
        for needle in [
            "toolcall-sim serve",
            "--port",
            "--host",
            "--script",
            "--seed",
            "--model-latency",
            "--api-key",
            "--help",
            "--version",
            "auto mode",
            "uniform:100ms..300ms",
            "lognormal:",
            "http://127.0.0.1:8080/v1",
            "Ctrl-C",
            "/v1/chat/completions",
            "/v1/responses",
            "/v1/messages",
            "x-api-key",
        ] {
            assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
        }
    }
    let version = run(&["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("toolcall-sim 0."));
}

#[test]
fn bad_arguments_exit_2() {
    for (args, needle) in [
        (&[][..], "no command"),
        (&["serve", "--prot", "1"], "unknown option `--prot`"),
        (
            &["serve", "--model-latency", "soon"],
            "invalid latency `soon`",
        ),
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(stderr.contains("--help"), "{stderr}");
    }
}

#[test]
fn a_bad_script_exits_2_naming_file_line_and_problem() {
    let dir = std::env::temp_dir().join(format!("toolcall-sim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp folder");
    let path = dir.join("bad.json");
    std::fs::write(&path, "{\"turns\": [{\"text\": \"hi\"}],\n \"seeed\": 4}\n").expect("write");
    let output = run(&[
        "serve",
        "--port",
        "0",
        "--script",
        path.to_str().expect("UTF-8"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    // FILE:LINE:COLUMN: problem, the column at the end of the unknown key.
    assert!(
        stderr.contains(&format!("{}:2:8: ", path.display())),
        "file:line:column: {stderr}"
    );
    assert!(stderr.contains("unknown field `seeed`"), "{stderr}");
    assert!(output.stdout.is_empty(), "no URL for a bad script");

    let output = run(&["serve", "--port", "0", "--script", "missing.json"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("missing.json"));
}

fn serve(args: &[&str]) -> Process {
    let mut command = Command::new(BIN);
    command
        .arg("serve")
        .args(["--port", "0"])
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    Process::start(command)
}

fn weather_request() -> Value {
    json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
        "tools": [{"type": "function", "function": {
            "name": "get_weather",
            "description": "The weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
        }}]
    })
}

#[test]
fn serve_in_auto_mode_answers_an_openai_client() {
    let server = serve(&["--seed", "3"]);
    assert!(
        server.base_url.starts_with("http://127.0.0.1:") && server.base_url.ends_with("/v1"),
        "{}",
        server.base_url
    );
    let (status, head, body) = server.post_chat(&weather_request().to_string(), &[]);
    assert_eq!(status, 200, "{body}");
    assert!(head.contains("content-type: application/json"), "{head}");
    let reply: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(reply["object"], "chat.completion");
    assert_eq!(reply["choices"][0]["finish_reason"], "tool_calls");
    let call = &reply["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "get_weather");
    let arguments: Value = serde_json::from_str(
        call["function"]["arguments"]
            .as_str()
            .expect("arguments text"),
    )
    .expect("arguments are JSON");
    assert!(arguments["city"].is_string(), "{arguments}");
}

#[test]
fn serve_a_script_file_with_an_api_key() {
    let script = scripts_dir().join("weather.json");
    let server = serve(&[
        "--script",
        script.to_str().expect("UTF-8"),
        "--api-key",
        "sk-sim",
        "--model-latency",
        "zero",
    ]);
    let (status, _, body) = server.post_chat(&weather_request().to_string(), &[]);
    assert_eq!(status, 401, "{body}");
    let (status, _, body) = server.post_chat(
        &json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
            .to_string(),
        &[("authorization", "Bearer sk-sim")],
    );
    assert_eq!(status, 200, "{body}");
    // The script's first turn: both calls, in order.
    let reply: Value = serde_json::from_str(&body).expect("JSON");
    let calls = reply["choices"][0]["message"]["tool_calls"]
        .as_array()
        .expect("tool calls");
    let cities: Vec<Value> = calls
        .iter()
        .map(|c| {
            let arguments = c["function"]["arguments"].as_str().expect("text");
            serde_json::from_str::<Value>(arguments).expect("JSON")["city"].clone()
        })
        .collect();
    assert_eq!(cities, [json!("Paris"), json!("Oslo")]);
}

#[cfg(unix)]
#[test]
fn ctrl_c_shuts_down_gracefully() {
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--port", "0", "--script"])
        .arg(scripts_dir().join("weather.json"))
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    let server = Process::start(command);
    let (status, _, body) = server.post_chat(&weather_request().to_string(), &[]);
    assert_eq!(status, 200, "{body}");
    let (code, stderr) = server.interrupt();
    assert_eq!(code, Some(0));
    assert!(stderr.contains("shutting down"), "{stderr}");
    // One of the script's two turns was used: the summary says so.
    assert!(stderr.contains("served 1 request(s)"), "{stderr}");
    assert!(stderr.contains("not consumed"), "{stderr}");
}
