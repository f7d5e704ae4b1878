//! The one-pass parse of a `#[tool]`'s arguments: every parameter read
//! straight from the object, the way a derived `Deserialize` would.
//!
//! It only says yes or no. When it says no, the code `#[tool]` generates
//! parses again field by field ([`crate::__private01::arguments`] and
//! `take`), which builds the message the model reads, so error texts are
//! those of that path whatever this one does. The parser is generic over
//! the tuple of the parameters' types, so each distinct tuple is compiled
//! once per crate, not once per tool; and it is chosen by autoref, so a
//! parameter type that is not `Deserialize` is reported once, by `take`.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::__private01::Key;

/// The tuple of a tool's parameter types, parsed as one arguments object.
pub trait Fields: Sized {
    /// One `Option` per parameter, filled as the object is read.
    type Slots: Default;

    /// Read the value of parameter `index` from `map` into its slot;
    /// `false` for a parameter seen twice.
    fn read<'de, A: MapAccess<'de>>(
        slots: &mut Self::Slots,
        index: usize,
        map: &mut A,
    ) -> Result<bool, A::Error>;

    /// The parameters, with absent ones filled as serde's derive fills them
    /// (`None` for an `Option`); `None` when one that is required is absent.
    fn finish(slots: Self::Slots, names: &'static [&'static str]) -> Option<Self>;
}

/// An absent field's value, as serde's derive makes it: `None` for an
/// `Option`, nothing for any other type.
fn absent<T: for<'de> de::Deserialize<'de>>(name: &'static str) -> Option<T> {
    T::deserialize(crate::__private01::MissingField(name)).ok()
}

macro_rules! fields {
    ($($t:ident $i:tt),+) => {
        impl<$($t: for<'de> de::Deserialize<'de>),+> Fields for ($($t,)+) {
            type Slots = ($(Option<$t>,)+);

            fn read<'de, M: MapAccess<'de>>(
                slots: &mut Self::Slots,
                index: usize,
                map: &mut M,
            ) -> Result<bool, M::Error> {
                match index {
                    $($i => {
                        if slots.$i.is_some() {
                            return Ok(false);
                        }
                        slots.$i = Some(map.next_value()?);
                    })+
                    _ => return Ok(false),
                }
                Ok(true)
            }

            fn finish(slots: Self::Slots, names: &'static [&'static str]) -> Option<Self> {
                Some(($(match slots.$i {
                    Some(value) => value,
                    None => absent(*names.get($i)?)?,
                },)+))
            }
        }
    };
}

fields!(A 0);
fields!(A 0, B 1);
fields!(A 0, B 1, C 2);
fields!(A 0, B 1, C 2, D 3);
fields!(A 0, B 1, C 2, D 3, E 4);
fields!(A 0, B 1, C 2, D 3, E 4, F 5);
fields!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
fields!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
fields!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
fields!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
fields!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
fields!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);

/// Parse `text` as the arguments object of parameters `names` typed `T`;
/// `None` for anything the field-by-field path may refuse (it then says why).
fn parse<T: Fields>(text: &str, names: &'static [&'static str]) -> Option<T> {
    let bytes = text.as_bytes();
    let first = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    if bytes[first] != b'{' {
        // Empty text, or not an object: the other path knows the rules.
        return None;
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let slots = deserializer
        .deserialize_map(Object::<T> {
            names,
            types: PhantomData,
        })
        .ok()?;
    deserializer.end().ok()?;
    T::finish(slots, names)
}

/// The visitor of the arguments object.
struct Object<T> {
    names: &'static [&'static str],
    types: PhantomData<fn() -> T>,
}

impl<'de, T: Fields> Visitor<'de> for Object<T> {
    type Value = T::Slots;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct arguments")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T::Slots, A::Error> {
        let mut slots = T::Slots::default();
        while let Some(index) = map.next_key_seed(Key(self.names))? {
            if !T::read(&mut slots, index, &mut map)? {
                return Err(de::Error::custom("duplicate field"));
            }
        }
        Ok(slots)
    }
}

/// The receiver of the autoref choice: `(&&Parse::<(A, B)>::new())`.
pub struct Parse<T>(PhantomData<fn() -> T>);

impl<T> Parse<T> {
    /// The receiver.
    #[allow(clippy::new_without_default, reason = "only the expansion makes one")]
    pub const fn new() -> Self {
        Parse(PhantomData)
    }
}

/// Chosen first, for the receiver `&&Parse<T>`: every parameter type is
/// `Deserialize` and there are at most twelve.
pub trait ViaFields<T> {
    /// The parameters, or `None` to parse field by field.
    fn __toolcall_fields(&self, text: &str, names: &'static [&'static str]) -> Option<T>;
}

impl<T: Fields> ViaFields<T> for &Parse<T> {
    fn __toolcall_fields(&self, text: &str, names: &'static [&'static str]) -> Option<T> {
        parse(text, names)
    }
}

/// Chosen one deref later, for any `T`: always the field-by-field path,
/// which reports a type that is not `Deserialize`.
pub trait ViaTake<T> {
    /// Always `None`.
    fn __toolcall_fields(&self, text: &str, names: &'static [&'static str]) -> Option<T>;
}

impl<T> ViaTake<T> for Parse<T> {
    fn __toolcall_fields(&self, _: &str, _: &'static [&'static str]) -> Option<T> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parses_what_a_derived_struct_parses_and_nothing_else() {
        const NAMES: &[&str] = &["a", "b"];
        let ok: Option<(u32, Option<String>)> = parse(r#" {"b": "x", "a": 1} "#, NAMES);
        assert_eq!(ok, Some((1, Some("x".to_owned()))));
        let ok: Option<(u32, Option<String>)> = parse(r#"{"a": 1}"#, NAMES);
        assert_eq!(ok, Some((1, None)));
        for text in [
            r#"{"b": "x"}"#,
            r#"{"a": 1, "a": 2}"#,
            r#"{"a": 1, "c": 2}"#,
            r#"{"a": -1}"#,
            r#"{"a": 1} x"#,
            r#"{"a": 1"#,
            "[1]",
            "",
        ] {
            let parsed: Option<(u32, Option<String>)> = parse(text, NAMES);
            assert_eq!(parsed, None, "{text}");
        }
    }
}
