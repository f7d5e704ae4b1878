//! A server that runs for long: a bounded journal with exact counts, read
//! and reset over HTTP; CORS for browser pages; connections that send
//! nothing, or stop halfway, are closed on time (tokio's paused clock).

mod common;

use std::time::Duration;

use common::{chat_body, post_chat, send};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use toolcall_sim::{Script, Server, Simulator};

#[tokio::test]
async fn the_journal_is_a_ring_with_exact_counts() {
    let sim = Simulator::builder().seed(1).journal_limit(3).build();
    let server = sim.server().start().await.expect("start");
    for i in 0..7 {
        let mut body = chat_body(&[]);
        body["messages"][0]["content"] = json!(format!("question {i}"));
        if i == 5 {
            body["temperature"] = json!("hot");
        }
        post_chat(server.addr(), &body).await.expect("a reply");
    }
    let journal = server.journal();
    assert_eq!(journal.len(), 3);
    assert_eq!(journal.limit(), 3);
    let indexes: Vec<usize> = journal.entries().iter().map(|e| e.index).collect();
    assert_eq!(indexes, [4, 5, 6]);
    assert_eq!(journal.get(5).map(|e| e.status()), Some(400));
    assert!(journal.get(1).is_none(), "dropped");
    let stats = journal.stats();
    assert_eq!(
        (stats.requests, stats.replies, stats.errors, stats.dropped),
        (7, 6, 1, 4)
    );

    // Over HTTP: the same entries and counts.
    let reply = send(server.addr(), "GET", "/__sim/journal", &[], "")
        .await
        .expect("a reply");
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["stats"]["requests"], 7);
    assert_eq!(body["stats"]["dropped"], 4);
    assert_eq!(body["limit"], 3);
    let entries = body["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["index"], 4);
    assert_eq!(entries[0]["messages"][0]["content"], "question 4");
    assert_eq!(entries[1]["status"], 400);
    assert_eq!(entries[2]["reply"]["finish_reason"], "stop");

    let reply = send(server.addr(), "DELETE", "/__sim/journal", &[], "")
        .await
        .expect("a reply");
    assert_eq!(reply.json()["stats"]["requests"], 0);
    assert!(server.journal().is_empty());
}

#[tokio::test]
async fn large_requests_are_bounded_by_bytes_too() {
    let server = Server::builder().seed(1).start().await.expect("start");
    server.journal().set_max_bytes(50_000);
    for i in 0..10 {
        let mut body = chat_body(&[]);
        body["messages"][0]["content"] = json!(format!("{i}{}", "x".repeat(20_000)));
        post_chat(server.addr(), &body).await.expect("a reply");
    }
    let journal = server.journal();
    assert!(
        journal.len() <= 2,
        "{} entries of 20 kB kept in 50 kB",
        journal.len()
    );
    assert_eq!(journal.stats().requests, 10);
    assert_eq!(
        journal.last().map(|e| e.index),
        Some(9),
        "the latest is kept"
    );
    // A single entry over the budget is still kept.
    journal.set_max_bytes(1);
    assert_eq!(journal.len(), 1);
}

#[tokio::test]
async fn a_journal_limit_of_zero_keeps_only_counts() {
    let server = Simulator::builder()
        .journal_limit(0)
        .build()
        .server()
        .start()
        .await
        .expect("start");
    for _ in 0..3 {
        post_chat(server.addr(), &chat_body(&[]))
            .await
            .expect("a reply");
    }
    assert!(server.journal().is_empty());
    assert_eq!(server.journal().stats().requests, 3);
}

#[tokio::test]
async fn the_script_is_reset_and_replaced_over_http() {
    let script = Script::new().text("first").text("second");
    let server = Server::builder()
        .script(script)
        .start()
        .await
        .expect("start");
    let content = |reply: common::Reply| reply.json()["choices"][0]["message"]["content"].clone();
    let body = chat_body(&[]);
    let ask = || post_chat(server.addr(), &body);
    assert_eq!(content(ask().await.expect("a reply")), "first");
    let reset = send(server.addr(), "POST", "/__sim/reset", &[], "")
        .await
        .expect("a reply");
    assert_eq!(reset.status, 200, "{}", reset.text());
    assert_eq!(server.journal().stats().requests, 0);
    assert_eq!(content(ask().await.expect("a reply")), "first");
    assert_eq!(content(ask().await.expect("a reply")), "second");

    let new = json!({"turns": [{"text": "replaced"}]}).to_string();
    let put = send(
        server.addr(),
        "PUT",
        "/__sim/script",
        &[("content-type", "application/json")],
        new,
    )
    .await
    .expect("a reply");
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(put.json()["turns"], 1);
    assert_eq!(content(ask().await.expect("a reply")), "replaced");
    server.assert_consumed();

    // Settings fixed at start cannot change; a bad script is named.
    for body in [
        json!({"turns": [], "seed": 3}),
        json!({"turns": [{"nonsense": 1}]}),
    ] {
        let reply = send(server.addr(), "PUT", "/__sim/script", &[], body.to_string())
            .await
            .expect("a reply");
        assert_eq!(reply.status, 400, "{}", reply.text());
        assert_eq!(reply.json()["error"]["type"], "invalid_request_error");
    }
    let reply = send(server.addr(), "GET", "/__sim/reset", &[], "")
        .await
        .expect("a reply");
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("POST"));
}

#[tokio::test]
async fn control_routes_need_the_api_key_when_one_is_set() {
    let server = Server::builder()
        .api_key("sk-test")
        .start()
        .await
        .expect("start");
    let reply = send(server.addr(), "GET", "/__sim/journal", &[], "")
        .await
        .expect("a reply");
    assert_eq!(reply.status, 401);
    let reply = send(
        server.addr(),
        "GET",
        "/__sim/journal",
        &[("authorization", "Bearer sk-test")],
        "",
    )
    .await
    .expect("a reply");
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn cors_preflights_are_answered_and_replies_readable() {
    let server = Server::builder().seed(1).start().await.expect("start");
    let preflight = send(
        server.addr(),
        "OPTIONS",
        "/v1/chat/completions",
        &[
            ("origin", "http://localhost:5173"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "authorization, content-type, x-stainless-os",
            ),
            ("access-control-request-private-network", "true"),
        ],
        "",
    )
    .await
    .expect("a reply");
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    assert!(
        preflight
            .header("access-control-allow-methods")
            .is_some_and(|m| m.contains("POST"))
    );
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("authorization, content-type, x-stainless-os")
    );
    assert_eq!(
        preflight.header("access-control-allow-private-network"),
        Some("true")
    );
    assert!(
        server.journal().is_empty(),
        "a preflight is not a request to the model"
    );

    let body = chat_body(&[]).to_string();
    let reply = send(
        server.addr(),
        "POST",
        "/v1/chat/completions",
        &[
            ("origin", "http://localhost:5173"),
            ("content-type", "application/json"),
        ],
        body.clone(),
    )
    .await
    .expect("a reply");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    let exposed = reply
        .header("access-control-expose-headers")
        .expect("exposed headers");
    assert!(exposed.contains("x-request-id") && exposed.contains("x-ratelimit-remaining-requests"));
    // Errors too: a page must read why it was refused.
    let reply = send(
        server.addr(),
        "GET",
        "/nowhere",
        &[("origin", "http://a.test")],
        "",
    )
    .await
    .expect("a reply");
    assert_eq!(reply.status, 404);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));

    let closed = Server::builder().cors(false).start().await.expect("start");
    let preflight = send(
        closed.addr(),
        "OPTIONS",
        "/v1/chat/completions",
        &[("origin", "http://a.test")],
        "",
    )
    .await
    .expect("a reply");
    assert_eq!(preflight.status, 405);
    let reply = send(
        closed.addr(),
        "POST",
        "/v1/chat/completions",
        &[("origin", "http://a.test")],
        body,
    )
    .await
    .expect("a reply");
    assert_eq!(reply.header("access-control-allow-origin"), None);
}

/// Read until the server closes; the time it took on tokio's clock.
async fn closed_after(stream: &mut TcpStream) -> (Duration, Vec<u8>) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return (start.elapsed(), got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_or_silent_header_is_cut_at_the_header_read_timeout() {
    let server = Server::builder()
        .header_read_timeout(Some(Duration::from_secs(5)))
        .start()
        .await
        .expect("start");
    // Half a head, then nothing: a slowloris.
    let mut slow = TcpStream::connect(server.addr()).await.expect("connect");
    slow.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n")
        .await
        .expect("send");
    let (took, _) = closed_after(&mut slow).await;
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(6),
        "{took:?}"
    );
    // Nothing at all.
    let mut silent = TcpStream::connect(server.addr()).await.expect("connect");
    let (took, _) = closed_after(&mut silent).await;
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(6),
        "{took:?}"
    );
}

/// One whole reply on a kept-alive connection (its head and, by its
/// `content-length`, its body).
async fn read_reply(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|l| l.trim().parse::<usize>().ok());
            if length.is_some_and(|length| body.len() >= length) {
                return text;
            }
        }
        let n = stream.read(&mut buf).await.expect("a reply");
        assert!(n > 0, "closed before its reply: {text}");
        got.extend_from_slice(&buf[..n]);
    }
}

#[tokio::test(start_paused = true)]
async fn a_kept_alive_connection_waits_the_header_read_timeout_from_its_last_reply() {
    let server = Server::builder()
        .header_read_timeout(Some(Duration::from_secs(5)))
        .start()
        .await
        .expect("start");
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    // Each request comes 4 s after the last reply: within the timeout each
    // time, though the third comes 12 s after the connection opened.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(4)).await;
        stream
            .write_all(b"GET /v1/models HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .expect("send");
        let reply = read_reply(&mut stream).await;
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    }
    // Then nothing: cut 5 s after the last reply.
    let (took, _) = closed_after(&mut stream).await;
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(6),
        "{took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_body_that_stops_arriving_is_cut_at_the_idle_timeout() {
    let server = Server::builder()
        .idle_timeout(Some(Duration::from_secs(3)))
        .header_read_timeout(None)
        .start()
        .await
        .expect("start");
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    stream
        .write_all(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"model\":")
        .await
        .expect("send");
    let (took, reply) = closed_after(&mut stream).await;
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(4),
        "{took:?}"
    );
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    let body: Value =
        serde_json::from_str(reply.split("\r\n\r\n").nth(1).unwrap_or("")).expect("a JSON body");
    assert_eq!(body["error"]["code"], "request_timeout");
}
