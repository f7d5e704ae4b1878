//! The Responses API of the simulator as the official OpenAI Python SDK sees
//! it (`python/openai_responses.py`, when Python and the SDK are here), and
//! the same checks in Rust, always: the runtime's `OpenAiResponsesModel` and
//! raw HTTP against the in-process server in auto mode.

mod common;
mod python;

use std::net::SocketAddr;

use serde_json::{Value, json};
use toolcall_runtime::{
    Agent, ChatRequest, Message, Model, ModelError, OpenAiResponsesModel, Streaming, ToolSet,
};
use toolcall_sim::{Server, SimTool, Simulator};

const NAMES: [&str; 4] = [
    "get_patient_demographics",
    "get_active_medications",
    "get_allergies",
    "get_recent_labs",
];
const QUESTION: &str = "Summarise patient P-00042.";

fn parameters() -> Value {
    json!({
        "type": "object",
        "properties": {"patient_id": {"type": "string", "description": "Patient ID (format: P-NNNNN)"}},
        "required": ["patient_id"],
        "additionalProperties": false
    })
}

fn tools() -> ToolSet {
    NAMES
        .iter()
        .fold(ToolSet::builder(), |b, name| {
            b.add(
                SimTool::new(*name, "a clinical lookup")
                    .parameters(parameters())
                    .returns(json!({"tool": name})),
            )
        })
        .build()
        .expect("tools")
}

fn wire_tools() -> Vec<Value> {
    NAMES
        .iter()
        .map(|name| json!({"type": "function", "name": name, "description": "a clinical lookup", "parameters": parameters(), "strict": true}))
        .collect()
}

fn model(server: &Server, chain: bool) -> OpenAiResponsesModel {
    OpenAiResponsesModel::builder()
        .base_url(server.base_url())
        .api_key("sk-sim")
        .max_retries(0)
        .chain_responses(chain)
        .build()
        .expect("a model")
}

async fn server() -> Server {
    Simulator::auto(7)
        .server()
        .api_key("sk-sim")
        .start()
        .await
        .expect("server")
}

async fn post(addr: SocketAddr, body: &Value) -> common::Reply {
    common::send(
        addr,
        "POST",
        "/v1/responses",
        &[
            ("content-type", "application/json"),
            ("authorization", "Bearer sk-sim"),
        ],
        body.to_string(),
    )
    .await
    .expect("a reply")
}

fn calls_of(response: &Value) -> Vec<Value> {
    response["output"]
        .as_array()
        .expect("output")
        .iter()
        .filter(|i| i["type"] == "function_call")
        .cloned()
        .collect()
}

fn outputs_for(calls: &[Value]) -> Vec<Value> {
    calls
        .iter()
        .map(|c| json!({"type": "function_call_output", "call_id": c["call_id"], "output": format!("{{\"tool\": {}}}", c["name"])}))
        .collect()
}

fn output_text(response: &Value) -> String {
    response["output"]
        .as_array()
        .expect("output")
        .iter()
        .filter(|i| i["type"] == "message")
        .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["text"].as_str().map(str::to_owned))
        .collect()
}

fn check_final_text(text: &str) {
    assert!(
        text.starts_with("Here is what the tools returned:"),
        "{text}"
    );
    for name in NAMES {
        assert!(text.contains(&format!("- {name}: ")), "{name} in {text}");
    }
}

fn check_calls(response: &Value) -> Vec<Value> {
    let calls = calls_of(response);
    let names: Vec<&str> = calls.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, NAMES);
    for call in &calls {
        assert!(
            call["call_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("call_"))
        );
        let arguments: Value =
            serde_json::from_str(call["arguments"].as_str().expect("arguments")).expect("JSON");
        assert!(arguments["patient_id"].is_string(), "{arguments}");
        assert_eq!(call["status"], "completed");
    }
    calls
}

#[test]
fn the_official_python_sdk_creates_streams_chains_and_gets_400s() {
    let Some(python) = python::sdk_python() else {
        return;
    };
    let serving = python::serve(env!("CARGO_BIN_EXE_toolcall-sim"), &[]);
    let out = python::run_script(&python, "openai_responses.py", &[&serving.base_url], &[]);
    for check in [
        "whole_input",
        "chained",
        "streamed",
        "one_call_a_turn",
        "errors",
        "cut_short",
    ] {
        assert!(out.contains(&format!("ok {check}")), "{out}");
    }
}

#[tokio::test]
async fn the_model_gets_the_four_calls_then_a_final_text_whole_and_chained() {
    let server = server().await;
    for (chain, streaming) in [
        (false, Streaming::Off),
        (true, Streaming::Off),
        (false, Streaming::Eager),
        (true, Streaming::Eager),
    ] {
        let run = Agent::new(model(&server, chain), tools())
            .system("You are a clinical assistant.")
            .streaming(streaming)
            .run(QUESTION)
            .await
            .expect("an answer");
        assert_eq!(run.rounds.len(), 2, "{chain} {streaming:?}");
        let names: Vec<&str> = run.rounds[0]
            .tool_calls
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, NAMES);
        check_final_text(&run.answer);
        assert!(run.usage.total_tokens > 0);
    }
    server.shutdown().await;
}

#[tokio::test]
async fn whole_input_and_previous_response_id_over_http() {
    let server = server().await;
    let addr = server.addr();
    let user = json!({"role": "user", "content": QUESTION});
    let first = post(
        addr,
        &json!({"model": "gpt-4o-mini", "instructions": "Be brief.", "input": [user], "tools": wire_tools()}),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.text());
    let first = first.json();
    assert_eq!(first["object"], "response");
    assert_eq!(first["status"], "completed");
    assert_eq!(first["instructions"], "Be brief.");
    let calls = check_calls(&first);

    // The whole input: the output items sent back, then the outputs.
    let mut input = vec![user];
    input.extend(first["output"].as_array().cloned().unwrap_or_default());
    input.extend(outputs_for(&calls));
    let whole = post(
        addr,
        &json!({"model": "gpt-4o-mini", "input": input, "tools": wire_tools()}),
    )
    .await
    .json();
    assert!(calls_of(&whole).is_empty());
    check_final_text(&output_text(&whole));

    // Chained: only the outputs.
    let chained = post(
        addr,
        &json!({"model": "gpt-4o-mini", "previous_response_id": first["id"], "input": outputs_for(&calls), "tools": wire_tools()}),
    )
    .await
    .json();
    assert_eq!(chained["previous_response_id"], first["id"]);
    check_final_text(&output_text(&chained));
    // The engine saw the whole conversation: instructions are not carried over.
    let journal = server.journal().entries();
    let last = journal.last().expect("entries");
    assert_eq!(last.messages.len(), 1 + 1 + 4);
    assert_eq!(last.tool_message_ids.len(), 4);

    // Kept: GET returns it; an unknown id is a 404.
    let id = first["id"].as_str().expect("an id");
    let kept = common::send(
        addr,
        "GET",
        &format!("/v1/responses/{id}"),
        &[("authorization", "Bearer sk-sim")],
        "",
    )
    .await
    .expect("a reply");
    assert_eq!(kept.status, 200);
    assert_eq!(kept.json()["output"], first["output"]);
    let missing = common::send(
        addr,
        "GET",
        "/v1/responses/resp_unknown",
        &[("authorization", "Bearer sk-sim")],
        "",
    )
    .await
    .expect("a reply");
    assert_eq!(missing.status, 404);
    server.shutdown().await;
}

/// The `(event name, data)` of each SSE frame; the name must match the data's type.
fn sse_events(reply: &common::Reply) -> Vec<Value> {
    reply
        .text()
        .split("\n\n")
        .filter(|frame| !frame.is_empty())
        .map(|frame| {
            let (event, data) = frame.split_once('\n').expect("two lines");
            let name = event.strip_prefix("event: ").expect("an event line");
            let data: Value =
                serde_json::from_str(data.strip_prefix("data: ").expect("a data line"))
                    .expect("JSON");
            assert_eq!(data["type"], name);
            data
        })
        .collect()
}

#[tokio::test]
async fn streamed_events_have_the_documented_names_and_order() {
    let server = server().await;
    let reply = post(
        server.addr(),
        &json!({"model": "gpt-4o-mini", "input": QUESTION, "tools": wire_tools(), "stream": true}),
    )
    .await;
    assert_eq!(
        reply.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    let events = sse_events(&reply);
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds[..2], ["response.created", "response.in_progress"]);
    assert_eq!(kinds.last(), Some(&"response.completed"));
    let numbers: Vec<u64> = events
        .iter()
        .filter_map(|e| e["sequence_number"].as_u64())
        .collect();
    assert_eq!(numbers, (0..events.len() as u64).collect::<Vec<_>>());
    let completed = &events[events.len() - 1]["response"];
    let calls = check_calls(completed);
    for (index, call) in calls.iter().enumerate() {
        let mine: Vec<&Value> = events
            .iter()
            .filter(|e| e["output_index"] == json!(index))
            .collect();
        let kinds: Vec<&str> = mine.iter().filter_map(|e| e["type"].as_str()).collect();
        assert_eq!(kinds[0], "response.output_item.added");
        assert_eq!(
            kinds[kinds.len() - 2..],
            [
                "response.function_call_arguments.done",
                "response.output_item.done"
            ]
        );
        assert!(
            kinds[1..kinds.len() - 2]
                .iter()
                .all(|k| *k == "response.function_call_arguments.delta")
        );
        assert_eq!(mine[0]["item"]["arguments"], "");
        assert_eq!(mine[0]["item"]["status"], "in_progress");
        let deltas: String = mine.iter().filter_map(|e| e["delta"].as_str()).collect();
        assert_eq!(json!(deltas), call["arguments"]);
        assert_eq!(mine[mine.len() - 2]["arguments"], call["arguments"]);
        assert_eq!(mine[mine.len() - 1]["item"], *call);
    }
    assert!(completed["usage"]["total_tokens"].as_u64() > Some(0));
    server.shutdown().await;
}

#[tokio::test]
async fn parallel_tool_calls_false_gives_one_call_a_turn() {
    let server = server().await;
    let run = Agent::new(model(&server, true), tools())
        .parallel_tool_calls(false)
        .run(QUESTION)
        .await
        .expect("an answer");
    let turns: Vec<Vec<&str>> = run
        .rounds
        .iter()
        .map(|r| r.tool_calls.iter().map(|c| c.name.as_str()).collect())
        .collect();
    assert_eq!(
        turns,
        [
            vec![NAMES[0]],
            vec![NAMES[1]],
            vec![NAMES[2]],
            vec![NAMES[3]],
            vec![]
        ]
    );
    // Auto mode reports the results since the last call: the last one.
    assert_eq!(
        run.answer,
        "Here is what the tools returned:\n- get_recent_labs: {\"tool\":\"get_recent_labs\"}"
    );
    let echo = post(
        server.addr(),
        &json!({"model": "gpt-4o-mini", "input": QUESTION, "tools": wire_tools(), "parallel_tool_calls": false}),
    )
    .await
    .json();
    assert_eq!(echo["parallel_tool_calls"], false);
    assert_eq!(calls_of(&echo).len(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn stray_and_missing_outputs_and_unknown_ids_are_400s() {
    let server = server().await;
    let addr = server.addr();
    let stray = post(
        addr,
        &json!({"model": "gpt-4o-mini", "tools": wire_tools(), "input": [
            {"role": "user", "content": QUESTION},
            {"type": "function_call_output", "call_id": "call_never_issued", "output": "{}"}
        ]}),
    )
    .await;
    assert_eq!(stray.status, 400);
    assert_eq!(
        stray.json(),
        json!({"error": {"message": "No tool call found for function call output with call_id call_never_issued.",
                         "type": "invalid_request_error", "param": "input", "code": null}})
    );

    let first = post(
        addr,
        &json!({"model": "gpt-4o-mini", "input": QUESTION, "tools": wire_tools()}),
    )
    .await
    .json();
    let missing = post(
        addr,
        &json!({"model": "gpt-4o-mini", "previous_response_id": first["id"], "input": "and then?"}),
    )
    .await;
    assert_eq!(missing.status, 400);
    let first_call = calls_of(&first)[0]["call_id"].as_str().map(str::to_owned);
    assert_eq!(
        missing.json()["error"]["message"],
        format!(
            "No tool output found for function call {}.",
            first_call.unwrap_or_default()
        )
    );

    let unknown = post(
        addr,
        &json!({"model": "gpt-4o-mini", "previous_response_id": "resp_unknown", "input": "hi"}),
    )
    .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(
        unknown.json()["error"],
        json!({"message": "Previous response with id 'resp_unknown' not found.", "type": "invalid_request_error",
               "param": "previous_response_id", "code": "previous_response_not_found"})
    );

    // The runtime's model reports the stray output as the API's 400.
    let mut request = ChatRequest::new(
        "gpt-4o-mini",
        vec![
            Message::user(QUESTION),
            Message::tool_result("call_never_issued", "{}"),
        ],
    );
    request.tools = tools().definitions().to_vec();
    let error = model(&server, false)
        .complete(&request)
        .await
        .expect_err("a 400");
    assert_eq!(
        error,
        ModelError::Api {
            status: 400,
            message: "No tool call found for function call output with call_id call_never_issued."
                .into(),
            code: Some("invalid_request_error".into()),
        }
    );
    // Every refused request is journalled.
    assert_eq!(server.journal().entries().len(), 5);
    server.shutdown().await;
}

/// `max_output_tokens` cuts the reply as the API does: the response is
/// `incomplete` with the reason, its text is the start of the whole one,
/// and a stream ends with `response.incomplete`; below 16 is refused.
#[tokio::test]
async fn max_output_tokens_leaves_the_response_incomplete() {
    let server = server().await;
    let long = "Tell me everything you know about the weather in Paris, Oslo, Lima and Cairo today, please.";
    let ask = |limit: Value, stream: bool| json!({"model": "gpt-4o-mini", "input": long, "max_output_tokens": limit, "stream": stream});
    let text = |response: &Value| {
        response["output"][0]["content"][0]["text"]
            .as_str()
            .map(str::to_owned)
    };

    let whole = post(server.addr(), &ask(Value::Null, false)).await.json();
    assert_eq!(whole["status"], "completed");
    assert_eq!(whole["incomplete_details"], Value::Null);
    assert!(
        whole["usage"]["output_tokens"].as_u64() > Some(16),
        "{whole}"
    );

    let cut = post(server.addr(), &ask(json!(16), false)).await.json();
    assert_eq!(cut["status"], "incomplete", "{cut}");
    assert_eq!(
        cut["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    assert_eq!(cut["max_output_tokens"], 16);
    assert_eq!(cut["completed_at"], Value::Null);
    assert_eq!(cut["usage"]["output_tokens"], 16);
    assert_eq!(cut["output"][0]["status"], "incomplete");
    let (whole_text, cut_text) = (text(&whole).expect("text"), text(&cut).expect("text"));
    assert!(
        whole_text.starts_with(&cut_text) && cut_text.len() < whole_text.len(),
        "{cut_text:?} is not the start of {whole_text:?}"
    );

    let events = sse_events(&post(server.addr(), &ask(json!(16), true)).await);
    let last = events.last().expect("events");
    assert_eq!(last["type"], "response.incomplete");
    assert_eq!(last["response"]["status"], "incomplete");
    assert_eq!(text(&last["response"]), Some(cut_text));

    for (limit, code) in [
        (json!(15), "below_min_value"),
        (json!("16"), "invalid_type"),
    ] {
        let refused = post(server.addr(), &ask(limit, false)).await;
        assert_eq!(refused.status, 400);
        assert_eq!(refused.json()["error"]["code"], code);
        assert_eq!(refused.json()["error"]["param"], "max_output_tokens");
    }
    server.shutdown().await;
}
