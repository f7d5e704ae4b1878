//! How to test an agent built on toolcall offline: the simulator plays the
//! model from a script, the real tools run, and the test asserts on the
//! answer, the transcript and what the model was sent.

use serde_json::json;
use toolcall::{Agent, Message, Outcome, ToolSet, tool};
use toolcall_sim::{Script, ScriptedCall, Simulator};

/// Look up a city's current temperature in °C.
#[tool]
async fn temperature(
    /// City name.
    city: String,
) -> Result<f64, String> {
    match city.as_str() {
        "Paris" => Ok(18.5),
        "Oslo" => Ok(4.0),
        other => Err(format!("no station in {other}")),
    }
}

#[tokio::test]
async fn the_agent_calls_both_tools_at_once_then_answers() {
    let script = Script::new()
        .tool_calls([
            ScriptedCall::new("temperature", json!({"city": "Paris"})),
            ScriptedCall::new("temperature", json!({"city": "Atlantis"})),
        ])
        .text("Paris is at 18.5 °C; Atlantis has no station.");
    let sim = Simulator::scripted(script);
    let tools = ToolSet::builder()
        .tools(toolcall::tools![temperature])
        .build()
        .expect("tools");
    let agent = Agent::new(sim.model(), tools).system("Answer briefly.");

    let run = agent
        .run("How warm is it in Paris and Atlantis?")
        .await
        .expect("answer");

    assert_eq!(run.answer, "Paris is at 18.5 °C; Atlantis has no station.");
    let batch = run.rounds[0].batch.as_ref().expect("one batch of calls");
    let outcomes: Vec<Outcome> = batch.results.iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, [Outcome::Ok, Outcome::ToolError]);
    assert_eq!(batch.results[0].content, "18.5");
    assert_eq!(batch.results[1].content, "error: no station in Atlantis");

    // What the model was sent: the tool offered, and both results answering
    // the calls' ids, in call order.
    let journal = sim.journal();
    assert_eq!(journal.len(), 2);
    let second = journal.get(1).expect("second request");
    assert_eq!(second.tools_offered, ["temperature"]);
    let call_ids: Vec<String> = batch
        .results
        .iter()
        .map(|r| r.call_id.to_string())
        .collect();
    assert_eq!(second.delivered_results(), call_ids);
    assert!(matches!(
        run.transcript.last(),
        Some(Message::Assistant { .. })
    ));
    sim.assert_consumed();
}

#[tokio::test]
async fn auto_mode_calls_every_offered_tool_with_valid_arguments() {
    let sim = Simulator::auto(7);
    let tools = ToolSet::builder()
        .tools(toolcall::tools![temperature])
        .build()
        .expect("tools");
    let run = Agent::new(sim.model(), tools)
        .run("anything")
        .await
        .expect("answer");
    let batch = run.rounds[0].batch.as_ref().expect("calls");
    // The generated arguments fit the schema: the call parsed and ran.
    assert_ne!(
        batch.results[0].outcome,
        Outcome::InvalidArguments,
        "{:?}",
        batch.results[0]
    );
    assert!(run.answer.contains("temperature"), "{}", run.answer);
}
