//! The same script and seed give the same transcript in process and over HTTP.

mod common;

use std::time::Duration;

use common::HttpModel;
use serde_json::json;
use toolcall_runtime::{Agent, AgentRun, ToolSet};
use toolcall_sim::{
    Chunking, Latency, ModelLatency, Script, ScriptedCall, SimBuilder, SimTool, Simulator,
};

fn tools() -> ToolSet {
    let schema = json!({"type": "object",
        "properties": {"patient_id": {"type": "string", "pattern": "^P-[0-9]{5}$"}, "limit": {"type": ["integer", "null"], "minimum": 1}},
        "required": ["patient_id", "limit"], "additionalProperties": false});
    ToolSet::builder()
        .add(
            SimTool::new("get_medications", "medications")
                .parameters(schema.clone())
                .latency(Latency::fixed_ms(180)),
        )
        .add(
            SimTool::new("get_allergies", "allergies")
                .parameters(schema)
                .latency(Latency::uniform(
                    Duration::from_millis(50),
                    Duration::from_millis(250),
                )),
        )
        .build()
        .expect("tools")
}

fn config(seed: u64, script: Option<Script>) -> SimBuilder {
    let builder = Simulator::builder()
        .seed(seed)
        .model_latency(ModelLatency::new(
            Latency::lognormal(Duration::from_millis(300), 0.3),
            Latency::fixed_ms(5),
        ))
        .chunking(Chunking::default().interleaved(true));
    match script {
        Some(script) => builder.script(script),
        None => builder,
    }
}

async fn both(seed: u64, script: Option<Script>) -> (AgentRun, AgentRun, Simulator, Simulator) {
    let local = config(seed, script.clone()).build();
    let in_process = Agent::new(local.model(), tools())
        .run("summarise P-00042")
        .await
        .expect("in-process run");
    let remote = config(seed, script).build();
    let server = remote.server().start().await.expect("server");
    let over_http = Agent::new(
        HttpModel {
            addr: server.addr(),
        },
        tools(),
    )
    .run("summarise P-00042")
    .await
    .expect("http run");
    server.shutdown().await;
    (in_process, over_http, local, remote)
}

#[tokio::test(start_paused = true)]
async fn auto_mode_transcripts_match() {
    for seed in [1, 7, 99] {
        let (a, b, local, remote) = both(seed, None).await;
        assert_eq!(a.transcript, b.transcript, "seed {seed}");
        assert_eq!(a.answer, b.answer);
        assert_eq!(a.usage, b.usage);
        // Same timings too, as both run on the paused clock.
        assert_eq!(a.elapsed, b.elapsed, "seed {seed}");
        let times = |s: &Simulator| {
            s.journal()
                .entries()
                .iter()
                .map(|e| e.since_start)
                .collect::<Vec<_>>()
        };
        assert_eq!(times(&local), times(&remote));
    }
}

#[tokio::test(start_paused = true)]
async fn scripted_transcripts_match() {
    let script = Script::new()
        .auto()
        .tool_calls([
            ScriptedCall::new(
                "get_medications",
                json!({"patient_id": "P-00042", "limit": 5}),
            ),
            ScriptedCall::new(
                "get_allergies",
                json!({"patient_id": "P-00042", "limit": null}),
            ),
        ])
        .text("All done.");
    let (a, b, local, remote) = both(3, Some(script)).await;
    assert_eq!(a.transcript, b.transcript);
    assert_eq!(a.rounds.len(), 3);
    assert_eq!(a.answer, "All done.");
    local.assert_consumed();
    remote.assert_consumed();
}

#[tokio::test(start_paused = true)]
async fn different_seeds_differ() {
    let (a, _, _, _) = both(1, None).await;
    let (b, _, _, _) = both(2, None).await;
    assert_ne!(a.transcript, b.transcript);
}
