//! The OpenTelemetry GenAI tree of a run, read back from in-memory
//! exporters through the same layer `toolcall::otel::init()` installs: the
//! patient_summary example's run is one `invoke_agent` root with two `chat`
//! spans (kind CLIENT) and four `execute_tool` spans (kind INTERNAL) that
//! overlap, each with the conventions' attributes; the metrics have the
//! conventions' names and units. Also: content is not captured unless asked
//! for, an API key is never recorded, eager calls start inside the
//! streaming `chat` span, and deferred, denied and resumed runs say so.
//! (`tests/otel_phoenix.rs` checks the same tree in a real backend.)

#[path = "../examples/patient_summary/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "../examples/patient_summary/db.rs"]
#[allow(dead_code)]
mod db;
#[path = "../examples/patient_summary/summary.rs"]
#[allow(dead_code)]
mod summary;
#[path = "../examples/patient_summary/tools.rs"]
#[allow(dead_code)]
mod tools;

#[path = "support/otel.rs"]
mod support;

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::SystemTime;

use opentelemetry::Value;
use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry_sdk::trace::SpanData;
use toolcall::{
    Agent, AgentErrorKind, BoxFuture, ChatRequest, ChatResponse, Decision, Model, ModelError,
    ToolCall, ToolSet,
};

use support::{agent_trace, attr, example, int, named, names, record, text};

fn overlaps(a: &SpanData, b: &SpanData) -> bool {
    a.start_time < b.end_time && b.start_time < a.end_time
}

fn within(inner: SystemTime, outer: &SpanData) -> bool {
    outer.start_time <= inner && inner <= outer.end_time
}

/// The example's tree, checked the same way in a real backend.
fn check_tree(spans: &[SpanData]) -> Vec<&SpanData> {
    let (root, tree) = agent_trace(spans);
    assert_eq!(root.name, "invoke_agent patient_summary");
    assert_eq!(root.parent_span_id, SpanId::INVALID, "the run is a root");
    assert_eq!(root.span_kind, SpanKind::Internal);
    assert_eq!(text(root, "gen_ai.operation.name"), "invoke_agent");
    assert_eq!(text(root, "gen_ai.agent.name"), "patient_summary");
    let root_id = root.span_context.span_id();

    let chats: Vec<&SpanData> = tree
        .iter()
        .copied()
        .filter(|s| s.name.starts_with("chat "))
        .collect();
    assert_eq!(chats.len(), 2, "two model requests: {:?}", names(spans));
    for chat in &chats {
        assert_eq!(chat.span_kind, SpanKind::Client);
        assert_eq!(chat.parent_span_id, root_id);
        assert_eq!(text(chat, "gen_ai.operation.name"), "chat");
        let model = text(chat, "gen_ai.request.model");
        assert_eq!(chat.name, format!("chat {model}"));
        assert!(!text(chat, "gen_ai.provider.name").is_empty());
        assert!(int(chat, "gen_ai.usage.input_tokens") > 0);
        assert!(int(chat, "gen_ai.usage.output_tokens") > 0);
        assert!(within(chat.end_time, root));
    }
    assert_eq!(
        text(chats[0], "gen_ai.response.finish_reasons"),
        "[\"tool_calls\"]"
    );
    assert_eq!(
        text(chats[1], "gen_ai.response.finish_reasons"),
        "[\"stop\"]"
    );

    let calls: Vec<&SpanData> = tree
        .iter()
        .copied()
        .filter(|s| s.name.starts_with("execute_tool "))
        .collect();
    assert_eq!(calls.len(), 4, "four calls in the run: {:?}", names(spans));
    let mut tools: Vec<String> = Vec::new();
    for call in &calls {
        assert_eq!(call.span_kind, SpanKind::Internal);
        assert_eq!(call.parent_span_id, root_id, "a call is the run's child");
        let tool = text(call, "gen_ai.tool.name");
        assert_eq!(call.name, format!("execute_tool {tool}"));
        assert_eq!(text(call, "gen_ai.operation.name"), "execute_tool");
        assert_eq!(text(call, "gen_ai.tool.type"), "function");
        assert!(text(call, "gen_ai.tool.call.id").starts_with("call_"));
        assert!(!text(call, "gen_ai.tool.description").is_empty());
        assert_eq!(text(call, "toolcall.outcome"), "ok");
        assert!(attr(call, "error.type").is_none());
        assert!(
            attr(call, "gen_ai.tool.call.arguments").is_none(),
            "no content by default"
        );
        // Between the two model requests.
        assert!(call.start_time >= chats[0].start_time && call.end_time <= chats[1].start_time);
        tools.push(tool);
    }
    tools.sort();
    assert_eq!(
        tools,
        [
            "get_active_medications",
            "get_allergies",
            "get_patient_demographics",
            "get_recent_labs"
        ]
    );
    for (i, a) in calls.iter().enumerate() {
        for b in &calls[i + 1..] {
            assert!(overlaps(a, b), "{} and {} ran at once", a.name, b.name);
        }
    }
    calls
}

#[tokio::test]
async fn the_example_is_one_tree_of_overlapping_calls() {
    let recorded = example(&[]).await;
    check_tree(&recorded.spans);

    let metric_names: Vec<(String, String)> = recorded
        .metrics
        .iter()
        .flat_map(|rm| rm.scope_metrics())
        .flat_map(|sm| sm.metrics())
        .map(|m| (m.name().to_owned(), m.unit().to_owned()))
        .collect();
    assert!(
        metric_names.contains(&("gen_ai.client.operation.duration".into(), "s".into())),
        "{metric_names:?}"
    );
    assert!(
        metric_names.contains(&("gen_ai.client.token.usage".into(), "{token}".into())),
        "{metric_names:?}"
    );
}

#[tokio::test]
async fn eager_calls_start_inside_the_streaming_request() {
    let recorded = example(&["--stream"]).await;
    let (_, tree) = agent_trace(&recorded.spans);
    let chats: Vec<&SpanData> = tree
        .iter()
        .copied()
        .filter(|s| s.name.starts_with("chat "))
        .collect();
    let first = chats
        .iter()
        .min_by_key(|s| s.start_time)
        .expect("a chat span");
    assert_eq!(
        attr(first, "gen_ai.request.stream"),
        Some(&Value::Bool(true))
    );
    let calls: Vec<&SpanData> = tree
        .iter()
        .copied()
        .filter(|s| s.name.starts_with("execute_tool "))
        .collect();
    assert_eq!(calls.len(), 4);
    assert!(
        calls
            .iter()
            .any(|c| within(c.start_time, first) && c.start_time < first.end_time),
        "a call starts before its message ends"
    );
    assert!(matches!(
        attr(first, "gen_ai.response.time_to_first_chunk"),
        Some(Value::F64(t)) if *t > 0.0
    ));
}

/// Answers with the replies it was given, in order.
struct Replay(Mutex<VecDeque<ChatResponse>>);

impl Model for Replay {
    fn complete<'a>(
        &'a self,
        _: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, ModelError>> {
        let reply = self.0.lock().expect("lock").pop_front();
        Box::pin(
            async move { reply.ok_or_else(|| ModelError::InvalidResponse("no reply left".into())) },
        )
    }
}

/// Says the text back.
#[toolcall::tool]
async fn echo(
    /// What to say.
    text: String,
) -> String {
    text
}

fn echo_call(id: &str) -> ToolCall {
    ToolCall::new(id, "echo", format!(r#"{{"text":"{id}"}}"#))
}

fn call_span<'a>(spans: &'a [SpanData], id: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| matches!(attr(s, "gen_ai.tool.call.id"), Some(Value::String(v)) if v.as_str() == id))
        .unwrap_or_else(|| panic!("no span for call {id}: {:?}", names(spans)))
}

#[tokio::test]
async fn denied_and_deferred_calls_say_so_and_a_resumed_run_names_the_suspended_one() {
    let tools = ToolSet::builder()
        .tools(toolcall::tools![echo])
        .build()
        .expect("tools");
    let replies = [
        ChatResponse::calls(vec![echo_call("a"), echo_call("b"), echo_call("c")]),
        ChatResponse::text("done"),
    ];
    let agent = Agent::new(Replay(Mutex::new(replies.into())), tools)
        .agent_name("approver")
        .approval(|call: &ToolCall| match call.id.as_str() {
            "b" => Decision::Deny("not today".into()),
            "c" => Decision::Defer,
            _ => Decision::Approve,
        });

    let (stopped, first) = record(agent.run("go")).await;
    let state = match stopped.map(|_| ()).map_err(|e| e.kind) {
        Err(AgentErrorKind::Suspended(state)) => *state,
        other => panic!("the run waits for a decision: {other:?}"),
    };
    let (root, tree) = agent_trace(&first.spans);
    let stopped_span = root.span_context.clone();
    assert_eq!(
        state.trace_parent,
        Some(format!(
            "00-{}-{}-01",
            stopped_span.trace_id(),
            stopped_span.span_id()
        )),
        "the state names the span that stopped"
    );
    assert_eq!(text(root, "toolcall.suspended_id"), state.id);
    assert_eq!(root.status, Status::Unset, "waiting is not a failure");
    let tree: Vec<SpanData> = tree.into_iter().cloned().collect();
    let a = call_span(&tree, "a");
    assert_eq!(text(a, "toolcall.outcome"), "ok");
    let b = call_span(&tree, "b");
    assert_eq!(text(b, "toolcall.outcome"), "denied");
    assert_eq!(text(b, "error.type"), "denied");
    assert!(matches!(b.status, Status::Error { .. }));
    let c = call_span(&tree, "c");
    assert_eq!(text(c, "toolcall.outcome"), "deferred");
    assert!(attr(c, "error.type").is_none());
    assert_eq!(c.status, Status::Unset);

    let (resumed, second) =
        record(agent.resume(state.clone(), [("c".to_owned(), Decision::Approve)])).await;
    assert_eq!(resumed.expect("resumed").answer, "done");
    let (root, tree) = agent_trace(&second.spans);
    assert_eq!(text(root, "toolcall.resumed_from"), state.id);
    let links: Vec<_> = root.links.iter().map(|l| l.span_context.clone()).collect();
    assert_eq!(
        links.len(),
        1,
        "the resumed run links to the one that stopped"
    );
    assert_eq!(links[0].trace_id(), stopped_span.trace_id());
    assert_eq!(links[0].span_id(), stopped_span.span_id());
    assert!(links[0].is_remote());

    // A state saved and read back (another process) links the same way.
    let mut again = state.clone();
    again.id = "another-copy".to_owned();
    let saved = serde_json::to_string(&again).expect("save");
    assert!(saved.contains(&stopped_span.span_id().to_string()));
    let again: toolcall::Suspended = serde_json::from_str(&saved).expect("load");
    let replies = [ChatResponse::text("done")];
    let other = Agent::new(
        Replay(Mutex::new(replies.into())),
        ToolSet::builder()
            .tools(toolcall::tools![echo])
            .build()
            .expect("tools"),
    );
    let (resumed, third) = record(other.resume(again, [("c".to_owned(), Decision::Approve)])).await;
    assert!(resumed.is_ok(), "{resumed:?}");
    let (root, _) = agent_trace(&third.spans);
    assert_eq!(root.links.len(), 1);
    assert_eq!(
        root.links.iter().next().map(|l| l.span_context.span_id()),
        Some(stopped_span.span_id())
    );
    let tree: Vec<SpanData> = tree.into_iter().cloned().collect();
    let c = call_span(&tree, "c");
    assert_eq!(text(c, "toolcall.outcome"), "ok");
    assert_eq!(named(&tree, "chat ").len(), 1);
}

/// The in-process simulator names the provider whose API it speaks.
#[tokio::test]
async fn the_in_process_simulator_names_the_provider_of_its_wire() {
    use toolcall_sim::{SimModel, Wire};
    for (wire, provider) in [
        (Wire::Chat, "openai"),
        (Wire::Responses, "openai"),
        (Wire::Anthropic, "anthropic"),
        (Wire::Gemini, "gcp.gemini"),
    ] {
        let agent = Agent::new(
            SimModel::auto(3).wire(wire),
            ToolSet::builder().build().expect("tools"),
        );
        let (run, recorded) = record(agent.run("Hello.")).await;
        assert!(run.is_ok(), "{wire:?}: {run:?}");
        let (root, _) = agent_trace(&recorded.spans);
        assert_eq!(text(root, "gen_ai.provider.name"), provider, "{wire:?}");
        let chats = named(&recorded.spans, "chat ");
        assert_eq!(text(chats[0], "gen_ai.provider.name"), provider, "{wire:?}");
        assert!(attr(chats[0], "server.address").is_none());
    }
}

/// Prompt-cache counts reach the `chat` span and the run's, as the
/// conventions name them; a reply without them records none.
#[tokio::test]
async fn cache_token_counts_are_recorded_where_the_provider_gives_them() {
    let mut cached = ChatResponse::calls(vec![echo_call("a")]);
    cached.usage = Some(toolcall::Usage::new(1200, 20).with_cache(1024, 128));
    let mut plain = ChatResponse::text("done");
    plain.usage = Some(toolcall::Usage::new(300, 5));
    let tools = ToolSet::builder()
        .tools(toolcall::tools![echo])
        .build()
        .expect("tools");
    let agent = Agent::new(Replay(Mutex::new([cached, plain].into())), tools);
    let (run, recorded) = record(agent.run("go")).await;
    let run = run.expect("a run");
    assert_eq!(run.usage.cache_read_tokens, 1024);
    let (root, _) = agent_trace(&recorded.spans);
    assert_eq!(int(root, "gen_ai.usage.input_tokens"), 1500);
    assert_eq!(int(root, "gen_ai.usage.cache_read.input_tokens"), 1024);
    assert_eq!(int(root, "gen_ai.usage.cache_creation.input_tokens"), 128);
    let chats = named(&recorded.spans, "chat ");
    assert_eq!(chats.len(), 2);
    let first = chats
        .iter()
        .find(|c| int(c, "gen_ai.usage.input_tokens") == 1200)
        .expect("the first request");
    assert_eq!(int(first, "gen_ai.usage.cache_read.input_tokens"), 1024);
    assert_eq!(int(first, "gen_ai.usage.cache_creation.input_tokens"), 128);
    let second = chats
        .iter()
        .find(|c| int(c, "gen_ai.usage.input_tokens") == 300)
        .expect("the second request");
    assert!(attr(second, "gen_ai.usage.cache_read.input_tokens").is_none());
    assert!(attr(second, "gen_ai.usage.cache_creation.input_tokens").is_none());
}

#[tokio::test]
async fn the_mcp_servers_tools_call_is_an_execute_tool_span() {
    use toolcall::mcp::McpServer;
    use toolcall::mcp::rmcp::ServiceExt;
    use toolcall::mcp::rmcp::model::CallToolRequestParams;

    let tools = ToolSet::builder()
        .tools(toolcall::tools![echo])
        .build()
        .expect("tools");
    let server = McpServer::new(tools).expect("server");
    let (reply, recorded) = record(async move {
        let (client_io, server_io) = tokio::io::duplex(1 << 16);
        let (read, write) = tokio::io::split(server_io);
        let served = tokio::spawn(async move { server.serve_io(read, write).await });
        let (read, write) = tokio::io::split(client_io);
        let client = ().serve((read, write)).await.expect("initialize");
        let mut arguments = serde_json::Map::new();
        arguments.insert("text".into(), "over MCP".into());
        let reply = client
            .peer()
            .call_tool(CallToolRequestParams::new("echo").with_arguments(arguments))
            .await
            .expect("tools/call");
        drop(client);
        let _ = served.await;
        reply
    })
    .await;
    assert_ne!(reply.is_error, Some(true));
    let calls = named(&recorded.spans, "execute_tool ");
    assert_eq!(calls.len(), 1, "{:?}", names(&recorded.spans));
    assert_eq!(calls[0].name, "execute_tool echo");
    assert_eq!(calls[0].span_kind, SpanKind::Internal);
    assert_eq!(text(calls[0], "gen_ai.tool.name"), "echo");
    assert_eq!(
        text(calls[0], "gen_ai.tool.description"),
        "Says the text back."
    );
    assert_eq!(text(calls[0], "toolcall.outcome"), "ok");
}

/// Every provider tells its `chat` span the reply's id and model, from a
/// whole reply and from a stream, as the simulator's four formats send them.
#[tokio::test]
async fn each_provider_records_the_replys_id_and_model() {
    use toolcall_runtime::{
        AnthropicModel, GeminiModel, OpenAiModel, OpenAiResponsesModel, Streaming,
    };
    const KEY: &str = "sk-sim";
    let server = toolcall_sim::Server::builder()
        .seed(5)
        .api_key(KEY)
        .start()
        .await
        .expect("server");
    let root = format!("http://{}", server.addr());
    for streaming in [Streaming::Off, Streaming::Eager] {
        let models: Vec<(&str, Box<dyn Model>)> = vec![
            (
                "chat",
                Box::new(
                    OpenAiModel::builder()
                        .base_url(server.base_url())
                        .api_key(KEY)
                        .build()
                        .expect("chat"),
                ),
            ),
            (
                "responses",
                Box::new(
                    OpenAiResponsesModel::builder()
                        .base_url(server.base_url())
                        .api_key(KEY)
                        .build()
                        .expect("responses"),
                ),
            ),
            (
                "anthropic",
                Box::new(
                    AnthropicModel::builder()
                        .base_url(root.clone())
                        .api_key(KEY)
                        .build()
                        .expect("anthropic"),
                ),
            ),
            (
                "gemini",
                Box::new(
                    GeminiModel::builder()
                        .base_url(root.clone())
                        .api_key(KEY)
                        .build()
                        .expect("gemini"),
                ),
            ),
        ];
        for (format, model) in models {
            let agent =
                Agent::new(model, ToolSet::builder().build().expect("tools")).streaming(streaming);
            let (run, recorded) = record(agent.run("Hello.")).await;
            assert!(run.is_ok(), "{format} {streaming:?}: {run:?}");
            let chats = named(&recorded.spans, "chat ");
            assert_eq!(chats.len(), 1, "{format}: {:?}", names(&recorded.spans));
            let chat = chats[0];
            let id = text(chat, "gen_ai.response.id");
            assert!(!id.is_empty(), "{format} {streaming:?}: no response id");
            let model = text(chat, "gen_ai.response.model");
            assert!(
                !model.is_empty(),
                "{format} {streaming:?}: no response model"
            );
        }
    }
}
