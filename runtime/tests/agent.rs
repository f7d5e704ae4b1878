//! The agent loop against a scripted model double.

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::{Behaviour, Scripted};
use toolcall_runtime::{
    Agent, AgentErrorKind, BoxFuture, ChatRequest, ChatResponse, DispatchOptions, Message, Model,
    ModelError, ToolCall, ToolChoice, ToolSet, Usage,
};

/// Replies in order, after `latency` on tokio's clock, and records every request.
struct Replay {
    replies: Mutex<Vec<Result<ChatResponse, ModelError>>>,
    requests: Mutex<Vec<ChatRequest>>,
    latency: Duration,
}

impl Replay {
    fn new(mut replies: Vec<Result<ChatResponse, ModelError>>) -> Self {
        replies.reverse();
        Replay {
            replies: Mutex::new(replies),
            requests: Mutex::default(),
            latency: Duration::from_millis(100),
        }
    }

    fn requests(&self) -> Vec<ChatRequest> {
        self.requests.lock().expect("lock").clone()
    }
}

impl Model for Replay {
    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, ModelError>> {
        Box::pin(async move {
            self.requests.lock().expect("lock").push(request.clone());
            tokio::time::sleep(self.latency).await;
            let next = self.replies.lock().expect("lock").pop();
            next.unwrap_or_else(|| Err(ModelError::InvalidResponse("script ran out".into())))
        })
    }
}

fn call(id: &str, delay_ms: u64) -> ToolCall {
    ToolCall::new(
        id,
        "work",
        Behaviour {
            delay_ms,
            fail: false,
            panic: false,
        }
        .arguments(),
    )
}

fn tools() -> ToolSet {
    ToolSet::builder()
        .add(Scripted::new("work"))
        .build()
        .expect("tools")
}

fn with_usage(mut r: ChatResponse, total: u32) -> ChatResponse {
    r.usage = Some(Usage::new(total - 1, 1));
    r
}

#[tokio::test(start_paused = true)]
async fn rounds_run_until_the_answer_with_tool_messages_in_call_order() {
    let model = Replay::new(vec![
        Ok(with_usage(
            ChatResponse::calls(vec![call("a", 200), call("b", 180), call("c", 150)]),
            10,
        )),
        Ok(with_usage(ChatResponse::calls(vec![call("d", 50)]), 20)),
        Ok(with_usage(ChatResponse::text("all done"), 30)),
    ]);
    let agent = Agent::new(&model, tools())
        .system("be brief")
        .tool_choice(ToolChoice::Auto)
        .parallel_tool_calls(true);
    let run = agent.run("go").await.expect("answer");
    assert_eq!(run.answer, "all done");
    assert_eq!(run.usage.total_tokens, 60);
    assert_eq!(run.rounds.len(), 3);
    // Three model rounds of 100 ms, then tools: max(200, 180, 150) and 50.
    assert_eq!(run.elapsed, Duration::from_millis(300 + 200 + 50));
    assert_eq!(run.rounds[0].elapsed, Duration::from_millis(300));

    let roles: Vec<&str> = run.transcript.iter().map(Message::role).collect();
    assert_eq!(
        roles,
        [
            "system",
            "user",
            "assistant",
            "tool",
            "tool",
            "tool",
            "assistant",
            "tool",
            "assistant"
        ]
    );
    let ids: Vec<&str> = run
        .transcript
        .iter()
        .filter_map(|m| match m {
            Message::Tool { tool_call_id, .. } => Some(tool_call_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(ids, ["a", "b", "c", "d"]);

    let requests = model.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].tools.len(), 1);
    assert_eq!(requests[0].tool_choice, Some(ToolChoice::Auto));
    assert_eq!(requests[0].parallel_tool_calls, Some(true));
    // Each request carries the conversation so far.
    assert_eq!(requests[1].messages.len(), 6);
    assert_eq!(requests[2].messages.len(), 8);
}

#[tokio::test(start_paused = true)]
async fn sequential_dispatch_costs_the_sum() {
    let model = Replay::new(vec![
        Ok(ChatResponse::calls(vec![
            call("a", 200),
            call("b", 180),
            call("c", 150),
        ])),
        Ok(ChatResponse::text("ok")),
    ]);
    let agent = Agent::new(&model, tools()).dispatch_options(DispatchOptions::sequential());
    let run = agent.run("go").await.expect("answer");
    assert_eq!(run.elapsed, Duration::from_millis(200 + 530));
}

#[tokio::test(start_paused = true)]
async fn the_round_limit_is_an_error_that_keeps_the_transcript() {
    let model = Replay::new(
        (0..5)
            .map(|i| Ok(ChatResponse::calls(vec![call(&format!("c{i}"), 1)])))
            .collect(),
    );
    let agent = Agent::new(&model, tools()).max_rounds(3);
    let error = agent.run("loop").await.expect_err("no answer");
    assert_eq!(error.kind, AgentErrorKind::RoundLimit(3));
    assert_eq!(error.rounds.len(), 3);
    assert_eq!(error.transcript.len(), 1 + 3 * 2);
    assert_eq!(error.to_string(), "no final answer after 3 rounds");
}

#[tokio::test(start_paused = true)]
async fn a_model_error_stops_the_run_with_the_transcript() {
    let model = Replay::new(vec![
        Ok(ChatResponse::calls(vec![call("a", 1)])),
        Err(ModelError::Api {
            status: 400,
            message: "bad".into(),
            code: None,
        }),
    ]);
    let error = Agent::new(&model, tools())
        .run("go")
        .await
        .expect_err("fails");
    assert!(matches!(
        error.kind,
        AgentErrorKind::Model(ModelError::Api { status: 400, .. })
    ));
    assert_eq!(error.rounds.len(), 1);
    assert_eq!(error.transcript.len(), 3);
    assert!(error.to_string().contains("round 2"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn no_tools_means_no_tool_settings_in_the_request() {
    let model = Replay::new(vec![Ok(ChatResponse::text("hi"))]);
    let empty = ToolSet::builder().build().expect("empty");
    let run = Agent::new(&model, empty)
        .tool_choice(ToolChoice::Required)
        .run("x")
        .await
        .expect("answer");
    assert_eq!(run.answer, "hi");
    let request = &model.requests()[0];
    assert!(request.tools.is_empty() && request.tool_choice.is_none());
}
