//! Turning a tool fn's return value into the text the model sees.
//!
//! The rule: a value serde writes as a string (`String`, `&str`,
//! `Cow<str>`, `char`, and newtypes of them) reaches the model as that text,
//! as it is, without a JSON round trip; any other value as its compact JSON
//! (so a unit enum variant is the JSON string `"red"`, quotes included).
//! `Result<T, E: Display>` gives an error reply with `E`'s text on `Err`.
//!
//! `#[tool]` generates one call into this module per tool: the choice
//! between `Result` and any other value is made by autoref dispatch where
//! the concrete return type is known.

use std::fmt::{self, Display};

use serde::Serialize;
use serde::ser::{self, Impossible};

use crate::output::{ToolError, ToolOutput};
use crate::tool::ToolReply;

/// Wraps a return value for the autoref dispatch below.
pub struct Wrap<'a, T: ?Sized>(pub &'a T);

/// Chosen first, for the receiver `&&Wrap<R>`: `R` is a `Result<T, E>` with
/// `T: Serialize` and `E: Display`.
pub trait ViaResult {
    /// The reply.
    fn __toolcall_reply(&self) -> ToolReply;
}

impl<T: Serialize, E: Display> ViaResult for &Wrap<'_, Result<T, E>> {
    fn __toolcall_reply(&self) -> ToolReply {
        match self.0 {
            Ok(value) => reply_value(value),
            Err(error) => reply_error(error),
        }
    }
}

/// Chosen one deref later, for any `R`. The `Serialize` bound sits on the
/// method, so a type that is neither is blamed once, on the return type,
/// not as "method not found".
pub trait ViaValue<T: ?Sized> {
    /// The reply.
    fn __toolcall_reply(&self) -> ToolReply
    where
        T: ReturnValue;
}

impl<T: ?Sized> ViaValue<T> for Wrap<'_, T> {
    fn __toolcall_reply(&self) -> ToolReply
    where
        T: ReturnValue,
    {
        reply_value(self.0)
    }
}

/// What a `#[tool]` fn may return on success.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a tool's return type",
    label = "return a `T: Serialize` or a `Result<T, E>` with `E: Display`"
)]
pub trait ReturnValue: Serialize {}

impl<T: Serialize + ?Sized> ReturnValue for T {}

/// A successful value as the model sees it (see the module docs).
pub fn reply_value<T: ReturnValue + ?Sized>(value: &T) -> ToolReply {
    match value.serialize(TextProbe) {
        Ok(text) => Ok(ToolOutput::text(text)),
        Err(NotText) => ToolOutput::json(value),
    }
}

/// An error value: its `Display` text.
pub fn reply_error<E: Display + ?Sized>(error: &E) -> ToolReply {
    Err(ToolError::new(error.to_string()))
}

/// A serializer that succeeds only for a value serde writes as a string.
struct TextProbe;

/// The value is not written as a string.
#[derive(Debug)]
struct NotText;

impl Display for NotText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not text")
    }
}

impl std::error::Error for NotText {}

impl ser::Error for NotText {
    fn custom<T: Display>(_: T) -> Self {
        NotText
    }
}

/// Every `serialize_*` method of `TextProbe` but the string ones: not text.
macro_rules! not_text {
    ($($method:ident($($ty:ty),*);)*) => {
        $(fn $method(self, $(_: $ty),*) -> Result<String, NotText> {
            Err(NotText)
        })*
    };
}

impl ser::Serializer for TextProbe {
    type Ok = String;
    type Error = NotText;
    type SerializeSeq = Impossible<String, NotText>;
    type SerializeTuple = Impossible<String, NotText>;
    type SerializeTupleStruct = Impossible<String, NotText>;
    type SerializeTupleVariant = Impossible<String, NotText>;
    type SerializeMap = Impossible<String, NotText>;
    type SerializeStruct = Impossible<String, NotText>;
    type SerializeStructVariant = Impossible<String, NotText>;

    fn serialize_str(self, v: &str) -> Result<String, NotText> {
        Ok(v.to_owned())
    }

    fn serialize_char(self, v: char) -> Result<String, NotText> {
        Ok(v.to_string())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<String, NotText> {
        value.serialize(self)
    }

    not_text! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_i128(i128);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_u128(u128);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_bytes(&[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<String, NotText> {
        Err(NotText)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, NotText> {
        Err(NotText)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotText> {
        Err(NotText)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotText> {
        Err(NotText)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, NotText> {
        Err(NotText)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotText> {
        Err(NotText)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotText> {
        Err(NotText)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, NotText> {
        Err(NotText)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotText> {
        Err(NotText)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Color {
        Red,
    }

    #[derive(Serialize)]
    struct Name(String);

    fn text(reply: ToolReply) -> (String, bool) {
        let output = reply.expect("a successful reply");
        (output.as_text().to_owned(), output.is_json())
    }

    #[test]
    fn text_is_passed_through_and_everything_else_is_json() {
        let quoted = "say \"hi\"\n".to_owned();
        assert_eq!(text(reply_value(&quoted)), (quoted.clone(), false));
        assert_eq!(text(reply_value("plain")), ("plain".into(), false));
        assert_eq!(text(reply_value(&Cow::Borrowed("c"))), ("c".into(), false));
        assert_eq!(text(reply_value(&'x')), ("x".into(), false));
        assert_eq!(text(reply_value(&Name("n".into()))), ("n".into(), false));
        // A unit variant is a value, not text: valid JSON, quotes included.
        assert_eq!(text(reply_value(&Color::Red)), ("\"red\"".into(), true));
        assert_eq!(text(reply_value(&Some("s"))), ("\"s\"".into(), true));
        assert_eq!(text(reply_value(&3u8)), ("3".into(), true));
        assert_eq!(text(reply_value(&())), ("null".into(), true));
        assert_eq!(text(reply_value(&["a"])), ("[\"a\"]".into(), true));
    }

    #[test]
    #[allow(
        clippy::needless_borrow,
        reason = "the autoref dispatch starts at `&&Wrap`"
    )]
    fn results_dispatch_on_what_they_are() {
        let ok: Result<String, String> = Ok("fine".into());
        let err: Result<String, String> = Err("broke".into());
        assert_eq!(
            text((&&Wrap(&ok)).__toolcall_reply()),
            ("fine".into(), false)
        );
        assert_eq!(
            (&&Wrap(&err)).__toolcall_reply(),
            Err(ToolError::new("broke"))
        );
        // Any other value, even one that serialises, goes one deref further.
        let value = vec![1, 2];
        assert_eq!(
            text((&&Wrap(&value)).__toolcall_reply()),
            ("[1,2]".into(), true)
        );
    }
}
