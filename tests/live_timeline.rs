//! The live_timeline example's page in a real headless browser (Chromium):
//! it runs the clinical agent in parallel, then sequentially (as its button
//! does), from the runs' server-sent events. After both runs the page shows
//! the four calls finished and the parallel makespan under the sequential
//! one; the browser's screenshot is the README's (`docs/live_timeline.png`,
//! rewritten with `TOOLCALL_UPDATE_SCREENSHOT=1`).
//!
//! Skips when no Chromium is installed (`chromium`, `chromium-browser` or
//! `google-chrome` on the PATH), unless `TOOLCALL_REQUIRE_CHROMIUM=1`, as CI
//! sets: then it fails. The server's events are checked without a browser
//! by `the_server_sends_each_event_of_a_run` in every case.

#![cfg(feature = "openai")]

#[path = "../examples/patient_summary/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "../examples/patient_summary/db.rs"]
#[allow(dead_code)]
mod db;
#[path = "../examples/live_timeline/server.rs"]
#[allow(dead_code)]
mod server;
#[path = "../examples/patient_summary/summary.rs"]
#[allow(dead_code)]
mod summary;
#[path = "../examples/patient_summary/tools.rs"]
#[allow(dead_code)]
mod tools;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// The example's server on an ephemeral port of 127.0.0.1.
async fn start() -> String {
    let clinic = Arc::new(server::Clinic::open().await.expect("the clinic's database"));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(server::serve(listener, clinic));
    format!("http://{addr}")
}

/// What a plain GET of `path` returns, head and body.
async fn get(base: &str, path: &str) -> String {
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.expect("read");
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_sends_each_event_of_a_run() {
    let base = start().await;
    let page = get(&base, "/").await;
    assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
    assert!(page.contains("new EventSource(\"/run?mode=\""));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "the page loads nothing from elsewhere"
    );
    let run = get(&base, "/run?mode=parallel").await;
    assert!(run.contains("content-type: text/event-stream"), "{run}");
    for tool in [
        "get_patient_demographics",
        "get_active_medications",
        "get_allergies",
        "get_recent_labs",
    ] {
        assert_eq!(
            run.matches(&format!("\"name\":\"{tool}\"")).count(),
            2,
            "start and finish of {tool}: {run}"
        );
    }
    assert_eq!(run.matches("event: start\n").count(), 4);
    assert_eq!(run.matches("event: finish\n").count(), 4);
    assert_eq!(
        run.matches("\"ok\":true").count(),
        5,
        "four calls and the run: {run}"
    );
    assert!(
        run.trim_end().lines().rev().nth(1) == Some("event: end"),
        "{run}"
    );
    assert!(get(&base, "/nothing").await.starts_with("HTTP/1.1 404"));
}

/// The value of attribute `name` on the element with id `id` in `dom`.
fn attribute(dom: &str, id: &str, name: &str) -> Option<String> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let tag_start = dom[..at].rfind('<')?;
    let tag_end = at + dom[at..].find('>')?;
    let tag = &dom[tag_start..tag_end];
    let value = tag.split(&format!("{name}=\"")).nth(1)?;
    Some(value[..value.find('"')?].to_owned())
}

fn chromium(browser: &Path, profile: &Path, extra: &[String], url: &str) -> std::process::Output {
    std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Virtual time waits for the page's event streams to end.
            "--virtual-time-budget=30000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("run the browser")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_both_runs_and_parallel_beats_sequential() {
    let Some(browser) = browser() else {
        assert!(
            std::env::var_os("TOOLCALL_REQUIRE_CHROMIUM").is_none_or(|v| v != "1"),
            "TOOLCALL_REQUIRE_CHROMIUM=1 but no chromium is installed"
        );
        eprintln!("skipped: no chromium installed");
        return;
    };
    let base = start().await;
    let dir = std::env::temp_dir().join(format!("toolcall-live-timeline-{}", std::process::id()));
    let url = format!("{base}/?compare");
    let dump = {
        let (browser, profile, url) = (browser.clone(), dir.join("dom"), url.clone());
        tokio::task::spawn_blocking(move || {
            chromium(&browser, &profile, &["--dump-dom".into()], &url)
        })
        .await
        .expect("the browser ran")
    };
    let dom = String::from_utf8_lossy(&dump.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&dump.stderr).into_owned();
    for run in ["parallel", "sequential"] {
        assert_eq!(
            attribute(&dom, run, "data-state").as_deref(),
            Some("done"),
            "{run}: {dom}\n{stderr}"
        );
        assert_eq!(
            attribute(&dom, run, "data-finished").as_deref(),
            Some("4"),
            "{run}: {dom}"
        );
        assert_eq!(
            attribute(&dom, run, "data-failed").as_deref(),
            Some("0"),
            "{run}: {dom}"
        );
    }
    let makespan = |run: &str| -> u64 {
        attribute(&dom, run, "data-tools-ms")
            .and_then(|ms| ms.parse().ok())
            .unwrap_or_else(|| panic!("no makespan for {run}: {dom}"))
    };
    let (parallel, sequential) = (makespan("parallel"), makespan("sequential"));
    // The tools take 200, 180, 150 and 220 ms: at once about the longest,
    // one after another about their sum.
    assert!((220..400).contains(&parallel), "parallel {parallel} ms");
    assert!(sequential >= 750, "sequential {sequential} ms");
    assert!(parallel < sequential);

    // In the build's own folder, so a test run leaves the checkout clean;
    // `TOOLCALL_UPDATE_SCREENSHOT=1` writes the README's picture instead.
    let screenshot = if std::env::var("TOOLCALL_UPDATE_SCREENSHOT").is_ok_and(|v| v == "1") {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/live_timeline.png")
    } else {
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("live_timeline.png")
    };
    let shot = {
        let extra = vec![
            "--window-size=1000,640".to_owned(),
            "--hide-scrollbars".to_owned(),
            format!("--screenshot={}", screenshot.display()),
        ];
        let profile = dir.join("shot");
        tokio::task::spawn_blocking(move || chromium(&browser, &profile, &extra, &url))
            .await
            .expect("the browser ran")
    };
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let png = std::fs::read(&screenshot).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
}
