//! Tools declared in a library crate. With toolcall's `auto-register`
//! feature, the application collects them with one call,
//! `ToolSet::builder().registered()`, without naming them.

use toolcall::tool;

/// Convert a temperature from Celsius to Fahrenheit.
#[tool]
pub async fn celsius_to_fahrenheit(
    /// Degrees Celsius.
    celsius: f64,
) -> f64 {
    celsius * 9.0 / 5.0 + 32.0
}

/// Count the words in a text.
#[tool]
pub fn word_count(
    /// The text.
    text: String,
) -> usize {
    text.split_whitespace().count()
}
