//! Declare LLM tools with one attribute and run a model's parallel tool calls
//! concurrently, results in call order.
#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// Turn an ordinary `async fn` (or a plain `fn`, run on the blocking pool)
/// into a tool with a JSON Schema for its arguments.
///
/// ```
/// use toolcall::{ToolSet, tool};
///
/// /// Get the current weather for a city.
/// #[tool(timeout = "5s")]
/// async fn get_weather(
///     /// City name, e.g. "Paris".
///     city: String,
/// ) -> Result<String, std::io::Error> {
///     Ok(format!("sunny in {city}"))
/// }
///
/// # fn main() -> Result<(), toolcall::BuildError> {
/// let tools = ToolSet::builder().tool::<get_weather>().build()?;
/// let definition = &tools.definitions()[0];
/// assert_eq!(definition.name, "get_weather");
/// assert_eq!(definition.description, "Get the current weather for a city.");
/// assert_eq!(definition.parameters["properties"]["city"]["description"], "City name, e.g. \"Paris\".");
/// # Ok(())
/// # }
/// ```
///
/// # Timeouts and cancellation
///
/// - An `async fn` is cancelled where it awaits: at its timeout, the batch
///   deadline, a cancel signal, or when the dispatch is dropped, its future is
///   dropped and the call gets a `TimedOut` or `Cancelled` result.
/// - A plain `fn` runs on tokio's blocking pool. A call still waiting for a
///   blocking thread when it is cancelled never starts; a body already
///   running cannot be stopped: the call is answered at its timeout (the
///   result says so), the body runs on until it returns, and what it returns
///   is discarded. Under tokio's paused clock a plain fn's own time does not
///   count, so it never times out there.
/// - An `async fn` that blocks its thread (`std::thread::sleep`, heavy work
///   without an await) stalls the whole batch, its timers included: make it a
///   plain `fn` instead.
#[doc(inline)]
pub use toolcall_macros::tool;
pub use toolcall_runtime::*;

#[cfg(feature = "sim")]
pub use toolcall_sim as sim;
