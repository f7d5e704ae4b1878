//! Turning a tool fn's return value into the text the model sees.
//!
//! `Result<T, E: Display>` becomes an error reply on `Err`; anything else that
//! is `Serialize` is serialised, and a JSON string goes to the model as its
//! bare text. The choice is made by autoref specialisation in the code
//! `#[tool]` generates, where the concrete return type is known.

use std::fmt::Display;

use serde::Serialize;

use crate::output::{ToolError, ToolOutput};
use crate::tool::ToolReply;

/// Wraps a return value for the autoref dispatch below.
#[doc(hidden)]
pub struct Wrap<'a, T: ?Sized>(pub &'a T);

/// Chosen first: `Result<T, E>` with `E: Display`.
#[doc(hidden)]
pub trait ViaResult {
    fn __toolcall_reply(&self) -> ToolReply;
}

impl<T: Serialize, E: Display> ViaResult for Wrap<'_, Result<T, E>> {
    fn __toolcall_reply(&self) -> ToolReply {
        match self.0 {
            Ok(value) => serialize_reply(value),
            Err(error) => Err(ToolError::new(error.to_string())),
        }
    }
}

/// Chosen otherwise: any `T: Serialize`.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a tool's return type",
    label = "return a `T: Serialize` or a `Result<T, E>` with `E: Display`"
)]
pub trait ViaSerialize {
    fn __toolcall_reply(&self) -> ToolReply;
}

impl<T: Serialize + ?Sized> ViaSerialize for &Wrap<'_, T> {
    fn __toolcall_reply(&self) -> ToolReply {
        serialize_reply(self.0)
    }
}

/// Serialise a successful value; a JSON string is returned unquoted.
pub fn serialize_reply<T: Serialize + ?Sized>(value: &T) -> ToolReply {
    let output = ToolOutput::json(value)?;
    if output.as_text().starts_with('"') {
        // A string result reaches the model as is, not JSON-quoted.
        serde_json::from_str::<String>(output.as_text())
            .map(ToolOutput::text)
            .map_err(|e| ToolError::new(e.to_string()))
    } else {
        Ok(output)
    }
}
