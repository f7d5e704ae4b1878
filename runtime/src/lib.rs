//! Runtime of [toolcall](https://docs.rs/toolcall): the tool registry, gather-style
//! concurrent dispatch of a model's tool calls, and the agent loop.
//!
//! Use it through the `toolcall` crate, which re-exports everything here.
//! The root holds what an application needs; [`stream`] the pieces of
//! streamed dispatch, [`schema`] the schema rewrite, and [`providers`] each
//! wire format's model and conversions.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod agent;
mod approval;
mod assemble;
mod call;
mod content;
mod dispatch;
mod fields;
mod in_order;
mod message;
mod method;
mod model;
mod output;
mod output_schema;
pub mod plan;
pub mod providers;
mod reply;
mod resume;
mod run;
mod runner;
mod schedule;
pub mod schema;
mod settings;
mod shared_str;
mod state;
pub mod stream;
pub mod telemetry;
mod tool;
mod toolset;
mod typed_output;

#[cfg(feature = "auto-register")]
mod registry;

#[cfg(feature = "mcp")]
pub mod mcp;

// The file keeps its name; the module's carries the version of the interface.
#[doc(hidden)]
#[path = "__private.rs"]
pub mod __private01;

pub use agent::{Agent, AgentError, AgentErrorKind, AgentRun, Round, Streaming, Suspended};
pub use approval::{Approval, Decision};
pub use call::{CallResult, Outcome, ToolCall};
pub use content::{Content, ContentPart};
pub use dispatch::{Batch, Dispatch, DispatchOptions};
pub use message::{ChatRequest, ChatResponse, FinishReason, Message, ToolChoice, Usage};
pub use model::{EventStream, Model, ModelError, StreamEvent, ToolCallDelta};
pub use output::{ToolError, ToolOutput};
#[cfg(feature = "anthropic")]
pub use providers::anthropic::{AnthropicModel, AnthropicModelBuilder};
#[cfg(feature = "gemini")]
pub use providers::gemini::{GeminiModel, GeminiModelBuilder};
#[cfg(feature = "openai")]
pub use providers::openai_chat::{OpenAiModel, OpenAiModelBuilder};
#[cfg(feature = "openai-responses")]
pub use providers::openai_responses::{OpenAiResponsesModel, OpenAiResponsesModelBuilder};
pub use resume::{ResumeError, ResumeErrorKind};
pub use run::{RunCancel, RunEvent, RunStream};
pub use settings::{Effort, Reasoning, Settings};
pub use shared_str::SharedStr;
pub use state::{State, StateMap, StateNeed};
pub use stream::TextSink;
pub use tool::{
    BoxFuture, CallError, Tool, ToolAnnotations, ToolFn, ToolFuture, ToolPolicy, ToolReply,
};
pub use toolset::{BuildError, ToolDefinition, ToolSet, ToolSetBuilder};
pub use typed_output::{
    FINAL_ANSWER_TOOL, OutputError, OutputFormat, OutputMode, OutputSchemaError, TypedAgent,
    TypedRun, output_format,
};

/// Tools named by their `#[tool]` fns, for `ToolSetBuilder::tools`:
/// `ToolSet::builder().tools(tools![get_weather, get_time])`.
#[macro_export]
macro_rules! tools {
    ($($tool:ty),* $(,)?) => {
        [$($crate::__private01::fn_tool::<$tool>()),*]
    };
}
