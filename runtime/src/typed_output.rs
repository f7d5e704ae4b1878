//! Typed output: a run whose answer is a `T: DeserializeOwned + JsonSchema`.
//! The schema of `T` goes through the same rewrite and checks as tool
//! parameters (`schema.rs`: ranges, strict mode) when the agent is asked
//! for it, not per run; the answer is asked for in one of three modes and
//! parsed into `T`, an answer that does not parse going back to the model
//! with the error (as a bad tool argument does) within a retry budget.

use std::marker::PhantomData;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::agent::{Agent, AgentError, AgentRun};
use crate::message::{ChatRequest, Message, ToolChoice};
use crate::model::Model;
use crate::schema::{self, StrictError};
use crate::settings::Settings;
use crate::toolset::ToolDefinition;

/// The answer's JSON Schema as a request carries it for native structured
/// output; each provider writes it in its own field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputFormat {
    /// A name for the schema (`^[a-zA-Z0-9_-]{1,64}$`).
    pub name: String,
    /// The JSON Schema of the answer.
    pub schema: Value,
    /// Whether the schema is strict (every object closed, every property required).
    pub strict: bool,
}

/// How a typed answer is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OutputMode {
    /// The provider's structured output (Chat `response_format`,
    /// Responses `text.format`, Anthropic `output_config.format`); the
    /// default, since every provider here has it.
    #[default]
    Native,
    /// A final-answer tool the model calls with the answer as arguments:
    /// works with any server that takes tools, alongside the other tools.
    Tool,
    /// The schema in the instructions, for servers with neither.
    Prompted,
}

/// The name of the final-answer tool in [`OutputMode::Tool`].
pub const FINAL_ANSWER_TOOL: &str = "final_answer";

/// The default number of times an unreadable answer goes back to the model.
const DEFAULT_RETRIES: usize = 2;

/// How a typed run shapes each request of the agent loop.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunShape {
    /// Settings over the agent's own.
    pub settings: Option<Settings>,
    /// Native structured output.
    pub output: Option<OutputFormat>,
    /// The final-answer tool (tool mode), whose call ends the run.
    pub final_tool: Option<String>,
    pub final_definition: Option<ToolDefinition>,
}

impl RunShape {
    pub(crate) fn apply(&self, request: &mut ChatRequest) {
        if let Some(settings) = &self.settings {
            request.settings = request.settings.merged(settings);
        }
        request.output.clone_from(&self.output);
        if let Some(definition) = &self.final_definition {
            request.tools.push(definition.clone());
            request.tool_choice = Some(ToolChoice::Required);
        }
    }
}

/// Why `T` cannot be a typed output.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutputSchemaError {
    /// The schema has no strict form (its root is not an object, it has an
    /// open map...): the same check tool parameters get.
    NotStrict {
        /// The type.
        type_name: String,
        /// Where and why.
        error: StrictError,
    },
    /// The agent already has a tool named as the final-answer tool.
    ToolNameTaken(String),
}

impl std::fmt::Display for OutputSchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutputSchemaError::NotStrict { type_name, error } => write!(
                f,
                "the output type `{type_name}` has no strict JSON Schema {error}"
            ),
            OutputSchemaError::ToolNameTaken(name) => write!(
                f,
                "a tool is already named `{name}`, the name of the final-answer tool"
            ),
        }
    }
}

impl std::error::Error for OutputSchemaError {}

/// Why a typed run has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutputError {
    /// The run itself failed (model error, round limit...).
    Run(AgentError),
    /// Every answer, retries included, failed to parse into the type.
    Invalid {
        /// The last answer's text, as the model gave it.
        raw: String,
        /// Why it did not parse.
        error: String,
        /// How many answers were tried.
        attempts: usize,
        /// The conversation, with every attempt.
        transcript: Vec<Message>,
    },
}

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutputError::Run(error) => error.fmt(f),
            OutputError::Invalid {
                error, attempts, ..
            } => write!(
                f,
                "the answer did not fit the output type after {attempts} attempts: {error}"
            ),
        }
    }
}

impl std::error::Error for OutputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OutputError::Run(error) => Some(error),
            OutputError::Invalid { .. } => None,
        }
    }
}

impl From<AgentError> for OutputError {
    fn from(error: AgentError) -> Self {
        OutputError::Run(error)
    }
}

/// A finished typed run: the answer as a `T`, and the run behind it (its
/// rounds and usage over every attempt).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TypedRun<T> {
    /// The answer.
    pub output: T,
    /// The run; `answer` is the text `output` was read from.
    pub run: AgentRun,
}

/// An agent whose runs answer with a `T`: made by [`Agent::output`].
#[derive(Debug)]
pub struct TypedAgent<'a, M, T> {
    agent: &'a Agent<M>,
    format: OutputFormat,
    mode: OutputMode,
    retries: usize,
    settings: Option<Settings>,
    marker: PhantomData<fn() -> T>,
}

impl<M: Model> Agent<M> {
    /// Runs of this agent whose answer is a `T`, asked for natively
    /// ([`OutputMode::Native`]; see [`TypedAgent::mode`]). The schema of
    /// `T` is built and checked here, once, as a tool's parameters are: an
    /// error when it has no strict form.
    ///
    /// ```
    /// # use toolcall_runtime::{Agent, BoxFuture, ChatRequest, ChatResponse, Model, ModelError, ToolSet};
    /// # struct Canned;
    /// # impl Model for Canned {
    /// #     fn complete<'a>(&'a self, _: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse, ModelError>> {
    /// #         Box::pin(async { Ok(ChatResponse::text(r#"{"city":"Paris","celsius":21}"#)) })
    /// #     }
    /// # }
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Weather {
    ///     city: String,
    ///     celsius: i32,
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let agent = Agent::new(Canned, ToolSet::builder().build()?);
    /// let weather = agent.output::<Weather>()?.run("Weather in Paris?").await?.output;
    /// assert_eq!((weather.city.as_str(), weather.celsius), ("Paris", 21));
    /// # Ok(())
    /// # }
    /// ```
    pub fn output<T: DeserializeOwned + JsonSchema>(
        &self,
    ) -> Result<TypedAgent<'_, M, T>, OutputSchemaError> {
        Ok(TypedAgent {
            agent: self,
            format: output_format::<T>()?,
            mode: OutputMode::default(),
            retries: DEFAULT_RETRIES,
            settings: None,
            marker: PhantomData,
        })
    }
}

/// The strict schema of `T`, named after it.
pub fn output_format<T: JsonSchema>() -> Result<OutputFormat, OutputSchemaError> {
    let mut generator = schema::generator();
    let mut generated = schema::parameters_of::<T>(&mut generator);
    schema::add_ranges(&mut generated);
    let strict = schema::to_strict(generated).map_err(|error| OutputSchemaError::NotStrict {
        type_name: T::schema_name().into_owned(),
        error,
    })?;
    Ok(OutputFormat {
        name: schema_name(&T::schema_name()),
        schema: strict,
        strict: true,
    })
}

/// A type's schema name as the APIs take names: `[a-zA-Z0-9_-]`, at most 64.
fn schema_name(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if name.is_empty() {
        "output".to_owned()
    } else {
        name
    }
}

impl<M: Model, T: DeserializeOwned> TypedAgent<'_, M, T> {
    /// How the answer is asked for (default [`OutputMode::Native`]).
    pub fn mode(mut self, mode: OutputMode) -> Self {
        self.mode = mode;
        self
    }

    /// How many times an answer that does not parse goes back to the
    /// model with the error before the run fails (default 2).
    pub fn retries(mut self, retries: usize) -> Self {
        self.retries = retries;
        self
    }

    /// Settings for these runs, over the agent's own.
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = Some(settings);
        self
    }

    /// The schema sent for the answer.
    pub fn format(&self) -> &OutputFormat {
        &self.format
    }

    /// Run from one user message.
    pub async fn run(&self, user: impl Into<crate::Content>) -> Result<TypedRun<T>, OutputError> {
        self.run_messages(self.agent.opening(Message::user(user)))
            .await
    }

    /// Run from a conversation.
    pub async fn run_messages(
        &self,
        mut messages: Vec<Message>,
    ) -> Result<TypedRun<T>, OutputError> {
        let shape = self.shape()?;
        if self.mode == OutputMode::Prompted {
            let at = messages
                .iter()
                .take_while(|m| matches!(m, Message::System { .. }))
                .count();
            messages.insert(at, Message::system(self.instructions()));
        }
        let mut total: Option<AgentRun> = None;
        let mut attempts = 0;
        loop {
            let run = self.agent.run_shaped(messages, &shape).await;
            let run = match (run, &mut total) {
                (Ok(run), None) => run,
                (Ok(run), Some(before)) => joined(before, run),
                (Err(mut error), Some(before)) => {
                    let mut rounds = std::mem::take(&mut before.rounds);
                    rounds.append(&mut error.rounds);
                    error.rounds = rounds;
                    return Err(OutputError::Run(error));
                }
                (Err(error), None) => return Err(OutputError::Run(error)),
            };
            attempts += 1;
            match parse::<T>(&run.answer) {
                Ok(output) => return Ok(TypedRun { output, run }),
                Err(error) if attempts > self.retries => {
                    return Err(OutputError::Invalid {
                        raw: run.answer,
                        error,
                        attempts,
                        transcript: run.transcript,
                    });
                }
                Err(error) => {
                    messages = run.transcript.clone();
                    self.push_retry(&mut messages, &error);
                    total = Some(run);
                }
            }
        }
    }

    fn shape(&self) -> Result<RunShape, OutputError> {
        let mut shape = RunShape {
            settings: self.settings.clone(),
            ..RunShape::default()
        };
        match self.mode {
            OutputMode::Native => shape.output = Some(self.format.clone()),
            OutputMode::Tool => {
                shape.final_tool = Some(FINAL_ANSWER_TOOL.to_owned());
                shape.final_definition = Some(
                    ToolDefinition::new(
                        FINAL_ANSWER_TOOL,
                        format!(
                            "Give the final answer (a `{}`): call this once, with the whole answer as the arguments.",
                            self.format.name
                        ),
                        self.format.schema.clone(),
                    )
                    .with_strict(self.format.strict),
                );
            }
            OutputMode::Prompted => {}
        }
        Ok(shape)
    }

    fn instructions(&self) -> String {
        format!(
            "Answer with one JSON value and nothing else (no prose, no code fence), valid for this JSON Schema:\n{}",
            self.format.schema
        )
    }

    /// The error for the model, where it reads it: the final-answer call's
    /// result in tool mode (with a result for each other call, which did
    /// not run), a user message otherwise.
    fn push_retry(&self, messages: &mut Vec<Message>, error: &str) {
        let calls = match messages.last() {
            Some(Message::Assistant { tool_calls, .. }) if self.mode == OutputMode::Tool => {
                tool_calls.clone()
            }
            _ => Vec::new(),
        };
        if calls.is_empty() {
            messages.push(Message::user(format!(
                "Your answer could not be read as the requested JSON: {error}. Answer again with only the corrected JSON."
            )));
            return;
        }
        for call in calls {
            let text = if call.name == FINAL_ANSWER_TOOL {
                format!(
                    "invalid arguments: {error}. Call `{FINAL_ANSWER_TOOL}` again with corrected arguments."
                )
            } else {
                format!(
                    "not run: `{FINAL_ANSWER_TOOL}` was called in the same message; call this again if it is still needed."
                )
            };
            messages.push(Message::Tool {
                tool_call_id: call.id.to_string(),
                content: text,
                parts: Vec::new(),
                is_error: true,
            });
        }
    }
}

/// Two attempts as one run: rounds and usage of both, the later answer.
fn joined(before: &mut AgentRun, mut after: AgentRun) -> AgentRun {
    let mut rounds = std::mem::take(&mut before.rounds);
    rounds.append(&mut after.rounds);
    after.rounds = rounds;
    after.usage += before.usage;
    after.elapsed += before.elapsed;
    after
}

/// The answer read as a `T`: the JSON itself, or inside a code fence.
fn parse<T: DeserializeOwned>(answer: &str) -> Result<T, String> {
    let text = answer.trim();
    let text = text
        .strip_prefix("```json")
        .or_else(|| text.strip_prefix("```"))
        .and_then(|t| t.strip_suffix("```"))
        .map_or(text, str::trim);
    serde_json::from_str(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, JsonSchema, PartialEq)]
    struct Point {
        x: i32,
        /// Optional label.
        label: Option<String>,
    }

    #[test]
    fn the_schema_is_strict_and_named() {
        let format = output_format::<Point>().expect("a strict schema");
        assert_eq!(format.name, "Point");
        assert_eq!(format.schema["additionalProperties"], Value::Bool(false));
        assert_eq!(format.schema["required"], serde_json::json!(["x", "label"]));
        let open = output_format::<std::collections::HashMap<String, i32>>();
        assert!(
            matches!(open, Err(OutputSchemaError::NotStrict { .. })),
            "{open:?}"
        );
        let root = output_format::<Vec<i32>>();
        assert!(
            matches!(root, Err(OutputSchemaError::NotStrict { .. })),
            "{root:?}"
        );
    }

    #[test]
    fn answers_parse_bare_or_fenced() {
        let want = Point { x: 1, label: None };
        assert_eq!(parse::<Point>(r#" {"x":1,"label":null} "#), Ok(want));
        assert!(parse::<Point>("```json\n{\"x\":2,\"label\":\"a\"}\n```").is_ok());
        let error = parse::<Point>(r#"{"x":"one"}"#).expect_err("a string is not an i32");
        assert!(error.contains("invalid type"), "{error}");
    }

    #[test]
    fn schema_names_fit_the_api() {
        assert_eq!(schema_name("Vec<Point>"), "Vec_Point_");
        assert_eq!(schema_name(""), "output");
        assert_eq!(schema_name(&"a".repeat(80)).len(), 64);
    }
}
