//! restate-server from npm (`@restatedev/restate-server`), installed once
//! under `target/restate-server/` and started on free ports.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use toolcall_restate::HttpExecutor;
use toolcall_restate::restate::ingress::RequestExecutor;

/// The pinned server release.
const VERSION: &str = "1.7.12";

/// Whether CI requires the server (a skip is then a failure).
pub fn required() -> bool {
    std::env::var("TOOLCALL_REQUIRE_RESTATE").is_ok_and(|v| v == "1")
}

/// The server binary: installed from npm into `target/restate-server/`
/// when missing. `Err` says why it cannot be had.
pub fn binary() -> Result<PathBuf, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/restate-server");
    let bin = dir.join("node_modules/@restatedev/restate-server-linux-x64/bin/restate-server");
    let stamp = dir.join(format!("installed-{VERSION}"));
    if bin.is_file() && stamp.is_file() {
        return Ok(bin);
    }
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return Err("the npm package's binary is wired here for linux-x64 only".into());
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {dir:?}: {e}"))?;
    let status = Command::new("npm")
        .args(["install", "--no-save", "--no-audit", "--no-fund"])
        .arg(format!("@restatedev/restate-server@{VERSION}"))
        .current_dir(&dir)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("npm is not available: {e}"))?;
    if !status.success() || !bin.is_file() {
        return Err(format!(
            "npm install @restatedev/restate-server@{VERSION} failed"
        ));
    }
    std::fs::write(&stamp, VERSION).map_err(|e| e.to_string())?;
    Ok(bin)
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}

/// A running restate-server, killed on drop.
pub struct Server {
    child: Child,
    /// The ingress, `http://127.0.0.1:<port>`.
    pub ingress: String,
    /// The admin API.
    pub admin: String,
    _dir: TempDir,
}

impl Server {
    pub async fn start(bin: &Path) -> Server {
        let dir = TempDir::new("restate");
        let (node, admin, ingress) = (free_port(), free_port(), free_port());
        let config = format!(
            r#"bind-address = "127.0.0.1:{node}"
advertised-address = "http://127.0.0.1:{node}/"
disable-telemetry = true
default-num-partitions = 2
rocksdb-total-memory-size = "256 MiB"
log-filter = "warn"

# A worker that comes back is retried within half a second.
[default-retry-policy]
initial-interval = "100ms"
exponentiation-factor = 1.5
max-interval = "500ms"
max-attempts = 1000
on-max-attempts = "pause"

[admin]
bind-address = "127.0.0.1:{admin}"

[ingress]
bind-address = "127.0.0.1:{ingress}"
"#
        );
        let file = dir.path.join("restate.toml");
        std::fs::write(&file, config).expect("write the server's config");
        let log = std::fs::File::create(dir.path.join("server.log")).expect("server log");
        let child = Command::new(bin)
            .arg("--config-file")
            .arg(&file)
            .arg("--base-dir")
            .arg(dir.path.join("data"))
            .args(["--no-logo", "--listen-mode", "tcp"])
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start restate-server");
        let server = Server {
            child,
            ingress: format!("http://127.0.0.1:{ingress}"),
            admin: format!("http://127.0.0.1:{admin}"),
            _dir: dir,
        };
        server.wait_healthy().await;
        server
    }

    async fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let admin = format!("{}/health", self.admin);
        let ingress = format!("{}/restate/health", self.ingress);
        while Instant::now() < deadline {
            if http_ok(&admin).await && http_ok(&ingress).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("restate-server did not become healthy within 60 s");
    }

    /// Register (or re-register) the worker at `uri` through the admin API.
    pub async fn register(&self, uri: &str) {
        let body = format!(r#"{{"uri": "{uri}", "force": true}}"#);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let request = http::Request::post(format!("{}/deployments", self.admin))
                .header("content-type", "application/json")
                .body(Bytes::from(body.clone()))
                .expect("a request");
            let status = match HttpExecutor::new().execute(request).await {
                Ok(r) if r.status().is_success() => return,
                Ok(r) => format!("HTTP {} {}", r.status(), String::from_utf8_lossy(r.body())),
                Err(e) => e.to_string(),
            };
            assert!(
                Instant::now() < deadline,
                "registering {uri} failed: {status}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn http_ok(url: &str) -> bool {
    let Ok(request) = http::Request::get(url).body(Bytes::new()) else {
        return false;
    };
    HttpExecutor::new()
        .execute(request)
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// A directory removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(what: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "toolcall-{what}-{}-{}",
            std::process::id(),
            super::nanos()
        ));
        std::fs::create_dir_all(&path).expect("create a temp dir");
        TempDir { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
