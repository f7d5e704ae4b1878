//! Faults and latencies one request asks for by header (`x-sim-fault`,
//! `x-sim-latency`), and the time scale (`--time-scale`): latencies pass
//! faster in real time while replies and the journal carry simulated times.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;
use toolcall_sim::{Latency, ModelLatency, Script, ScriptedCall, Simulator};

async fn post(
    addr: SocketAddr,
    headers: &[(&str, &str)],
    body: &Value,
) -> Result<common::Reply, String> {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    common::send(addr, "POST", "/v1/chat/completions", &all, body.to_string()).await
}

fn tool_script() -> Script {
    Script::new()
        .turn(toolcall_sim::Turn::tool_calls([ScriptedCall::new(
            "get_weather",
            json!({"city": "Paris"}),
        )]))
        .text("done")
}

#[tokio::test(start_paused = true)]
async fn a_header_fault_hits_that_request_only() {
    let server = Simulator::scripted(tool_script())
        .server()
        .start()
        .await
        .expect("start");
    let addr = server.addr();
    let body = common::chat_body(&[]);

    let limited = post(addr, &[("x-sim-fault", "429; retry-after=2s")], &body)
        .await
        .expect("a reply");
    assert_eq!(limited.status, 429, "{}", limited.text());
    assert_eq!(limited.header("retry-after-ms"), Some("2000"));
    assert_eq!(limited.header("retry-after"), Some("2"));
    let failed = post(addr, &[("x-sim-fault", "500")], &body)
        .await
        .expect("a reply");
    assert_eq!(failed.status, 500);

    // The rejections used no turn: the malformed fault cuts the first turn's call.
    let malformed = post(addr, &[("x-sim-fault", "malformed")], &body)
        .await
        .expect("a reply");
    assert_eq!(malformed.status, 200);
    let arguments =
        malformed.json()["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
    assert!(
        serde_json::from_str::<Value>(&arguments).is_err(),
        "{arguments}"
    );

    let cut = post(addr, &[("x-sim-fault", "disconnect")], &body).await;
    assert!(
        cut.is_err() || cut.is_ok_and(|r| r.body_error.is_some()),
        "the connection drops"
    );

    let plain = post(addr, &[], &body).await.expect("a reply");
    assert_eq!(
        plain.status, 500,
        "the script ran out: the disconnect used the last turn"
    );

    let journal = server.journal();
    let faults: Vec<Option<String>> = journal
        .entries()
        .iter()
        .map(|e| e.fault.as_ref().map(|f| format!("{f:?}")))
        .collect();
    assert_eq!(faults.len(), 5);
    assert!(
        faults[0]
            .as_deref()
            .is_some_and(|f| f.contains("RateLimited")),
        "{faults:?}"
    );
    assert!(faults[4].is_none(), "{faults:?}");

    for bad in [("x-sim-fault", "418"), ("x-sim-latency", "fast")] {
        let refused = post(addr, &[bad], &body).await.expect("a reply");
        assert_eq!(refused.status, 400, "{bad:?}");
        assert!(refused.text().contains(bad.0), "{}", refused.text());
    }
}

#[tokio::test(start_paused = true)]
async fn a_header_stall_and_latency_time_that_reply() {
    let sim = Simulator::builder()
        .model_latency(ModelLatency::new(
            Latency::fixed_ms(100),
            Latency::fixed_ms(0),
        ))
        .build();
    let server = sim.server().start().await.expect("start");
    let addr = server.addr();
    let body = common::chat_body(&[]);
    let timed = |headers: &'static [(&'static str, &'static str)]| {
        let body = body.clone();
        async move {
            let start = Instant::now();
            let reply = post(addr, headers, &body).await.expect("a reply");
            assert_eq!(reply.status, 200, "{}", reply.text());
            (
                start.elapsed(),
                reply.header("x-sim-elapsed-ms").map(str::to_owned),
            )
        }
    };
    assert_eq!(
        timed(&[]).await,
        (Duration::from_millis(100), Some("100".into()))
    );
    assert_eq!(
        timed(&[("x-sim-latency", "250ms")]).await,
        (Duration::from_millis(250), Some("250".into()))
    );
    assert_eq!(
        timed(&[("x-sim-fault", "stall; for=1s")]).await,
        (Duration::from_millis(1100), Some("1100".into()))
    );
}

/// At a time scale of 0.01 a 500 ms reply takes 5 ms of real time, and the
/// reply's headers and the journal say 500 ms.
#[tokio::test(start_paused = true)]
async fn a_time_scale_passes_latencies_faster_and_reports_simulated_times() {
    let latency = ModelLatency::new(Latency::fixed_ms(300), Latency::fixed_ms(20));
    let server = Simulator::builder()
        .model_latency(latency)
        .script(Script::new().text("one two three").text("again"))
        .time_scale(0.01)
        .build()
        .server()
        .start()
        .await
        .expect("start");
    let addr = server.addr();
    let body = common::chat_body(&[]);
    let start = Instant::now();
    let first = post(addr, &[], &body).await.expect("a reply");
    let real = start.elapsed();
    let simulated: u64 = first
        .header("x-sim-elapsed-ms")
        .and_then(|v| v.parse().ok())
        .expect("a header");
    assert!(simulated >= 320, "{simulated}");
    // 100 times faster (tokio's timer rounds up to whole milliseconds).
    let scaled = Duration::from_secs_f64(simulated as f64 / 1000.0 * 0.01);
    assert!(
        real >= scaled && real < scaled + Duration::from_millis(1),
        "{real:?} for {simulated} ms"
    );
    assert_eq!(first.header("x-sim-time-ms"), Some("0"));

    // 20 ms of real time later: 2 s of simulated time more.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let sent = start.elapsed();
    let second = post(addr, &[("x-sim-latency", "500ms")], &body)
        .await
        .expect("a reply");
    let at: u64 = second
        .header("x-sim-time-ms")
        .and_then(|v| v.parse().ok())
        .expect("a header");
    let expected = sent.as_secs_f64() * 1000.0 * 100.0;
    assert_eq!(
        at,
        expected.round() as u64,
        "the second request came at {at} simulated ms"
    );
    let journal = common::send(addr, "GET", "/__sim/journal", &[], "")
        .await
        .expect("a reply")
        .json();
    let entries = journal["entries"].as_array().expect("entries").clone();
    assert_eq!(entries[0]["since_start_ms"], json!(0.0));
    assert_eq!(entries[0]["took_ms"], json!(simulated as f64));
    let since = entries[1]["since_start_ms"].as_f64().unwrap_or_default();
    assert!((since - at as f64).abs() < 1.0, "{since}");
    let took = entries[1]["took_ms"].as_f64().unwrap_or_default();
    assert!(took >= 500.0, "{took}");
}
