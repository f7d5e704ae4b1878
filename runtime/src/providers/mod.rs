//! One module per wire format a model speaks, each behind its feature, over
//! the provider-neutral transcript (`Message`, `ToolCall`, `CallResult`).

#[cfg(feature = "anthropic")]
pub mod anthropic;
#[cfg(feature = "gemini")]
pub mod gemini;
#[cfg(feature = "http")]
pub(crate) mod http;
#[cfg(feature = "openai")]
pub mod openai_chat;
#[cfg(feature = "openai-client")]
pub(crate) mod openai_client;
#[cfg(feature = "openai-responses")]
pub mod openai_responses;
