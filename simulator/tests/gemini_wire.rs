//! The Gemini format end to end: the runtime's `GeminiModel` against the
//! simulator's `models/{model}:generateContent` and
//! `:streamGenerateContent?alt=sse`, the same checks the official
//! `google-genai` Python SDK makes (`tests/sdk_gemini.rs`), plus ids absent
//! or present, calls one chunk each or all in one, thought signatures,
//! retries, raw-request errors, and exact eager / after-message /
//! sequential times on the paused clock.

mod common;

use std::time::Duration;

use common::send;
use futures_util::StreamExt;
use serde_json::{Value, json};
use toolcall_runtime::{
    Agent, ChatRequest, DispatchOptions, FinishReason, GeminiModel, Message, Model, ModelError,
    StreamEvent, Streaming, ToolCall, ToolChoice, ToolSet,
};
use toolcall_sim::{
    Fault, GeminiOptions, Latency, ModelLatency, Script, ScriptedCall, Server, SimTool, Simulator,
    Wire,
};

const NAMES: [&str; 4] = [
    "get_patient_demographics",
    "get_active_medications",
    "get_allergies",
    "get_recent_labs",
];
const KEY: &str = "gemini-sim-key";
const MS: fn(u64) -> Duration = Duration::from_millis;

fn tools(latencies: [u64; 4]) -> ToolSet {
    let schema = json!({"type": "object", "properties": {"patient_id": {"type": "string"}}, "required": ["patient_id"], "additionalProperties": false});
    NAMES
        .iter()
        .zip(latencies)
        .fold(ToolSet::builder(), |b, (name, ms)| {
            b.add(
                SimTool::new(*name, "a clinical lookup")
                    .parameters(schema.clone())
                    .latency(Latency::fixed_ms(ms)),
            )
        })
        .build()
        .expect("tools")
}

fn model(server: &Server) -> GeminiModel {
    GeminiModel::builder()
        .base_url(format!("http://{}", server.addr()))
        .api_key(KEY)
        .backoff(MS(10), MS(10))
        .build()
        .expect("a model")
}

async fn auto_server(options: GeminiOptions) -> Server {
    Simulator::builder()
        .seed(5)
        .gemini(options)
        .server()
        .api_key(KEY)
        .start()
        .await
        .expect("server")
}

fn question(tools: &ToolSet) -> ChatRequest {
    ChatRequest {
        tools: tools.definitions().to_vec(),
        ..ChatRequest::new(
            "gemini-2.5-flash",
            vec![Message::user("Summarise patient P-00001")],
        )
    }
}

fn check_calls(calls: &[ToolCall]) {
    let names: Vec<&str> = calls.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, NAMES);
    for call in calls {
        let args: Value = serde_json::from_str(&call.arguments).expect("args are JSON");
        assert!(args["patient_id"].is_string(), "{args}");
    }
}

/// The model turn and every result: the model sends them as one user content.
fn answered(mut request: ChatRequest, calls: &[ToolCall]) -> ChatRequest {
    request
        .messages
        .push(Message::assistant(None, calls.to_vec()));
    for call in calls {
        request
            .messages
            .push(Message::tool_result(&call.id, format!("{}: ok", call.name)));
    }
    request
}

async fn streamed(model: &GeminiModel, request: &ChatRequest) -> Vec<StreamEvent> {
    model
        .stream(request)
        .map(|e| e.expect("an event"))
        .collect()
        .await
}

fn calls_of(events: &[StreamEvent]) -> Vec<ToolCall> {
    let mut assembler = toolcall_runtime::stream::CallAssembler::new();
    for event in events {
        assembler.push(event.clone());
    }
    assembler.into_response().tool_calls
}

#[tokio::test]
async fn complete_and_stream_get_four_calls_answered_in_one_turn_then_text() {
    for options in [
        GeminiOptions::default(),
        GeminiOptions {
            call_ids: false,
            calls_in_one_chunk: false,
            thought_signature: true,
        },
        GeminiOptions {
            call_ids: true,
            calls_in_one_chunk: true,
            thought_signature: true,
        },
    ] {
        let server = auto_server(options).await;
        let model = model(&server);
        let tools = tools([0; 4]);

        let first = model.complete(&question(&tools)).await.expect("a reply");
        assert_eq!(first.finish_reason, Some(FinishReason::ToolCalls));
        check_calls(&first.tool_calls);
        let assigned = first
            .tool_calls
            .iter()
            .all(|c| c.id.starts_with("gemini_call_"));
        assert_eq!(assigned, !options.call_ids, "{:?}", first.tool_calls);
        assert!(
            first
                .usage
                .is_some_and(|u| u.prompt_tokens > 0 && u.completion_tokens > 0)
        );
        // The signature the first call got goes back on its part.
        let last = model
            .complete(&answered(question(&tools), &first.tool_calls))
            .await
            .expect("a final reply");
        assert_eq!(last.finish_reason, Some(FinishReason::Stop));
        assert!(last.tool_calls.is_empty());
        assert!(last.content.is_some_and(|t| !t.trim().is_empty()));
        let entry = server.journal().last().expect("journalled");
        assert_eq!(entry.status(), 200);
        assert_eq!(entry.tool_message_ids.len(), 4);

        // Streamed: each call done as its part arrives, one chunk each or
        // all in one.
        let events = streamed(&model, &question(&tools)).await;
        let done = events
            .iter()
            .filter(|e| matches!(e, StreamEvent::ToolCallDone(_)))
            .count();
        assert_eq!(done, 4, "{events:?}");
        assert!(events.contains(&StreamEvent::Finish(FinishReason::ToolCalls)));
        assert!(matches!(events.last(), Some(StreamEvent::Usage(_))));
        let calls = calls_of(&events);
        check_calls(&calls);
        let last = model
            .complete(&answered(question(&tools), &calls))
            .await
            .expect("the streamed calls answered");
        assert_eq!(last.finish_reason, Some(FinishReason::Stop));
    }
}

#[tokio::test]
async fn a_dropped_signature_is_a_400_from_the_simulator() {
    let server = auto_server(GeminiOptions {
        thought_signature: true,
        ..GeminiOptions::default()
    })
    .await;
    let tools = tools([0; 4]);
    let first = model(&server)
        .complete(&question(&tools))
        .await
        .expect("calls");
    // Another model never got the signature, so it cannot send it back.
    let error = model(&server)
        .complete(&answered(question(&tools), &first.tool_calls))
        .await
        .expect_err("a 400");
    assert!(
        matches!(&error, ModelError::Api { status: 400, code: Some(code), message } if code == "INVALID_ARGUMENT" && message.contains("thought_signature")),
        "{error:?}"
    );
}

#[tokio::test]
async fn modes_none_and_any_with_one_name() {
    let server = auto_server(GeminiOptions::default()).await;
    let model = model(&server);
    let tools = tools([0; 4]);
    let mut none = question(&tools);
    none.tool_choice = Some(ToolChoice::None);
    let reply = model.complete(&none).await.expect("text");
    assert!(reply.tool_calls.is_empty());
    assert!(reply.content.is_some());
    let mut one = question(&tools);
    one.tool_choice = Some(ToolChoice::Function("get_allergies".into()));
    let reply = model.complete(&one).await.expect("one call");
    let names: Vec<&str> = reply.tool_calls.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["get_allergies"]);
    let entry = server.journal().last().expect("journalled");
    assert_eq!(entry.tools_offered, ["get_allergies"]);
    let mut serial = question(&tools);
    serial.parallel_tool_calls = Some(false);
    let error = model.complete(&serial).await.expect_err("refused");
    assert!(matches!(&error, ModelError::Config(m) if m.contains("parallel_tool_calls")));
}

#[tokio::test]
async fn the_agent_runs_every_call_at_once() {
    for call_ids in [true, false] {
        let server = auto_server(GeminiOptions {
            call_ids,
            thought_signature: true,
            ..GeminiOptions::default()
        })
        .await;
        let agent = Agent::new(model(&server), tools([0; 4])).streaming(Streaming::Eager);
        let run = agent
            .run("Summarise patient P-00001")
            .await
            .expect("an answer");
        assert_eq!(run.rounds.len(), 2);
        let batch = run.rounds[0].batch.as_ref().expect("a batch");
        assert_eq!(batch.results.len(), 4);
        assert!(batch.results.iter().all(|r| r.outcome.is_ok()));
        assert!(run.answer.contains("get_recent_labs"), "{}", run.answer);
    }
}

#[tokio::test]
async fn raw_requests_get_google_errors_on_both_versions() {
    let server = auto_server(GeminiOptions::default()).await;
    let headers = [
        ("content-type", "application/json"),
        ("x-goog-api-key", KEY),
    ];
    let hi = json!({"role": "user", "parts": [{"text": "hi"}]});
    let call = json!({"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}, {"functionCall": {"name": "g", "args": {}}}]});
    let response = json!({"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"output": 1}}}]});
    let cases = [
        (json!({"contents": []}), "contents is not specified"),
        (
            json!({"contents": [hi, response]}),
            "function response turn comes immediately after a function call turn",
        ),
        (
            json!({"contents": [hi, call, response]}),
            "number of function response parts is equal to the number of function call parts",
        ),
        (
            json!({"contents": [hi], "tools": [{"googleSearch": {}}]}),
            "not `googleSearch`",
        ),
        (
            json!({"contents": [hi], "toolConfig": {"functionCallingConfig": {"mode": "SOMETIMES"}}}),
            "SOMETIMES",
        ),
    ];
    for version in ["v1beta", "v1"] {
        let path = format!("/{version}/models/gemini-2.5-flash:generateContent");
        for (body, expected) in &cases {
            let reply = send(server.addr(), "POST", &path, &headers, body.to_string())
                .await
                .expect("a reply");
            assert_eq!(reply.status, 400, "{}", reply.text());
            let error = reply.json();
            assert_eq!(error["error"]["code"], 400);
            assert_eq!(error["error"]["status"], "INVALID_ARGUMENT");
            let message = error["error"]["message"].as_str().expect("a message");
            assert!(message.contains(expected), "{message}");
        }
    }
    let no_key = send(
        server.addr(),
        "POST",
        "/v1beta/models/m:generateContent",
        &[("content-type", "application/json")],
        json!({"contents": [hi]}).to_string(),
    )
    .await
    .expect("a reply");
    assert_eq!(no_key.status, 403);
    assert_eq!(no_key.json()["error"]["status"], "PERMISSION_DENIED");
    let no_sse = send(
        server.addr(),
        "POST",
        "/v1beta/models/m:streamGenerateContent",
        &headers,
        json!({"contents": [hi]}).to_string(),
    )
    .await
    .expect("a reply");
    assert_eq!(no_sse.status, 400, "{}", no_sse.text());
    // SSE: `data:` frames only, no event names, no `[DONE]`.
    let sse = send(
        server.addr(),
        "POST",
        "/v1/models/m:streamGenerateContent?alt=sse",
        &headers,
        json!({"contents": [hi]}).to_string(),
    )
    .await
    .expect("a reply");
    assert_eq!(sse.status, 200);
    let text = sse.text();
    assert!(
        !text.contains("event:") && !text.contains("[DONE]"),
        "{text}"
    );
    let frames: Vec<&str> = text.split_terminator("\r\n\r\n").collect();
    let last: Value = serde_json::from_str(
        frames
            .last()
            .and_then(|f| f.strip_prefix("data: "))
            .expect("a data frame"),
    )
    .expect("JSON");
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    // With no latency at all, the calls still come one a chunk.
    let declarations: Vec<Value> = tools([0; 4]).gemini_tools();
    let sse = send(
        server.addr(),
        "POST",
        "/v1beta/models/m:streamGenerateContent?alt=sse",
        &headers,
        json!({"contents": [hi], "tools": [{"functionDeclarations": declarations}]}).to_string(),
    )
    .await
    .expect("a reply");
    let per_chunk: Vec<usize> = sse
        .text()
        .split_terminator("\r\n\r\n")
        .map(|f| {
            let chunk: Value =
                serde_json::from_str(f.strip_prefix("data: ").expect("data")).expect("JSON");
            chunk["candidates"][0]["content"]["parts"]
                .as_array()
                .map_or(0, |p| {
                    p.iter().filter(|p| p.get("functionCall").is_some()).count()
                })
        })
        .filter(|n| *n > 0)
        .collect();
    assert_eq!(per_chunk, [1, 1, 1, 1]);
    let get = send(
        server.addr(),
        "GET",
        "/v1beta/models/m:generateContent",
        &[],
        "",
    )
    .await
    .expect("a reply");
    assert_eq!(get.status, 405);
    assert_eq!(get.json()["error"]["code"], 405);
}

#[tokio::test(start_paused = true)]
async fn unavailable_and_rate_limits_are_retried_honouring_retry_info() {
    let server = Simulator::builder()
        .script(
            Script::new()
                .fault(Fault::Overloaded)
                .fault(Fault::rate_limited(Duration::from_secs(3)))
                .text("fine"),
        )
        .server()
        .api_key(KEY)
        .start()
        .await
        .expect("server");
    let model = model(&server);
    let start = tokio::time::Instant::now();
    let reply = model
        .complete(&ChatRequest::new("m", vec![Message::user("hi")]))
        .await
        .expect("retried to success");
    assert_eq!(reply.content.as_deref(), Some("fine"));
    let statuses: Vec<u16> = server
        .journal()
        .entries()
        .iter()
        .map(|e| e.status())
        .collect();
    assert_eq!(statuses[2], 200);
    assert_eq!(statuses[1], 429);
    // At most 10 ms of backoff after the 503 (its upper half random), then
    // the 3 s the 429's RetryInfo asked for.
    let elapsed = start.elapsed();
    assert!(
        elapsed >= MS(5 + 3000) && elapsed <= MS(10 + 3000),
        "{elapsed:?}"
    );
    server.assert_consumed();
}

/// The first round's time in each mode, under the paused clock: eager ends
/// at max(call's chunk + latency), after the message at end + longest,
/// sequential at end + sum; with a 300 ms first token and 20 ms a chunk.
#[tokio::test(start_paused = true)]
async fn eager_after_message_and_sequential_times_are_exact() {
    let latencies = [220, 200, 180, 150];
    let round = |streaming, options| async move {
        let p = json!({"patient_id": "P-00042"});
        let server = Simulator::builder()
            .seed(3)
            .script(
                Script::new()
                    .tool_calls(NAMES.map(|n| ScriptedCall::new(n, p.clone())))
                    .text("done"),
            )
            .model_latency(ModelLatency::new(
                Latency::fixed_ms(300),
                Latency::fixed_ms(20),
            ))
            .server()
            .api_key(KEY)
            .start()
            .await
            .expect("server");
        let agent = Agent::new(model(&server), tools(latencies))
            .streaming(streaming)
            .dispatch_options(options);
        let run = agent.run("summarise").await.expect("an answer");
        let batch = run.rounds[0].batch.clone().expect("a batch");
        let chunks = server.journal().entries()[0]
            .answer
            .reply()
            .and_then(|r| r.usage)
            .expect("usage")
            .completion_tokens;
        (run.rounds[0].elapsed, batch, chunks)
    };
    let (eager, batch, chunks) = round(Streaming::Eager, DispatchOptions::parallel()).await;
    let (after, after_batch, _) = round(Streaming::AfterMessage, DispatchOptions::parallel()).await;
    let (sequential, _, _) = round(Streaming::AfterMessage, DispatchOptions::sequential()).await;
    let latency = latencies.map(Duration::from_millis);
    // The message ends after the first token and one 20 ms tick per chunk.
    let end = MS(300) + MS(20) * chunks;
    assert!(after_batch.results.iter().all(|r| r.started == end));
    assert_eq!(after, end + latency[0]);
    assert_eq!(sequential, end + latency.iter().sum::<Duration>());
    // Eagerly each starts when its part arrives, the last one at `end`.
    let starts: Vec<Duration> = batch.results.iter().map(|r| r.started).collect();
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "{starts:?}");
    assert_eq!(starts[3], end);
    let expected = starts
        .iter()
        .zip(&latency)
        .map(|(s, l)| *s + *l)
        .max()
        .expect("calls");
    assert_eq!(eager, expected);
    assert!(
        eager < after && after < sequential,
        "{eager:?} {after:?} {sequential:?}"
    );
}

/// A simulator that streams text, then four calls, at 300 ms to the first
/// token and 20 ms a chunk.
fn streaming_simulator(options: GeminiOptions) -> Simulator {
    let p = json!({"patient_id": "P-00042"});
    Simulator::builder()
        .seed(11)
        .gemini(options)
        .script(
            Script::new()
                .turn(
                    toolcall_sim::Turn::tool_calls(NAMES.map(|n| ScriptedCall::new(n, p.clone())))
                        .with_text("Looking it up."),
                )
                .text("done"),
        )
        .chunking(toolcall_sim::Chunking::default().interleaved(true))
        .model_latency(ModelLatency::new(
            Latency::fixed_ms(300),
            Latency::fixed_ms(20),
        ))
        .build()
}

/// The in-process model in Gemini's format yields exactly what
/// `GeminiModel` reads off the server for the same simulator: the same
/// events at the same times.
#[tokio::test(start_paused = true)]
async fn the_in_process_model_in_gemini_format_matches_the_wire() {
    async fn timed(model: &dyn Model, request: &ChatRequest) -> Vec<(Duration, StreamEvent)> {
        let start = tokio::time::Instant::now();
        let mut stream = model.stream(request);
        let mut events = Vec::new();
        while let Some(event) = stream.next().await {
            events.push((start.elapsed(), event.expect("an event")));
        }
        events
    }
    let request = question(&tools([0; 4]));
    for one_chunk in [false, true] {
        let options = GeminiOptions {
            calls_in_one_chunk: one_chunk,
            ..GeminiOptions::default()
        };
        let server = streaming_simulator(options)
            .server()
            .api_key(KEY)
            .start()
            .await
            .expect("server");
        let over_http = timed(&model(&server), &request).await;
        let in_process = timed(
            &streaming_simulator(options).model().wire(Wire::Gemini),
            &request,
        )
        .await;
        assert_eq!(in_process, over_http);
        let done_at: Vec<Duration> = in_process
            .iter()
            .filter_map(|(at, e)| matches!(e, StreamEvent::ToolCallDone(_)).then_some(*at))
            .collect();
        assert_eq!(done_at.len(), 4);
        let distinct = done_at.windows(2).filter(|w| w[0] != w[1]).count();
        assert_eq!(distinct, if one_chunk { 0 } else { 3 }, "{done_at:?}");
        assert!(matches!(&in_process[0].1, StreamEvent::Text(_)));
    }

    // The agent's rounds take the same virtual time both ways.
    let tools = tools([220, 200, 180, 150]);
    let options = GeminiOptions::default();
    let in_process = Agent::new(
        streaming_simulator(options).model().wire(Wire::Gemini),
        tools.clone(),
    )
    .streaming(Streaming::Eager)
    .run("summarise")
    .await
    .expect("an answer");
    let server = streaming_simulator(options)
        .server()
        .api_key(KEY)
        .start()
        .await
        .expect("server");
    let over_http = Agent::new(model(&server), tools)
        .streaming(Streaming::Eager)
        .run("summarise")
        .await
        .expect("an answer");
    let elapsed =
        |run: &toolcall_runtime::AgentRun| run.rounds.iter().map(|r| r.elapsed).collect::<Vec<_>>();
    assert_eq!(elapsed(&in_process), elapsed(&over_http));
    assert_eq!(in_process.answer, over_http.answer);
    let overloaded = Simulator::scripted(Script::new().fault(Fault::Overloaded))
        .model()
        .wire(Wire::Gemini)
        .complete(&ChatRequest::new("m", vec![Message::user("hi")]))
        .await;
    assert!(
        matches!(overloaded, Err(ModelError::Api { status: 503, .. })),
        "{overloaded:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_cut_stream_is_an_error_and_malformed_args_an_invalid_arguments_result() {
    let p = json!({"patient_id": "P-1"});
    let calls = || NAMES.map(|n| ScriptedCall::new(n, p.clone()));
    let server = Simulator::builder()
        .script(
            Script::new()
                .turn(
                    toolcall_sim::Turn::tool_calls(calls()).with_fault(Fault::disconnect_after(5)),
                )
                .turn(toolcall_sim::Turn::tool_calls(calls()).with_fault(Fault::MalformedArguments))
                .text("done"),
        )
        .server()
        .api_key(KEY)
        .start()
        .await
        .expect("server");
    let model = model(&server);
    let request = question(&tools([0; 4]));
    let events: Vec<_> = model.stream(&request).collect().await;
    assert!(
        matches!(events.last(), Some(Err(ModelError::Transport { .. }))),
        "a cut stream ends in an error: {events:?}"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Ok(StreamEvent::Finish(_))))
    );

    let run = Agent::new(model, tools([0; 4]))
        .run("again")
        .await
        .expect("an answer");
    let batch = run.rounds[0].batch.as_ref().expect("a batch");
    assert_eq!(
        batch.results[0].outcome,
        toolcall_runtime::Outcome::InvalidArguments
    );
    assert!(batch.results[1..].iter().all(|r| r.outcome.is_ok()));
    assert_eq!(run.answer, "done");
}
