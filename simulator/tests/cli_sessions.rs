//! `toolcall-sim record` and `toolcall-sim replay` as processes: the
//! simulator's `serve` as the upstream, a request through the recording
//! proxy, Ctrl-C, then the file replayed by another process.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::json;

#[path = "common/process.rs"]
mod process;

use process::Process;

const BIN: &str = env!("CARGO_BIN_EXE_toolcall-sim");
const KEY: &str = "sk-cli-t0p-s3cret";

fn start(args: &[&str]) -> Process {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    Process::start(command)
}

/// POST a body to `/v1/chat/completions` with a bearer key; status and body.
fn post(server: &Process, body: &str) -> (u16, String) {
    let (status, _, body) = server.post_chat(body, &[("authorization", &format!("Bearer {KEY}"))]);
    (status, body)
}

#[test]
fn record_then_replay_as_processes() {
    let dir = std::env::temp_dir().join(format!("toolcall-sim-cli-rr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("cli.recording.json");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/weather.json");
    let upstream = start(&[
        "serve",
        "--port",
        "0",
        "--api-key",
        KEY,
        "--script",
        script.to_str().expect("UTF-8 path"),
    ]);
    let upstream_url = format!("http://{}", upstream.authority());
    let recorder = start(&[
        "record",
        "--upstream",
        &upstream_url,
        "--port",
        "0",
        "--out",
        file.to_str().expect("UTF-8 path"),
    ]);
    let body = json!({
        "model": "gpt-4o-mini",
        "stream": true,
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
    })
    .to_string();
    let (status, live) = post(&recorder, &body);
    assert_eq!(status, 200, "{live}");
    assert!(live.ends_with("data: [DONE]\n\n"), "{live}");
    let (code, stderr) = recorder.interrupt();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("recorded 1 exchange(s)"), "{stderr}");
    drop(upstream);

    let text = std::fs::read_to_string(&file).expect("the recording");
    assert!(!text.contains("s3cret"), "a credential reached the file");

    let replay = start(&["replay", file.to_str().expect("UTF-8 path"), "--port", "0"]);
    let (status, again) = post(&replay, &body);
    assert_eq!(status, 200);
    assert_eq!(again, live);
    let (code, stderr) = replay.interrupt();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("followed the recording"), "{stderr}");

    // A replay that strays exits 1 naming the place.
    let replay = start(&["replay", file.to_str().expect("UTF-8 path"), "--port", "0"]);
    let (status, error) = post(&replay, &body.replace("Paris", "Rome"));
    assert_eq!(status, 409, "{error}");
    let (code, stderr) = replay.interrupt();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("`messages[0].content`"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
