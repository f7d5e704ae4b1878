//! Fixtures: replies chosen by what a request looks like (each match
//! field, first match wins, use limits, per-session isolation, the error
//! and `verify` report of an unmatched request, the Rust builder).

mod common;

use std::net::SocketAddr;

use serde_json::{Value, json};
use toolcall_runtime::{ChatRequest, Message, Model};
use toolcall_sim::{Fixture, Fixtures, Script, Simulator, TextMatch, Turn, Unmatched, Wire};

async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    session: &str,
    body: &Value,
) -> common::Reply {
    common::call(addr, method, path, Some(session), body).await
}

/// The text of a reply in any of the four formats.
fn text_of(reply: &common::Reply) -> String {
    let value = reply.json();
    let found = [
        value.pointer("/choices/0/message/content"),
        value.pointer("/content/0/text"),
        value.pointer("/candidates/0/content/parts/0/text"),
        value
            .get("output")
            .and_then(Value::as_array)
            .and_then(|items| items.iter().find(|i| i["type"] == "message"))
            .and_then(|m| m.pointer("/content/0/text")),
    ];
    found
        .into_iter()
        .flatten()
        .find_map(Value::as_str)
        .unwrap_or_else(|| panic!("no text in {value}"))
        .to_owned()
}

fn chat(model: &str, messages: Value, tools: &[&str]) -> Value {
    let tools: Vec<Value> = tools
        .iter()
        .map(|name| common::tool_def(name, json!({"type": "object", "properties": {}})))
        .collect();
    let mut body = json!({"model": model, "messages": messages});
    if !tools.is_empty() {
        body["tools"] = json!(tools);
    }
    body
}

fn user(text: &str) -> Value {
    json!([{"role": "user", "content": text}])
}

/// A conversation whose last round called `names` and carries their results.
fn with_results(names: &[&str]) -> Value {
    let calls: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"id": format!("c{i}"), "type": "function", "function": {"name": n, "arguments": "{}"}}))
        .collect();
    let mut messages = vec![
        json!({"role": "user", "content": "go"}),
        json!({"role": "assistant", "content": null, "tool_calls": calls}),
    ];
    for (i, _) in names.iter().enumerate() {
        messages.push(json!({"role": "tool", "tool_call_id": format!("c{i}"), "content": "ok"}));
    }
    json!(messages)
}

/// A path and a body.
type Request = (&'static str, Value);

/// Put `hit` when `matcher` fits and `miss` for the rest into session `id`.
async fn put(addr: SocketAddr, id: &str, matcher: Value) {
    let fixtures = json!({"fixtures": [
        {"match": matcher, "response": {"text": "hit"}},
        {"response": {"text": "miss"}, "min_uses": 0},
    ]});
    let reply = call(addr, "PUT", "/__sim/fixtures", id, &fixtures).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

/// Each match field alone: a request that fits gets `hit`, one that does
/// not falls to the catch-all.
#[tokio::test(start_paused = true)]
async fn each_match_field_picks_its_requests() {
    let server = Simulator::auto(1).server().start().await.expect("start");
    let addr = server.addr();
    let messages = json!({"model": "claude-x", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]});
    let responses = json!({"model": "gpt-4o", "input": "hi"});
    let gemini = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
    let chat_hi = chat("gpt-4o", user("hi"), &[]);
    let cases: Vec<(&str, Value, Request, Request)> = vec![
        (
            "endpoint",
            json!({"endpoint": "messages"}),
            ("/v1/messages", messages.clone()),
            ("/v1/chat/completions", chat_hi.clone()),
        ),
        (
            "endpoint-responses",
            json!({"endpoint": "responses"}),
            ("/v1/responses", responses),
            ("/v1/messages", messages.clone()),
        ),
        (
            "endpoint-gemini",
            json!({"endpoint": "gemini"}),
            (
                "/v1beta/models/gemini-2.0-flash:generateContent",
                gemini.clone(),
            ),
            ("/v1/chat/completions", chat_hi.clone()),
        ),
        (
            "model",
            json!({"model": "gpt-4o"}),
            ("/v1/chat/completions", chat_hi.clone()),
            ("/v1/chat/completions", chat("gpt-4o-mini", user("hi"), &[])),
        ),
        (
            "model-regex",
            json!({"model": {"regex": "^claude-"}}),
            ("/v1/messages", messages),
            ("/v1/chat/completions", chat_hi.clone()),
        ),
        (
            "user-contains",
            json!({"user_message": "weather"}),
            (
                "/v1/chat/completions",
                chat("m", user("the weather in Paris?"), &[]),
            ),
            ("/v1/chat/completions", chat_hi.clone()),
        ),
        (
            "user-regex",
            json!({"user_message": {"regex": "(?i)^PARIS"}}),
            ("/v1/chat/completions", chat("m", user("paris now"), &[])),
            ("/v1/chat/completions", chat("m", user("in paris"), &[])),
        ),
        (
            "user-equals",
            json!({"user_message": {"equals": "hi"}}),
            ("/v1/chat/completions", chat_hi.clone()),
            ("/v1/chat/completions", chat("m", user("hi!"), &[])),
        ),
        (
            "has-results",
            json!({"tool_results": true}),
            (
                "/v1/chat/completions",
                chat("m", with_results(&["f"]), &["f"]),
            ),
            ("/v1/chat/completions", chat("m", user("go"), &["f"])),
        ),
        (
            "no-results",
            json!({"tool_results": false}),
            ("/v1/chat/completions", chat("m", user("go"), &["f"])),
            (
                "/v1/chat/completions",
                chat("m", with_results(&["f"]), &["f"]),
            ),
        ),
        (
            "results-for",
            json!({"tool_results": ["get_weather"]}),
            (
                "/v1/chat/completions",
                chat(
                    "m",
                    with_results(&["get_time", "get_weather"]),
                    &["get_weather"],
                ),
            ),
            (
                "/v1/chat/completions",
                chat("m", with_results(&["get_time"]), &["get_weather"]),
            ),
        ),
        (
            "tools",
            json!({"tools": ["get_weather", "get_time"]}),
            (
                "/v1/chat/completions",
                chat("m", user("go"), &["get_time", "get_weather", "x"]),
            ),
            (
                "/v1/chat/completions",
                chat("m", user("go"), &["get_weather"]),
            ),
        ),
        (
            "turn-index",
            json!({"turn_index": 1}),
            (
                "/v1/chat/completions",
                chat("m", with_results(&["f"]), &["f"]),
            ),
            ("/v1/chat/completions", chat("m", user("go"), &["f"])),
        ),
    ];
    for (id, matcher, (fit_path, fit), (other_path, other)) in cases {
        put(addr, id, matcher).await;
        let hit = call(addr, "POST", fit_path, id, &fit).await;
        assert_eq!(hit.status, 200, "{id}: {}", hit.text());
        assert_eq!(text_of(&hit), "hit", "{id}: the fitting request");
        let miss = call(addr, "POST", other_path, id, &other).await;
        assert_eq!(miss.status, 200, "{id}: {}", miss.text());
        assert_eq!(text_of(&miss), "miss", "{id}: the other request");
        let journal = call(addr, "GET", "/__sim/journal", id, &Value::Null)
            .await
            .json();
        let used: Vec<Value> = journal["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| e["fixture"].clone())
            .collect();
        assert_eq!(
            used,
            [json!(0), json!(1)],
            "{id}: the journal names the fixture"
        );
    }
}

/// First match wins; `times` limits a fixture, after which the next that
/// fits answers; once all are used up the error says so and `verify`
/// names the request, and a fixture under its `min_uses`.
#[tokio::test(start_paused = true)]
async fn first_match_wins_and_limits_hold() {
    let server = Simulator::auto(1).server().start().await.expect("start");
    let addr = server.addr();
    let fixtures = json!({"fixtures": [
        {"name": "once", "match": {"user_message": "weather"}, "response": {"text": "first"}, "times": 1},
        {"name": "twice", "match": {"user_message": "weather"}, "response": {"text": "second"}, "times": 2},
        {"name": "never", "match": {"model": "other"}, "response": {"text": "x"}},
    ]});
    assert_eq!(
        call(addr, "PUT", "/__sim/fixtures", "t", &fixtures)
            .await
            .status,
        200
    );
    let body = chat("m", user("weather?"), &[]);
    let mut texts = Vec::new();
    for _ in 0..3 {
        texts.push(text_of(
            &call(addr, "POST", "/v1/chat/completions", "t", &body).await,
        ));
    }
    assert_eq!(texts, ["first", "second", "second"]);
    let refused = call(addr, "POST", "/v1/chat/completions", "t", &body).await;
    assert_eq!(refused.status, 404, "{}", refused.text());
    assert_eq!(refused.header("x-should-retry"), Some("false"));
    let message = refused.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("#0 `once`") && message.contains("used up"),
        "{message}"
    );

    let verify = call(addr, "GET", "/__sim/verify", "t", &Value::Null).await;
    assert_eq!(verify.status, 409);
    let report = verify.json();
    assert_eq!(report["unmatched_requests"], json!([3]));
    assert_eq!(
        report["unused_fixtures"],
        json!([{"index": 2, "uses": 0, "min_uses": 1}])
    );
    let message = report["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("#2 `never` (0 of at least 1)"),
        "{message}"
    );
}

/// An unmatched request names the closest fixture and what it wants; with
/// a script it takes the next turn instead; with `unmatched: auto`, auto mode answers.
#[tokio::test(start_paused = true)]
async fn unmatched_requests_error_fall_through_or_go_auto() {
    let server = Simulator::auto(1).server().start().await.expect("start");
    let addr = server.addr();
    let fixtures = json!([
        {"name": "far", "match": {"model": "x", "user_message": "y", "tool_results": true}, "response": {"text": "a"}},
        {"name": "near", "match": {"model": "gpt-4o", "user_message": "weather"}, "response": {"text": "b"}},
    ]);
    assert_eq!(
        call(addr, "PUT", "/__sim/fixtures", "e", &fixtures)
            .await
            .status,
        200
    );
    let body = chat("gpt-4o", user("hello"), &[]);
    let refused = call(addr, "POST", "/v1/chat/completions", "e", &body).await;
    assert_eq!(refused.status, 404);
    assert_eq!(refused.json()["error"]["code"], json!("no_fixture_matched"));
    let message = refused.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("last user message `hello`")
            && message.contains(
                "closest is fixture #1 `near`, which wants last user message containing `weather`"
            ),
        "{message}"
    );

    // With a script, the script answers what no fixture matches.
    let script = json!({"turns": [{"text": "scripted"}]});
    assert_eq!(
        call(addr, "PUT", "/__sim/script", "s", &script)
            .await
            .status,
        200
    );
    assert_eq!(
        call(addr, "PUT", "/__sim/fixtures", "s", &fixtures)
            .await
            .status,
        200
    );
    let scripted = call(addr, "POST", "/v1/chat/completions", "s", &body).await;
    assert_eq!(text_of(&scripted), "scripted");
    let matched = call(
        addr,
        "POST",
        "/v1/chat/completions",
        "s",
        &chat("gpt-4o", user("weather"), &[]),
    )
    .await;
    assert_eq!(
        text_of(&matched),
        "b",
        "a fixture answers before the script"
    );

    let auto = json!({"fixtures": fixtures, "unmatched": "auto"});
    assert_eq!(
        call(addr, "PUT", "/__sim/fixtures", "a", &auto)
            .await
            .status,
        200
    );
    let answered = call(addr, "POST", "/v1/chat/completions", "a", &body).await;
    assert_eq!(answered.status, 200, "{}", answered.text());

    let bad = call(
        addr,
        "PUT",
        "/__sim/fixtures",
        "b",
        &json!([{"match": {"modle": "x"}, "response": {"text": "a"}}]),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("modle"), "{}", bad.text());
}

/// Fixtures put in one session answer there only; the server's own
/// engine and another session keep auto mode and their own counts.
#[tokio::test(start_paused = true)]
async fn fixtures_are_per_session() {
    let server = Simulator::auto(1).server().start().await.expect("start");
    let addr = server.addr();
    let fixtures = json!([{"response": {"text": "from a"}, "times": 1}]);
    assert_eq!(
        call(addr, "PUT", "/__sim/fixtures", "a", &fixtures)
            .await
            .status,
        200
    );
    assert_eq!(
        call(addr, "PUT", "/__sim/fixtures", "b", &fixtures)
            .await
            .status,
        200
    );
    let body = chat("m", user("hi"), &[]);
    assert_eq!(
        text_of(&call(addr, "POST", "/v1/chat/completions", "a", &body).await),
        "from a"
    );
    // b's fixture is still unused: a's use did not count for it.
    assert_eq!(
        text_of(&call(addr, "POST", "/v1/chat/completions", "b", &body).await),
        "from a"
    );
    let plain = common::post_chat(addr, &body).await.expect("a reply");
    assert_eq!(plain.status, 200);
    assert_ne!(
        text_of(&plain),
        "from a",
        "the server's own engine has no fixtures"
    );
    assert_eq!(
        call(addr, "GET", "/__sim/verify", "a", &Value::Null)
            .await
            .status,
        200
    );
}

/// The Rust builder: fixtures before the script, in process, by wire.
#[tokio::test(start_paused = true)]
async fn the_builder_takes_fixtures() {
    let sim = Simulator::builder()
        .fixture(
            Fixture::new(Turn::text("anthropic"))
                .endpoint(toolcall_sim::Endpoint::Messages)
                .times(1),
        )
        .fixture(
            Fixture::new(Turn::text("weather"))
                .user_message_matching(TextMatch::regex("wea?ther").expect("a regex"))
                .model("m"),
        )
        .script(Script::new().text("scripted"))
        .build();
    let ask = |text: &str| ChatRequest::new("m", vec![Message::user(text)]);
    let reply = |r: Result<toolcall_runtime::ChatResponse, _>| r.expect("a reply").content;
    let anthropic = sim.model().wire(Wire::Anthropic);
    assert_eq!(
        reply(anthropic.complete(&ask("hi")).await).as_deref(),
        Some("anthropic")
    );
    assert_eq!(
        reply(sim.model().complete(&ask("the weather")).await).as_deref(),
        Some("weather")
    );
    assert_eq!(
        reply(sim.model().complete(&ask("hi")).await).as_deref(),
        Some("scripted")
    );
    assert_eq!(sim.fixture_uses(), (vec![1, 1], vec![]));

    let strict = Simulator::builder()
        .fixtures(Fixtures {
            fixtures: vec![Fixture::new(Turn::text("x")).user_message("weather")],
            unmatched: Unmatched::Error,
        })
        .build();
    let error = strict
        .model()
        .complete(&ask("hi"))
        .await
        .expect_err("no fixture");
    assert!(error.to_string().contains("no fixture matches"), "{error}");
    assert_eq!(strict.fixture_uses(), (vec![0], vec![0]));
}

/// `--fixtures` files in YAML read with line and column errors.
#[test]
fn fixture_files_load_in_yaml() {
    let dir = std::env::temp_dir().join(format!("toolcall-sim-fixtures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a dir");
    let good = dir.join("f.yaml");
    std::fs::write(
        &good,
        "fixtures:\n  - match: {endpoint: chat, user_message: {regex: '^hi'}}\n    response: {text: hello}\n    latency: 250ms\nunmatched: auto\n",
    )
    .expect("write");
    let fixtures = Fixtures::load(&good).expect("load");
    assert_eq!(fixtures.fixtures.len(), 1);
    assert_eq!(fixtures.unmatched, Unmatched::Auto);
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        "fixtures:\n  - match: {endpoint: smoke}\n    response: {text: x}\n",
    )
    .expect("write");
    let error = Fixtures::load(&bad)
        .expect_err("a bad endpoint")
        .to_string();
    assert!(
        error.contains("bad.yaml") && error.contains("smoke"),
        "{error}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
