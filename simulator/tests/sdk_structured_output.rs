//! The official SDKs' typed-output helpers against `toolcall-sim serve`:
//! OpenAI's `chat.completions.parse(response_format=Model)` and
//! `responses.parse(text_format=Model)`, Anthropic's
//! `messages.parse(output_format=Model)` (`python/structured_output.py`,
//! when Python and the SDKs are here). The same checks in Rust, always: the
//! bodies those helpers send (a pydantic schema with `$defs` and `$ref`s)
//! answered with a value that reads into the same model; and the 400s the
//! Responses route gives for bad types, as Chat does.

mod common;
mod python;

use serde::Deserialize;
use serde_json::{Value, json};
use toolcall_sim::Server;

/// What pydantic's `model_json_schema()` gives for the script's model,
/// after the SDKs' strict rewrite.
fn pydantic_schema() -> Value {
    json!({
        "$defs": {
            "Medication": {"type": "object", "title": "Medication", "additionalProperties": false,
                "properties": {"name": {"type": "string", "title": "Name"}, "dose_mg": {"type": "integer", "title": "Dose Mg"}, "active": {"type": "boolean", "title": "Active"}},
                "required": ["name", "dose_mg", "active"]},
            "Lab": {"type": "object", "title": "Lab", "additionalProperties": false,
                "properties": {"test": {"type": "string"}, "value": {"type": "number"}, "flag": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
                "required": ["test", "value", "flag"]}
        },
        "type": "object",
        "title": "PatientSummary",
        "additionalProperties": false,
        "properties": {
            "patient_id": {"type": "string"},
            "age": {"type": "integer"},
            "medications": {"type": "array", "items": {"$ref": "#/$defs/Medication"}},
            "allergies": {"type": "array", "items": {"type": "string"}},
            "labs": {"type": "array", "items": {"$ref": "#/$defs/Lab"}},
            "flags": {"type": "array", "items": {"type": "string"}}
        },
        "required": ["patient_id", "age", "medications", "allergies", "labs", "flags"]
    })
}

/// The script's model, in Rust: unknown fields refused as pydantic's
/// strict schema refuses them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct PatientSummary {
    patient_id: String,
    age: i64,
    medications: Vec<Medication>,
    allergies: Vec<String>,
    labs: Vec<Lab>,
    flags: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Medication {
    name: String,
    dose_mg: i64,
    active: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Lab {
    test: String,
    value: f64,
    flag: Option<String>,
}

async fn post(server: &Server, path: &str, body: &Value) -> common::Reply {
    common::send(
        server.addr(),
        "POST",
        path,
        &[
            ("content-type", "application/json"),
            ("authorization", "Bearer sk-sim"),
            ("x-api-key", "sk-sim"),
            ("anthropic-version", "2023-06-01"),
        ],
        body.to_string(),
    )
    .await
    .expect("a reply")
}

fn parsed(text: &str, format: &str) -> PatientSummary {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{format}: {e}: {text}"))
}

#[tokio::test]
async fn each_format_answers_the_sdks_typed_requests_with_a_valid_object() {
    let server = Server::builder()
        .seed(5)
        .api_key("sk-sim")
        .start()
        .await
        .expect("server");
    let question = [json!({"role": "user", "content": "Summarise patient P-00042."})];

    let chat = post(&server, "/v1/chat/completions", &json!({
        "model": "gpt-4o-mini", "messages": question,
        "response_format": {"type": "json_schema", "json_schema": {"name": "PatientSummary", "schema": pydantic_schema(), "strict": true}}
    }))
    .await
    .json();
    assert_eq!(chat["choices"][0]["finish_reason"], "stop");
    parsed(
        chat["choices"][0]["message"]["content"]
            .as_str()
            .unwrap_or(""),
        "chat",
    );

    let responses = post(&server, "/v1/responses", &json!({
        "model": "gpt-4o-mini", "input": "Summarise patient P-00042.",
        "text": {"format": {"type": "json_schema", "name": "PatientSummary", "schema": pydantic_schema(), "strict": true}}
    }))
    .await
    .json();
    assert_eq!(responses["status"], "completed");
    let text = responses["output"][0]["content"][0]["text"]
        .as_str()
        .unwrap_or("");
    parsed(text, "responses");

    let anthropic = post(
        &server,
        "/v1/messages",
        &json!({
            "model": "claude-sonnet-4-5", "max_tokens": 4096, "messages": question,
            "output_config": {"format": {"type": "json_schema", "schema": pydantic_schema()}}
        }),
    )
    .await
    .json();
    assert_eq!(anthropic["stop_reason"], "end_turn");
    parsed(
        anthropic["content"][0]["text"].as_str().unwrap_or(""),
        "anthropic",
    );

    // The journal shows the schema each format sent.
    for entry in server.journal().entries() {
        let output = entry.output.expect("the schema is journalled");
        assert_eq!(output.schema["title"], "PatientSummary");
    }
}

#[tokio::test]
async fn responses_refuses_bad_types_as_chat_does() {
    let server = Server::builder().seed(1).start().await.expect("server");
    for (field, value, param) in [
        ("stream", json!("yes"), "stream"),
        ("temperature", json!("hot"), "temperature"),
        ("temperature", json!(3), "temperature"),
        ("tools", json!({}), "tools"),
        (
            "text",
            json!({"format": {"type": "json_schema"}}),
            "text.format.schema",
        ),
    ] {
        let mut body = json!({"model": "gpt-4o-mini", "input": "hi"});
        body[field] = value.clone();
        let responses = post(&server, "/v1/responses", &body).await;
        assert_eq!(
            responses.status,
            400,
            "{field}: {value}: {}",
            responses.text()
        );
        assert_eq!(responses.json()["error"]["param"], param, "{field}");
        if field != "text" {
            let mut chat =
                json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]});
            chat[field] = value.clone();
            let chat = post(&server, "/v1/chat/completions", &chat).await;
            assert_eq!(chat.status, 400, "chat {field}: {value}");
        }
    }
}

#[test]
fn the_official_sdks_parse_typed_answers_from_the_simulator() {
    let Some(python) = python::sdk_python() else {
        return;
    };
    let serving = python::serve(
        env!("CARGO_BIN_EXE_toolcall-sim"),
        &["--api-key", "sk-sim", "--model-latency", "zero"],
    );
    let out = python::run_script(
        &python,
        "structured_output.py",
        &[&serving.base_url, python::root_url(&serving)],
        &[],
    );
    for format in ["chat", "responses", "anthropic"] {
        assert!(out.contains(&format!("{format} {{")), "{out}");
    }
}
