//! The clinical dashboard: a model summarizes a patient by calling four tools
//! on a real database, and toolcall runs the four calls at once.
//!
//! ```text
//! cargo run --example patient_summary                    # P-00001, offline
//! cargo run --example patient_summary -- P-00002 --stream
//! cargo run --example patient_summary -- P-99999         # no such patient
//! DATABASE_URL=postgres://user:pass@localhost/clinic cargo run --example patient_summary
//! OPENAI_API_KEY=sk-... cargo run --example patient_summary  # the real model
//! ```
//!
//! - Database: embedded SQLite in `target/patient_summary.sqlite3`, created
//!   and seeded on first run; PostgreSQL when `DATABASE_URL` is
//!   `postgres://...` (same queries; the tables are created if absent).
//! - Model: the simulator (`toolcall-sim`, offline, with realistic latencies)
//!   unless `OPENAI_API_KEY` is set (then `OPENAI_BASE_URL` and `OPENAI_MODEL`
//!   are honoured too).
//! - It prints the calls the model made, each call's time, the same round run
//!   sequentially and in parallel, and the summary; and writes the two runs
//!   as an SVG timeline under `target/`.

#[path = "patient_summary/db.rs"]
mod db;
#[path = "patient_summary/tools.rs"]
mod tools;

use std::fmt;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use toolcall::{
    Agent, AgentError, AgentRun, BuildError, DispatchOptions, Model, ModelError, OpenAiModel,
    Outcome, Streaming, Tool, ToolCall, ToolSet,
};
use toolcall_sim::{Latency, ModelLatency, Script, ScriptedCall, SimModel, Timeline};

use db::{Db, DbError};
use tools::{get_active_medications, get_allergies, get_patient_demographics, get_recent_labs};

const USAGE: &str = "\
Summarize a patient's record with an LLM that calls four database tools at once.

usage: cargo run --example patient_summary -- [PATIENT_ID] [--sequential] [--stream]

  PATIENT_ID     the patient to summarize (default P-00001; the database has
                 P-00001, P-00002 and P-00003; any other id shows an error result)
  --sequential   the agent runs the model's tool calls one after another
  --stream       the agent streams the model's reply and starts each call as
                 soon as its arguments are complete
  -h, --help     this text

environment:
  DATABASE_URL    postgres://user:password@host/db to use PostgreSQL instead of
                  the embedded SQLite file under target/
  OPENAI_API_KEY  use the OpenAI API (or OPENAI_BASE_URL) instead of the simulator
  OPENAI_MODEL    the model name with OPENAI_API_KEY (default gpt-4o-mini)";

const SYSTEM_PROMPT: &str = "\
You are a clinical assistant preparing a patient summary for a physician. \
Call get_patient_demographics, get_active_medications, get_allergies and \
get_recent_labs for the patient, all four in one turn since they are \
independent. Then write a concise summary: who the patient is, active \
medications, allergies (flag any that conflict with a medication), and \
abnormal lab results. If a tool returns an error, say so plainly.";

/// `println!` that returns the error instead of panicking (a closed pipe,
/// as in `... | head`, is not a crash).
macro_rules! say {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout(), $($arg)*).map_err(Error::Output)?
    };
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(Parsed::Run(options)) => options,
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Add the tool's simulated network latency ([`tools::LATENCY_MS`]).
fn with_network_latency(tool: Arc<dyn Tool>) -> Arc<dyn Tool> {
    let ms = tools::LATENCY_MS
        .iter()
        .find(|(name, _)| *name == tool.name())
        .map_or(0, |(_, ms)| *ms);
    Arc::new(toolcall_sim::with_latency(tool, Latency::fixed_ms(ms)))
}

async fn run(options: &Options) -> Result<(), Error> {
    let db = Db::open().await.map_err(Error::Database)?;
    let tools = ToolSet::builder()
        .tools(
            toolcall::tools![
                get_patient_demographics,
                get_active_medications,
                get_allergies,
                get_recent_labs,
            ]
            .map(with_network_latency),
        )
        .state(db.clone())
        .build()
        .map_err(Error::Tools)?;
    let model = choose_model(&options.patient_id)?;

    say!("Patient summary for {}", options.patient_id);
    say!("  database  {}", db.location);
    say!("  model     {}", model.about);
    say!(
        "  dispatch  {}, streaming {}",
        if options.sequential {
            "sequential"
        } else {
            "parallel"
        },
        if options.stream {
            "eager (each call starts as soon as its arguments are complete)"
        } else {
            "off"
        },
    );

    let agent = Agent::new(model.model, tools.clone())
        .model_name(model.name)
        .system(SYSTEM_PROMPT)
        .dispatch_options(if options.sequential {
            DispatchOptions::sequential()
        } else {
            DispatchOptions::parallel()
        })
        .streaming(if options.stream {
            Streaming::Eager
        } else {
            Streaming::Off
        });
    let run = agent
        .run(format!(
            "Summarize patient {} for the dashboard.",
            options.patient_id
        ))
        .await
        .map_err(|e| Error::Agent(Box::new(e)))?;

    print_rounds(&run)?;

    // The round with the most calls, run again both ways: the same calls,
    // the same tools, the same database.
    if let Some(calls) = run
        .rounds
        .iter()
        .map(|r| &r.tool_calls)
        .max_by_key(|calls| calls.len())
        .filter(|calls| !calls.is_empty())
    {
        compare(&tools, calls).await?;
    } else {
        say!("\nThe model answered without calling a tool: nothing to compare.");
    }

    say!("\nSummary (the whole run took {} ms):", millis(run.elapsed));
    if model.simulated {
        say!("  (the simulator answers by listing the tool results; a real model writes prose)");
    }
    for line in run.answer.lines() {
        say!("  {line}");
    }
    Ok(())
}

/// The model, its name in requests, and a line about it.
struct ChosenModel {
    model: Box<dyn Model>,
    name: String,
    about: String,
    simulated: bool,
}

/// The simulator, scripted to call the four tools at once and then answer
/// from their results; or the real API when `OPENAI_API_KEY` is set.
fn choose_model(patient_id: &str) -> Result<ChosenModel, Error> {
    let key = std::env::var("OPENAI_API_KEY").unwrap_or_default();
    if !key.trim().is_empty() {
        let model = OpenAiModel::from_env().map_err(Error::Model)?;
        let name = std::env::var("OPENAI_MODEL")
            .ok()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| model.default_model().to_owned());
        let about = format!("{name} at {} (OPENAI_API_KEY is set)", model.base_url());
        return Ok(ChosenModel {
            model: Box::new(model),
            name,
            about,
            simulated: false,
        });
    }
    let id = json!({ "patient_id": patient_id });
    let script = Script::new()
        .tool_calls([
            ScriptedCall::new("get_patient_demographics", id.clone()),
            ScriptedCall::new("get_active_medications", id.clone()),
            ScriptedCall::new("get_allergies", id),
            ScriptedCall::new(
                "get_recent_labs",
                json!({ "patient_id": patient_id, "limit": 5 }),
            ),
        ])
        // Then answer from the tool results, as the simulator's auto mode does.
        .auto();
    let model = SimModel::builder()
        .seed(7)
        .script(script)
        .model_latency(ModelLatency::new(
            Latency::fixed_ms(350),
            Latency::fixed_ms(4),
        ))
        .model();
    Ok(ChosenModel {
        model: Box::new(model),
        name: "gpt-4o-mini".to_owned(),
        about: "toolcall-sim, offline: 350 ms to first token, 4 ms per chunk \
                (set OPENAI_API_KEY for a real model)"
            .to_owned(),
        simulated: true,
    })
}

/// The calls of each round: arguments, start (from the start of the
/// dispatch, or of the model's reply when streaming), time and outcome.
fn print_rounds(run: &AgentRun) -> Result<(), Error> {
    for (i, round) in run.rounds.iter().enumerate() {
        let Some(batch) = &round.batch else {
            say!(
                "\nRound {}: the model answered in {} ms.",
                i + 1,
                millis(round.model_time)
            );
            continue;
        };
        say!(
            "\nRound {}: the model asked for {} tool call{} in {} ms; the round took {} ms.",
            i + 1,
            round.tool_calls.len(),
            if round.tool_calls.len() == 1 { "" } else { "s" },
            millis(round.model_time),
            millis(round.elapsed),
        );
        say!(
            "  {:<25} {:<36} {:>9} {:>9}  outcome",
            "tool",
            "arguments",
            "start",
            "took"
        );
        for (call, result) in round.tool_calls.iter().zip(&batch.results) {
            say!(
                "  {:<25} {:<36} {:>6} ms {:>6} ms  {}",
                call.name,
                call.arguments,
                millis(result.started),
                millis(result.elapsed),
                result.outcome,
            );
            if result.outcome != Outcome::Ok {
                say!("  {:<25} -> {}", "", result.content);
            }
        }
    }
    Ok(())
}

/// Run the calls sequentially then in parallel, print both times and the
/// speed-up, and write the timeline.
async fn compare(tools: &ToolSet, calls: &[ToolCall]) -> Result<(), Error> {
    let sequential = tools
        .dispatch(calls)
        .options(DispatchOptions::sequential())
        .await;
    let parallel = tools.dispatch(calls).await;
    let ratio = sequential.makespan.as_secs_f64() / parallel.makespan.as_secs_f64().max(1e-9);
    say!(
        "\nThe same {} calls, measured again both ways:",
        calls.len()
    );
    say!(
        "  sequential  {:>7} ms  (one after another)",
        millis(sequential.makespan)
    );
    say!(
        "  parallel    {:>7} ms  (all at once; the slowest call alone took {} ms)",
        millis(parallel.makespan),
        millis(
            parallel
                .results
                .iter()
                .map(|r| r.elapsed)
                .max()
                .unwrap_or_default()
        ),
    );
    say!(
        "  speed-up    {ratio:>7.2}x     ({} ms saved per turn)",
        millis(sequential.makespan.saturating_sub(parallel.makespan))
    );

    let svg = Timeline::new(format!(
        "{} tool calls: sequential {} ms vs parallel {} ms ({ratio:.2}x)",
        calls.len(),
        millis(sequential.makespan),
        millis(parallel.makespan),
    ))
    .lane("sequential", &sequential)
    .lane("parallel", &parallel)
    .to_svg();
    let path = timeline_path();
    std::fs::write(&path, svg).map_err(|e| Error::Write(path.clone(), e))?;
    say!("\nTimeline: {}", path.display());
    Ok(())
}

fn timeline_path() -> PathBuf {
    db::target_dir().join("patient_summary_timeline.svg")
}

fn millis(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// The command line.
#[derive(Debug, PartialEq)]
struct Options {
    patient_id: String,
    sequential: bool,
    stream: bool,
}

enum Parsed {
    Run(Options),
    Help,
}

impl Options {
    fn parse(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
        let mut options = Options {
            patient_id: "P-00001".to_owned(),
            sequential: false,
            stream: false,
        };
        let mut id_given = false;
        for arg in args {
            match arg.as_str() {
                "-h" | "--help" => return Ok(Parsed::Help),
                "--sequential" => options.sequential = true,
                "--stream" => options.stream = true,
                flag if flag.starts_with('-') => return Err(format!("unknown option `{flag}`")),
                _ if id_given => {
                    return Err(format!("one patient id only (got a second: `{arg}`)"));
                }
                _ => {
                    options.patient_id = arg;
                    id_given = true;
                }
            }
        }
        Ok(Parsed::Run(options))
    }
}

/// What stops the example, printed on stderr with a non-zero exit code.
#[derive(Debug)]
enum Error {
    Database(DbError),
    Tools(BuildError),
    Model(ModelError),
    Agent(Box<AgentError>),
    Write(PathBuf, std::io::Error),
    Output(std::io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Database(e) => write!(f, "{e}"),
            Error::Tools(e) => write!(f, "the tool set is invalid: {e}"),
            Error::Model(e) => write!(f, "cannot set up the model: {e}"),
            Error::Agent(e) => write!(f, "the agent stopped: {e}"),
            Error::Write(path, e) => write!(f, "cannot write {}: {e}", path.display()),
            Error::Output(e) => write!(f, "cannot print: {e}"),
        }
    }
}
