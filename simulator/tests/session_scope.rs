//! Per-test isolation on one server (`x-sim-session` or a `/__sim/s/{id}`
//! path prefix: its own script, journal and counters), the verify route,
//! and `x-should-retry: false` on an exhausted script.

mod common;

use serde_json::{Value, json};
use toolcall_sim::Simulator;

use common::call;

fn script(text: &str, turns: usize) -> Value {
    json!({"turns": (0..turns).map(|i| json!({"text": format!("{text} {i}")})).collect::<Vec<_>>()})
}

/// Two sessions, one by header and one by path, each with its own script,
/// journal and counters; the server's own engine sees none of it.
#[tokio::test(start_paused = true)]
async fn two_sessions_on_one_server_cannot_see_each_other() {
    let sim = Simulator::auto(1);
    let server = sim.server().start().await.expect("start");
    let addr = server.addr();
    let put = call(
        addr,
        "PUT",
        "/__sim/script",
        Some("a"),
        &script("from a", 1),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text());
    let put = call(
        addr,
        "PUT",
        "/__sim/s/b/__sim/script",
        None,
        &script("from b", 2),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text());

    let body = common::chat_body(&[]);
    let b0 = call(addr, "POST", "/__sim/s/b/v1/chat/completions", None, &body).await;
    let a0 = call(addr, "POST", "/v1/chat/completions", Some("a"), &body).await;
    let b1 = call(addr, "POST", "/v1/chat/completions", Some("b"), &body).await;
    let content = |r: &common::Reply| r.json()["choices"][0]["message"]["content"].clone();
    assert_eq!(content(&a0), json!("from a 0"));
    assert_eq!(content(&b0), json!("from b 0"));
    assert_eq!(content(&b1), json!("from b 1"));

    let journal = |session| async move {
        call(addr, "GET", "/__sim/journal", Some(session), &Value::Null)
            .await
            .json()
    };
    let (a, b) = (journal("a").await, journal("b").await);
    assert_eq!(a["stats"]["requests"], json!(1));
    assert_eq!(b["stats"]["requests"], json!(2));
    assert_eq!(
        b["entries"][1]["index"],
        json!(1),
        "each session counts from 0"
    );
    assert_eq!(
        sim.journal().stats().requests,
        0,
        "the server's own journal"
    );

    // Verify: a and b are used up; a new script in a leaves a turn unused.
    for session in ["a", "b"] {
        let verify = call(addr, "GET", "/__sim/verify", Some(session), &Value::Null).await;
        assert_eq!(verify.status, 200, "{session}: {}", verify.text());
        assert_eq!(verify.json()["ok"], json!(true));
    }
    call(addr, "PUT", "/__sim/script", Some("a"), &script("again", 2)).await;
    call(addr, "POST", "/v1/chat/completions", Some("a"), &body).await;
    let verify = call(addr, "GET", "/__sim/verify", Some("a"), &Value::Null).await;
    assert_eq!(verify.status, 409, "{}", verify.text());
    let report = verify.json();
    assert_eq!(report["unused_turns"], json!([1]));
    assert!(
        report["message"]
            .as_str()
            .is_some_and(|m| m.contains("1 of 2 script turn(s) unused: #1")),
        "{report}"
    );

    // Ending a session forgets it: the same name starts afresh.
    let ended = call(addr, "DELETE", "/__sim/session", Some("b"), &Value::Null).await;
    assert_eq!(ended.status, 200, "{}", ended.text());
    assert_eq!(ended.json()["stats"]["requests"], json!(2));
    assert_eq!(journal("b").await["stats"]["requests"], json!(0));
    let unnamed = call(addr, "DELETE", "/__sim/session", None, &Value::Null).await;
    assert_eq!(unnamed.status, 400);
    server.shutdown().await;
}

/// A request past the script's end is refused with `x-should-retry: false`
/// (a retry would find it as empty), and verify names it.
#[tokio::test(start_paused = true)]
async fn an_exhausted_script_says_do_not_retry_and_verify_names_the_request() {
    let sim = Simulator::auto(1);
    let server = sim.server().start().await.expect("start");
    let addr = server.addr();
    call(addr, "PUT", "/__sim/script", Some("t"), &script("only", 1)).await;
    let body = common::chat_body(&[]);
    let ok = call(addr, "POST", "/v1/chat/completions", Some("t"), &body).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("x-should-retry"), None);
    let over = call(addr, "POST", "/v1/chat/completions", Some("t"), &body).await;
    assert_eq!(over.status, 500, "{}", over.text());
    assert_eq!(over.header("x-should-retry"), Some("false"));
    let verify = call(addr, "GET", "/__sim/verify", Some("t"), &Value::Null).await;
    assert_eq!(verify.status, 409);
    assert_eq!(verify.json()["unmatched_requests"], json!([1]));
    let bad = call(
        addr,
        "GET",
        "/__sim/verify",
        Some("no spaces"),
        &Value::Null,
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.text());
    server.shutdown().await;
}

/// Each entry keeps its endpoint, its headers (credentials redacted) and
/// its whole body; a refused request keeps its error message too.
#[tokio::test(start_paused = true)]
async fn the_journal_keeps_endpoint_headers_body_and_the_error_of_a_refusal() {
    let sim = Simulator::auto(1);
    let server = sim.server().start().await.expect("start");
    let addr = server.addr();
    let mut body = common::chat_body(&[]);
    body["temperature"] = json!(0.25);
    let headers = [
        ("content-type", "application/json"),
        ("authorization", "Bearer sk-secret-123"),
        ("x-sim-session", "j"),
        ("x-trace", "t-1"),
    ];
    let ok = common::send(
        addr,
        "POST",
        "/v1/chat/completions",
        &headers,
        body.to_string(),
    )
    .await
    .expect("a reply");
    assert_eq!(ok.status, 200);
    let refused = common::send(
        addr,
        "POST",
        "/__sim/s/j/v1/messages",
        &headers[..1],
        "{\"model\": 3",
    )
    .await
    .expect("a reply");
    assert_eq!(refused.status, 400);

    let journal = call(addr, "GET", "/__sim/journal", Some("j"), &Value::Null)
        .await
        .json();
    let entries = journal["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2, "{journal}");
    let first = &entries[0];
    assert_eq!(first["endpoint"], json!("/v1/chat/completions"));
    assert_eq!(first["method"], json!("POST"));
    assert_eq!(first["body"], body, "the whole body, settings too");
    let logged = first["headers"].as_array().expect("headers");
    assert!(
        logged.contains(&json!(["authorization", "[redacted]"])),
        "{logged:?}"
    );
    assert!(logged.contains(&json!(["x-trace", "t-1"])), "{logged:?}");
    assert!(!journal.to_string().contains("sk-secret-123"));
    let gemini = common::send(
        addr,
        "POST",
        "/__sim/s/j/v1beta/models/gemini-2.5-flash:generateContent",
        &headers[..1],
        r#"{"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}"#,
    )
    .await
    .expect("a reply");
    assert_eq!(gemini.status, 200, "{}", gemini.text());
    let second = &entries[1];
    assert_eq!(second["endpoint"], json!("/v1/messages"));
    assert_eq!(second["body"], json!("{\"model\": 3"));
    assert_eq!(second["status"], json!(400));
    assert!(
        second["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{second}"
    );
    let journal = call(addr, "GET", "/__sim/journal", Some("j"), &Value::Null)
        .await
        .json();
    assert_eq!(
        journal["entries"][2]["endpoint"],
        json!("/v1beta/models/gemini-2.5-flash:generateContent")
    );
    server.shutdown().await;
}
