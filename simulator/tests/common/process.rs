//! A server process for the tests and benches (`toolcall-sim`, or a bench
//! re-run as a mock): started, its first line read as its base URL
//! (`http://ADDR[/v1]`), killed when dropped. Included by `#[path]`, so the
//! tests that spawn no process do not build it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

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

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.authority()
            .parse()
            .unwrap_or_else(|_| panic!("not a URL: {:?}", self.base_url))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
