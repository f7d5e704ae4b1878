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
    Agent, AgentErrorKind, BoxFuture, CallResult, ChatRequest, ChatResponse, Decision, Message,
    Model, ModelError, Outcome, ResumeErrorKind, Streaming, Suspended, ToolCall, ToolSet,
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
        matches!(&error.kind, AgentErrorKind::Resume(e) if e.to_string().contains("`a`")),
        "{error}"
    );
    assert_eq!(counters.started.load(Ordering::SeqCst), 0);
}

fn started(counters: &Counters) -> usize {
    counters.started.load(Ordering::SeqCst)
}

/// The resume error's reason and the state it gives back.
fn refusal(error: toolcall_runtime::AgentError) -> (ResumeErrorKind, Suspended) {
    match error.kind {
        AgentErrorKind::Resume(error) => (error.kind, *error.state),
        other => panic!("expected a refused resume, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_state_resumed_twice_runs_its_calls_once_and_says_so() {
    let state = *suspended().await;
    let copy = state.clone();
    let saved = serde_json::to_string(&state).expect("serialise");
    let decisions = || {
        [
            ("b", Decision::Approve),
            ("c", Decision::Approve),
            ("d", Decision::Approve),
        ]
        .map(|(id, d)| (id.to_owned(), d))
    };

    let (tools, counters) = fresh_tools();
    let agent = Agent::new(Replay::new(vec![ChatResponse::text("ok")]), tools);
    agent.resume(state, decisions()).await.expect("resumed");
    assert_eq!(started(&counters), 3);

    // A clone, and a copy read back from the saved text, with another agent.
    let read_back: Suspended = serde_json::from_str(&saved).expect("deserialise");
    for again in [copy.clone(), read_back] {
        let (tools, counters) = fresh_tools();
        let agent = Agent::new(Replay::new(vec![ChatResponse::text("ok")]), tools);
        let error = agent
            .resume(again, decisions())
            .await
            .expect_err("resumed already");
        assert!(error.to_string().contains("resumed already"), "{error}");
        let (kind, given_back) = refusal(error);
        assert_eq!(kind, ResumeErrorKind::AlreadyResumed);
        assert_eq!(given_back, copy, "the state comes back untouched");
        assert_eq!(started(&counters), 0, "nothing runs the second time");
        assert!(agent.model().requests.lock().expect("lock").is_empty());
    }
}

#[tokio::test(start_paused = true)]
async fn a_state_that_stays_suspended_gets_a_new_id_and_resumes_once() {
    let state = *suspended().await;
    let (tools, _) = fresh_tools();
    let agent = Agent::new(Replay::new(vec![ChatResponse::text("ok")]), tools);
    let error = agent
        .resume(state.clone(), [("b".to_owned(), Decision::Approve)])
        .await
        .expect_err("c and d wait");
    let AgentErrorKind::Suspended(next) = error.kind else {
        panic!("expected a suspended run");
    };
    assert_ne!(next.id, state.id);
    let (kind, _) = refusal(
        agent
            .resume(state, [("c".to_owned(), Decision::Approve)])
            .await
            .expect_err("the first state was resumed"),
    );
    assert_eq!(kind, ResumeErrorKind::AlreadyResumed);
}

/// An edit to a stored state.
type Damage = fn(&mut Suspended);

/// Each way a stored state can be damaged or edited; the resume is refused
/// before any call runs, and the state comes back as it was given.
#[tokio::test(start_paused = true)]
async fn a_state_that_does_not_hold_together_is_refused_before_anything_runs() {
    let damaged: Vec<(&str, Damage)> = vec![
        (
            "the transcript does not end with the assistant message",
            |s| {
                s.transcript.pop();
            },
        ),
        (
            "the transcript does not end with the assistant message",
            |s| {
                s.transcript.push(Message::user("more"));
            },
        ),
        (
            "the transcript does not end with the assistant message",
            |s| {
                if let Some(Message::Assistant { tool_calls, .. }) = s.transcript.last_mut() {
                    tool_calls[3].arguments = args(1);
                }
            },
        ),
        ("no tool calls", |s| s.rounds.clear()),
        ("4 calls and 3 results", |s| {
            last_results(s).pop();
        }),
        ("answers `x`", |s| last_results(s)[3].call_id = "x".into()),
        ("no call of its last round waits", |s| {
            for r in last_results(s) {
                r.outcome = Outcome::Ok;
            }
        }),
        ("used by more than one call", |s| {
            let round = s.rounds.last_mut().expect("a round");
            round.tool_calls[0].id = "d".into();
            round.batch.as_mut().expect("batch").results[0].call_id = "d".into();
            if let Some(Message::Assistant { tool_calls, .. }) = s.transcript.last_mut() {
                tool_calls[0].id = "d".into();
            }
        }),
        ("round 1 has a deferred call", |s| {
            let round = s.rounds[0].clone();
            s.rounds.insert(0, round);
        }),
    ];
    for (why, damage) in damaged {
        let mut state = *suspended().await;
        damage(&mut state);
        let (tools, counters) = fresh_tools();
        let agent = Agent::new(Replay::new(vec![ChatResponse::text("ok")]), tools);
        let error = agent
            .resume(state.clone(), [("d".to_owned(), Decision::Approve)])
            .await
            .expect_err(why);
        let (kind, given_back) = refusal(error);
        assert!(
            matches!(&kind, ResumeErrorKind::InvalidState(text) if text.contains(why)),
            "{why}: {kind:?}"
        );
        assert_eq!(given_back, state, "{why}: the state comes back untouched");
        assert_eq!(started(&counters), 0, "{why}: nothing ran");
        assert!(agent.model().requests.lock().expect("lock").is_empty());
        // Refused, not claimed: the intact state still resumes.
    }
}

fn last_results(state: &mut Suspended) -> &mut Vec<CallResult> {
    &mut state
        .rounds
        .last_mut()
        .and_then(|r| r.batch.as_mut())
        .expect("a batch")
        .results
}

#[tokio::test(start_paused = true)]
async fn two_decisions_for_one_call_are_refused_and_the_state_resumes_after() {
    let state = *suspended().await;
    let (tools, counters) = fresh_tools();
    let agent = Agent::new(Replay::new(vec![ChatResponse::text("ok")]), tools);
    let twice = [
        ("b".to_owned(), Decision::Deny("no".into())),
        ("b".to_owned(), Decision::Approve),
    ];
    let (kind, given_back) = refusal(agent.resume(state.clone(), twice).await.expect_err("twice"));
    assert!(
        matches!(&kind, ResumeErrorKind::InvalidDecisions(why) if why.contains("`b` has more than one decision")),
        "{kind:?}"
    );
    assert_eq!(given_back, state);
    assert_eq!(started(&counters), 0);
    // Refused, so not claimed: the state given back resumes.
    let decisions = ["b", "c", "d"].map(|id| (id.to_owned(), Decision::Approve));
    let run = agent.resume(given_back, decisions).await.expect("resumed");
    assert_eq!(run.answer, "ok");
    assert_eq!(started(&counters), 3);
}

#[tokio::test(start_paused = true)]
async fn two_calls_with_one_id_cannot_both_wait() {
    let (tools, counters) = fresh_tools();
    let calls = [work("a", 10), work("a", 10), work("b", 10), work("b", 10)];
    let defer_a = |call: &ToolCall| {
        if call.id == "a" {
            Decision::Defer
        } else {
            Decision::Deny("no".into())
        }
    };
    let batch = tools.dispatch(&calls).approval(&defer_a).await;
    let outcomes: Vec<Outcome> = batch.results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Deferred,
            Outcome::InvalidArguments,
            Outcome::Denied,
            Outcome::InvalidArguments
        ]
    );
    assert!(batch.results[1].content.contains("duplicate call id `a`"));
    assert_eq!(started(&counters), 0);

    // In an agent run, streamed or not, only the first waits.
    for streaming in [Streaming::Off, Streaming::Eager] {
        let (tools, _) = fresh_tools();
        let model = Replay::new(vec![ChatResponse::calls(vec![
            work("a", 10),
            work("a", 10),
        ])]);
        let agent = Agent::new(model, tools)
            .streaming(streaming)
            .approval(|_: &ToolCall| Decision::Defer);
        let AgentErrorKind::Suspended(state) = agent.run("go").await.expect_err("waits").kind
        else {
            panic!("expected a suspended run");
        };
        assert_eq!(state.pending().len(), 1, "{streaming:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_rewrite_is_kept_on_its_result_and_the_model_call_in_the_transcript() {
    let (tools, _) = fresh_tools();
    let calls = batch_of_four();
    let batch = tools.dispatch(&calls).approval(&policy).await;
    let recorded: Vec<Option<&str>> = batch.results.iter().map(|r| r.arguments()).collect();
    assert_eq!(recorded, [None, None, Some(args(70).as_str()), None]);

    // Rewritten on resume: recorded the same way, and the assistant message
    // keeps the model's own arguments.
    let state = *suspended().await;
    let (tools, _) = fresh_tools();
    let agent = Agent::new(Replay::new(vec![ChatResponse::text("ok")]), tools);
    let decisions = [
        ("b".to_owned(), Decision::Rewrite(args(5))),
        ("c".to_owned(), Decision::Approve),
        ("d".to_owned(), Decision::Deny("no".into())),
    ];
    let run = agent.resume(state, decisions).await.expect("resumed");
    let results = &run.rounds[0].batch.as_ref().expect("batch").results;
    let recorded: Vec<Option<&str>> = results.iter().map(|r| r.arguments()).collect();
    assert_eq!(recorded, [None, Some(args(5).as_str()), None, None]);
    assert_eq!(results[1].content, "done after 5 ms");
    let json = serde_json::to_value(&results[1]).expect("serialise");
    assert_eq!(json["arguments"], args(5));
    let Some(Message::Assistant { tool_calls, .. }) = run.transcript.get(1) else {
        panic!("the assistant message");
    };
    assert_eq!(tool_calls, &batch_of_four());
}
