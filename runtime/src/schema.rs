//! JSON Schema generation for tool arguments and the rewrite to OpenAI strict mode.
//!
//! Strict mode (`strict: true` in the function definition) constrains decoding to
//! the schema, but accepts only a subset of JSON Schema: every object closed
//! with `additionalProperties: false`, every property listed in `required`
//! (optional ones nullable instead), no `oneOf`, `allOf`, open maps or tuples.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value};

/// The `format` values OpenAI strict mode accepts; others are dropped.
const STRICT_FORMATS: &[&str] = &[
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

/// The keywords OpenAI documents as supported in strict mode, besides the
/// structure (`type`, `properties`, `required`, `additionalProperties`,
/// `items`, `anyOf`, `enum`, `const`, `$ref`, `$defs`) and the annotations a
/// model reads (`description`, `title`). Any other keyword is dropped, after
/// the ones that matter are rewritten (`minLength`/`maxLength` to a
/// `pattern`) or refused (`allOf`, tuples, open maps, ...).
const STRICT_KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "anyOf",
    "enum",
    "const",
    "$ref",
    "$defs",
    "definitions",
    "description",
    "title",
    // strings
    "pattern",
    "format",
    // numbers
    "multipleOf",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    // arrays
    "minItems",
    "maxItems",
];

/// Keywords that describe a value without constraining it.
const ANNOTATIONS: &[&str] = &[
    "description",
    "title",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$comment",
];

/// OpenAI's limits on one strict schema (its structured-outputs guide).
pub mod limits {
    /// Levels of nested objects, the root counting as the first.
    pub const MAX_DEPTH: usize = 10;
    /// Object properties in the whole schema.
    pub const MAX_PROPERTIES: usize = 5000;
    /// Enum values in the whole schema.
    pub const MAX_ENUM_VALUES: usize = 1000;
    /// Characters of every property name, definition name, enum value and
    /// const value together.
    pub const MAX_STRING_LENGTH: usize = 120_000;
    /// An enum of more than this many string values ...
    pub const LARGE_ENUM: usize = 250;
    /// ... may hold at most this many characters in all.
    pub const MAX_LARGE_ENUM_LENGTH: usize = 15_000;
}

/// Why a schema cannot be offered in strict mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrictError {
    /// Where in the schema, as a JSON pointer (`/properties/labels`).
    pub pointer: String,
    /// What is wrong there.
    pub problem: String,
}

impl std::fmt::Display for StrictError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "at `{at}`: {}", self.problem)
    }
}

impl std::error::Error for StrictError {}

/// A schema generator configured for tool arguments (draft 2020-12, subschemas
/// inlined so descriptions never sit beside a `$ref`).
pub fn generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .with(|s| {
            s.meta_schema = None;
            s.inline_subschemas = true;
        })
        .for_deserialize()
        .into_generator()
}

/// The arguments schema of `T`, tidied for a function definition (no title,
/// no `$schema`, no root description: the tool's description says it).
pub fn parameters_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Value {
    let mut schema = generator.root_schema_for::<T>().to_value();
    if let Value::Object(root) = &mut schema {
        root.remove("title");
        root.remove("$schema");
        root.remove("description");
    }
    schema
}

/// Rewrite a generated schema so OpenAI strict mode accepts it, or say why it cannot be.
pub fn to_strict(mut schema: Value) -> Result<Value, StrictError> {
    match &schema {
        Value::Object(root) if is_object_type(root) => {}
        _ => {
            return Err(StrictError {
                pointer: String::new(),
                problem: "the root of a strict schema must be a plain object".into(),
            });
        }
    }
    let mut pointer = String::new();
    strict_node(&mut schema, &mut pointer)?;
    check_limits(&schema)?;
    Ok(schema)
}

/// Whether a schema refers to a definition anywhere (after inlining, only
/// recursive types do).
pub fn has_ref(schema: &Value) -> bool {
    match schema {
        Value::Object(map) => map.contains_key("$ref") || map.values().any(has_ref),
        Value::Array(items) => items.iter().any(has_ref),
        _ => false,
    }
}

/// A strict schema (see [`to_strict`]) as Anthropic's strict tool use
/// accepts it, the rewrite its official SDKs apply: a nullable type list
/// becomes `anyOf` with `null`; keywords it does not support (numeric and
/// length bounds, patterns, other formats, `minItems` above 1) move into
/// the description as `{minimum: 0, ...}`, where the model still reads them.
pub fn anthropic_strict(schema: &Value) -> Value {
    let Value::Object(node) = schema else {
        return schema.clone();
    };
    let mut rest = node.clone();
    let mut out = Map::new();
    if let Some(Value::Object(defs)) = rest.shift_remove("$defs") {
        let defs = defs
            .iter()
            .map(|(k, v)| (k.clone(), anthropic_strict(v)))
            .collect();
        out.insert("$defs".into(), Value::Object(defs));
    }
    if let Some(reference) = rest.shift_remove("$ref") {
        out.insert("$ref".into(), reference);
        return Value::Object(out);
    }
    let primitive = |v: &Value| !v.is_object() && !v.is_array();
    let literal_enum = matches!(rest.get("enum"), Some(Value::Array(e)) if !e.is_empty() && e.iter().all(primitive));
    if let Some(Value::Array(types)) = rest.get("type").cloned()
        && !literal_enum
    {
        let description = rest.shift_remove("description");
        let variants: Vec<Value> = types
            .into_iter()
            .map(|t| {
                if t == "null" {
                    serde_json::json!({"type": "null"})
                } else {
                    let mut variant = rest.clone();
                    variant.insert("type".into(), t);
                    anthropic_strict(&Value::Object(variant))
                }
            })
            .collect();
        out.insert("anyOf".into(), Value::Array(variants));
        if let Some(description) = description {
            out.insert("description".into(), description);
        }
        return Value::Object(out);
    }
    let mut ty = rest.shift_remove("type");
    if literal_enum {
        out.insert("enum".into(), rest.shift_remove("enum").unwrap_or_default());
        ty = None;
    }
    if rest.get("const").is_some_and(primitive) {
        out.insert(
            "const".into(),
            rest.shift_remove("const").unwrap_or_default(),
        );
        ty = None;
    }
    let all = |v: Value| match v {
        Value::Array(items) => Value::Array(items.iter().map(anthropic_strict).collect()),
        other => other,
    };
    if let Some(any) = rest
        .shift_remove("anyOf")
        .or_else(|| rest.shift_remove("oneOf"))
    {
        out.insert("anyOf".into(), all(any));
    } else if let Some(every) = rest.shift_remove("allOf") {
        out.insert("allOf".into(), all(every));
    } else if let Some(ty) = &ty {
        out.insert("type".into(), ty.clone());
    }
    for key in ["description", "title"] {
        if let Some(value) = rest.shift_remove(key) {
            out.insert(key.into(), value);
        }
    }
    match ty.as_ref().and_then(Value::as_str) {
        Some("object") => {
            let properties = match rest.shift_remove("properties") {
                Some(Value::Object(p)) => p
                    .iter()
                    .map(|(k, v)| (k.clone(), anthropic_strict(v)))
                    .collect(),
                _ => Map::new(),
            };
            out.insert("properties".into(), Value::Object(properties));
            rest.shift_remove("additionalProperties");
            out.insert("additionalProperties".into(), Value::Bool(false));
            if let Some(required) = rest.shift_remove("required") {
                out.insert("required".into(), required);
            }
        }
        Some("string") => {
            if let Some(format) = rest.shift_remove("format") {
                // Anthropic's strict formats: OpenAI's, and `uri`.
                if format
                    .as_str()
                    .is_some_and(|f| f == "uri" || STRICT_FORMATS.contains(&f))
                {
                    out.insert("format".into(), format);
                } else {
                    rest.insert("format".into(), format);
                }
            }
        }
        Some("array") => {
            if let Some(items) = rest.shift_remove("items") {
                out.insert("items".into(), anthropic_strict(&items));
            }
            if let Some(min) = rest.shift_remove("minItems") {
                if min == 0 || min == 1 {
                    out.insert("minItems".into(), min);
                } else {
                    rest.insert("minItems".into(), min);
                }
            }
        }
        _ => {}
    }
    if !rest.is_empty() {
        let extra: Vec<String> = rest.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        let before = match out.get("description").and_then(Value::as_str) {
            Some(text) => format!("{text}\n\n"),
            None => String::new(),
        };
        out.insert(
            "description".into(),
            Value::String(format!("{before}{{{}}}", extra.join(", "))),
        );
    }
    Value::Object(out)
}

fn is_object_type(node: &Map<String, Value>) -> bool {
    match node.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
        _ => node.contains_key("properties"),
    }
}

fn fail(pointer: &str, problem: impl Into<String>) -> Result<(), StrictError> {
    Err(StrictError {
        pointer: pointer.to_owned(),
        problem: problem.into(),
    })
}

fn strict_node(node: &mut Value, pointer: &mut String) -> Result<(), StrictError> {
    let map = match node {
        Value::Object(map) => map,
        Value::Bool(true) => return fail(pointer, "an arbitrary JSON value cannot be strict"),
        _ => return Ok(()),
    };
    // Annotations alone (`serde_json::Value` with a doc comment is
    // `{"description": ...}`) constrain nothing either.
    if map.keys().all(|key| ANNOTATIONS.contains(&key.as_str())) {
        return fail(pointer, "an arbitrary JSON value cannot be strict");
    }
    for unsupported in [
        "allOf",
        "not",
        "patternProperties",
        "prefixItems",
        "if",
        "dependentSchemas",
        "propertyNames",
        "unevaluatedProperties",
        "unevaluatedItems",
        "contains",
    ] {
        if map.contains_key(unsupported) {
            let what = match unsupported {
                "prefixItems" => "a tuple (`prefixItems`) cannot be strict".to_owned(),
                "patternProperties" => {
                    "an open map (`patternProperties`) cannot be strict".to_owned()
                }
                other => format!("`{other}` cannot be strict"),
            };
            return fail(pointer, what);
        }
    }
    if let Some(Value::String(format)) = map.get("format")
        && !STRICT_FORMATS.contains(&format.as_str())
    {
        map.remove("format");
    }
    if let Some(one_of) = map.remove("oneOf") {
        // Tagged enum variants are disjoint, so `anyOf` accepts exactly the same values.
        map.insert("anyOf".into(), one_of);
    }
    lengths_to_pattern(map);
    map.retain(|key, _| STRICT_KEYWORDS.contains(&key.as_str()));
    if map.contains_key("$ref") && map.len() > 1 {
        let reference = map.remove("$ref").unwrap_or(Value::Null);
        map.insert(
            "anyOf".into(),
            Value::Array(vec![Value::Object(Map::from_iter([(
                "$ref".to_owned(),
                reference,
            )]))]),
        );
    }
    if is_object_type(map) {
        close_object(map, pointer)?;
    }
    for (key, child) in map.iter_mut() {
        let len = pointer.len();
        match key.as_str() {
            "properties" | "$defs" | "definitions" => {
                if let Value::Object(children) = child {
                    for (name, schema) in children.iter_mut() {
                        let inner = pointer.len();
                        pointer.push('/');
                        pointer.push_str(key);
                        pointer.push('/');
                        push_token(pointer, name);
                        strict_node(schema, pointer)?;
                        pointer.truncate(inner);
                    }
                }
            }
            "items" | "additionalProperties" => {
                pointer.push('/');
                pointer.push_str(key);
                strict_node(child, pointer)?;
            }
            "anyOf" => {
                if let Value::Array(variants) = child {
                    for (i, variant) in variants.iter_mut().enumerate() {
                        let inner = pointer.len();
                        pointer.push_str(&format!("/anyOf/{i}"));
                        strict_node(variant, pointer)?;
                        pointer.truncate(inner);
                    }
                }
            }
            _ => {}
        }
        pointer.truncate(len);
    }
    Ok(())
}

/// A JSON pointer token: `~` and `/` escaped (RFC 6901).
fn push_token(pointer: &mut String, name: &str) {
    pointer.push_str(&name.replace('~', "~0").replace('/', "~1"));
}

/// `minLength`/`maxLength`, which strict mode does not support, as the
/// `pattern` it does (a `char` is a string of length 1). Beside a pattern
/// of its own the bounds are dropped: they only narrow what the model may
/// write, and the parser does not check them.
fn lengths_to_pattern(map: &mut Map<String, Value>) {
    let min = map.remove("minLength").and_then(|v| v.as_u64());
    let max = map.remove("maxLength").and_then(|v| v.as_u64());
    if map.contains_key("pattern") || (min.is_none() && max.is_none()) {
        return;
    }
    let min = min.unwrap_or(0);
    let bounds = match max {
        Some(max) if max == min => format!("{{{min}}}"),
        Some(max) => format!("{{{min},{max}}}"),
        None => format!("{{{min},}}"),
    };
    map.insert("pattern".into(), Value::String(format!("^.{bounds}$")));
}

/// Give integer schemas the range of their `format` (`uint32`: 0 to
/// 4294967295), and `f32` numbers (`format: float`) its finite range, so a
/// value the schema allows also parses. A bound already there is kept when
/// it is tighter. 128-bit integers get the 64-bit range, as `serde_json`
/// holds no wider number in a `Value`.
pub fn add_ranges(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            bound_time(map);
            if let Some((min, max)) = map
                .get("format")
                .and_then(Value::as_str)
                .and_then(format_range)
            {
                tighten(map, "minimum", min, |new, old| new > old);
                tighten(map, "maximum", max, |new, old| new < old);
            }
            for (key, child) in map.iter_mut() {
                // Under `properties`, `$defs` and `enum` the keys and values are not schemas
                // in their own right, but their children are (or are plain values).
                if key != "enum" && key != "const" {
                    add_ranges(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(add_ranges),
        _ => {}
    }
}

/// `std::time::Duration` and `SystemTime`, as schemars writes them (an
/// object of exactly `secs` (`uint64`) and `nanos` (`uint32`), or
/// `secs_since_epoch` and `nanos_since_epoch`): serde refuses nanos that
/// carry past the largest time, so nanos stay under a second, and a
/// `SystemTime` within `i64` seconds of the epoch. (A struct of your own
/// with exactly these fields and types gets the same bounds.)
fn bound_time(map: &mut Map<String, Value>) {
    let Some(Value::Object(properties)) = map.get_mut("properties") else {
        return;
    };
    let (secs_key, nanos_key, max_secs) = if properties.contains_key("secs") {
        ("secs", "nanos", u64::MAX)
    } else {
        (
            "secs_since_epoch",
            "nanos_since_epoch",
            i64::MAX.unsigned_abs(),
        )
    };
    let format = |properties: &Map<String, Value>, key: &str| {
        properties
            .get(key)
            .and_then(|p| p.get("format"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    if properties.len() != 2
        || format(properties, secs_key).as_deref() != Some("uint64")
        || format(properties, nanos_key).as_deref() != Some("uint32")
    {
        return;
    }
    for (key, max) in [(secs_key, max_secs), (nanos_key, 999_999_999)] {
        if let Some(Value::Object(property)) = properties.get_mut(key) {
            tighten(property, "maximum", Value::from(max), |new, old| new < old);
        }
    }
}

fn tighten(map: &mut Map<String, Value>, key: &str, bound: Value, tighter: fn(f64, f64) -> bool) {
    let keep = match (map.get(key).and_then(Value::as_f64), bound.as_f64()) {
        (Some(old), Some(new)) => !tighter(new, old),
        _ => false,
    };
    if !keep {
        map.insert(key.into(), bound);
    }
}

/// The range of a numeric `format` as schemars writes them.
fn format_range(format: &str) -> Option<(Value, Value)> {
    let signed = |min: i64, max: i64| Some((Value::from(min), Value::from(max)));
    let unsigned = |max: u64| Some((Value::from(0), Value::from(max)));
    match format {
        "int8" => signed(i8::MIN.into(), i8::MAX.into()),
        "int16" => signed(i16::MIN.into(), i16::MAX.into()),
        "int32" => signed(i32::MIN.into(), i32::MAX.into()),
        "int64" | "int128" => signed(i64::MIN, i64::MAX),
        "int" => signed(isize::MIN as i64, isize::MAX as i64),
        "uint8" => unsigned(u8::MAX.into()),
        "uint16" => unsigned(u16::MAX.into()),
        "uint32" => unsigned(u32::MAX.into()),
        "uint64" | "uint128" => unsigned(u64::MAX),
        "uint" => unsigned(usize::MAX as u64),
        "float" => Some((
            Value::from(-f64::from(f32::MAX)),
            Value::from(f64::from(f32::MAX)),
        )),
        _ => None,
    }
}

/// Refuse a strict schema over one of OpenAI's [`limits`]; the pointer says
/// where the limit was crossed.
fn check_limits(schema: &Value) -> Result<(), StrictError> {
    let mut count = Counts::default();
    let mut pointer = String::new();
    count.walk(schema, &mut pointer, 0)
}

#[derive(Default)]
struct Counts {
    properties: usize,
    enum_values: usize,
    string_length: usize,
}

impl Counts {
    fn walk(
        &mut self,
        node: &Value,
        pointer: &mut String,
        depth: usize,
    ) -> Result<(), StrictError> {
        use limits::*;
        let Value::Object(map) = node else {
            return Ok(());
        };
        let depth = if is_object_type(map) {
            depth + 1
        } else {
            depth
        };
        if depth > MAX_DEPTH {
            return fail(
                pointer,
                format!(
                    "objects nested {depth} deep, over OpenAI's strict-mode limit of {MAX_DEPTH} levels"
                ),
            );
        }
        for key in ["enum", "const"] {
            let values = match map.get(key) {
                Some(Value::Array(values)) if key == "enum" => values.as_slice(),
                Some(value) if key == "const" => std::slice::from_ref(value),
                _ => continue,
            };
            let strings = values.iter().filter_map(Value::as_str);
            let length: usize = strings.clone().map(str::len).sum();
            self.string_length += length;
            if key == "enum" {
                self.enum_values += values.len();
                if self.enum_values > MAX_ENUM_VALUES {
                    return fail(
                        pointer,
                        format!(
                            "{} enum values in all, over OpenAI's strict-mode limit of {MAX_ENUM_VALUES}",
                            self.enum_values
                        ),
                    );
                }
                if strings.count() > LARGE_ENUM && length > MAX_LARGE_ENUM_LENGTH {
                    return fail(
                        pointer,
                        format!(
                            "an enum of more than {LARGE_ENUM} strings totalling {length} characters, over OpenAI's strict-mode limit of {MAX_LARGE_ENUM_LENGTH}"
                        ),
                    );
                }
            }
        }
        for (key, child) in map {
            let len = pointer.len();
            match (key.as_str(), child) {
                ("properties" | "$defs" | "definitions", Value::Object(children)) => {
                    for (name, schema) in children {
                        let inner = pointer.len();
                        pointer.push('/');
                        pointer.push_str(key);
                        pointer.push('/');
                        push_token(pointer, name);
                        self.string_length += name.len();
                        if key == "properties" {
                            self.properties += 1;
                            if self.properties > MAX_PROPERTIES {
                                return fail(
                                    pointer,
                                    format!(
                                        "more than {MAX_PROPERTIES} object properties in all, OpenAI's strict-mode limit"
                                    ),
                                );
                            }
                        }
                        if self.string_length > MAX_STRING_LENGTH {
                            return fail(
                                pointer,
                                format!(
                                    "property names, definition names and enum values of more than {MAX_STRING_LENGTH} characters in all, OpenAI's strict-mode limit"
                                ),
                            );
                        }
                        // A definition is a root of its own.
                        let depth = if key == "properties" { depth } else { 0 };
                        self.walk(schema, pointer, depth)?;
                        pointer.truncate(inner);
                    }
                }
                ("items" | "additionalProperties", _) => {
                    pointer.push('/');
                    pointer.push_str(key);
                    self.walk(child, pointer, depth)?;
                }
                ("anyOf", Value::Array(variants)) => {
                    for (i, variant) in variants.iter().enumerate() {
                        let inner = pointer.len();
                        pointer.push_str(&format!("/anyOf/{i}"));
                        self.walk(variant, pointer, depth)?;
                        pointer.truncate(inner);
                    }
                }
                _ => {}
            }
            pointer.truncate(len);
        }
        if self.string_length > MAX_STRING_LENGTH {
            return fail(
                pointer,
                format!(
                    "property names, definition names and enum values of more than {MAX_STRING_LENGTH} characters in all, OpenAI's strict-mode limit"
                ),
            );
        }
        Ok(())
    }
}

fn close_object(map: &mut Map<String, Value>, pointer: &str) -> Result<(), StrictError> {
    match map.get("additionalProperties") {
        None | Some(Value::Bool(false)) => {}
        Some(_) => {
            return fail(
                pointer,
                "an open map (`additionalProperties`) cannot be strict: strict mode needs every key named",
            );
        }
    }
    map.insert("additionalProperties".into(), Value::Bool(false));
    let properties = map
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    let all = match properties {
        Value::Object(properties) => properties.keys().cloned().map(Value::String).collect(),
        _ => Vec::new(),
    };
    // Strict mode lists every property in `required`. An optional one that
    // is nullable (an `Option`) says "absent" with `null`; one that is not
    // (a `#[serde(default)]` field, or any other type the parser fills when
    // absent) stays as it is, so the model always sends a value the type
    // parses: `null` would not parse into a `u32` or a `Vec`.
    map.insert("required".into(), Value::Array(all));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_property_becomes_required_and_only_options_are_nullable() {
        let schema = json!({
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "limit": {"type": ["integer", "null"]},
                "page": {"type": "integer", "default": 0},
                "tags": {"type": "array", "items": {"type": "string"}}
            },
            "required": ["id"]
        });
        let strict = to_strict(schema).expect("strict");
        assert_eq!(strict["required"], json!(["id", "limit", "page", "tags"]));
        assert_eq!(
            strict["properties"]["limit"]["type"],
            json!(["integer", "null"])
        );
        // Not `Option`s: `null` would not parse, so none is offered.
        assert_eq!(strict["properties"]["page"], json!({"type": "integer"}));
        assert_eq!(strict["properties"]["tags"]["type"], json!("array"));
        assert_eq!(strict["properties"]["id"]["type"], json!("string"));
        assert_eq!(strict["additionalProperties"], json!(false));
    }

    #[test]
    fn only_the_documented_keywords_stay() {
        let schema = json!({
            "type": "object",
            "properties": {
                "letter": {"type": "string", "minLength": 1, "maxLength": 1},
                "name": {"type": "string", "minLength": 2, "maxLength": 40, "pattern": "^[a-z]+$"},
                "short": {"type": "string", "maxLength": 8, "contentEncoding": "base64"},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3, "uniqueItems": true},
                "n": {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "multipleOf": 0.5, "examples": [0.5]},
                "obj": {"type": "object", "properties": {}, "minProperties": 0, "$comment": "x"}
            },
            "required": ["letter", "name", "short", "tags", "n", "obj"]
        });
        let strict = to_strict(schema).expect("strict");
        let p = &strict["properties"];
        assert_eq!(p["letter"], json!({"type": "string", "pattern": "^.{1}$"}));
        assert_eq!(p["name"], json!({"type": "string", "pattern": "^[a-z]+$"}));
        assert_eq!(p["short"], json!({"type": "string", "pattern": "^.{0,8}$"}));
        assert_eq!(
            p["tags"],
            json!({"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3})
        );
        assert_eq!(
            p["n"],
            json!({"type": "number", "minimum": 0, "exclusiveMaximum": 1, "multipleOf": 0.5})
        );
        assert_eq!(
            p["obj"],
            json!({"type": "object", "properties": {}, "additionalProperties": false, "required": []})
        );
    }

    #[test]
    fn integer_and_float_formats_become_ranges() {
        let mut schema = json!({
            "type": "object",
            "properties": {
                "a": {"type": "integer", "format": "uint32", "minimum": 0},
                "b": {"type": "integer", "format": "int8"},
                "c": {"type": ["integer", "null"], "format": "uint8", "minimum": 1, "maximum": 300},
                "d": {"type": "number", "format": "float"},
                "e": {"type": "number", "format": "double"},
                "f": {"type": "integer", "format": "uint128"}
            }
        });
        add_ranges(&mut schema);
        let p = &schema["properties"];
        let range = |name: &str| (p[name]["minimum"].clone(), p[name]["maximum"].clone());
        assert_eq!(range("a"), (json!(0), json!(4_294_967_295u32)));
        assert_eq!(range("b"), (json!(-128), json!(127)));
        // The tighter bound of the two wins.
        assert_eq!(range("c"), (json!(1), json!(255)));
        let f32_max = f64::from(f32::MAX);
        assert_eq!(range("d"), (json!(-f32_max), json!(f32_max)));
        assert_eq!(range("e"), (Value::Null, Value::Null));
        assert_eq!(range("f"), (json!(0), json!(u64::MAX)));
    }

    /// An object `levels` deep: the root, then `levels - 1` nested under `a`.
    fn nested(levels: usize) -> Value {
        let mut node = json!({"type": "object", "properties": {"leaf": {"type": "string"}}});
        for _ in 1..levels {
            node = json!({"type": "object", "properties": {"a": node}});
        }
        node
    }

    #[test]
    fn schemas_over_the_limits_are_refused_with_pointer_and_limit() {
        assert!(to_strict(nested(limits::MAX_DEPTH)).is_ok());
        let err = to_strict(nested(limits::MAX_DEPTH + 1)).expect_err("too deep");
        assert_eq!(err.pointer, "/properties/a".repeat(limits::MAX_DEPTH));
        assert!(err.problem.contains("limit of 10 levels"), "{err}");

        let many: Map<String, Value> = (0..=limits::MAX_PROPERTIES)
            .map(|i| (format!("p{i}"), json!({"type": "boolean"})))
            .collect();
        let err = to_strict(json!({"type": "object", "properties": many})).expect_err("too many");
        assert_eq!(err.pointer, "/properties/p5000");
        assert!(err.problem.contains("5000"), "{err}");

        let values: Vec<Value> = (0..=limits::MAX_ENUM_VALUES).map(|i| json!(i)).collect();
        let schema =
            json!({"type": "object", "properties": {"e": {"type": "integer", "enum": values}}});
        let err = to_strict(schema).expect_err("too many enum values");
        assert_eq!(err.pointer, "/properties/e");
        assert!(err.problem.contains("1000"), "{err}");

        let long: Vec<Value> = (0..300).map(|i| json!(format!("{i:0>60}"))).collect();
        let schema =
            json!({"type": "object", "properties": {"e": {"type": "string", "enum": long}}});
        let err = to_strict(schema).expect_err("a long enum");
        assert_eq!(err.pointer, "/properties/e");
        assert!(err.problem.contains("15000"), "{err}");

        let name = "n".repeat(limits::MAX_STRING_LENGTH + 1);
        let schema = json!({"type": "object", "properties": {name.clone(): {"type": "string"}}});
        let err = to_strict(schema).expect_err("too long");
        assert_eq!(err.pointer, format!("/properties/{name}"));
        assert!(err.problem.contains("120000"), "{err}");
    }

    #[test]
    fn open_maps_are_refused_with_their_pointer() {
        let schema = json!({
            "type": "object",
            "properties": {"labels": {"type": "object", "additionalProperties": {"type": "string"}}},
            "required": ["labels"]
        });
        let err = to_strict(schema).expect_err("open map");
        assert_eq!(err.pointer, "/properties/labels");
        assert!(err.problem.contains("open map"), "{err}");
    }

    #[test]
    fn one_of_becomes_any_of_and_unsupported_formats_go() {
        let schema = json!({
            "type": "object",
            "properties": {"n": {"type": "integer", "format": "uint32"}, "e": {"oneOf": [{"type": "string", "const": "a"}]}},
            "required": ["n", "e"]
        });
        let strict = to_strict(schema).expect("strict");
        assert!(strict["properties"]["n"].get("format").is_none());
        assert!(strict["properties"]["e"].get("oneOf").is_none());
        assert_eq!(strict["properties"]["e"]["anyOf"][0]["const"], json!("a"));
    }

    #[test]
    fn a_non_object_root_is_refused() {
        let err = to_strict(json!({"type": "string"})).expect_err("root");
        assert!(err.problem.contains("root"));
    }
}

#[cfg(test)]
mod anthropic_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn anthropic_strict_moves_bounds_into_descriptions_and_nullables_into_any_of() {
        let strict = json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "small": {"type": "integer", "minimum": 0, "maximum": 255, "description": "A byte."},
                "limit": {"type": ["integer", "null"], "minimum": 0, "description": "At most."},
                "color": {"type": ["string", "null"], "enum": ["red", null]},
                "code": {"type": "string", "minLength": 2, "format": "date"},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 3}
            },
            "required": ["small", "limit", "color", "code", "tags"]
        });
        let out = anthropic_strict(&strict);
        let p = &out["properties"];
        assert_eq!(out["additionalProperties"], false);
        assert_eq!(out["required"], strict["required"]);
        assert_eq!(
            p["small"],
            json!({"type": "integer", "description": "A byte.\n\n{minimum: 0, maximum: 255}"})
        );
        assert_eq!(
            p["limit"],
            json!({"anyOf": [{"type": "integer", "description": "{minimum: 0}"}, {"type": "null"}], "description": "At most."})
        );
        assert_eq!(p["color"], json!({"enum": ["red", null]}));
        assert_eq!(
            p["code"],
            json!({"type": "string", "format": "date", "description": "{minLength: 2}"})
        );
        assert_eq!(p["tags"]["items"], json!({"type": "string"}));
        assert_eq!(p["tags"]["description"], "{minItems: 3}");
    }
}
