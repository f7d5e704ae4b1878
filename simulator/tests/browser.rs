//! A page in a real headless browser (Chromium) calls `toolcall-sim serve`
//! with `fetch`: a JSON body and an `Authorization` header make it send a
//! CORS preflight first; the page then reads the reply and an exposed
//! header. Skips when no `chromium` (or `chromium-browser`,
//! `google-chrome`) is installed, unless `TOOLCALL_REQUIRE_CHROMIUM=1` (set
//! by CI, which installs Debian's `chromium`) makes that a failure;
//! `tests/hardening.rs` checks the same headers with plain HTTP requests in
//! every case.

mod python;

use std::path::PathBuf;
use std::process::Command;

fn browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

const PAGE: &str = r#"<!doctype html>
<html><body><pre id="out">pending</pre><script>
fetch("BASE/chat/completions", {
  method: "POST",
  headers: {"content-type": "application/json", "authorization": "Bearer sk-sim"},
  body: JSON.stringify({model: "gpt-4o-mini", messages: [{role: "developer", content: "Be brief."}, {role: "user", content: "hi"}]}),
}).then(async (reply) => {
  const body = await reply.json();
  const id = reply.headers.get("x-request-id") || "no-id";
  document.getElementById("out").textContent =
    "status=" + reply.status + " finish=" + body.choices[0].finish_reason + " id=" + id;
}).catch((error) => {
  document.getElementById("out").textContent = "failed=" + error;
});
</script></body></html>"#;

#[test]
fn a_browser_page_calls_the_server_through_cors() {
    let Some(browser) = browser() else {
        assert!(
            !std::env::var("TOOLCALL_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1"),
            "TOOLCALL_REQUIRE_CHROMIUM=1 but no chromium is installed"
        );
        eprintln!("skipped: no chromium installed");
        return;
    };
    let serving = python::serve(env!("CARGO_BIN_EXE_toolcall-sim"), &["--api-key", "sk-sim"]);
    let dir = std::env::temp_dir().join(format!("toolcall-sim-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let page = dir.join("page.html");
    std::fs::write(&page, PAGE.replace("BASE", &serving.base_url)).expect("the page");
    let out = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run the browser");
    let dom = String::from_utf8_lossy(&out.stdout);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        dom.contains("status=200 finish=stop id=req_"),
        "{dom}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
