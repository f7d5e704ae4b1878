//! The Anthropic Messages format end to end: the runtime's `AnthropicModel`
//! against the simulator's `/v1/messages`, the same checks the official
//! Python SDK makes (`tests/sdk_anthropic.rs`), plus retries, raw-request
//! errors, and exact eager / after-message / sequential times on the paused
//! clock.

mod common;

use std::time::Duration;

use common::send;
use serde_json::{Value, json};
use toolcall_runtime::{
    Agent, AnthropicModel, ChatRequest, DispatchOptions, FinishReason, Message, Model, ModelError,
    StreamEvent, Streaming, ToolCall, ToolSet,
};
use toolcall_sim::{Fault, Latency, ModelLatency, Script, ScriptedCall, Server, SimTool};

const NAMES: [&str; 4] = [
    "get_patient_demographics",
    "get_active_medications",
    "get_allergies",
    "get_recent_labs",
];
const KEY: &str = "sk-ant-sim";

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

fn model(server: &Server) -> AnthropicModel {
    AnthropicModel::builder()
        .base_url(format!("http://{}", server.addr()))
        .api_key(KEY)
        .backoff(Duration::from_millis(10), Duration::from_millis(10))
        .build()
        .expect("a model")
}

async fn auto_server() -> Server {
    Server::builder()
        .seed(5)
        .api_key(KEY)
        .start()
        .await
        .expect("server")
}

fn question(tools: &ToolSet) -> ChatRequest {
    ChatRequest {
        tools: tools.definitions().to_vec(),
        ..ChatRequest::new(
            "claude-sonnet-5-5",
            vec![Message::user("Summarise patient P-00001")],
        )
    }
}

fn check_calls(calls: &[ToolCall]) {
    let names: Vec<&str> = calls.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, NAMES);
    for call in calls {
        assert!(call.id.starts_with("toolu_"), "{}", call.id);
        let input: Value = serde_json::from_str(&call.arguments).expect("input is JSON");
        assert!(input["patient_id"].is_string(), "{input}");
    }
}

/// The assistant turn and every result: the model sends them as one user message.
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

#[tokio::test]
async fn complete_and_stream_get_four_calls_then_a_final_answer() {
    let server = auto_server().await;
    let model = model(&server);
    let tools = tools([0; 4]);

    let first = model.complete(&question(&tools)).await.expect("a reply");
    assert_eq!(first.finish_reason, Some(FinishReason::ToolCalls));
    check_calls(&first.tool_calls);
    assert!(
        first
            .usage
            .is_some_and(|u| u.prompt_tokens > 0 && u.completion_tokens > 0)
    );
    let last = model
        .complete(&answered(question(&tools), &first.tool_calls))
        .await
        .expect("a final reply");
    assert_eq!(last.finish_reason, Some(FinishReason::Stop));
    assert!(last.tool_calls.is_empty());
    assert!(last.content.is_some_and(|t| !t.trim().is_empty()));

    // The four results went as ONE user message of tool_result blocks.
    let entry = server.journal().last().expect("journalled");
    assert_eq!(entry.status(), 200);
    assert_eq!(entry.tool_message_ids.len(), 4);

    use futures_util::StreamExt;
    let events: Vec<StreamEvent> = model
        .stream(&question(&tools))
        .map(|e| e.expect("an event"))
        .collect()
        .await;
    let done = events
        .iter()
        .filter(|e| matches!(e, StreamEvent::ToolCallDone(_)))
        .count();
    assert_eq!(done, 4, "a content_block_stop per call: {events:?}");
    assert!(events.contains(&StreamEvent::Finish(FinishReason::ToolCalls)));
    assert!(matches!(events.last(), Some(StreamEvent::Usage(_))));
}

#[tokio::test]
async fn the_agent_runs_every_call_at_once_and_one_a_turn_when_asked() {
    let server = auto_server().await;
    let agent = Agent::new(model(&server), tools([0; 4])).streaming(Streaming::Eager);
    let run = agent
        .run("Summarise patient P-00001")
        .await
        .expect("an answer");
    assert_eq!(run.rounds.len(), 2);
    let batch = run.rounds[0].batch.as_ref().expect("a batch");
    let ids: Vec<&str> = batch.results.iter().map(|r| r.call_id.as_str()).collect();
    assert_eq!(ids.len(), 4);
    assert!(batch.results.iter().all(|r| r.outcome.is_ok()));

    let one_at_a_time = Agent::new(model(&server), tools([0; 4])).parallel_tool_calls(false);
    let run = one_at_a_time.run("Summarise").await.expect("an answer");
    let per_round: Vec<usize> = run
        .rounds
        .iter()
        .map(|r| r.batch.as_ref().map_or(0, |b| b.results.len()))
        .collect();
    assert_eq!(per_round, [1, 1, 1, 1, 0]);
}

#[tokio::test]
async fn stray_and_split_results_and_a_wrong_key_are_refused() {
    let server = auto_server().await;
    let model = model(&server);
    let tools = tools([0; 4]);

    let mut stray = question(&tools);
    stray
        .messages
        .push(Message::assistant(Some("ok".into()), vec![]));
    stray.messages.push(Message::tool_result("toolu_nope", "x"));
    let error = model.complete(&stray).await.expect_err("a 400");
    assert!(
        matches!(&error, ModelError::Api { status: 400, code: Some(code), message } if code == "invalid_request_error" && message.contains("toolu_nope")),
        "{error:?}"
    );

    let first = model.complete(&question(&tools)).await.expect("calls");
    let mut split = question(&tools);
    split
        .messages
        .push(Message::assistant(None, first.tool_calls.clone()));
    split
        .messages
        .push(Message::tool_result(&first.tool_calls[0].id, "a"));
    split
        .messages
        .push(Message::assistant(Some("more".into()), vec![]));
    for call in &first.tool_calls[1..] {
        split.messages.push(Message::tool_result(&call.id, "b"));
    }
    let error = model.complete(&split).await.expect_err("a 400");
    assert!(
        matches!(&error, ModelError::Api { status: 400, message, .. } if message.contains("without `tool_result` blocks immediately after")),
        "{error:?}"
    );

    let wrong = AnthropicModel::builder()
        .base_url(format!("http://{}", server.addr()))
        .api_key("sk-wrong")
        .build()
        .expect("a model");
    let error = wrong.complete(&question(&tools)).await.expect_err("a 401");
    assert!(
        matches!(&error, ModelError::Api { status: 401, code: Some(code), .. } if code == "authentication_error"),
        "{error:?}"
    );
}

#[tokio::test]
async fn raw_requests_get_anthropic_errors() {
    let server = auto_server().await;
    let headers = [("content-type", "application/json"), ("x-api-key", KEY)];
    let post = |body: Value| {
        send(
            server.addr(),
            "POST",
            "/v1/messages",
            &headers,
            body.to_string(),
        )
    };
    let cases = [
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
            "max_tokens: Field required",
        ),
        (
            json!({"max_tokens": 5, "messages": []}),
            "model: Field required",
        ),
        (
            json!({"model": "m", "max_tokens": 5}),
            "messages: Field required",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}], "tool_choice": {"type": "tool", "name": "nope"}}),
            "tool `nope` was not found",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": []}),
            "messages: at least one message is required",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}),
            "temperature: Input should be a valid number",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}], "stream": "yes"}),
            "stream: Input should be a valid boolean",
        ),
    ];
    for (body, expected) in cases {
        let reply = post(body).await.expect("a reply");
        assert_eq!(reply.status, 400, "{}", reply.text());
        let error = reply.json();
        assert_eq!(error["type"], "error");
        assert_eq!(error["error"]["type"], "invalid_request_error");
        let message = error["error"]["message"].as_str().expect("a message");
        assert!(message.contains(expected), "{message}");
    }
    let reply = send(server.addr(), "GET", "/v1/messages", &[], "")
        .await
        .expect("a reply");
    assert_eq!(reply.status, 405);
    assert_eq!(reply.json()["type"], "error");
}

#[tokio::test(start_paused = true)]
async fn overload_and_rate_limits_are_retried_honouring_retry_after() {
    let server = Server::builder()
        .api_key(KEY)
        .script(
            Script::new()
                .fault(Fault::Overloaded)
                .fault(Fault::rate_limited(Duration::from_secs(3)))
                .text("fine"),
        )
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
    assert_eq!(statuses, [529, 429, 200]);
    // 10 ms of backoff after the 529, then the 3 s the 429 asked for.
    assert!(
        start.elapsed() >= Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    server.assert_consumed();
}

/// The first round's time in each mode, under the paused clock: eager ends
/// at max(call closed + latency), after the message at end + longest,
/// sequential at end + sum; with a 300 ms first token and 20 ms a chunk.
#[tokio::test(start_paused = true)]
async fn eager_after_message_and_sequential_times_are_exact() {
    let latencies = [220, 200, 180, 150];
    let round = |streaming, options| async move {
        let p = json!({"patient_id": "P-00042"});
        let server = Server::builder()
            .seed(3)
            .api_key(KEY)
            .script(
                Script::new()
                    .tool_calls(NAMES.map(|n| ScriptedCall::new(n, p.clone())))
                    .text("done"),
            )
            .model_latency(ModelLatency::new(
                Latency::fixed_ms(300),
                Latency::fixed_ms(20),
            ))
            .start()
            .await
            .expect("server");
        let agent = Agent::new(model(&server), tools(latencies))
            .streaming(streaming)
            .dispatch_options(options);
        let run = agent.run("summarise").await.expect("an answer");
        let batch = run.rounds[0].batch.clone().expect("a batch");
        (run.rounds[0].elapsed, batch)
    };
    let (eager, batch) = round(Streaming::Eager, DispatchOptions::parallel()).await;
    let (after, after_batch) = round(Streaming::AfterMessage, DispatchOptions::parallel()).await;
    let (sequential, _) = round(Streaming::AfterMessage, DispatchOptions::sequential()).await;
    let latency = latencies.map(Duration::from_millis);
    // After the message every call starts together, when the message ended.
    let end = after_batch.results[0].started;
    assert!(after_batch.results.iter().all(|r| r.started == end));
    assert_eq!(after, end + latency[0]);
    assert_eq!(sequential, end + latency.iter().sum::<Duration>());
    // Eagerly each starts at its own content_block_stop, earlier than `end`
    // for all but the last, and the round ends at the latest finish.
    let starts: Vec<Duration> = batch.results.iter().map(|r| r.started).collect();
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "{starts:?}");
    assert!(starts[3] <= end);
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

/// A simulator that streams text, then four calls with interleaved
/// fragments, at 300 ms to the first token and 20 ms a chunk.
fn streaming_simulator() -> toolcall_sim::Simulator {
    let p = json!({"patient_id": "P-00042"});
    toolcall_sim::Simulator::builder()
        .seed(11)
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

/// The in-process model in Anthropic's format yields exactly what
/// `AnthropicModel` reads off the server for the same simulator: the same
/// events at the same times, so an Anthropic agent is testable without a
/// socket.
#[tokio::test(start_paused = true)]
async fn the_in_process_model_in_anthropic_format_matches_the_wire() {
    use futures_util::StreamExt;
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

    let sim = streaming_simulator();
    let server = sim.server().api_key(KEY).start().await.expect("server");
    let over_http = timed(&model(&server), &request).await;
    let in_process = timed(
        &streaming_simulator()
            .model()
            .wire(toolcall_sim::Wire::Anthropic),
        &request,
    )
    .await;
    assert_eq!(in_process, over_http);
    let done: Vec<u32> = in_process
        .iter()
        .filter_map(|(_, e)| match e {
            StreamEvent::ToolCallDone(i) => Some(*i),
            _ => None,
        })
        .collect();
    assert_eq!(
        done,
        [1, 2, 3, 4],
        "after the text block, one done per call"
    );
    assert!(matches!(&in_process[0].1, StreamEvent::Text(_)));

    // The agent's rounds take the same virtual time both ways.
    let tools = tools([220, 200, 180, 150]);
    let in_process = Agent::new(
        streaming_simulator()
            .model()
            .wire(toolcall_sim::Wire::Anthropic),
        tools.clone(),
    )
    .streaming(Streaming::Eager)
    .run("summarise")
    .await
    .expect("an answer");
    let server = streaming_simulator()
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
}

#[tokio::test(start_paused = true)]
async fn overload_reads_as_each_format_reports_it() {
    let overloaded =
        || toolcall_sim::Simulator::scripted(Script::new().fault(Fault::Overloaded)).model();
    let request = ChatRequest::new("m", vec![Message::user("hi")]);
    let anthropic = overloaded()
        .wire(toolcall_sim::Wire::Anthropic)
        .complete(&request)
        .await;
    assert!(
        matches!(anthropic, Err(ModelError::Api { status: 529, .. })),
        "{anthropic:?}"
    );
    let chat = overloaded().complete(&request).await;
    assert!(
        matches!(chat, Err(ModelError::Api { status: 503, .. })),
        "{chat:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_cut_stream_is_an_error_and_malformed_input_an_invalid_arguments_result() {
    use futures_util::StreamExt;
    let p = json!({"patient_id": "P-1"});
    let calls = || NAMES.map(|n| ScriptedCall::new(n, p.clone()));
    let server = Server::builder()
        .api_key(KEY)
        .script(
            Script::new()
                .turn(
                    toolcall_sim::Turn::tool_calls(calls()).with_fault(Fault::disconnect_after(5)),
                )
                .turn(toolcall_sim::Turn::tool_calls(calls()).with_fault(Fault::MalformedArguments))
                .text("done"),
        )
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
