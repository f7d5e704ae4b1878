//! The smallest complete program: two tools, a tool set, a model, an agent.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! The model is the simulator (offline), scripted to call both tools at once
//! and then answer from their results. For a real model, replace it with
//! `toolcall::OpenAiModel::from_env()?` and set `OPENAI_API_KEY`.

use std::process::ExitCode;

use serde_json::json;
use toolcall::{Agent, ToolSet, tool};
use toolcall_sim::{Script, ScriptedCall, SimModel};

/// Get the current weather in a city.
#[tool]
async fn get_weather(
    /// City name, e.g. "Paris"
    city: String,
) -> String {
    format!("18°C and sunny in {city}")
}

/// Get the local time in a city.
#[tool]
async fn get_local_time(
    /// City name, e.g. "Paris"
    city: String,
) -> Result<String, String> {
    match city.as_str() {
        "Paris" => Ok("14:05".to_owned()),
        other => Err(format!("no time zone known for {other}")),
    }
}

/// Build the tools, run the agent, and return its answer.
pub async fn run() -> Result<String, Box<dyn std::error::Error>> {
    let tools = ToolSet::builder()
        .tools(toolcall::tools![get_weather, get_local_time])
        .build()?;

    let model = SimModel::scripted(
        Script::new()
            .tool_calls([
                ScriptedCall::new("get_weather", json!({ "city": "Paris" })),
                ScriptedCall::new("get_local_time", json!({ "city": "Paris" })),
            ])
            .auto(), // then answer from the tool results
    );

    let run = Agent::new(model, tools)
        .run("What's the weather and the time in Paris?")
        .await?;
    for call in run.rounds.iter().flat_map(|r| &r.tool_calls) {
        println!("called {}({})", call.name, call.arguments);
    }
    Ok(run.answer)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(answer) => {
            println!("{answer}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
