//! Runtime of [toolcall](https://docs.rs/toolcall): the tool registry, gather-style
//! concurrent dispatch of a model's tool calls, and the agent loop.
//!
//! Use it through the `toolcall` crate, which re-exports everything here.

mod agent;
mod assemble;
mod call;
mod convert;
mod dispatch;
mod message;
mod model;
#[cfg(feature = "openai")]
mod openai;
mod reply;
mod runner;
pub mod schema;
mod state;
mod stream;
mod timeline;
mod tool;
mod toolset;

#[cfg(feature = "auto-register")]
mod registry;

#[doc(hidden)]
pub mod __private;

pub use agent::{
    Agent, AgentError, AgentErrorKind, AgentRun, DEFAULT_MAX_ROUNDS, Round, Streaming,
};
pub use assemble::CallAssembler;
pub use call::{CallResult, Outcome, ToolCall};
pub use convert::{ConvertError, chunk_events};
pub use dispatch::{Batch, DEFAULT_MAX_ARGUMENT_BYTES, Dispatch, DispatchOptions};
pub use message::{ChatRequest, ChatResponse, FinishReason, Message, ToolChoice, Usage};
pub use model::{EventStream, Model, ModelError, StreamEvent, ToolCallDelta, response_events};
#[cfg(feature = "openai")]
pub use openai::{OpenAiModel, OpenAiModelBuilder};
pub use state::{State, StateMap, StateNeed};
pub use stream::{StreamDispatch, StreamedTurn, TextSink};
pub use timeline::{Timeline, timeline_svg};
pub use tool::{BoxFuture, CallError, Tool, ToolFn, ToolFuture, ToolPolicy, ToolReply};
pub use toolset::{BuildError, ToolDefinition, ToolSet, ToolSetBuilder, is_valid_tool_name};

/// Tools named by their `#[tool]` fns, for `ToolSetBuilder::tools`:
/// `ToolSet::builder().tools(tools![get_weather, get_time])`.
#[macro_export]
macro_rules! tools {
    ($($tool:ty),* $(,)?) => {
        [$($crate::__private::fn_tool::<$tool>()),*]
    };
}
