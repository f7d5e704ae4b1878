//! The HTTP server: wire format, SSE, bad requests and faults.

mod common;

use std::time::Duration;

use common::{chat_body, post_chat, send, tool_def};
use serde_json::{Value, json};
use tokio::time::Instant;
use toolcall_sim::{
    Answer, Chunking, Fault, FaultRates, ModelLatency, Script, ScriptedCall, Server, Turn,
};

const MS: fn(u64) -> Duration = Duration::from_millis;

fn weather() -> Value {
    tool_def(
        "get_weather",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false}),
    )
}

fn two_calls() -> Script {
    Script::new().tool_calls([
        ScriptedCall::new("get_weather", json!({"city": "Paris"})),
        ScriptedCall::new("get_weather", json!({"city": "Oslo"})),
    ])
}

async fn scripted(script: Script) -> Server {
    Server::builder()
        .script(script)
        .start()
        .await
        .expect("start")
}

fn assert_error(
    reply: &common::Reply,
    status: u16,
    kind: &str,
    param: Value,
    code: Value,
) -> String {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    let error = body["error"].as_object().expect("an error object");
    let mut keys: Vec<_> = error.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "message", "param", "type"]);
    assert_eq!(body["error"]["type"], json!(kind));
    assert_eq!(body["error"]["param"], param);
    assert_eq!(body["error"]["code"], code);
    body["error"]["message"]
        .as_str()
        .expect("message")
        .to_owned()
}

#[tokio::test]
async fn plain_completion_has_the_real_shape() {
    let server = scripted(two_calls().text("Paris is sunny.")).await;
    assert!(
        server.base_url().starts_with("http://127.0.0.1:") && server.base_url().ends_with("/v1")
    );
    let reply = post_chat(server.addr(), &chat_body(&[weather()]))
        .await
        .expect("reply");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert!(
        reply
            .header("x-request-id")
            .is_some_and(|id| id.starts_with("req_"))
    );
    let body = reply.json();
    let id = body["id"].as_str().expect("id");
    assert!(
        id.starts_with("chatcmpl-") && id.len() == "chatcmpl-".len() + 29,
        "{id}"
    );
    assert_eq!(body["object"], "chat.completion");
    assert!(body["created"].as_u64().is_some());
    assert_eq!(body["model"], "gpt-4o-mini");
    assert!(
        body["system_fingerprint"]
            .as_str()
            .is_some_and(|f| f.starts_with("fp_"))
    );
    let choice = &body["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["logprobs"], Value::Null);
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["content"], Value::Null);
    let calls = choice["message"]["tool_calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 2);
    for call in calls {
        assert!(
            call["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("call_"))
        );
        assert_eq!(call["type"], "function");
        assert_eq!(call["function"]["name"], "get_weather");
        assert!(
            serde_json::from_str::<Value>(call["function"]["arguments"].as_str().expect("text"))
                .is_ok()
        );
    }
    let usage = &body["usage"];
    assert_eq!(
        usage["total_tokens"].as_u64(),
        Some(
            usage["prompt_tokens"].as_u64().expect("prompt")
                + usage["completion_tokens"].as_u64().expect("completion")
        )
    );

    // The second turn: a text answer, once both calls are answered.
    let mut next = chat_body(&[weather()]);
    let messages = next["messages"].as_array_mut().expect("messages");
    messages.push(choice["message"].clone());
    for call in calls {
        messages.push(json!({"role": "tool", "tool_call_id": call["id"], "content": "sunny"}));
    }
    let reply = post_chat(server.addr(), &next).await.expect("reply");
    let body = reply.json();
    assert_eq!(body["choices"][0]["message"]["content"], "Paris is sunny.");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert!(body["choices"][0]["message"].get("tool_calls").is_none());
    server.assert_consumed();

    let journal = server.journal().entries();
    assert_eq!(journal.len(), 2);
    assert_eq!(journal[0].tools_offered, vec!["get_weather".to_owned()]);
    assert_eq!(
        journal[1].tool_message_ids,
        calls
            .iter()
            .map(|c| c["id"].as_str().unwrap_or("").to_owned())
            .collect::<Vec<_>>()
    );
    assert_eq!(journal[1].script_turn, Some(1));
    server.shutdown().await;
}

#[tokio::test]
async fn sse_stream_is_faithful() {
    let script = two_calls();
    let server = Server::builder()
        .script(script)
        .chunking(Chunking::default().fragments(2, 3))
        .start()
        .await
        .expect("start");
    let mut body = chat_body(&[weather()]);
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let reply = post_chat(server.addr(), &body).await.expect("reply");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert!(reply.text().ends_with("data: [DONE]\n\n"));
    let data = reply.sse_data();
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).expect("chunk JSON"))
        .collect();
    let id = chunks[0]["id"].clone();
    for chunk in &chunks {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["id"], id, "one id for the whole stream");
        assert!(
            chunk.get("usage").is_some(),
            "with include_usage every chunk has a usage field"
        );
    }
    // Role first.
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    // Then per call: a header with index, id, type, name and empty arguments; then fragments.
    let mut arguments = vec![String::new(); 2];
    let mut headers = 0;
    let n = chunks.len();
    for chunk in &chunks[1..n - 2] {
        let call = &chunk["choices"][0]["delta"]["tool_calls"][0];
        let index = call["index"].as_u64().expect("index") as usize;
        if let Some(id) = call.get("id") {
            assert_eq!(index, headers, "headers in index order");
            headers += 1;
            assert!(id.as_str().is_some_and(|id| id.starts_with("call_")));
            assert_eq!(call["type"], "function");
            assert_eq!(call["function"]["name"], "get_weather");
            assert_eq!(call["function"]["arguments"], "");
        } else {
            assert!(call.get("type").is_none() && call["function"].get("name").is_none());
            let piece = call["function"]["arguments"].as_str().expect("fragment");
            assert!((1..=3).contains(&piece.chars().count()), "{piece:?}");
            arguments[index].push_str(piece);
        }
        assert_eq!(chunk["choices"][0]["finish_reason"], Value::Null);
    }
    assert_eq!(headers, 2);
    assert_eq!(arguments, [r#"{"city":"Paris"}"#, r#"{"city":"Oslo"}"#]);
    // The finish chunk, then the usage chunk with no choices.
    assert_eq!(chunks[n - 2]["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(chunks[n - 2]["choices"][0]["delta"], json!({}));
    assert_eq!(chunks[n - 1]["choices"], json!([]));
    assert!(
        chunks[n - 1]["usage"]["completion_tokens"]
            .as_u64()
            .is_some_and(|t| t as usize == n - 3)
    );
}

#[tokio::test]
async fn sse_without_include_usage_has_no_usage_chunk() {
    let server = scripted(Script::new().text("hello there")).await;
    let mut body = chat_body(&[]);
    body["stream"] = json!(true);
    let reply = post_chat(server.addr(), &body).await.expect("reply");
    let data = reply.sse_data();
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).expect("chunk"))
        .collect();
    assert!(
        chunks
            .iter()
            .all(|c| c.get("usage").is_none()
                && c["choices"].as_array().is_some_and(|a| a.len() == 1))
    );
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": "", "refusal": null})
    );
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "hello there");
    assert_eq!(
        chunks
            .last()
            .map(|c| c["choices"][0]["finish_reason"].clone()),
        Some(json!("stop"))
    );
}

#[tokio::test(start_paused = true)]
async fn sse_chunks_arrive_at_the_simulated_times() {
    let server = Server::builder()
        .script(Script::new().text("a b c"))
        .model_latency(ModelLatency::new(MS(200), MS(30)))
        .start()
        .await
        .expect("start");
    let mut body = chat_body(&[]);
    body["stream"] = json!(true);
    let start = Instant::now();
    let reply = post_chat(server.addr(), &body).await.expect("reply");
    let times: Vec<Duration> = reply
        .frames
        .iter()
        .map(|(at, _)| at.duration_since(start))
        .collect();
    // role, "a", " b", " c", then finish and [DONE] together (they may share a read).
    assert_eq!(&times[..4], &[MS(200), MS(230), MS(260), MS(290)]);
    assert!(times[4..].iter().all(|t| *t == MS(290)));
    assert_eq!(server.journal().entries()[0].since_start, Duration::ZERO);
}

#[tokio::test]
async fn bad_requests_get_openai_errors() {
    let server = Server::builder().start().await.expect("start");
    let addr = server.addr();
    let json_header = [("content-type", "application/json")];

    let reply = send(
        addr,
        "POST",
        "/v1/chat/completions",
        &json_header,
        "{not json",
    )
    .await
    .expect("reply");
    let message = assert_error(
        &reply,
        400,
        "invalid_request_error",
        Value::Null,
        Value::Null,
    );
    assert!(message.starts_with("We could not parse the JSON body of your request."));

    let reply = post_chat(
        addr,
        &json!({"messages": [{"role": "user", "content": "hi"}]}),
    )
    .await
    .expect("reply");
    let message = assert_error(
        &reply,
        400,
        "invalid_request_error",
        Value::Null,
        Value::Null,
    );
    assert_eq!(message, "you must provide a model parameter");

    let reply = post_chat(addr, &json!({"model": "gpt-4o-mini"}))
        .await
        .expect("reply");
    let message = assert_error(
        &reply,
        400,
        "invalid_request_error",
        json!("messages"),
        json!("missing_required_parameter"),
    );
    assert_eq!(message, "Missing required parameter: 'messages'.");

    let stray = json!({"model": "m", "messages": [
        {"role": "user", "content": "hi"},
        {"role": "tool", "tool_call_id": "call_nobody", "content": "x"}]});
    let reply = post_chat(addr, &stray).await.expect("reply");
    let message = assert_error(
        &reply,
        400,
        "invalid_request_error",
        json!("messages.[1].role"),
        Value::Null,
    );
    assert!(
        message.contains("must be a response to a preceeding message with 'tool_calls'"),
        "{message}"
    );

    let unanswered = json!({"model": "m", "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
            {"id": "call_2", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "x"},
        {"role": "user", "content": "and?"}]});
    let reply = post_chat(addr, &unanswered).await.expect("reply");
    let message = assert_error(
        &reply,
        400,
        "invalid_request_error",
        json!("messages.[1].role"),
        Value::Null,
    );
    assert!(
        message.ends_with("did not have response messages: call_2"),
        "{message}"
    );

    let reply = post_chat(
        addr,
        &json!({"model": "m", "messages": [{"role": "wizard", "content": "x"}]}),
    )
    .await
    .expect("reply");
    assert_error(
        &reply,
        400,
        "invalid_request_error",
        Value::Null,
        Value::Null,
    );

    let reply = send(addr, "GET", "/v1/chat/completions", &[], "")
        .await
        .expect("reply");
    assert_error(
        &reply,
        405,
        "invalid_request_error",
        Value::Null,
        json!("method_not_allowed"),
    );
    assert_eq!(reply.header("allow"), Some("POST"));

    let reply = send(addr, "POST", "/v1/completions/nope", &json_header, "{}")
        .await
        .expect("reply");
    let message = assert_error(
        &reply,
        404,
        "invalid_request_error",
        Value::Null,
        Value::Null,
    );
    assert_eq!(message, "Invalid URL (POST /v1/completions/nope)");

    // Requests to the chat endpoint are journaled, with their status.
    let statuses: Vec<u16> = server
        .journal()
        .entries()
        .iter()
        .map(|e| e.status())
        .collect();
    assert_eq!(statuses, [400; 6]);
}

#[tokio::test]
async fn models_are_listed() {
    let server = Server::builder().start().await.expect("start");
    let reply = send(server.addr(), "GET", "/v1/models", &[], "")
        .await
        .expect("reply");
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["object"], "list");
    assert_eq!(body["data"][0]["object"], "model");
    assert_eq!(body["data"][0]["id"], "gpt-4o-mini");
    let reply = send(server.addr(), "GET", "/v1/models/gpt-4o", &[], "")
        .await
        .expect("reply");
    assert_eq!(reply.json()["id"], "gpt-4o");
    let reply = send(server.addr(), "GET", "/v1/models/nope", &[], "")
        .await
        .expect("reply");
    assert_error(
        &reply,
        404,
        "invalid_request_error",
        Value::Null,
        json!("model_not_found"),
    );
    let reply = send(server.addr(), "DELETE", "/v1/models", &[], "")
        .await
        .expect("reply");
    assert_eq!(reply.status, 405);
}

#[tokio::test]
async fn bearer_key_is_checked() {
    let server = Server::builder()
        .api_key("sk-sim-secret")
        .start()
        .await
        .expect("start");
    let body = chat_body(&[]).to_string();
    let reply = send(
        server.addr(),
        "POST",
        "/v1/chat/completions",
        &[],
        body.clone(),
    )
    .await
    .expect("reply");
    let message = assert_error(
        &reply,
        401,
        "invalid_request_error",
        Value::Null,
        Value::Null,
    );
    assert!(message.starts_with("You didn't provide an API key"));
    let wrong = [("authorization", "Bearer sk-wrong-1234")];
    let reply = send(
        server.addr(),
        "POST",
        "/v1/chat/completions",
        &wrong,
        body.clone(),
    )
    .await
    .expect("reply");
    let message = assert_error(
        &reply,
        401,
        "invalid_request_error",
        Value::Null,
        json!("invalid_api_key"),
    );
    assert!(message.ends_with("****1234."), "{message}");
    let right = [("authorization", "Bearer sk-sim-secret")];
    let reply = send(server.addr(), "POST", "/v1/chat/completions", &right, body)
        .await
        .expect("reply");
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn rate_limit_has_retry_after_and_does_not_use_a_turn() {
    let server = Server::builder()
        .script(
            Script::new()
                .fault(Fault::rate_limited(MS(1500)))
                .text("finally"),
        )
        .start()
        .await
        .expect("start");
    let reply = post_chat(server.addr(), &chat_body(&[]))
        .await
        .expect("reply");
    let message = assert_error(
        &reply,
        429,
        "requests",
        Value::Null,
        json!("rate_limit_exceeded"),
    );
    assert!(message.contains("try again in 1.500s"), "{message}");
    assert_eq!(reply.header("retry-after"), Some("2"));
    assert_eq!(reply.header("retry-after-ms"), Some("1500"));
    let reply = post_chat(server.addr(), &chat_body(&[]))
        .await
        .expect("reply");
    assert_eq!(reply.json()["choices"][0]["message"]["content"], "finally");
    server.assert_consumed();

    // Drawn by rate, a 429 leaves the script where it was.
    let server = Server::builder()
        .script(Script::new().text("never"))
        .faults(FaultRates::none().rate_limited(1.0))
        .start()
        .await
        .expect("start");
    for _ in 0..3 {
        let reply = post_chat(server.addr(), &chat_body(&[]))
            .await
            .expect("reply");
        assert_eq!(reply.status, 429);
    }
    assert_eq!(server.simulator().remaining_turns(), 1);
    assert_eq!(
        server.journal().entries()[0].fault,
        Some(Fault::RateLimited {
            retry_after_ms: 1000
        })
    );
}

#[tokio::test]
async fn server_error_is_a_500() {
    let server = scripted(Script::new().fault(Fault::ServerError)).await;
    let reply = post_chat(server.addr(), &chat_body(&[]))
        .await
        .expect("reply");
    let message = assert_error(&reply, 500, "server_error", Value::Null, Value::Null);
    assert_eq!(
        message,
        "The server had an error while processing your request. Sorry about that!"
    );
}

#[tokio::test]
async fn reply_faults_corrupt_the_calls() {
    let server = scripted(
        Script::new()
            .turn(
                Turn::tool_calls([ScriptedCall::new("get_weather", json!({"city": "Paris"}))])
                    .with_fault(Fault::MalformedArguments),
            )
            .turn(
                Turn::tool_calls([ScriptedCall::new("get_weather", json!({"city": "Paris"}))])
                    .with_fault(Fault::UnknownTool),
            )
            .turn(two_calls().turns[0].clone().with_fault(Fault::DuplicateIds)),
    )
    .await;
    let call = |body: &Value, i: usize| body["choices"][0]["message"]["tool_calls"][i].clone();

    let body = post_chat(server.addr(), &chat_body(&[weather()]))
        .await
        .expect("reply")
        .json();
    let arguments = call(&body, 0)["function"]["arguments"]
        .as_str()
        .expect("text")
        .to_owned();
    assert!(
        serde_json::from_str::<Value>(&arguments).is_err(),
        "{arguments}"
    );
    assert!(arguments.starts_with(r#"{"city":"Paris""#));

    let body = post_chat(server.addr(), &chat_body(&[weather()]))
        .await
        .expect("reply")
        .json();
    assert_ne!(call(&body, 0)["function"]["name"], "get_weather");
    assert!(
        call(&body, 0)["function"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("get_weather"))
    );

    let body = post_chat(server.addr(), &chat_body(&[weather()]))
        .await
        .expect("reply")
        .json();
    assert_eq!(call(&body, 0)["id"], call(&body, 1)["id"]);
    server.assert_consumed();
    let faults: Vec<_> = server
        .journal()
        .entries()
        .into_iter()
        .map(|e| e.fault)
        .collect();
    assert_eq!(
        faults,
        [
            Some(Fault::MalformedArguments),
            Some(Fault::UnknownTool),
            Some(Fault::DuplicateIds)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn stall_holds_the_reply_on_the_paused_clock() {
    let server = Server::builder()
        .script(
            Script::new()
                .turn(Turn::text("late").with_fault(Fault::stall(Duration::from_secs(30))))
                .text("also late"),
        )
        .model_latency(ModelLatency::new(MS(100), Duration::ZERO))
        .start()
        .await
        .expect("start");
    // A client with a 5 s timeout gives up at exactly 5 s.
    let start = Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(5),
        post_chat(server.addr(), &chat_body(&[])),
    )
    .await;
    assert!(result.is_err(), "timed out");
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    // A patient client gets the reply at exactly stall + TTFT.
    let server = Server::builder()
        .script(
            Script::new()
                .turn(Turn::text("late").with_fault(Fault::stall(Duration::from_secs(30)))),
        )
        .model_latency(ModelLatency::new(MS(100), Duration::ZERO))
        .start()
        .await
        .expect("start");
    let start = Instant::now();
    let reply = post_chat(server.addr(), &chat_body(&[]))
        .await
        .expect("reply");
    assert_eq!(start.elapsed(), Duration::from_secs(30) + MS(100));
    assert_eq!(reply.json()["choices"][0]["message"]["content"], "late");
}

#[tokio::test]
async fn disconnect_mid_stream_cuts_the_body() {
    let server = scripted(
        Script::new().turn(
            two_calls().turns[0]
                .clone()
                .with_fault(Fault::disconnect_after(3)),
        ),
    )
    .await;
    let mut body = chat_body(&[weather()]);
    body["stream"] = json!(true);
    let reply = post_chat(server.addr(), &body)
        .await
        .expect("response head");
    assert_eq!(reply.status, 200);
    assert!(
        reply.body_error.is_some(),
        "the body must end in an error, got {:?}",
        reply.text()
    );
    let text = reply.text();
    assert!(!text.contains("[DONE]") && !text.contains("finish_reason\":\"tool_calls"));
    // The role chunk and three more.
    assert_eq!(text.matches("data: ").count(), 4, "{text}");
    assert!(matches!(
        server.journal().entries()[0].answer,
        Answer::Reply(_)
    ));
}

#[tokio::test]
async fn disconnect_without_stream_closes_the_connection() {
    let server = scripted(Script::new().fault(Fault::Disconnect { after_chunks: None })).await;
    let result = post_chat(server.addr(), &chat_body(&[])).await;
    assert!(result.is_err(), "no response expected, got {result:?}");
}

#[tokio::test]
async fn script_that_runs_out_answers_an_error() {
    let server = scripted(Script::new().text("only one")).await;
    assert_eq!(
        post_chat(server.addr(), &chat_body(&[]))
            .await
            .expect("reply")
            .status,
        200
    );
    let reply = post_chat(server.addr(), &chat_body(&[]))
        .await
        .expect("reply");
    let message = assert_error(
        &reply,
        500,
        "server_error",
        Value::Null,
        json!("script_exhausted"),
    );
    assert!(
        message.contains("the script ran out") && message.contains("request #2"),
        "{message}"
    );
    let error = server.simulator().check_consumed().expect_err("ran out");
    assert_eq!(
        error.to_string(),
        "the script ran out: request(s) #2 came after the last turn"
    );
    let unused = scripted(Script::new().text("a").text("b")).await;
    post_chat(unused.addr(), &chat_body(&[]))
        .await
        .expect("reply");
    let error = unused.simulator().check_consumed().expect_err("unused");
    assert!(error.to_string().contains("1 of 2 turn(s) used"), "{error}");
    assert!(std::panic::catch_unwind(|| unused.assert_consumed()).is_err());
}

#[tokio::test]
async fn shutdown_stops_the_listener() {
    let server = Server::builder().start().await.expect("start");
    let addr = server.addr();
    server.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());

    let server = Server::builder().start().await.expect("start");
    let addr = server.addr();
    drop(server);
    // The accept loop winds down on its own after the drop.
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("still listening after drop");
}

/// On a multi-thread runtime the server answers on threads of its own (as
/// wiremock does); with `threads(n)`, on n of them, sharing one socket.
/// Either way every connection is answered, and shutdown waits for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_on_threads_of_its_own() {
    for threads in [None, Some(3)] {
        let mut builder = Server::builder().seed(7);
        if let Some(threads) = threads {
            builder = builder.threads(threads);
        }
        let server = builder.start().await.expect("start");
        let addr = server.addr();
        let body = chat_body(&[weather()]);
        let replies = futures_util::future::join_all((0..12).map(|_| post_chat(addr, &body))).await;
        for reply in replies {
            let reply = reply.expect("a reply");
            assert_eq!(reply.status, 200, "{}", reply.text());
            assert_eq!(reply.json()["choices"][0]["finish_reason"], "tool_calls");
        }
        assert_eq!(server.journal().stats().requests, 12);
        server.shutdown().await;
        assert!(
            post_chat(addr, &chat_body(&[])).await.is_err(),
            "stopped ({threads:?} threads)"
        );
    }
}

/// An agent sends the same tools every turn: they are read once, and a
/// changed list is read anew (a different tool is called).
#[tokio::test]
async fn a_changed_tool_list_is_read_anew() {
    let server = Server::builder().seed(3).start().await.expect("start");
    let addr = server.addr();
    let called = |body: Value| async move {
        let reply = post_chat(addr, &body).await.expect("a reply");
        reply.json()["choices"][0]["message"]["tool_calls"][0]["function"]["name"]
            .as_str()
            .map(str::to_owned)
    };
    let other = tool_def("get_time", json!({"type": "object", "properties": {}}));
    assert_eq!(
        called(chat_body(&[weather()])).await.as_deref(),
        Some("get_weather")
    );
    assert_eq!(
        called(chat_body(&[weather()])).await.as_deref(),
        Some("get_weather")
    );
    assert_eq!(
        called(chat_body(&[other])).await.as_deref(),
        Some("get_time")
    );
    assert_eq!(
        called(chat_body(&[weather()])).await.as_deref(),
        Some("get_weather")
    );
}
