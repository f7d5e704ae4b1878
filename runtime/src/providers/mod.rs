//! One module per wire format a model speaks, each behind its feature, over
//! the provider-neutral transcript (`Message`, `ToolCall`, `CallResult`).

#[cfg(feature = "anthropic")]
pub mod anthropic;
#[cfg(feature = "http")]
pub(crate) mod http;
#[cfg(feature = "openai")]
pub mod openai_chat;
