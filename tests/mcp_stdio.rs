//! The `mcp_server` example's server as a process of its own: this test
//! binary, re-run with `TOOLCALL_MCP_STDIO_SERVER=1`, serves the four
//! clinical tools on its stdin and stdout exactly as the example does
//! (`examples/patient_summary/mcp.rs`); with `TOOLCALL_MCP_STDIO_SERVER=http`
//! it is `mcp_server --http 0` (the URL on stdout). No libtest harness (it
//! would print on that stdout): `main` either serves, or runs the checks
//! below.
//!
//! - rmcp's client, through toolcall's `McpClient::stdio`, always runs: the
//!   four tools join a `ToolSet` and run at once.
//! - Scaling out: two HTTP instances behind a round-robin proxy that sends
//!   each request to the next instance (no affinity); rmcp's client always,
//!   the official Python SDK's when it can be had.
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
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use serde_json::json;
use toolcall::mcp::McpClient;
use toolcall::{Outcome, ToolCall, ToolSet};

/// Set to `1` in the environment of the server process.
const SERVE: &str = "TOOLCALL_MCP_STDIO_SERVER";

/// The tools' simulated latencies add up to this: four calls that ran one
/// after another cannot take less.
const SUM_OF_LATENCIES: Duration = Duration::from_millis(750);

fn main() -> ExitCode {
    match std::env::var(SERVE).as_deref() {
        Ok("1") => return serve(mcp::Transport::Stdio),
        Ok("http") => return serve(mcp::Transport::Http(0)),
        _ => {}
    }
    let checks: [(&str, fn()); 4] = [
        ("rmcp_client_over_stdio", rmcp_client_over_stdio),
        ("python_sdk_over_stdio", python_sdk_over_stdio),
        (
            "rmcp_client_across_two_http_instances",
            rmcp_client_across_two_http_instances,
        ),
        (
            "python_sdk_across_two_http_instances",
            python_sdk_across_two_http_instances,
        ),
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
fn serve(transport: mcp::Transport) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let database_url = std::env::var("DATABASE_URL").ok();
    match runtime.block_on(mcp::run(transport, database_url.as_deref())) {
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

/// Two `mcp_server --http 0` processes on one database, and a proxy in
/// front of them; dropping it stops them all.
struct TwoInstances {
    _servers: [tokio::process::Child; 2],
    proxy: Proxy,
}

async fn two_instances(temp: &TempDb) -> TwoInstances {
    let mut urls = Vec::new();
    let mut servers = Vec::new();
    // One after the other: the first creates and seeds the database.
    for _ in 0..2 {
        let mut child = tokio::process::Command::new(this_binary())
            .env(SERVE, "http")
            .env("DATABASE_URL", temp.url())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start an instance");
        let stdout = child.stdout.take().expect("its stdout");
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(60),
            BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .expect("the instance says its URL in time")
        .expect("read its URL");
        let url = line.trim().to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");
        urls.push(url);
        servers.push(child);
    }
    let backends = urls
        .iter()
        .map(|url| {
            let authority = url
                .trim_start_matches("http://")
                .split('/')
                .next()
                .unwrap_or_default();
            authority.to_owned()
        })
        .collect();
    let proxy = Proxy::start(backends).await;
    let Ok(servers) = <[tokio::process::Child; 2]>::try_from(servers) else {
        unreachable!("two instances were started")
    };
    TwoInstances {
        _servers: servers,
        proxy,
    }
}

/// A round-robin HTTP/1.1 proxy: each request goes to the next backend
/// (no affinity, as a load balancer without sticky sessions), on a
/// connection of its own that closes after the response.
struct Proxy {
    addr: std::net::SocketAddr,
    served: Arc<[AtomicUsize; 2]>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(backends: Vec<String>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("its address");
        let served: Arc<[AtomicUsize; 2]> = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
        let counts = Arc::clone(&served);
        let task = tokio::spawn(async move {
            let next = AtomicUsize::new(0);
            while let Ok((client, _)) = listener.accept().await {
                let turn = next.fetch_add(1, Ordering::Relaxed) % backends.len();
                counts[turn].fetch_add(1, Ordering::Relaxed);
                tokio::spawn(forward(client, backends[turn].clone()));
            }
        });
        Proxy { addr, served, task }
    }

    fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// Requests each backend got.
    fn served(&self) -> [usize; 2] {
        [0, 1].map(|i| self.served[i].load(Ordering::Relaxed))
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One request from `client` to `backend`, and its response back, each
/// with `Connection: close` so the client opens a new connection (and so
/// gets the next backend) for its next request.
async fn forward(client: TcpStream, backend: String) {
    let mut client = BufReader::new(client);
    let Some((head, length)) = read_head(&mut client).await else {
        return;
    };
    let mut body = vec![0; length];
    if client.read_exact(&mut body).await.is_err() {
        return;
    }
    let Ok(server) = TcpStream::connect(&backend).await else {
        return;
    };
    let mut server = BufReader::new(server);
    let request = [head.into_bytes(), body].concat();
    if server.get_mut().write_all(&request).await.is_err() {
        return;
    }
    let Some((head, _)) = read_head(&mut server).await else {
        return;
    };
    let client = client.get_mut();
    if client.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    // The body as it comes (an event stream ends when the server closes).
    let _ = tokio::io::copy_buf(&mut server, client).await;
    let _ = client.shutdown().await;
}

/// A message's head up to its blank line, with `Connection: close` in place
/// of any connection header, and its `Content-Length`.
async fn read_head(stream: &mut BufReader<TcpStream>) -> Option<(String, usize)> {
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:") || lower.starts_with("keep-alive:") {
            continue;
        }
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().ok()?;
        }
        head.push_str(&line);
    }
    head.push_str("Connection: close\r\n\r\n");
    Some((head, length))
}

fn rmcp_client_across_two_http_instances() {
    let temp = TempDb::new("http-rmcp");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let instances = two_instances(&temp).await;
        let remote = McpClient::http(&instances.proxy.url())
            .await
            .expect("connect through the proxy");
        let tools = ToolSet::builder()
            .tools(remote.tools().await.expect("list"))
            .build()
            .expect("the server's tools");
        assert_eq!(tools.len(), 4);
        let id = json!({"patient_id": "P-00002"}).to_string();
        for round in 0..3 {
            let calls: Vec<ToolCall> = tools
                .names()
                .enumerate()
                .map(|(i, name)| ToolCall::new(format!("r{round}c{i}"), name, id.clone()))
                .collect();
            let batch = tools.dispatch(&calls).await;
            for result in &batch.results {
                assert_eq!(result.outcome, Outcome::Ok, "{result:?}");
            }
        }
        remote.close().await;
        let served = instances.proxy.served();
        assert!(
            served.iter().all(|n| *n >= 3),
            "both instances answer requests: {served:?}"
        );
    });
}

fn python_sdk_across_two_http_instances() {
    let Some(python) = python::sdk_python() else {
        return;
    };
    let temp = TempDb::new("http-python");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let instances = runtime.block_on(two_instances(&temp));
    let url = instances.proxy.url();
    let out = python::run_script(&python, "mcp_client.py", &["--url", url.as_str()], &[]);
    assert!(out.contains("ok:"), "{out}");
    let served = instances.proxy.served();
    assert!(
        served.iter().all(|n| *n >= 3),
        "both instances answer requests: {served:?}"
    );
    print!("{out}");
    drop(instances);
}
