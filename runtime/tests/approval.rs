//! Approval: a policy approves, denies, rewrites or defers each call; an
//! agent run with deferred calls stops with a serialisable state and
//! resumes, in a new process as far as it can tell, running each call once.

mod common;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{Behaviour, Counters, Scripted, paused_runtime, quiet_deliberate_panics};
use toolcall_runtime::{
    Agent, AgentErrorKind, BoxFuture, ChatRequest, ChatResponse, Decision, Message, Model,
    ModelError, Outcome, Streaming, Suspended, ToolCall, ToolSet,
};

fn args(delay_ms: u64) -> String {
    Behaviour {
        delay_ms,
        fail: false,
        panic: false,
    }
    .arguments()
}

fn work(id: &str, delay_ms: u64) -> ToolCall {
    ToolCall::new(id, "work", args(delay_ms))
}

fn fresh_tools() -> (ToolSet, Arc<Counters>) {
    let tool = Scripted::new("work");
    let counters = tool.counters.clone();
    (
        ToolSet::builder().add(tool).build().expect("tools"),
        counters,
    )
}

/// Approve `a`, deny `b`, rewrite `c` to take 70 ms, defer `d`.
fn policy(call: &ToolCall) -> Decision {
    match call.id.as_str() {
        "b" => Decision::Deny("b is not allowed today".into()),
        "c" => Decision::Rewrite(args(70)),
        "d" => Decision::Defer,
        _ => Decision::Approve,
    }
}

#[tokio::test(start_paused = true)]
async fn each_decision_gives_its_own_result_in_call_order() {
    let (tools, counters) = fresh_tools();
    let calls = [work("a", 50), work("b", 50), work("c", 50), work("d", 50)];
    let batch = tools.dispatch(&calls).approval(&policy).await;
    let outcomes: Vec<Outcome> = batch.results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [Outcome::Ok, Outcome::Denied, Outcome::Ok, Outcome::Deferred]
    );
    let ids: Vec<&str> = batch.results.iter().map(|r| r.call_id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c", "d"]);
    assert!(batch.results[1].content.contains("b is not allowed today"));
    assert_eq!(batch.results[2].elapsed, Duration::from_millis(70));
    assert_eq!(batch.results[2].content, "done after 70 ms");
    assert_eq!(batch.results[3].elapsed, Duration::ZERO);
    assert_eq!(counters.started.load(Ordering::SeqCst), 2);
    assert_eq!(batch.makespan, Duration::from_millis(70));
}

#[tokio::test(start_paused = true)]
async fn a_policy_that_panics_denies_that_call_only() {
    quiet_deliberate_panics();
    let (tools, counters) = fresh_tools();
    let calls = [work("a", 10), work("boom", 10)];
    let panicky = |call: &ToolCall| {
        if call.id == "boom" {
            panic!("deliberate policy panic");
        }
        Decision::Approve
    };
    let batch = tools.dispatch(&calls).approval(&panicky).await;
    assert_eq!(batch.results[0].outcome, Outcome::Ok);
    assert_eq!(batch.results[1].outcome, Outcome::Denied);
    assert!(batch.results[1].content.contains("deliberate policy panic"));
    assert_eq!(counters.started.load(Ordering::SeqCst), 1);
}

/// Replies in order after 100 ms and records every request.
struct Replay {
    replies: Mutex<Vec<ChatResponse>>,
    requests: Mutex<Vec<ChatRequest>>,
}

impl Replay {
    fn new(mut replies: Vec<ChatResponse>) -> Self {
        replies.reverse();
        Replay {
            replies: Mutex::new(replies),
            requests: Mutex::default(),
        }
    }
}

impl Model for Replay {
    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, ModelError>> {
        Box::pin(async move {
            self.requests.lock().expect("lock").push(request.clone());
            tokio::time::sleep(Duration::from_millis(100)).await;
            let next = self.replies.lock().expect("lock").pop();
            next.ok_or_else(|| ModelError::InvalidResponse("script ran out".into()))
        })
    }
}

fn batch_of_four() -> Vec<ToolCall> {
    vec![work("a", 50), work("b", 50), work("c", 50), work("d", 50)]
}

/// First process: two approved (one rewritten), one denied, one deferred;
/// the run stops, and its state is saved as JSON text.
async fn run_until_suspended(streaming: Streaming) -> String {
    let (tools, before) = fresh_tools();
    let model = Replay::new(vec![ChatResponse::calls(batch_of_four())]);
    let agent = Agent::new(model, tools)
        .streaming(streaming)
        .approval(policy);
    let error = agent.run("tidy up").await.expect_err("a call waits");
    assert!(error.to_string().contains("calls d"), "{error}");
    let AgentErrorKind::Suspended(state) = error.kind else {
        panic!("expected a suspended run");
    };
    let pending: Vec<&str> = state.pending().iter().map(|c| c.id.as_str()).collect();
    assert_eq!(pending, ["d"]);
    assert_eq!(before.started.load(Ordering::SeqCst), 2);
    serde_json::to_string(&state).expect("serialise")
}

/// Second process: new tools and a new model; the state from its text; the
/// deferred call approved. Each call has then run exactly once overall.
async fn resume_from(saved: &str, streaming: Streaming) {
    let state: Suspended = serde_json::from_str(saved).expect("deserialise");
    let (tools, after) = fresh_tools();
    let model = Replay::new(vec![ChatResponse::text("all tidy")]);
    let agent = Agent::new(model, tools)
        .streaming(streaming)
        .approval(|_: &ToolCall| Decision::Defer);
    let run = agent
        .resume(state, [("d".to_owned(), Decision::Approve)])
        .await
        .expect("resumed");
    assert_eq!(run.answer, "all tidy");
    assert_eq!(
        after.started.load(Ordering::SeqCst),
        1,
        "only the deferred call runs after the restart"
    );
    // The transcript the API needs: the assistant's four calls, then one
    // result for each, in call order, then the answer.
    let tool_messages: Vec<(&str, &str)> = run
        .transcript
        .iter()
        .filter_map(|m| match m {
            Message::Tool {
                tool_call_id,
                content,
                ..
            } => Some((tool_call_id.as_str(), content.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(tool_messages.len(), 4);
    assert_eq!(tool_messages[0], ("a", "done after 50 ms"));
    assert_eq!(tool_messages[1].0, "b");
    assert!(tool_messages[1].1.contains("not allowed today"));
    assert_eq!(tool_messages[2], ("c", "done after 70 ms"));
    assert_eq!(tool_messages[3], ("d", "done after 50 ms"));
    let sent = agent.model().requests.lock().expect("lock").clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].messages, run.transcript[..run.transcript.len() - 1]);
    let Some(Message::Assistant { tool_calls, .. }) = sent[0].messages.get(1) else {
        panic!("the assistant's calls come after the user message");
    };
    assert_eq!(tool_calls, &batch_of_four());
    let outcomes: Vec<Outcome> = run.rounds[0]
        .batch
        .as_ref()
        .expect("a batch")
        .results
        .iter()
        .map(|r| r.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [Outcome::Ok, Outcome::Denied, Outcome::Ok, Outcome::Ok]
    );
}

/// Set in the child process: the file with the state to resume.
const RESUME_FROM: &str = "TOOLCALL_TEST_RESUME_FROM";

#[test]
fn a_deferred_call_resumes_after_a_restart_and_no_call_runs_twice() {
    if let Ok(path) = std::env::var(RESUME_FROM) {
        let saved = std::fs::read_to_string(&path).expect("the saved state");
        paused_runtime().block_on(resume_from(&saved, Streaming::Off));
        return;
    }
    let saved = paused_runtime().block_on(run_until_suspended(Streaming::Off));
    let path = std::env::temp_dir().join(format!("toolcall-suspended-{}.json", std::process::id()));
    std::fs::write(&path, &saved).expect("save the state");
    // The restart: this test again, in a new process, from the file only.
    let child = std::process::Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            "a_deferred_call_resumes_after_a_restart_and_no_call_runs_twice",
            "--exact",
            "--nocapture",
        ])
        .env(RESUME_FROM, &path)
        .output()
        .expect("run the second process");
    let _ = std::fs::remove_file(&path);
    let stdout = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success() && stdout.contains("1 passed"),
        "the resumed run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&child.stderr)
    );
}

#[tokio::test(start_paused = true)]
async fn the_same_holds_when_calls_start_while_the_reply_streams() {
    let saved = run_until_suspended(Streaming::Eager).await;
    resume_from(&saved, Streaming::Eager).await;
}

async fn suspended() -> Box<Suspended> {
    let (tools, _) = fresh_tools();
    let model = Replay::new(vec![ChatResponse::calls(batch_of_four())]);
    let agent = Agent::new(model, tools).approval(|call: &ToolCall| {
        if call.id == "a" {
            Decision::Approve
        } else {
            Decision::Defer
        }
    });
    match agent.run("go").await.map_err(|e| e.kind) {
        Err(AgentErrorKind::Suspended(state)) => state,
        other => panic!("expected a suspended run, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn calls_left_undecided_keep_the_run_suspended_with_the_decided_ones_done() {
    let state = suspended().await;
    let (tools, counters) = fresh_tools();
    let agent = Agent::new(Replay::new(vec![]), tools);
    let decisions = [
        ("b".to_owned(), Decision::Approve),
        ("c".to_owned(), Decision::Deny("no".into())),
    ];
    let error = agent
        .resume(*state, decisions)
        .await
        .expect_err("d has no decision");
    let AgentErrorKind::Suspended(state) = error.kind else {
        panic!("expected a suspended run");
    };
    let pending: Vec<&str> = state.pending().iter().map(|c| c.id.as_str()).collect();
    assert_eq!(pending, ["d"]);
    assert_eq!(counters.started.load(Ordering::SeqCst), 1, "b ran");
    assert!(
        agent.model().requests.lock().expect("lock").is_empty(),
        "the model is not asked while a call waits"
    );

    // Deciding the last one runs only it.
    let (tools, counters) = fresh_tools();
    let agent = Agent::new(Replay::new(vec![ChatResponse::text("ok")]), tools);
    let run = agent
        .resume(*state, [("d".to_owned(), Decision::Rewrite(args(5)))])
        .await
        .expect("resumed");
    assert_eq!(counters.started.load(Ordering::SeqCst), 1);
    let results = &run.rounds[0].batch.as_ref().expect("batch").results;
    let outcomes: Vec<Outcome> = results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [Outcome::Ok, Outcome::Ok, Outcome::Denied, Outcome::Ok]
    );
    assert_eq!(results[3].content, "done after 5 ms");
}

#[tokio::test(start_paused = true)]
async fn a_decision_for_a_call_that_does_not_wait_is_refused() {
    let state = suspended().await;
    let (tools, counters) = fresh_tools();
    let agent = Agent::new(Replay::new(vec![]), tools);
    let error = agent
        .resume(*state, [("a".to_owned(), Decision::Approve)])
        .await
        .expect_err("a already ran");
    assert!(
        matches!(&error.kind, AgentErrorKind::Resume(why) if why.contains("`a`")),
        "{error}"
    );
    assert_eq!(counters.started.load(Ordering::SeqCst), 0);
}
