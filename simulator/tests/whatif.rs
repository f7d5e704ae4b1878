//! `whatif` on the seed's clinical session: an agent run saved as a trace,
//! read back, and replayed under every dispatch policy on virtual time.

use std::time::Duration;

use serde_json::json;
use toolcall_runtime::{Agent, DispatchOptions, ToolSet};
use toolcall_sim::{
    Latency, ModelLatency, Policy, Script, ScriptedCall, Session, SimTool, Simulator, Trace, whatif,
};

const MS: fn(u64) -> Duration = Duration::from_millis;

/// The seed's clinical tools: 200, 180 and 150 ms.
fn clinical_tools() -> ToolSet {
    let schema = json!({"type": "object", "properties": {"patient_id": {"type": "string"}}, "required": ["patient_id"]});
    let tool = |name: &str, ms| {
        SimTool::new(name, name)
            .parameters(schema.clone())
            .latency(Latency::fixed_ms(ms))
    };
    ToolSet::builder()
        .add(tool("get_demographics", 200))
        .add(tool("get_medications", 180))
        .add(tool("get_allergies", 150))
        .build()
        .expect("tools")
}

fn clinical_script() -> Script {
    let p = json!({"patient_id": "P-00042"});
    Script::new()
        .tool_calls([
            ScriptedCall::new("get_demographics", p.clone()),
            ScriptedCall::new("get_medications", p.clone()),
            ScriptedCall::new("get_allergies", p),
        ])
        .text("Jane Doe, 54: on metformin, allergic to penicillin.")
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("toolcall-sim-whatif-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

/// Run the clinical session (sequentially, as a naive client would) and
/// save its trace.
async fn clinical_trace(path: &std::path::Path) -> Trace {
    let sim = Simulator::builder()
        .script(clinical_script())
        .model_latency(ModelLatency::new(Latency::fixed_ms(300), Latency::Zero))
        .build();
    let run = Agent::new(sim.model(), clinical_tools())
        .dispatch_options(DispatchOptions::sequential())
        .run("Summarise patient P-00042.")
        .await
        .expect("run");
    sim.assert_consumed();
    let trace = Trace::from_run(&run);
    trace.save(path).expect("save");
    trace
}

#[tokio::test(start_paused = true)]
async fn the_clinical_session_saves_330_ms_of_530() {
    let path = temp("clinical.trace.json");
    let trace = clinical_trace(&path).await;
    assert_eq!(Trace::load(&path).expect("load"), trace);

    let session = Session::load(&path).expect("session");
    assert_eq!(session.rounds.len(), 2);
    let report = whatif::run(&session, &Policy::all(2)).await;
    let tools = &report.rounds[0];
    assert_eq!(tools.model_time, MS(300));
    assert_eq!(tools.tools(Policy::Sequential), MS(530));
    assert_eq!(tools.tools(Policy::Parallel), MS(200));
    assert_eq!(tools.tools(Policy::AfterMessage), MS(200));
    // Two at a time: 200 and 180 start together, 150 follows the 180.
    assert_eq!(tools.tools(Policy::Capped(2)), MS(330));
    // The trace is not eager, so readiness is unknown: calls at the reply's end.
    assert_eq!(tools.tools(Policy::Eager), MS(200));
    assert_eq!(tools.round(Policy::Sequential), MS(830));
    assert_eq!(tools.round(Policy::Parallel), MS(500));
    assert_eq!(report.total(Policy::Sequential), MS(830 + 300));
    assert_eq!(report.total(Policy::Parallel), MS(500 + 300));
    assert!(report.parallelism_can_help());

    let text = report.to_string();
    assert!(text.contains("sequential     tools    530 ms"), "{text}");
    assert!(text.contains("parallel       tools    200 ms"), "{text}");
    assert!(text.contains("saves 330 ms"), "{text}");
    assert!(!text.contains("cannot help"), "{text}");

    // The SVG draws each call at its replayed time, after the model's reply.
    let svg = report.svg(Policy::Sequential);
    assert!(svg.contains(r#"data-tool="get_allergies""#), "{svg}");
    assert!(
        svg.contains(r#"data-start-ms="680.000" data-elapsed-ms="150.000""#),
        "{svg}"
    );
    let svg = report.svg(Policy::Parallel);
    assert!(
        svg.contains(r#"data-start-ms="300.000" data-elapsed-ms="150.000""#),
        "{svg}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_eager_trace_knows_when_calls_were_ready() {
    let sim = Simulator::builder()
        .script(clinical_script())
        .model_latency(ModelLatency::new(
            Latency::fixed_ms(100),
            Latency::fixed_ms(10),
        ))
        .build();
    let run = Agent::new(sim.model(), clinical_tools())
        .streaming(toolcall_runtime::Streaming::Eager)
        .run("Summarise patient P-00042.")
        .await
        .expect("run");
    let round = &run.rounds[0];
    let session = Session::from_trace(&Trace::from_run(&run));
    let calls = &session.rounds[0].calls;
    assert!(calls.iter().all(|c| c.ready.is_some()), "{calls:?}");
    // The first call was ready before the reply ended.
    assert!(calls[0].ready < Some(round.model_time), "{calls:?}");
    let report = whatif::run(&session, &[Policy::Eager, Policy::AfterMessage]).await;
    assert!(report.eager_known);
    // Replayed eagerly, the round takes what it took live.
    assert_eq!(report.rounds[0].round(Policy::Eager), round.elapsed);
    assert!(report.rounds[0].round(Policy::Eager) < report.rounds[0].round(Policy::AfterMessage));
}

#[tokio::test(start_paused = true)]
async fn one_call_per_round_says_parallelism_cannot_help() {
    let p = json!({"patient_id": "P-00042"});
    let script = Script::new()
        .tool_call("get_demographics", p.clone())
        .tool_call("get_allergies", p)
        .text("done");
    let sim = Simulator::scripted(script);
    let run = Agent::new(sim.model(), clinical_tools())
        .run("go")
        .await
        .expect("run");
    let report = whatif::run(
        &Session::from_trace(&Trace::from_run(&run)),
        &Policy::all(2),
    )
    .await;
    assert!(!report.parallelism_can_help());
    assert_eq!(report.total(Policy::Sequential), MS(350));
    assert_eq!(report.total(Policy::Parallel), MS(350));
    assert!(
        report.to_string().contains("parallel dispatch cannot help"),
        "{report}"
    );
}

#[test]
fn a_bad_trace_is_placed() {
    let path = temp("bad.trace.json");
    std::fs::write(&path, "{\"trace\": 1,\n \"rounds\": [],\n \"elapsed\": 3}").expect("write");
    let error = Session::load(&path).expect_err("elapsed is not a duration");
    let text = error.to_string();
    assert!(text.contains("bad.trace.json:3:"), "{text}");
    std::fs::write(&path, "{\"turns\": []}").expect("write");
    let error = Session::load(&path).expect_err("not a trace");
    assert!(error.to_string().contains("neither a trace"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn the_command_prints_the_figures_and_draws_each_policy() {
    let path = temp("cli.trace.json");
    clinical_trace(&path).await;
    let svg_dir = temp("svg");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_toolcall-sim"))
        .arg("whatif")
        .arg(&path)
        .arg("--svg")
        .arg(&svg_dir)
        .output()
        .expect("run toolcall-sim");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for needle in [
        "round 1: 3 call(s) (get_demographics 200 ms, get_medications 180 ms, get_allergies 150 ms), model 300 ms",
        "sequential     tools    530 ms   round    830 ms",
        "parallel       tools    200 ms   round    500 ms   saves 330 ms (40%)",
        "cap-2          tools    330 ms",
        "round 2: answer, model 300 ms",
    ] {
        assert!(stdout.contains(needle), "lacks {needle:?}:\n{stdout}");
    }
    for policy in Policy::all(2) {
        let svg = std::fs::read_to_string(svg_dir.join(format!("whatif-{}.svg", policy.name())))
            .expect("an SVG per policy");
        assert!(svg.starts_with("<svg"), "{svg}");
    }

    let bad = temp("bad-cli.trace.json");
    std::fs::write(&bad, "{\"trace\": 1,\n  \"rounds\": 7}").expect("write");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_toolcall-sim"))
        .arg("whatif")
        .arg(&bad)
        .output()
        .expect("run toolcall-sim");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad-cli.trace.json:2:"), "{stderr}");
}
