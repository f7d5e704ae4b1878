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

/// Keywords strict mode rejects that only narrow validation, so dropping them
/// loses nothing the model needs.
const STRICT_DROPPED: &[&str] = &[
    "default",
    "uniqueItems",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
];

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
    if map.is_empty() {
        return fail(pointer, "an arbitrary JSON value cannot be strict");
    }
    for keyword in STRICT_DROPPED {
        map.remove(*keyword);
    }
    if let Some(Value::String(format)) = map.get("format")
        && !STRICT_FORMATS.contains(&format.as_str())
    {
        map.remove("format");
    }
    for unsupported in ["allOf", "not", "patternProperties", "prefixItems", "if"] {
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
    if let Some(one_of) = map.remove("oneOf") {
        // Tagged enum variants are disjoint, so `anyOf` accepts exactly the same values.
        map.insert("anyOf".into(), one_of);
    }
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
                        pointer.push_str(name);
                        strict_node(schema, pointer)?;
                        pointer.truncate(inner);
                    }
                }
            }
            "items" | "additionalProperties" | "contains" => {
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
    let required: Vec<String> = match map.get("required") {
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let properties = map
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    let mut all = Vec::new();
    if let Value::Object(properties) = properties {
        for (name, schema) in properties.iter_mut() {
            if !required.contains(name) && !has_serde_default(schema) {
                make_nullable(schema);
            }
            all.push(Value::String(name.clone()));
        }
    }
    map.insert("required".into(), Value::Array(all));
    Ok(())
}

/// A property schemars marks with `default` (a `#[serde(default)]` field)
/// that does not accept `null`: it becomes required as it is, since `null`
/// would not parse into it (`u32` is no `Option<u32>`).
fn has_serde_default(schema: &Value) -> bool {
    schema
        .as_object()
        .is_some_and(|map| map.contains_key("default") && !is_nullable(map))
}

fn is_nullable(map: &Map<String, Value>) -> bool {
    let null = |v: &Value| v.as_str() == Some("null");
    match map.get("type") {
        Some(Value::String(t)) if t == "null" => return true,
        Some(Value::Array(ts)) if ts.iter().any(null) => return true,
        _ => {}
    }
    if let Some(Value::Array(variants)) = map.get("anyOf").or_else(|| map.get("oneOf")) {
        return variants
            .iter()
            .any(|v| v.as_object().is_some_and(is_nullable));
    }
    false
}

/// Let an optional property be `null`, since strict mode lists it in `required`.
fn make_nullable(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    if is_nullable(map) {
        return;
    }
    let simple = map.get("type").is_some() && !map.contains_key("anyOf");
    if simple {
        if let Some(Value::Array(values)) = map.get_mut("enum") {
            values.push(Value::Null);
        }
        match map.get_mut("type") {
            Some(Value::String(t)) => {
                let t = std::mem::take(t);
                map.insert(
                    "type".into(),
                    Value::Array(vec![Value::String(t), "null".into()]),
                );
            }
            Some(Value::Array(ts)) => ts.push("null".into()),
            _ => {}
        }
    } else {
        let description = map.remove("description");
        let inner = Value::Object(std::mem::take(map));
        map.insert(
            "anyOf".into(),
            Value::Array(vec![inner, serde_json::json!({"type": "null"})]),
        );
        if let Some(d) = description {
            map.insert("description".into(), d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn optional_properties_become_required_and_nullable() {
        let schema = json!({
            "type": "object",
            "properties": {"id": {"type": "string"}, "limit": {"type": "integer"}},
            "required": ["id"]
        });
        let strict = to_strict(schema).expect("strict");
        assert_eq!(strict["required"], json!(["id", "limit"]));
        assert_eq!(
            strict["properties"]["limit"]["type"],
            json!(["integer", "null"])
        );
        assert_eq!(strict["properties"]["id"]["type"], json!("string"));
        assert_eq!(strict["additionalProperties"], json!(false));
    }

    #[test]
    fn serde_defaults_become_required_without_null() {
        let schema = json!({
            "type": "object",
            "properties": {
                "page": {"type": "integer", "default": 0},
                "limit": {"type": ["integer", "null"], "default": null}
            }
        });
        let strict = to_strict(schema).expect("strict");
        assert_eq!(strict["required"], json!(["page", "limit"]));
        assert_eq!(strict["properties"]["page"], json!({"type": "integer"}));
        assert_eq!(
            strict["properties"]["limit"]["type"],
            json!(["integer", "null"])
        );
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
