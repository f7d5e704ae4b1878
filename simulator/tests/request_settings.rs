//! The agent's whole request through each provider's wire, against the
//! simulator: generation settings under each format's own names (read
//! back from the journal), the settings a format lacks refused by name
//! before anything is sent, token limits and stop sequences honoured in
//! every format, and typed output in each mode. The official SDKs' typed
//! helpers make the same checks in `sdk_structured_output.rs`.

mod common;

use serde::Deserialize;
use serde_json::{Value, json};
use toolcall_runtime::{
    Agent, ChatRequest, Effort, FinishReason, Message, Model, ModelError, OutputError, OutputMode,
    Settings, ToolSet,
};
use toolcall_sim::{Script, Server, SimTool};

const KEY: &str = "sk-sim";

/// The three wire formats with the same settings (Gemini's are checked on their own).
fn models(server: &Server) -> Vec<(&'static str, Box<dyn Model>)> {
    common::models(server, KEY)
        .into_iter()
        .filter(|(format, _)| *format != "gemini")
        .collect()
}

async fn server(script: Option<Script>) -> Server {
    let mut builder = Server::builder().seed(11).api_key(KEY);
    if let Some(script) = script {
        builder = builder.script(script);
    }
    builder.start().await.expect("server")
}

fn request(settings: Settings) -> ChatRequest {
    let mut request = ChatRequest::new("m-1", vec![Message::user("Summarise patient P-00042.")]);
    request.settings = settings;
    request
}

#[tokio::test]
async fn each_setting_reaches_each_wire_under_its_own_name() {
    let server = server(None).await;
    let common = Settings::new()
        .temperature(0.5)
        .top_p(0.75)
        .max_tokens(900)
        .user("user-7");
    for (format, model) in models(&server) {
        let settings = match format {
            "chat" => common.clone().seed(42).stop(["END"]).effort(Effort::Low),
            "responses" => common.clone().effort(Effort::High),
            // Anthropic wants `max_tokens` above the thinking budget.
            _ => common
                .clone()
                .max_tokens(4096)
                .stop(["END"])
                .thinking_budget(2048),
        };
        model
            .complete(&request(settings.clone()))
            .await
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        let entry = server.journal().last().expect("journalled");
        assert_eq!(entry.settings, settings, "{format}");
    }
}

/// Gemini's `generationConfig`: each setting under its own name, read back
/// by the simulator; the user tag Gemini lacks refused before sending; a
/// stop sequence ends the text.
#[tokio::test]
async fn gemini_settings_reach_generation_config_and_a_stop_ends_the_text() {
    let server = server(Some(
        Script::new()
            .text("The summary. END not this")
            .text("again"),
    ))
    .await;
    let model = toolcall_runtime::GeminiModel::builder()
        .base_url(format!("http://{}", server.addr()))
        .api_key(KEY)
        .build()
        .expect("gemini");
    let settings = Settings::new()
        .temperature(0.5)
        .top_p(0.75)
        .max_tokens(900)
        .seed(42)
        .stop(["END"]);
    let reply = model
        .complete(&request(settings.clone()))
        .await
        .expect("a reply");
    assert_eq!(reply.content.as_deref(), Some("The summary. "));
    let entry = server.journal().last().expect("journalled");
    assert_eq!(entry.settings, settings);
    let before = server.journal().len();
    let error = model
        .complete(&request(Settings::new().user("user-7")))
        .await
        .expect_err("refused");
    assert!(
        matches!(
            error,
            ModelError::Unsupported {
                setting: "user",
                provider: "Gemini"
            }
        ),
        "{error}"
    );
    assert_eq!(server.journal().len(), before, "nothing was sent");
}

#[tokio::test]
async fn a_setting_a_format_lacks_is_refused_by_name_before_sending() {
    let server = server(None).await;
    let cases: [(&str, Settings, &str, &str); 5] = [
        (
            "chat",
            Settings::new().thinking_budget(2048),
            "thinking_budget",
            "OpenAI Chat Completions",
        ),
        (
            "responses",
            Settings::new().seed(1),
            "seed",
            "OpenAI Responses",
        ),
        (
            "responses",
            Settings::new().stop(["x"]),
            "stop",
            "OpenAI Responses",
        ),
        (
            "anthropic",
            Settings::new().seed(1),
            "seed",
            "Anthropic Messages",
        ),
        (
            "anthropic",
            Settings::new().effort(Effort::Minimal),
            "effort (minimal)",
            "Anthropic Messages",
        ),
    ];
    let models = models(&server);
    for (format, settings, setting, provider) in cases {
        let model = &models
            .iter()
            .find(|(f, _)| *f == format)
            .expect("a model")
            .1;
        let error = model
            .complete(&request(settings.clone()))
            .await
            .expect_err("refused");
        assert_eq!(
            error,
            ModelError::Unsupported { setting, provider },
            "{format}"
        );
        assert!(error.to_string().contains(setting), "{error}");
        let streamed = request(settings);
        let mut stream = model.stream(&streamed);
        let first = futures_util::StreamExt::next(&mut stream).await;
        assert!(
            matches!(first, Some(Err(ModelError::Unsupported { .. }))),
            "{format}: {first:?}"
        );
    }
    assert!(server.journal().entries().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_token_limit_cuts_the_answer_and_a_stop_sequence_ends_it_in_every_format() {
    let long = format!(
        "{} END after the stop",
        "alpha beta gamma delta ".repeat(40)
    );
    let long = long.as_str();
    let script = (0..5).fold(Script::new(), |s, _| s.text(long));
    let server = server(Some(script)).await;
    for (format, model) in models(&server) {
        // Responses takes no fewer than 16 tokens.
        let cut = model
            .complete(&request(Settings::new().max_tokens(16)))
            .await
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(cut.finish_reason, Some(FinishReason::Length), "{format}");
        let text = cut.content.unwrap_or_default();
        assert!(
            text.len() < long.len() && long.starts_with(&text),
            "{format}: {text}"
        );
        if format == "responses" {
            continue;
        }
        let stopped = model
            .complete(&request(Settings::new().stop(["END"])))
            .await
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(stopped.finish_reason, Some(FinishReason::Stop), "{format}");
        assert_eq!(
            stopped.content.as_deref(),
            Some(&long[..long.find("END").unwrap_or(0)]),
            "{format}"
        );
    }
}

/// A typed answer, with enums, options, numbers and nested lists.
#[derive(Debug, Deserialize, schemars::JsonSchema, PartialEq)]
struct Summary {
    patient_id: String,
    age: u8,
    medications: Vec<Medication>,
    allergies: Vec<String>,
    severity: Severity,
    note: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema, PartialEq)]
struct Medication {
    name: String,
    dose_mg: f64,
}

#[derive(Debug, Deserialize, schemars::JsonSchema, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Severity {
    Low,
    High,
}

fn clinical_tools() -> ToolSet {
    ["get_patient_demographics", "get_active_medications"]
        .iter()
        .fold(ToolSet::builder(), |b, name| {
            b.add(
                SimTool::new(*name, "a clinical lookup")
                    .parameters(json!({"type": "object", "properties": {"patient_id": {"type": "string"}}, "required": ["patient_id"], "additionalProperties": false}))
                    .returns(json!({"ok": true})),
            )
        })
        .build()
        .expect("tools")
}

#[tokio::test]
async fn typed_output_natively_and_by_tool_in_every_format_after_the_tools() {
    let server = server(None).await;
    for (format, model) in models(&server) {
        let agent = Agent::new(model, clinical_tools()).system("You are a clinical assistant.");
        for mode in [OutputMode::Native, OutputMode::Tool] {
            let typed = agent
                .output::<Summary>()
                .expect("a strict schema")
                .mode(mode);
            let run = typed
                .run("Summarise patient P-00042.")
                .await
                .unwrap_or_else(|e| panic!("{format} {mode:?}: {e}"));
            // Natively, the tools ran first (auto mode calls each offered
            // tool, then answers); by tool, the answer may come at once.
            let rounds = if mode == OutputMode::Native { 2 } else { 1 };
            assert_eq!(run.run.rounds.len(), rounds, "{format} {mode:?}");
            let answer: Value = serde_json::from_str(&run.run.answer).expect("JSON");
            assert_eq!(
                answer["patient_id"],
                json!(run.output.patient_id),
                "{format} {mode:?}"
            );
            let entry = server.journal().last().expect("journalled");
            match mode {
                OutputMode::Native => {
                    let sent = entry.output.expect("the schema went natively");
                    assert_eq!(sent.schema["required"][0], "patient_id", "{format}");
                }
                _ => {
                    assert!(entry.output.is_none(), "{format}");
                    assert!(
                        entry.tools_offered.contains(&"final_answer".to_owned()),
                        "{format}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn an_unreadable_answer_goes_back_with_the_error_then_fails_keeping_the_raw_text() {
    let good = r#"{"patient_id":"P-1","age":40,"medications":[],"allergies":["latex"],"severity":"low","note":null}"#;
    let script = Script::new()
        .text("not JSON at all")
        .text(r#"{"patient_id":"P-1","age":"forty"}"#)
        .text(good)
        .text("still prose")
        .text("more prose");
    let server = server(Some(script)).await;
    let (_, model) = models(&server).remove(0);
    let agent = Agent::new(model, ToolSet::builder().build().expect("no tools"));
    let typed = agent
        .output::<Summary>()
        .expect("schema")
        .mode(OutputMode::Prompted);
    let run = typed
        .run("Summarise.")
        .await
        .expect("the third answer fits");
    assert_eq!(run.output.allergies, ["latex"]);
    assert_eq!(run.run.rounds.len(), 3);
    let errors: Vec<String> = run
        .run
        .transcript
        .iter()
        .filter_map(|m| match m {
            Message::User { content, .. } => Some(content.to_text().into_owned()),
            _ => None,
        })
        .filter(|text| text.contains("could not be read"))
        .collect();
    assert_eq!(errors.len(), 2, "{:?}", run.run.transcript);
    assert!(errors[1].contains("invalid type"), "{}", errors[1]);
    // Prompted: the schema is in the instructions.
    let first = &server.journal().entries()[0];
    assert!(
        matches!(&first.messages[0], Message::System { content } if content.contains("\"patient_id\"")),
        "{:?}",
        first.messages
    );
    let failed = typed
        .retries(1)
        .run("Again.")
        .await
        .expect_err("prose twice");
    match failed {
        OutputError::Invalid { raw, attempts, .. } => {
            assert_eq!((raw.as_str(), attempts), ("more prose", 2));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn the_in_process_simulator_honours_the_neutral_request() {
    let sim = toolcall_sim::Simulator::auto(3).model();
    let mut asked = request(Settings::new().max_tokens(2));
    asked.output = Some(toolcall_runtime::output_format::<Summary>().expect("schema"));
    let reply = sim.complete(&asked).await.expect("a reply");
    assert_eq!(reply.finish_reason, Some(FinishReason::Length));
    asked.settings = Settings::new();
    let reply = sim.complete(&asked).await.expect("a reply");
    // Auto mode answers from the request's output schema.
    let summary: Result<Summary, _> = serde_json::from_str(reply.content.as_deref().unwrap_or(""));
    assert!(summary.is_ok(), "{reply:?}");
}
