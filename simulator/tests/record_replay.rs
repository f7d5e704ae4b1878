//! Round trip: a session with the simulator recorded through the proxy,
//! then replayed from the file: the same bytes at the same virtual times,
//! no credential in the file, and a request that strays named precisely.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::{Instant, sleep};
use toolcall_sim::{
    Latency, ModelLatency, Policy, Recorder, Recording, Script, ScriptedCall, Session, Simulator,
    whatif,
};

const KEY: &str = "sk-test-s3cr3t-0123456789";

fn local() -> SocketAddr {
    "127.0.0.1:0".parse().expect("address")
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("toolcall-sim-rr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn first_request() -> Value {
    let schema = json!({"type": "object", "properties": {"patient_id": {"type": "string"}}});
    let mut body = common::chat_body(&[
        common::tool_def("get_demographics", schema.clone()),
        common::tool_def("get_medications", schema.clone()),
        common::tool_def("get_allergies", schema),
    ]);
    body["stream"] = json!(true);
    body
}

/// The request that brings the tool results of `reply`'s calls.
fn second_request(first: &Value, calls: &[(String, String)]) -> Value {
    let mut body = first.clone();
    let messages = body["messages"].as_array_mut().expect("messages");
    messages.push(json!({"role": "assistant", "content": null, "tool_calls": calls.iter().map(|(id, name)| json!({"id": id, "type": "function", "function": {"name": name, "arguments": "{\"patient_id\":\"P-1\"}"}})).collect::<Vec<_>>()}));
    for (id, name) in calls {
        messages
            .push(json!({"role": "tool", "tool_call_id": id, "content": format!("{name}: ok")}));
    }
    body
}

/// Each distinct arrival time (from `sent`) with the bytes that came then.
fn timed(reply: &common::Reply, sent: Instant) -> Vec<(Duration, Vec<u8>)> {
    let mut out: Vec<(Duration, Vec<u8>)> = Vec::new();
    for (at, bytes) in &reply.frames {
        let at = at.duration_since(sent);
        match out.last_mut() {
            Some((last, data)) if *last == at => data.extend_from_slice(bytes),
            _ => out.push((at, bytes.to_vec())),
        }
    }
    out
}

async fn post(addr: SocketAddr, body: &Value) -> (common::Reply, Instant) {
    let sent = Instant::now();
    let auth = format!("Bearer {KEY}");
    let reply = common::send(
        addr,
        "POST",
        "/v1/chat/completions",
        &[
            ("content-type", "application/json"),
            ("authorization", &auth),
        ],
        body.to_string(),
    )
    .await
    .expect("reply");
    (reply, sent)
}

fn calls_of(reply: &common::Reply) -> Vec<(String, String)> {
    reply
        .sse_data()
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .flat_map(|v| {
            v["choices"][0]["delta"]["tool_calls"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|c| {
            Some((
                c["id"].as_str()?.to_owned(),
                c["function"]["name"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_recorded_session_replays_byte_for_byte_on_the_same_clock() {
    let p = json!({"patient_id": "P-1"});
    let script = Script::new()
        .tool_calls([
            ScriptedCall::new("get_demographics", p.clone()),
            ScriptedCall::new("get_medications", p.clone()),
            ScriptedCall::new("get_allergies", p),
        ])
        .text("All three look fine.");
    let sim = Simulator::builder()
        .script(script)
        .model_latency(ModelLatency::new(
            Latency::fixed_ms(300),
            Latency::fixed_ms(20),
        ))
        .build();
    let upstream = sim.server().api_key(KEY).start().await.expect("upstream");
    let path = temp("session.recording.json");
    let recorder = Recorder::start(&upstream.base_url(), &path, local())
        .await
        .expect("recorder");

    // Live, through the proxy: a reply with three calls, the tools run one
    // after another (530 ms), then the answer.
    let first = first_request();
    let (live1, sent1) = post(recorder.addr(), &first).await;
    assert_eq!(live1.status, 200, "{}", live1.text());
    let calls = calls_of(&live1);
    assert_eq!(calls.len(), 3, "{}", live1.text());
    sleep(Duration::from_millis(530)).await;
    let second = second_request(&first, &calls);
    let (live2, sent2) = post(recorder.addr(), &second).await;
    assert_eq!(live2.status, 200, "{}", live2.text());
    recorder.shutdown().await;
    upstream.shutdown().await;
    sim.assert_consumed();

    // The file: no credential, the tools' time as the client lived it.
    let text = std::fs::read_to_string(&path).expect("recording written");
    assert!(!text.contains("s3cr3t"), "a credential reached the file");
    assert!(
        !text.to_ascii_lowercase().contains("authorization"),
        "{text}"
    );
    let recording = Recording::load(&path).expect("load");
    assert_eq!(recording.exchanges.len(), 2);
    assert_eq!(recording.exchanges[0].tool_gap_us, None);
    assert_eq!(recording.exchanges[1].tool_gap_us, Some(530_000));
    assert_eq!(recording.exchanges[0].request, first);

    // As a script: the recorded replies with their ids.
    let script = recording.script();
    assert_eq!(script.len(), 2);
    let toolcall_sim::Reply::ToolCalls {
        calls: scripted, ..
    } = &script.turns[0].reply
    else {
        panic!("the first turn calls tools: {script:?}")
    };
    let ids: Vec<(String, String)> = scripted
        .iter()
        .map(|c| (c.id.clone().unwrap_or_default(), c.name.clone()))
        .collect();
    assert_eq!(ids, calls);
    assert_eq!(
        script.turns[1].reply,
        toolcall_sim::Reply::Text("All three look fine.".into())
    );

    // Replayed: the same bytes at the same offsets.
    let replay = recording.replay(local()).await.expect("replay");
    let (again1, resent1) = post(replay.addr(), &first).await;
    assert_eq!(again1.status, 200);
    assert_eq!(again1.body(), live1.body());
    assert_eq!(timed(&again1, resent1), timed(&live1, sent1));
    let (again2, resent2) = post(replay.addr(), &second).await;
    assert_eq!(again2.body(), live2.body());
    assert_eq!(timed(&again2, resent2), timed(&live2, sent2));
    assert_eq!(again2.header("content-type"), live2.header("content-type"));
    replay.check().expect("followed the recording");
    replay.shutdown().await;

    // whatif reads the recording: the calls were ready as their fragments
    // ended, before the reply did.
    let session = Session::load(&path).expect("session");
    assert_eq!(session.rounds.len(), 2);
    let round = &session.rounds[0];
    assert_eq!(round.calls.len(), 3);
    let sum: Duration = round.calls.iter().map(|c| c.latency).sum();
    assert_eq!(sum, Duration::from_millis(530));
    assert!(round.calls[0].ready < Some(round.model_time), "{round:?}");
    assert_eq!(session.notes.len(), 1, "{:?}", session.notes);
    let report = whatif::run(&session, &Policy::all(2)).await;
    assert_eq!(
        report.rounds[0].tools(Policy::Sequential),
        Duration::from_millis(530)
    );
    assert!(report.eager_known);
}

#[tokio::test(start_paused = true)]
async fn a_request_that_strays_is_named_where_it_diverged() {
    let sim = Simulator::scripted(Script::new().text("one").text("two"));
    let upstream = sim.server().start().await.expect("upstream");
    let path = temp("strays.recording.json");
    let recorder = Recorder::start(&upstream.base_url(), &path, local())
        .await
        .expect("recorder");
    let body = common::chat_body(&[]);
    let (live, _) = post(recorder.addr(), &body).await;
    assert_eq!(live.status, 200);
    recorder.shutdown().await;
    upstream.shutdown().await;

    let recording = Recording::load(&path).expect("load");
    let replay = recording.replay(local()).await.expect("replay");
    let mut changed = body.clone();
    changed["messages"][0]["content"] = json!("hello");
    let (reply, _) = post(replay.addr(), &changed).await;
    assert_eq!(reply.status, 409);
    assert_eq!(reply.header("x-should-retry"), Some("false"));
    let message = reply.json()["error"]["message"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(message.contains("request #1"), "{message}");
    assert!(message.contains("`messages[0].content`"), "{message}");
    assert!(
        message.contains(r#"recorded "hi", got "hello""#),
        "{message}"
    );
    let error = replay.check().expect_err("diverged");
    assert_eq!(error.to_string(), message);
    // The recorded request still gets its reply: a divergence does not advance.
    let (reply, _) = post(replay.addr(), &body).await;
    assert_eq!(reply.body(), live.body());
    replay.shutdown().await;
}

/// A reply with calls the client drops, then a new conversation: the new
/// request brings no results, so it has no tool gap.
#[tokio::test(start_paused = true)]
async fn a_new_conversation_after_dropped_calls_has_no_tool_gap() {
    let script = Script::new()
        .tool_call("get_allergies", json!({"patient_id": "P-1"}))
        .text("A new conversation.");
    let sim = Simulator::scripted(script);
    let upstream = sim.server().api_key(KEY).start().await.expect("upstream");
    let path = temp("dropped.recording.json");
    let recorder = Recorder::start(&upstream.base_url(), &path, local())
        .await
        .expect("recorder");
    let first = first_request();
    let (live, _) = post(recorder.addr(), &first).await;
    assert_eq!(calls_of(&live).len(), 1, "{}", live.text());
    sleep(Duration::from_millis(400)).await;
    let (live, _) = post(recorder.addr(), &first).await;
    assert_eq!(live.status, 200);
    recorder.shutdown().await;
    upstream.shutdown().await;
    let recording = Recording::load(&path).expect("load");
    assert_eq!(recording.exchanges.len(), 2);
    assert_eq!(recording.exchanges[1].tool_gap_us, None);
}

fn openai(base_url: String) -> toolcall_runtime::OpenAiModel {
    toolcall_runtime::OpenAiModel::builder()
        .base_url(base_url)
        .api_key(KEY)
        .max_retries(0)
        .build()
        .expect("client")
}

/// A real agent recorded through the proxy, then run again offline: the
/// replay server plays the model, the recorded tools take their recorded
/// latencies and return what the client sent back, and the run is the same.
#[tokio::test(start_paused = true)]
async fn an_agent_session_replays_offline_with_the_recorded_tools() {
    use toolcall_runtime::{Agent, DispatchOptions, ToolSet};
    use toolcall_sim::SimTool;

    let p = json!({"patient_id": "P-1"});
    let script = Script::new()
        .tool_call("get_demographics", p.clone())
        .tool_calls([
            ScriptedCall::new("get_medications", p.clone()),
            ScriptedCall::new("get_allergies", p),
        ])
        .text("Jane Doe, on metformin, allergic to penicillin.");
    let sim = Simulator::builder()
        .script(script)
        .model_latency(ModelLatency::new(
            Latency::fixed_ms(250),
            Latency::fixed_ms(5),
        ))
        .build();
    let upstream = sim.server().api_key(KEY).start().await.expect("upstream");
    let path = temp("agent.recording.json");
    let recorder = Recorder::start(&upstream.base_url(), &path, local())
        .await
        .expect("recorder");
    let schema = json!({"type": "object", "properties": {"patient_id": {"type": "string"}}});
    let tool = |name: &str, ms| {
        SimTool::new(name, name)
            .parameters(schema.clone())
            .latency(Latency::fixed_ms(ms))
    };
    let live_tools = ToolSet::builder()
        .add(tool("get_demographics", 200))
        .add(tool("get_medications", 180))
        .add(tool("get_allergies", 150))
        .build()
        .expect("tools");
    let live = Agent::new(openai(recorder.base_url()), live_tools)
        .dispatch_options(DispatchOptions::sequential())
        .run("Summarise patient P-1.")
        .await
        .expect("live run");
    recorder.shutdown().await;
    upstream.shutdown().await;
    sim.assert_consumed();

    let recording = Recording::load(&path).expect("load");
    assert!(
        !std::fs::read_to_string(&path)
            .expect("read")
            .contains("s3cr3t")
    );
    let replay = recording.replay(local()).await.expect("replay");
    let mut tools = ToolSet::builder();
    for tool in recording.tools() {
        tools = tools.add(tool);
    }
    let offline = Agent::new(openai(replay.base_url()), tools.build().expect("tools"))
        .dispatch_options(DispatchOptions::sequential())
        .run("Summarise patient P-1.")
        .await
        .expect("offline run");
    replay.check().expect("the agent followed the recording");
    replay.shutdown().await;

    assert_eq!(offline.answer, live.answer);
    assert_eq!(offline.transcript, live.transcript);
    assert_eq!(offline.rounds.len(), 3);
    for (again, then) in offline.rounds.iter().zip(&live.rounds) {
        assert_eq!(again.model_time, then.model_time);
        assert_eq!(again.tool_calls, then.tool_calls);
    }
    // A lone call's latency is exact; a wider round keeps its total.
    let makespan = |run: &toolcall_runtime::AgentRun, i: usize| {
        run.rounds[i].batch.as_ref().map(|b| b.makespan)
    };
    assert_eq!(makespan(&offline, 0), Some(Duration::from_millis(200)));
    assert_eq!(makespan(&offline, 1), makespan(&live, 1));
    assert_eq!(offline.elapsed, live.elapsed);
}

/// The recording reads the calls of Anthropic's and the Responses API's
/// streams too, with their ids, and when each call's arguments were complete.
#[tokio::test(start_paused = true)]
async fn streamed_anthropic_and_responses_replies_read_as_scripts() {
    let calls = || {
        [
            ScriptedCall::new("get_weather", json!({"city": "Paris"})),
            ScriptedCall::new("get_time", json!({"city": "Rome"})),
        ]
    };
    let sim = Simulator::builder()
        .script(Script::new().tool_calls(calls()).tool_calls(calls()))
        .model_latency(ModelLatency::new(
            Latency::fixed_ms(100),
            Latency::fixed_ms(10),
        ))
        .build();
    let upstream = sim.server().start().await.expect("upstream");
    let path = temp("formats.recording.json");
    let recorder = Recorder::start(&upstream.base_url(), &path, local())
        .await
        .expect("recorder");
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}}});
    let anthropic = json!({"model": "claude-sonnet-4-5", "max_tokens": 256, "stream": true,
        "messages": [{"role": "user", "content": "Paris and Rome?"}],
        "tools": [{"name": "get_weather", "description": "w", "input_schema": schema},
                  {"name": "get_time", "description": "t", "input_schema": schema}]});
    let responses = json!({"model": "gpt-4o-mini", "stream": true, "input": "Paris and Rome?",
        "tools": [{"type": "function", "name": "get_weather", "description": "w", "parameters": schema},
                  {"type": "function", "name": "get_time", "description": "t", "parameters": schema}]});
    for (path, body) in [("/v1/messages", &anthropic), ("/v1/responses", &responses)] {
        let reply = common::send(
            recorder.addr(),
            "POST",
            path,
            &[("content-type", "application/json")],
            body.to_string(),
        )
        .await
        .expect("reply");
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
    }
    recorder.shutdown().await;
    upstream.shutdown().await;

    let recording = Recording::load(&path).expect("load");
    let script = recording.script();
    assert_eq!(script.len(), 2);
    for (turn, prefix) in script.turns.iter().zip(["toolu_", "call_"]) {
        let toolcall_sim::Reply::ToolCalls { calls: got, .. } = &turn.reply else {
            panic!("tool calls: {turn:?}")
        };
        let named: Vec<(&str, Value)> = got
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    serde_json::from_str(&c.arguments).expect("JSON arguments"),
                )
            })
            .collect();
        assert_eq!(
            named,
            vec![
                ("get_weather", json!({"city": "Paris"})),
                ("get_time", json!({"city": "Rome"}))
            ]
        );
        assert!(
            got.iter()
                .all(|c| c.id.as_deref().is_some_and(|id| id.starts_with(prefix))),
            "{got:?}"
        );
    }
    let session = recording.session();
    for round in &session.rounds {
        let ready: Vec<Duration> = round.calls.iter().filter_map(|c| c.ready).collect();
        assert_eq!(ready.len(), 2, "{round:?}");
        assert!(
            ready[0] < ready[1] && ready[1] <= round.model_time,
            "{round:?}"
        );
    }
}

/// One conversation: a question about patient `n` with two tools, then the
/// results of the calls the reply made. Both replies, with their request
/// ids.
async fn conversation(addr: SocketAddr, n: usize) -> Vec<(Value, Option<String>)> {
    let schema = json!({"type": "object", "properties": {"patient_id": {"type": "string"}}});
    let mut first = common::chat_body(&[
        common::tool_def("get_demographics", schema.clone()),
        common::tool_def("get_allergies", schema),
    ]);
    first["messages"][0]["content"] = json!(format!("Summarise patient P-{n:05}"));
    let (reply, _) = post(addr, &first).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let calls: Vec<(String, String)> = reply.json()["choices"][0]["message"]["tool_calls"]
        .as_array()
        .map(|calls| {
            calls
                .iter()
                .filter_map(|c| {
                    Some((
                        c["id"].as_str()?.to_owned(),
                        c["function"]["name"].as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(calls.len(), 2, "{}", reply.text());
    let id = reply.header("x-request-id").map(str::to_owned);
    let mut out = vec![(reply.json(), id)];
    let (reply, _) = post(addr, &second_request(&first, &calls)).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let id = reply.header("x-request-id").map(str::to_owned);
    out.push((reply.json(), id));
    out
}

#[tokio::test(start_paused = true)]
async fn concurrent_conversations_replay_in_any_order_with_their_request_ids() {
    let upstream = toolcall_sim::Server::builder()
        .seed(9)
        .api_key(KEY)
        .start()
        .await
        .expect("upstream");
    let path = temp("concurrent.recording.json");
    let recorder = Recorder::start(&upstream.base_url(), &path, local())
        .await
        .expect("recorder");
    let addr = recorder.addr();
    let live: Vec<_> = futures_util::future::join_all((0..10).map(|n| conversation(addr, n))).await;
    recorder.shutdown().await;
    upstream.shutdown().await;

    let recording = Recording::load(&path).expect("load");
    assert_eq!(recording.exchanges.len(), 20);
    let replay = recording.replay(local()).await.expect("replay");
    let addr = replay.addr();
    // Another order, each conversation starting a little after the one before.
    let order: Vec<usize> = (0..10).map(|i| (i * 7 + 3) % 10).collect();
    let replayed =
        futures_util::future::join_all(order.iter().enumerate().map(|(k, &n)| async move {
            sleep(Duration::from_millis(k as u64)).await;
            (n, conversation(addr, n).await)
        }))
        .await;
    assert_eq!(replay.divergences(), Vec::new());
    replay.check().expect("every exchange replayed");
    for (n, replies) in replayed {
        assert_eq!(replies, live[n], "conversation {n}");
        for (body, id) in &replies {
            let id = id.as_deref().expect("the recorded x-request-id");
            assert!(id.starts_with("req_"), "{id}");
            assert!(body["id"].is_string(), "{body}");
        }
    }
    replay.shutdown().await;
}
