//! One module per wire format a model speaks, each behind its feature, over
//! the provider-neutral transcript (`Message`, `ToolCall`, `CallResult`).

#[cfg(feature = "anthropic")]
pub mod anthropic;
#[cfg(feature = "gemini")]
pub mod gemini;
#[cfg(feature = "http")]
pub(crate) mod http;
/// The rustls provider the HTTP clients use (reqwest is built without one).
#[cfg(feature = "http")]
pub use http::install_ring as install_tls_provider;
#[cfg(feature = "openai")]
pub mod openai_chat;
#[cfg(feature = "openai-client")]
pub(crate) mod openai_client;
#[cfg(feature = "openai-responses")]
pub mod openai_responses;

/// The shapes the Anthropic and Gemini request writers share.
#[cfg(any(feature = "anthropic", feature = "gemini"))]
pub(crate) mod shared {
    use serde_json::{Map, Value, json};

    /// An item for the user's side, in the list under `key` (`content`
    /// blocks, `parts`): consecutive user-side items (a turn's results,
    /// then any text) share one user message.
    pub(crate) fn push_user(messages: &mut Vec<Value>, key: &str, item: Value) {
        if let Some(last) = messages.last_mut()
            && last["role"] == "user"
            && let Some(items) = last[key].as_array_mut()
        {
            items.push(item);
            return;
        }
        messages.push(json!({"role": "user", key: [item]}));
    }

    /// A call's arguments as the object the API wants; text that is not an
    /// object (a model's malformed call, already answered with an error) is
    /// sent as `{}`.
    pub(crate) fn arguments_object(arguments: &str) -> Value {
        match serde_json::from_str::<Value>(arguments) {
            Ok(value @ Value::Object(_)) => value,
            _ => Value::Object(Map::new()),
        }
    }
}
