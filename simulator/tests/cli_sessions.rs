//! `toolcall-sim record` and `toolcall-sim replay` as processes: the
//! simulator's `serve` as the upstream, a request through the recording
//! proxy, Ctrl-C, then the file replayed by another process.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

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
fn post(authority: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(authority).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: {authority}\r\ncontent-type: application/json\r\nauthorization: Bearer {KEY}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    // The proxy and the replay stream: read the chunked body as its text.
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    (
        status,
        if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        },
    )
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("a chunk size");
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
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
    let (status, live) = post(recorder.authority(), &body);
    assert_eq!(status, 200, "{live}");
    assert!(live.ends_with("data: [DONE]\n\n"), "{live}");
    let (code, stderr) = recorder.interrupt();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("recorded 1 exchange(s)"), "{stderr}");
    drop(upstream);

    let text = std::fs::read_to_string(&file).expect("the recording");
    assert!(!text.contains("s3cret"), "a credential reached the file");

    let replay = start(&["replay", file.to_str().expect("UTF-8 path"), "--port", "0"]);
    let (status, again) = post(replay.authority(), &body);
    assert_eq!(status, 200);
    assert_eq!(again, live);
    let (code, stderr) = replay.interrupt();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("followed the recording"), "{stderr}");

    // A replay that strays exits 1 naming the place.
    let replay = start(&["replay", file.to_str().expect("UTF-8 path"), "--port", "0"]);
    let (status, error) = post(replay.authority(), &body.replace("Paris", "Rome"));
    assert_eq!(status, 409, "{error}");
    let (code, stderr) = replay.interrupt();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("`messages[0].content`"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
