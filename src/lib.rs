//! Declare LLM tools with one attribute and run a model's parallel tool calls
//! concurrently, results in call order.
#![doc = include_str!("../README.md")]

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
#[doc(inline)]
pub use toolcall_macros::tool;
pub use toolcall_runtime::*;

#[cfg(feature = "sim")]
pub use toolcall_sim as sim;
