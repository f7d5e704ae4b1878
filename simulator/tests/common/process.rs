//! A server process for the tests and benches (`toolcall-sim`, or a bench
//! re-run as a mock): started, its first line read as its base URL
//! (`http://ADDR[/v1]`), killed when dropped. Included by `#[path]`, so the
//! tests that spawn no process do not build it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running server process, killed when dropped.
pub struct Process {
    pub child: Child,
    /// Its first line of output.
    pub base_url: String,
}

impl Process {
    /// Start `command` with its stdout piped, and read its base URL.
    pub fn start(mut command: Command) -> Process {
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .expect("start a server process");
        let mut line = String::new();
        let read = BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line);
        let process = Process {
            child,
            base_url: line.trim().to_owned(),
        };
        assert!(
            matches!(read, Ok(n) if n > 0) && process.base_url.starts_with("http://"),
            "the server printed no URL: {read:?} {line:?}"
        );
        process
    }

    /// `host:port` of its base URL.
    pub fn authority(&self) -> &str {
        let rest = self.base_url.trim_start_matches("http://");
        rest.strip_suffix("/v1").unwrap_or(rest)
    }

    /// Ctrl-C (SIGINT, sent to this child by its id); then its exit code
    /// and what it wrote to stderr (when piped).
    pub fn interrupt(mut self) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success());
        let exit = self.child.wait().expect("the server exits");
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        (exit.code(), stderr)
    }

    /// POST `body` to `/v1/chat/completions` with these headers, on a
    /// connection of its own; the status, the head (lower case) and the
    /// body (a chunked one read as its text).
    pub fn post_chat(&self, body: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
        let authority = self.authority();
        let mut stream = TcpStream::connect(authority).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut request = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: {authority}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).expect("send");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).expect("read");
        let response = String::from_utf8_lossy(&response);
        let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status");
        let head = head.to_ascii_lowercase();
        let body = if head.contains("transfer-encoding: chunked") {
            dechunk(body)
        } else {
            body.to_owned()
        };
        (status, head, body)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.authority()
            .parse()
            .unwrap_or_else(|_| panic!("not a URL: {:?}", self.base_url))
    }
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

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
