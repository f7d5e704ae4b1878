//! The example's logic, apart from `main`: the command line, the model
//! choice, the run, and what it prints. Tests run it in process.

use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use toolcall::{
    Agent, AgentError, AgentRun, AnthropicModel, BuildError, DispatchOptions, GeminiModel, Model,
    ModelError, OpenAiModel, OpenAiResponsesModel, Outcome, OutputError, OutputSchemaError,
    Streaming, ToolCall, ToolSet,
};
use toolcall_sim::{Latency, ModelLatency, Script, ScriptedCall, Server, SimModel, Timeline};

use crate::db::{Db, DbError};
use crate::summary::PatientSummary;
use crate::tools;

pub const USAGE: &str = "\
Summarize a patient's record with an LLM that calls four database tools at once.

usage: cargo run --example patient_summary -- [PATIENT_ID] [--sequential] [--stream]
                                              [--provider NAME] [--typed]

  PATIENT_ID       the patient to summarize (default P-00001; the database has
                   P-00001, P-00002 and P-00003; any other id shows an error result)
  --sequential     the agent runs the model's tool calls one after another
  --stream         the agent streams the model's reply and starts each call as
                   soon as its arguments are complete
  --provider NAME  the wire format the model speaks: openai-chat (default),
                   openai-responses (OpenAI Responses), anthropic (Anthropic
                   Messages) or gemini (Google Gemini); offline, all but the
                   first go over HTTP to the simulator's server on 127.0.0.1
  --typed          ask for the answer as a typed `PatientSummary` (the
                   provider's native structured output) and print it
  -h, --help       this text

environment:
  DATABASE_URL    postgres://user:password@host/db to use PostgreSQL instead of
                  the embedded SQLite file under target/
  OPENAI_API_KEY  use the OpenAI API (or OPENAI_BASE_URL) instead of the simulator
  OPENAI_MODEL    the model name with OPENAI_API_KEY (default gpt-4o-mini)
  ANTHROPIC_API_KEY  with --provider anthropic: use the Anthropic API (or
                  ANTHROPIC_BASE_URL) instead of the simulator
  ANTHROPIC_MODEL the model name with ANTHROPIC_API_KEY (default claude-sonnet-5-5)
  GEMINI_API_KEY  with --provider gemini: use the Gemini API (or GEMINI_BASE_URL)
                  instead of the simulator; GOOGLE_API_KEY works too
  GEMINI_MODEL    the model name with GEMINI_API_KEY (default gemini-2.5-flash)";

/// What the clinical agent is told (the live_timeline example tells it too).
pub const SYSTEM_PROMPT: &str = "\
You are a clinical assistant preparing a patient summary for a physician. \
Call get_patient_demographics, get_active_medications, get_allergies and \
get_recent_labs for the patient, all four in one turn since they are \
independent. Then write a concise summary: who the patient is, active \
medications, allergies (flag any that conflict with a medication), and \
abnormal lab results. If a tool returns an error, say so plainly.";

/// `writeln!` to the example's output that returns the error instead of
/// panicking (a closed pipe, as in `... | head`, is not a crash).
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {
        writeln!($out, $($arg)*).map_err(Error::Output)?
    };
}

/// Where the example finds what the environment says; `main` fills it from
/// the process's environment, tests fill it themselves.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// `DATABASE_URL`: PostgreSQL (or an SQLite URL) instead of the embedded file.
    pub database_url: Option<String>,
    /// `OPENAI_API_KEY`: use the real API instead of the simulator.
    pub openai_api_key: Option<String>,
    /// `OPENAI_MODEL`: the model name with the real API.
    pub openai_model: Option<String>,
    /// `ANTHROPIC_API_KEY`: with `--provider anthropic`, the real API.
    pub anthropic_api_key: Option<String>,
    /// `ANTHROPIC_MODEL`: the model name with the real Anthropic API.
    pub anthropic_model: Option<String>,
    /// `GEMINI_API_KEY` (or `GOOGLE_API_KEY`): with `--provider gemini`, the real API.
    pub gemini_api_key: Option<String>,
    /// `GEMINI_MODEL`: the model name with the real Gemini API.
    pub gemini_model: Option<String>,
    /// Where to write the SVG timeline.
    pub timeline: PathBuf,
}

impl Env {
    /// The process's environment, and the timeline under `target/`.
    pub fn from_process() -> Env {
        let var = |name| {
            std::env::var(name)
                .ok()
                .filter(|v: &String| !v.trim().is_empty())
        };
        Env {
            database_url: var("DATABASE_URL"),
            openai_api_key: var("OPENAI_API_KEY"),
            openai_model: var("OPENAI_MODEL"),
            anthropic_api_key: var("ANTHROPIC_API_KEY"),
            anthropic_model: var("ANTHROPIC_MODEL"),
            gemini_api_key: var("GEMINI_API_KEY").or_else(|| var("GOOGLE_API_KEY")),
            gemini_model: var("GEMINI_MODEL"),
            timeline: crate::db::target_dir().join("patient_summary_timeline.svg"),
        }
    }
}

/// Run the example: open the database, build the tools, run the agent,
/// compare sequential and parallel, write the timeline, print to `out`.
pub async fn run(options: &Options, env: &Env, out: &mut dyn Write) -> Result<(), Error> {
    let db = Db::open(env.database_url.as_deref())
        .await
        .map_err(Error::Database)?;
    let tools = ToolSet::builder()
        .tools(tools::with_network_latency())
        .state(db.clone())
        .build()
        .map_err(Error::Tools)?;
    let model = choose_model(options, env).await?;

    say!(out, "Patient summary for {}", options.patient_id);
    say!(out, "  database  {}", db.location);
    say!(out, "  model     {}", model.about);
    say!(
        out,
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
        .agent_name("patient_summary")
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
    let question = format!(
        "Summarize patient {} for the dashboard.",
        options.patient_id
    );
    let (run, typed) = if options.typed {
        let typed = agent
            .output::<PatientSummary>()
            .map_err(Error::OutputType)?
            .run(question)
            .await
            .map_err(Error::Typed)?;
        (typed.run, Some(typed.output))
    } else {
        let run = agent
            .run(question)
            .await
            .map_err(|e| Error::Agent(Box::new(e)))?;
        (run, None)
    };

    print_rounds(&run, out)?;

    // The round with the most calls, run again both ways: the same calls,
    // the same tools, the same database.
    if let Some(calls) = run
        .rounds
        .iter()
        .map(|r| &r.tool_calls)
        .max_by_key(|calls| calls.len())
        .filter(|calls| !calls.is_empty())
    {
        compare(&tools, calls, &env.timeline, out).await?;
    } else {
        say!(
            out,
            "\nThe model answered without calling a tool: nothing to compare."
        );
    }

    say!(
        out,
        "\nSummary (the whole run took {} ms):",
        millis(run.elapsed)
    );
    if model.simulated {
        say!(
            out,
            "  (the simulator answers by listing the tool results; a real model writes prose)"
        );
    }
    match typed {
        Some(summary) => {
            say!(
                out,
                "  (a typed PatientSummary, read from the structured answer)"
            );
            for line in summary.to_string().lines() {
                say!(out, "  {line}");
            }
        }
        None => {
            for line in run.answer.lines() {
                say!(out, "  {line}");
            }
        }
    }
    Ok(())
}

/// The model, its name in requests, and a line about it.
pub struct ChosenModel {
    model: Box<dyn Model>,
    name: String,
    about: String,
    simulated: bool,
    /// The simulator's server the model talks to, kept running.
    _server: Option<Server>,
}

/// The model for `--provider`: the real API when its key is set, else the
/// simulator, scripted to call the four tools at once and then answer from
/// their results.
async fn choose_model(options: &Options, env: &Env) -> Result<ChosenModel, Error> {
    match options.provider {
        Provider::OpenAiChat => openai_chat(&options.patient_id, env),
        Provider::OpenAiResponses => openai_responses(&options.patient_id, env).await,
        Provider::Anthropic => anthropic(&options.patient_id, env).await,
        Provider::Gemini => gemini(&options.patient_id, env).await,
    }
}

/// Google Gemini: the real API with `GEMINI_API_KEY`, else the simulator's
/// HTTP server on 127.0.0.1, spoken to in Gemini's wire format by the same
/// `GeminiModel`.
async fn gemini(patient_id: &str, env: &Env) -> Result<ChosenModel, Error> {
    const SIM_KEY: &str = "gemini-sim-key";
    let (builder, server) = match &env.gemini_api_key {
        Some(key) => (GeminiModel::builder().api_key(key), None),
        None => {
            let server = Server::builder()
                .seed(7)
                .script(script(patient_id))
                .model_latency(simulated_latency())
                .api_key(SIM_KEY)
                .start()
                .await
                .map_err(|e| Error::Model(ModelError::transport(e)))?;
            let builder = GeminiModel::builder()
                .base_url(format!("http://{}", server.addr()))
                .api_key(SIM_KEY);
            (builder, Some(server))
        }
    };
    let builder = match &env.gemini_model {
        Some(name) => builder.model(name),
        None => builder,
    };
    let model = builder.build().map_err(Error::Model)?;
    let name = model.default_model().to_owned();
    let url = model.method_url(&name, "generateContent");
    let about = match server {
        Some(_) => format!(
            "toolcall-sim at {url}, offline: 350 ms to first token, 4 ms per chunk \
             (set GEMINI_API_KEY for a real model)"
        ),
        None => format!("{name} at {url} (GEMINI_API_KEY is set)"),
    };
    Ok(ChosenModel {
        about,
        name,
        model: Box::new(model),
        simulated: server.is_some(),
        _server: server,
    })
}

/// Anthropic Messages: the real API with `ANTHROPIC_API_KEY`, else the
/// simulator's HTTP server on 127.0.0.1, spoken to in Anthropic's wire
/// format by the same `AnthropicModel`.
async fn anthropic(patient_id: &str, env: &Env) -> Result<ChosenModel, Error> {
    let (builder, server) = match &env.anthropic_api_key {
        Some(key) => (AnthropicModel::builder().api_key(key), None),
        None => {
            let server = Server::builder()
                .seed(7)
                .script(script(patient_id))
                .model_latency(simulated_latency())
                .api_key("sk-ant-sim")
                .start()
                .await
                .map_err(|e| Error::Model(ModelError::transport(e)))?;
            let builder = AnthropicModel::builder()
                .base_url(format!("http://{}", server.addr()))
                .api_key("sk-ant-sim");
            (builder, Some(server))
        }
    };
    let builder = match &env.anthropic_model {
        Some(name) => builder.model(name),
        None => builder,
    };
    let model = builder.build().map_err(Error::Model)?;
    let name = model.default_model().to_owned();
    let url = model.messages_url();
    let about = match server {
        Some(_) => format!(
            "toolcall-sim at {url}, offline: 350 ms to first token, 4 ms per chunk \
             (set ANTHROPIC_API_KEY for a real model)"
        ),
        None => format!("{name} at {url} (ANTHROPIC_API_KEY is set)"),
    };
    Ok(ChosenModel {
        about,
        name,
        model: Box::new(model),
        simulated: server.is_some(),
        _server: server,
    })
}

/// The script the simulator follows: the four calls at once, then an answer
/// from their results (as its auto mode does).
pub fn script(patient_id: &str) -> Script {
    let id = json!({ "patient_id": patient_id });
    Script::new()
        .tool_calls([
            ScriptedCall::new("get_patient_demographics", id.clone()),
            ScriptedCall::new("get_active_medications", id.clone()),
            ScriptedCall::new("get_allergies", id),
            ScriptedCall::new(
                "get_recent_labs",
                json!({ "patient_id": patient_id, "limit": 5 }),
            ),
        ])
        .auto()
}

/// The simulated model's latency: 350 ms to the first token, 4 ms a chunk.
pub fn simulated_latency() -> ModelLatency {
    ModelLatency::new(Latency::fixed_ms(350), Latency::fixed_ms(4))
}

/// OpenAI Chat Completions: the real API with `OPENAI_API_KEY`, else the
/// simulator in process.
fn openai_chat(patient_id: &str, env: &Env) -> Result<ChosenModel, Error> {
    if let Some(key) = &env.openai_api_key {
        let model = OpenAiModel::builder()
            .api_key(key)
            .build()
            .map_err(Error::Model)?;
        let name = env
            .openai_model
            .clone()
            .unwrap_or_else(|| model.default_model().to_owned());
        let about = format!("{name} at {} (OPENAI_API_KEY is set)", model.base_url());
        return Ok(ChosenModel {
            model: Box::new(model),
            name,
            about,
            simulated: false,
            _server: None,
        });
    }
    let model = SimModel::builder()
        .seed(7)
        .script(script(patient_id))
        .model_latency(simulated_latency())
        .model();
    Ok(ChosenModel {
        model: Box::new(model),
        name: "gpt-4o-mini".to_owned(),
        about: "toolcall-sim, offline: 350 ms to first token, 4 ms per chunk \
                (set OPENAI_API_KEY for a real model)"
            .to_owned(),
        simulated: true,
        _server: None,
    })
}

/// OpenAI Responses, chained with `previous_response_id`: the real API with
/// `OPENAI_API_KEY`, else the simulator's `/v1/responses` over HTTP on
/// 127.0.0.1.
async fn openai_responses(patient_id: &str, env: &Env) -> Result<ChosenModel, Error> {
    let builder = OpenAiResponsesModel::builder().chain_responses(true);
    let (builder, server) = match &env.openai_api_key {
        Some(key) => (builder.api_key(key), None),
        None => {
            let server = SimModel::builder()
                .seed(7)
                .script(script(patient_id))
                .model_latency(simulated_latency())
                .server()
                .start()
                .await
                .map_err(|e| Error::Model(ModelError::transport(e)))?;
            (
                builder.base_url(server.base_url()).api_key("sk-sim"),
                Some(server),
            )
        }
    };
    let model = builder.build().map_err(Error::Model)?;
    let name = match (&server, &env.openai_model) {
        (None, Some(name)) => name.clone(),
        (None, None) => model.default_model().to_owned(),
        (Some(_), _) => "gpt-4o-mini".to_owned(),
    };
    let about = match &server {
        None => format!(
            "{name} at {}/responses (OPENAI_API_KEY is set)",
            model.base_url()
        ),
        Some(server) => format!(
            "toolcall-sim at {}/responses, offline: 350 ms to first token, \
             4 ms per chunk (set OPENAI_API_KEY for a real model)",
            server.base_url()
        ),
    };
    Ok(ChosenModel {
        model: Box::new(model),
        name,
        about,
        simulated: server.is_some(),
        _server: server,
    })
}

/// The calls of each round: arguments, start (from the start of the
/// dispatch, or of the model's reply when streaming), time and outcome.
fn print_rounds(run: &AgentRun, out: &mut dyn Write) -> Result<(), Error> {
    for (i, round) in run.rounds.iter().enumerate() {
        let Some(batch) = &round.batch else {
            say!(
                out,
                "\nRound {}: the model answered in {} ms.",
                i + 1,
                millis(round.model_time)
            );
            continue;
        };
        say!(
            out,
            "\nRound {}: the model asked for {} tool call{} in {} ms; the round took {} ms.",
            i + 1,
            round.tool_calls.len(),
            if round.tool_calls.len() == 1 { "" } else { "s" },
            millis(round.model_time),
            millis(round.elapsed),
        );
        say!(
            out,
            "  {:<25} {:<36} {:>9} {:>9}  outcome",
            "tool",
            "arguments",
            "start",
            "took"
        );
        for (call, result) in round.tool_calls.iter().zip(&batch.results) {
            say!(
                out,
                "  {:<25} {:<36} {:>6} ms {:>6} ms  {}",
                call.name,
                call.arguments,
                millis(result.started),
                millis(result.elapsed),
                result.outcome,
            );
            if result.outcome != Outcome::Ok {
                say!(out, "  {:<25} -> {}", "", result.content);
            }
        }
    }
    Ok(())
}

/// Run the calls sequentially then in parallel, print both times and the
/// speed-up, and write the timeline.
async fn compare(
    tools: &ToolSet,
    calls: &[ToolCall],
    timeline: &std::path::Path,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let sequential = tools
        .dispatch(calls)
        .options(DispatchOptions::sequential())
        .await;
    let parallel = tools.dispatch(calls).await;
    let ratio = sequential.makespan.as_secs_f64() / parallel.makespan.as_secs_f64().max(1e-9);
    say!(
        out,
        "\nThe same {} calls, measured again both ways:",
        calls.len()
    );
    say!(
        out,
        "  sequential  {:>7} ms  (one after another)",
        millis(sequential.makespan)
    );
    say!(
        out,
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
        out,
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
    std::fs::write(timeline, svg).map_err(|e| Error::Write(timeline.to_owned(), e))?;
    say!(out, "\nTimeline: {}", timeline.display());
    Ok(())
}

fn millis(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// The wire format the model speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Provider {
    /// OpenAI Chat Completions.
    #[default]
    OpenAiChat,
    /// OpenAI Responses.
    OpenAiResponses,
    /// Anthropic Messages.
    Anthropic,
    /// Google Gemini.
    Gemini,
}

impl Provider {
    const NAMES: &str = "openai-chat, openai-responses, anthropic, gemini";

    fn parse(name: &str) -> Result<Provider, String> {
        match name {
            "openai-chat" => Ok(Provider::OpenAiChat),
            "openai-responses" => Ok(Provider::OpenAiResponses),
            "anthropic" => Ok(Provider::Anthropic),
            "gemini" => Ok(Provider::Gemini),
            other => Err(format!(
                "unknown provider `{other}`: expected one of {}",
                Provider::NAMES
            )),
        }
    }
}

/// The command line.
#[derive(Debug, PartialEq)]
pub struct Options {
    /// The patient to summarize.
    pub patient_id: String,
    /// Run the calls one after another.
    pub sequential: bool,
    /// Stream the replies and start each call eagerly.
    pub stream: bool,
    /// The wire format.
    pub provider: Provider,
    /// Ask for a typed `PatientSummary`.
    pub typed: bool,
}

/// What the command line asks for.
pub enum Parsed {
    /// Run with these options.
    Run(Options),
    /// Print the usage.
    Help,
}

impl Options {
    /// Read the arguments (without the program name).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
        let mut options = Options {
            patient_id: "P-00001".to_owned(),
            sequential: false,
            stream: false,
            provider: Provider::default(),
            typed: false,
        };
        let mut id_given = false;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "-h" | "--help" => return Ok(Parsed::Help),
                "--sequential" => options.sequential = true,
                "--stream" => options.stream = true,
                "--typed" => options.typed = true,
                "--provider" => {
                    let name = args
                        .next()
                        .ok_or_else(|| format!("`--provider` takes a name: {}", Provider::NAMES))?;
                    options.provider = Provider::parse(&name)?;
                }
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
pub enum Error {
    Database(DbError),
    Tools(BuildError),
    Model(ModelError),
    Agent(Box<AgentError>),
    OutputType(OutputSchemaError),
    Typed(OutputError),
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
            Error::OutputType(e) => write!(f, "the output type is invalid: {e}"),
            Error::Typed(e) => write!(f, "no typed summary: {e}"),
            Error::Write(path, e) => write!(f, "cannot write {}: {e}", path.display()),
            Error::Output(e) => write!(f, "cannot print: {e}"),
        }
    }
}
