//! The `parameters` schemas `#[tool]` produces, strict and non-strict:
//! snapshotted in `tests/snapshots/` (`UPDATE_SNAPSHOTS=1` rewrites them),
//! validated against the JSON Schema 2020-12 meta-schema, checked against
//! OpenAI's strict-mode rules, and exercised with sample arguments.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use jsonschema::error::ValidationErrorKind;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use toolcall::{BuildError, Outcome, State, ToolSet, tool};

/// The arguments a tool received, echoed back as a JSON object so a test can
/// compare them with what it sent.
macro_rules! echo {
    ($($arg:ident),* $(,)?) => {{
        #[allow(unused_mut, reason = "`echo!()` of no arguments")]
        let mut map = Map::new();
        $(map.insert(stringify!($arg).to_owned(), serde_json::to_value(&$arg).expect("arguments serialise"));)*
        Value::Object(map)
    }};
}

/// A postal address.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
struct Address {
    /// Street and number.
    street: String,
    city: String,
    /// Postal code, if known.
    zip: Option<String>,
}

/// A customer.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
struct Customer {
    name: String,
    address: Address,
    previous: Vec<Address>,
    /// Where invoices go, when not to `address`.
    billing: Option<Address>,
}

/// A colour, with undocumented variants (`enum`).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Color {
    Red,
    Green,
    Blue,
}

/// A priority, with documented variants (`oneOf` of `const`s).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Priority {
    /// Right now.
    High,
    /// Today.
    Normal,
    /// Whenever.
    Low,
}

/// Externally tagged, with data.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Shape {
    Circle { radius: f64 },
    Rect { width: f64, height: f64 },
    Point,
}

/// Internally tagged.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Action {
    Move { x: i32, y: i32 },
    Say { text: String },
    Stop,
}

/// Adjacently tagged.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "t", content = "c")]
enum Message {
    Text(String),
    Count(u32),
}

/// Untagged.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
enum IdOrName {
    Id(u64),
    Name(String),
}

/// A recursive type: schemars cannot inline it, so it goes to `$defs`.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
struct Tree {
    label: String,
    children: Vec<Tree>,
}

/// Text parameters.
#[tool]
async fn strings(
    /// Some text.
    text: String,
    /// An optional note.
    note: Option<String>,
    letter: char,
) -> Value {
    echo!(text, note, letter)
}

/// Integer parameters.
#[tool]
async fn integers(count: u32, offset: i64, small: u8, index: usize, delta: Option<i32>) -> Value {
    echo!(count, offset, small, index, delta)
}

/// Float parameters.
#[tool]
async fn floats(ratio: f64, weight: f32, scale: Option<f64>) -> Value {
    echo!(ratio, weight, scale)
}

/// Boolean parameters.
#[tool]
async fn flags(enabled: bool, verbose: Option<bool>) -> Value {
    echo!(enabled, verbose)
}

/// Every kind of `Option`.
#[tool]
async fn options(
    limit: Option<u32>,
    tags: Option<Vec<String>>,
    /// Where to, if anywhere.
    address: Option<Address>,
    color: Option<Color>,
    priority: Option<Priority>,
) -> Value {
    echo!(limit, tags, address, color, priority)
}

/// Lists.
#[tool]
async fn lists(
    ids: Vec<String>,
    matrix: Vec<Vec<i32>>,
    addresses: Vec<Address>,
    colors: Vec<Color>,
) -> Value {
    echo!(ids, matrix, addresses, colors)
}

/// Nested user structs.
#[tool]
async fn nested(customer: Customer) -> Value {
    echo!(customer)
}

/// Unit enums.
#[tool]
async fn unit_enums(color: Color, priority: Priority) -> Value {
    echo!(color, priority)
}

/// Enums that carry data.
#[tool]
async fn data_enums(shape: Shape, action: Action, message: Message, id: IdOrName) -> Value {
    echo!(shape, action, message, id)
}

/// A recursive structure.
#[tool]
async fn recursive(tree: Tree) -> Value {
    echo!(tree)
}

/// No parameters at all.
#[tool]
async fn no_params() -> Value {
    echo!()
}

/// `#[serde(default)]` parameters: optional, yet not `Option`, so `null`
/// does not parse into them.
#[tool]
async fn defaults(
    /// Page number, from 0.
    #[serde(default)]
    page: u32,
    #[serde(default)] labels: Vec<String>,
) -> Value {
    echo!(page, labels)
}

/// An open map: strict mode cannot express it.
#[tool]
async fn open_map(labels: HashMap<String, String>) -> usize {
    labels.len()
}

/// The same open map, opted out of strict mode.
#[tool(strict = false)]
async fn open_map_relaxed(labels: HashMap<String, String>) -> usize {
    labels.len()
}

/// A tuple: strict mode has no `prefixItems`.
#[tool]
async fn tuple(pair: (i32, i32)) -> i32 {
    pair.0 + pair.1
}

/// Any JSON value: strict mode cannot express it.
#[tool]
async fn any_value(value: Value) -> Value {
    value
}

/// Any JSON value, with a doc comment: still not strict.
#[tool]
async fn any_documented_value(
    /// Whatever you like.
    value: Value,
) -> Value {
    value
}

/// A database handle.
#[derive(Clone)]
struct Db;

/// Takes state.
#[tool]
async fn with_state(State(_db): State<Db>, query: String) -> String {
    query
}

/// Another tool that calls itself `strings`.
#[tool(name = "strings")]
async fn strings_again(text: String) -> String {
    text
}

/// One tool of the snapshot suite: its name and sample arguments.
struct Case {
    name: &'static str,
    /// Arguments valid under the strict schema (every key present, `null` for
    /// the absent optional ones): the tool echoes them back unchanged.
    strict_valid: Value,
    /// Arguments valid under the non-strict schema only (optional keys left out).
    relaxed_valid: Value,
    /// Arguments both schemas reject and the tool refuses.
    invalid: Value,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "strings",
            strict_valid: json!({"text": "hi", "note": null, "letter": "x"}),
            relaxed_valid: json!({"text": "hi", "letter": "x"}),
            invalid: json!({"text": 3, "note": null, "letter": "x"}),
        },
        Case {
            name: "integers",
            strict_valid: json!({"count": 3, "offset": -4, "small": 255, "index": 7, "delta": null}),
            relaxed_valid: json!({"count": 3, "offset": -4, "small": 0, "index": 7}),
            invalid: json!({"count": -1, "offset": 0, "small": 0, "index": 0, "delta": null}),
        },
        Case {
            name: "floats",
            strict_valid: json!({"ratio": 0.5, "weight": 1.5, "scale": 2.0}),
            relaxed_valid: json!({"ratio": 0.5, "weight": 1.5}),
            invalid: json!({"ratio": "half", "weight": 1.5, "scale": null}),
        },
        Case {
            name: "flags",
            strict_valid: json!({"enabled": true, "verbose": null}),
            relaxed_valid: json!({"enabled": false}),
            invalid: json!({"enabled": "yes", "verbose": null}),
        },
        Case {
            name: "options",
            strict_valid: json!({
                "limit": null,
                "tags": ["a"],
                "address": {"street": "1 Main St", "city": "Springfield", "zip": null},
                "color": null,
                "priority": "high"
            }),
            relaxed_valid: json!({"address": {"street": "1 Main St", "city": "Springfield"}}),
            invalid: json!({"limit": null, "tags": null, "address": null, "color": "purple", "priority": null}),
        },
        Case {
            name: "lists",
            strict_valid: json!({
                "ids": ["a", "b"],
                "matrix": [[1, 2], []],
                "addresses": [{"street": "s", "city": "c", "zip": "12345"}],
                "colors": ["red", "blue"]
            }),
            relaxed_valid: json!({"ids": [], "matrix": [], "addresses": [{"street": "s", "city": "c"}], "colors": []}),
            invalid: json!({"ids": "a", "matrix": [], "addresses": [], "colors": []}),
        },
        Case {
            name: "nested",
            strict_valid: json!({"customer": {
                "name": "Ada",
                "address": {"street": "s", "city": "c", "zip": null},
                "previous": [],
                "billing": {"street": "b", "city": "c", "zip": "1"}
            }}),
            relaxed_valid: json!({"customer": {"name": "Ada", "address": {"street": "s", "city": "c"}, "previous": []}}),
            invalid: json!({"customer": {"name": "Ada", "address": {"street": "s", "city": "c", "zip": null}, "previous": {}, "billing": null}}),
        },
        Case {
            name: "unit_enums",
            strict_valid: json!({"color": "green", "priority": "low"}),
            relaxed_valid: json!({"color": "red", "priority": "normal"}),
            invalid: json!({"color": "Green", "priority": "low"}),
        },
        Case {
            name: "data_enums",
            strict_valid: json!({
                "shape": {"rect": {"width": 1.0, "height": 2.0}},
                "action": {"kind": "move", "x": 1, "y": -1},
                "message": {"t": "Count", "c": 3},
                "id": "ada"
            }),
            relaxed_valid: json!({"shape": "point", "action": {"kind": "stop"}, "message": {"t": "Text", "c": "hi"}, "id": 7}),
            invalid: json!({"shape": {"triangle": {}}, "action": {"kind": "stop"}, "message": {"t": "Text", "c": "hi"}, "id": 7}),
        },
        Case {
            name: "recursive",
            strict_valid: json!({"tree": {"label": "root", "children": [{"label": "leaf", "children": []}]}}),
            relaxed_valid: json!({"tree": {"label": "root", "children": []}}),
            invalid: json!({"tree": {"label": "root", "children": [{"label": "leaf"}]}}),
        },
        Case {
            name: "no_params",
            strict_valid: json!({}),
            relaxed_valid: json!({}),
            invalid: json!({"unexpected": 1}),
        },
        Case {
            name: "defaults",
            strict_valid: json!({"page": 2, "labels": ["x"]}),
            relaxed_valid: json!({}),
            invalid: json!({"page": "two", "labels": []}),
        },
    ]
}

fn suite() -> ToolSet {
    ToolSet::builder()
        .tools(toolcall::tools![
            strings, integers, floats, flags, options, lists, nested, unit_enums, data_enums,
            recursive, no_params, defaults
        ])
        .build()
        .expect("every snapshot tool can be strict")
}

fn relaxed_suite() -> ToolSet {
    ToolSet::builder()
        .tools(toolcall::tools![
            strings, integers, floats, flags, options, lists, nested, unit_enums, data_enums,
            recursive, no_params, defaults
        ])
        .relaxed()
        .build()
        .expect("every tool builds non-strict")
}

fn parameters<'a>(tools: &'a ToolSet, name: &str) -> &'a Value {
    &tools
        .definitions()
        .iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("no tool `{name}`"))
        .parameters
}

#[test]
fn snapshots_match() {
    let (strict, relaxed) = (suite(), relaxed_suite());
    assert_eq!(strict.len(), cases().len());
    let mut failures = Vec::new();
    for case in cases() {
        let snapshot = json!({
            "strict": parameters(&strict, case.name),
            "non_strict": parameters(&relaxed, case.name),
        });
        if let Err(message) = check_snapshot(case.name, &snapshot) {
            failures.push(message);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Compare with `tests/snapshots/{name}.json`, or write it when
/// `UPDATE_SNAPSHOTS` is set.
fn check_snapshot(name: &str, actual: &Value) -> Result<(), String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(actual).expect("a Value serialises") + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create tests/snapshots");
        std::fs::write(&path, &text).expect("write the snapshot");
        return Ok(());
    }
    let expected = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "snapshot {} cannot be read ({e}): run with UPDATE_SNAPSHOTS=1 to create it",
            path.display()
        )
    })?;
    if expected == text {
        Ok(())
    } else {
        Err(format!(
            "snapshot {} differs (- expected, + actual; UPDATE_SNAPSHOTS=1 accepts the change):\n{}",
            path.display(),
            line_diff(&expected, &text)
        ))
    }
}

/// A line diff from the longest common subsequence, unchanged lines elided.
fn line_diff(expected: &str, actual: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str(&format!("{:>4} + {}\n", j + 1, b[j]));
            j += 1;
        } else {
            out.push_str(&format!("{:>4} - {}\n", i + 1, a[i]));
            i += 1;
        }
    }
    out
}

#[test]
fn every_schema_is_valid_json_schema_2020_12() {
    for tools in [suite(), relaxed_suite()] {
        for definition in tools.definitions() {
            if let Err(error) = jsonschema::draft202012::meta::validate(&definition.parameters) {
                panic!(
                    "`{}` (strict: {}) is not valid JSON Schema 2020-12: {error}\n{:#}",
                    definition.name, definition.strict, definition.parameters
                );
            }
        }
    }
}

#[test]
fn strict_schemas_follow_the_strict_rules() {
    let (strict, relaxed) = (suite(), relaxed_suite());
    for definition in strict.definitions() {
        assert!(definition.strict, "`{}` is offered strict", definition.name);
        let mut problems = Vec::new();
        check_strict_root(&definition.parameters, &mut problems);
        check_strict(&definition.parameters, "", &mut problems);
        // Every `Option` parameter (nullable in the non-strict schema) stays nullable.
        let loose = parameters(&relaxed, &definition.name);
        for (field, schema) in properties(loose) {
            if accepts_null(loose, schema)
                && !accepts_null(
                    &definition.parameters,
                    &definition.parameters["properties"][field],
                )
            {
                problems.push(format!("/properties/{field}: optional, but not nullable"));
            }
        }
        assert!(
            problems.is_empty(),
            "`{}` breaks strict mode:\n{}\n{:#}",
            definition.name,
            problems.join("\n"),
            definition.parameters
        );
    }
}

#[test]
fn the_strict_checker_catches_what_strict_mode_rejects() {
    let bad = [
        json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}),
        json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": [], "additionalProperties": false}),
        json!({"type": "object", "properties": {"a": {"oneOf": [{"type": "string"}]}}, "required": ["a"], "additionalProperties": false}),
        json!({"type": "object", "properties": {"a": {"type": "object", "additionalProperties": {"type": "string"}}}, "required": ["a"], "additionalProperties": false}),
        json!({"type": "object", "properties": {"a": true}, "required": ["a"], "additionalProperties": false}),
        json!({"anyOf": [{"type": "object"}]}),
    ];
    for schema in bad {
        let mut problems = Vec::new();
        check_strict_root(&schema, &mut problems);
        check_strict(&schema, "", &mut problems);
        assert!(!problems.is_empty(), "the checker accepts {schema}");
    }
}

/// The root must be a plain object: `type: object`, no combinator around it.
fn check_strict_root(schema: &Value, problems: &mut Vec<String>) {
    if schema.get("type") != Some(&json!("object")) {
        problems.push("/: the root is not `type: object`".into());
    }
    for keyword in ["anyOf", "oneOf", "allOf", "$ref", "enum", "not"] {
        if schema.get(keyword).is_some() {
            problems.push(format!("/: `{keyword}` at the root"));
        }
    }
}

/// OpenAI strict mode's rules, node by node.
fn check_strict(node: &Value, at: &str, problems: &mut Vec<String>) {
    let map = match node {
        Value::Object(map) if !map.is_empty() => map,
        Value::Object(_) | Value::Bool(_) => {
            problems.push(format!("{at}: an open schema (`{node}`) accepts any value"));
            return;
        }
        other => {
            problems.push(format!("{at}: `{other}` is not a schema"));
            return;
        }
    };
    for keyword in [
        "oneOf",
        "allOf",
        "not",
        "if",
        "then",
        "else",
        "patternProperties",
        "prefixItems",
        "propertyNames",
        "unevaluatedProperties",
        "dependentSchemas",
    ] {
        if map.contains_key(keyword) {
            problems.push(format!("{at}: `{keyword}` is not allowed"));
        }
    }
    let is_object = type_includes(map, "object") || map.contains_key("properties");
    if is_object {
        if map.get("additionalProperties") != Some(&Value::Bool(false)) {
            problems.push(format!(
                "{at}: an object without `additionalProperties: false`"
            ));
        }
        let names: BTreeSet<&str> = map
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let required: BTreeSet<&str> = map
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if !map.contains_key("properties") {
            problems.push(format!("{at}: an object without `properties`"));
        }
        if names != required {
            problems.push(format!(
                "{at}: `required` is {required:?}, the properties are {names:?}"
            ));
        }
    } else if let Some(extra) = map.get("additionalProperties")
        && extra != &Value::Bool(false)
    {
        problems.push(format!("{at}: an open map"));
    }
    let mut children: Vec<(String, &Value)> = Vec::new();
    for (key, value) in map {
        match key.as_str() {
            "properties" | "$defs" => {
                for (name, schema) in value.as_object().into_iter().flatten() {
                    children.push((format!("{at}/{key}/{name}"), schema));
                }
            }
            "anyOf" => {
                for (i, schema) in value.as_array().into_iter().flatten().enumerate() {
                    children.push((format!("{at}/anyOf/{i}"), schema));
                }
            }
            "items" => children.push((format!("{at}/items"), value)),
            _ => {}
        }
    }
    for (pointer, child) in children {
        check_strict(child, &pointer, problems);
    }
}

fn type_includes(map: &Map<String, Value>, name: &str) -> bool {
    match map.get("type") {
        Some(Value::String(t)) => t == name,
        Some(Value::Array(ts)) => ts.iter().any(|t| t == name),
        _ => false,
    }
}

fn properties(schema: &Value) -> impl Iterator<Item = (&String, &Value)> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
}

/// Whether `schema`, a part of `root`, accepts `null` (checked by
/// validation, not by shape; `root`'s `$defs` resolve its references).
fn accepts_null(root: &Value, schema: &Value) -> bool {
    let mut schema = schema.clone();
    if let (Some(defs), Value::Object(map)) = (root.get("$defs"), &mut schema) {
        map.entry("$defs").or_insert_with(|| defs.clone());
    }
    jsonschema::draft202012::is_valid(&schema, &Value::Null)
}

#[test]
fn non_strict_schemas_keep_options_out_of_required() {
    let relaxed = relaxed_suite();
    let expected: [(&str, &[&str]); 6] = [
        ("strings", &["letter", "text"]),
        ("integers", &["count", "index", "offset", "small"]),
        ("floats", &["ratio", "weight"]),
        ("flags", &["enabled"]),
        ("options", &[]),
        ("defaults", &[]),
    ];
    for (name, required) in expected {
        let schema = parameters(&relaxed, name);
        let mut actual: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        actual.sort_unstable();
        assert_eq!(actual, required, "`required` of `{name}`: {schema:#}");
    }
    for definition in relaxed.definitions() {
        assert!(
            !definition.strict,
            "`.relaxed()` offers `{}` non-strict",
            definition.name
        );
        let required = definition
            .parameters
            .get("required")
            .and_then(Value::as_array);
        for (field, schema) in properties(&definition.parameters) {
            if accepts_null(&definition.parameters, schema) {
                assert!(
                    !required.is_some_and(|r| r.contains(&json!(field))),
                    "`{}`: the optional `{field}` is required",
                    definition.name
                );
            }
        }
    }
}

#[tokio::test]
async fn sample_arguments_validate_and_parse() {
    let (strict, relaxed) = (suite(), relaxed_suite());
    for case in cases() {
        let strict_schema =
            jsonschema::draft202012::new(parameters(&strict, case.name)).expect("a valid schema");
        let loose_schema =
            jsonschema::draft202012::new(parameters(&relaxed, case.name)).expect("a valid schema");
        let name = case.name;

        for (which, validator) in [("strict", &strict_schema), ("non-strict", &loose_schema)] {
            if let Err(error) = validator.validate(&case.strict_valid) {
                panic!(
                    "the {which} schema of `{name}` rejects {}: {error}",
                    case.strict_valid
                );
            }
            assert!(
                !validator.is_valid(&case.invalid),
                "the {which} schema of `{name}` accepts {}",
                case.invalid
            );
        }
        assert!(
            loose_schema.is_valid(&case.relaxed_valid),
            "the non-strict schema of `{name}` rejects {}",
            case.relaxed_valid
        );
        // Strict mode refuses it only for the optional keys it leaves out;
        // when it leaves none out, it echoes back unchanged.
        let omitted: Vec<String> = strict_schema
            .iter_errors(&case.relaxed_valid)
            .map(|error| match error.kind() {
                ValidationErrorKind::Required { property } => property.to_string(),
                _ => panic!(
                    "the strict schema of `{name}` rejects {}: {error}",
                    case.relaxed_valid
                ),
            })
            .collect();
        if omitted.is_empty() {
            let reply = strict.call(name, &case.relaxed_valid.to_string()).await;
            let echoed: Value = serde_json::from_str(&reply.content).expect("the tools echo JSON");
            assert_eq!(
                echoed, case.relaxed_valid,
                "`{name}` parsed its arguments into something else"
            );
        }

        // What the schemas accept parses, and comes back as it was sent.
        let reply = strict.call(name, &case.strict_valid.to_string()).await;
        assert_eq!(
            reply.outcome,
            Outcome::Ok,
            "`{name}` {}: {}",
            case.strict_valid,
            reply.content
        );
        let echoed: Value = serde_json::from_str(&reply.content).expect("the tools echo JSON");
        assert_eq!(
            echoed, case.strict_valid,
            "`{name}` parsed its arguments into something else"
        );
        let reply = strict.call(name, &case.relaxed_valid.to_string()).await;
        assert_eq!(
            reply.outcome,
            Outcome::Ok,
            "`{name}` {}: {}",
            case.relaxed_valid,
            reply.content
        );
        // What they reject does not.
        let reply = strict.call(name, &case.invalid.to_string()).await;
        assert_eq!(
            reply.outcome,
            Outcome::InvalidArguments,
            "`{name}` {}: {}",
            case.invalid,
            reply.content
        );
    }
}

#[tokio::test]
async fn serde_defaults_are_required_not_nullable_in_strict_mode() {
    // `null` is no `u32`: a strict schema that allowed it would let the model
    // send arguments the tool then refuses.
    let strict = suite();
    let schema = parameters(&strict, "defaults");
    for field in ["page", "labels"] {
        assert!(
            !accepts_null(schema, &schema["properties"][field]),
            "`{field}` accepts null: {schema:#}"
        );
    }
    let reply = strict
        .call("defaults", r#"{"page": null, "labels": []}"#)
        .await;
    assert_eq!(
        reply.outcome,
        Outcome::InvalidArguments,
        "{}",
        reply.content
    );
    let reply = strict.call("defaults", "{}").await;
    assert_eq!(reply.content, r#"{"page":0,"labels":[]}"#);
}

#[test]
fn a_schema_that_cannot_be_strict_fails_the_build_and_says_how_to_fix_it() {
    let cases: [(_, &str, &str); 4] = [
        (toolcall::tools![open_map], "/properties/labels", "open map"),
        (toolcall::tools![tuple], "/properties/pair", "tuple"),
        (
            toolcall::tools![any_value],
            "/properties/value",
            "arbitrary JSON value",
        ),
        (
            toolcall::tools![any_documented_value],
            "/properties/value",
            "arbitrary JSON value",
        ),
    ];
    for (tools, pointer, problem) in cases {
        let name = tools[0].name().to_owned();
        let error = ToolSet::builder()
            .tools(tools)
            .build()
            .expect_err("a schema strict mode cannot express");
        assert!(
            matches!(&error, BuildError::NotStrict { tool, .. } if *tool == name),
            "{error:?}"
        );
        let message = error.to_string();
        for needle in [
            format!("`{name}`"),
            format!("`{pointer}`"),
            problem.to_owned(),
            "strict = false".to_owned(),
        ] {
            assert!(
                message.contains(&needle),
                "{message:?} does not mention {needle:?}"
            );
        }
    }
}

#[test]
fn an_open_map_builds_non_strict_when_asked() {
    let tools = ToolSet::builder()
        .tools(toolcall::tools![open_map_relaxed, strings])
        .build()
        .expect("`strict = false` opts out");
    let definition = &tools.definitions()[0];
    assert!(!definition.strict);
    assert_eq!(
        definition.parameters["properties"]["labels"]["additionalProperties"],
        json!({"type": "string"})
    );
    assert!(tools.definitions()[1].strict, "the other tools stay strict");

    let tools = ToolSet::builder()
        .tools(toolcall::tools![open_map, strings])
        .strict_fallback(true)
        .build()
        .expect("`strict_fallback` falls back");
    assert!(!tools.definitions()[0].strict);
    assert!(
        tools.definitions()[1].strict,
        "only the tool that cannot be strict falls back"
    );
    assert_eq!(tools.policy("open_map").map(|p| p.strict), Some(false));
    for definition in tools.definitions() {
        jsonschema::draft202012::meta::validate(&definition.parameters).expect("valid JSON Schema");
    }
}

#[tokio::test]
async fn an_open_map_tool_takes_any_keys() {
    let tools = ToolSet::builder()
        .tools(toolcall::tools![open_map_relaxed])
        .build()
        .expect("non-strict");
    let reply = tools
        .call("open_map_relaxed", r#"{"labels": {"a": "1", "b": "2"}}"#)
        .await;
    assert_eq!((reply.outcome, reply.content.as_str()), (Outcome::Ok, "2"));
}

#[test]
fn duplicate_names_fail_the_build() {
    let error = ToolSet::builder()
        .tools(toolcall::tools![strings, strings_again])
        .build()
        .expect_err("two tools named `strings`");
    assert_eq!(error, BuildError::DuplicateName("strings".into()));
    assert_eq!(error.to_string(), "two tools are named `strings`");
    let error = ToolSet::builder()
        .tool::<flags>()
        .tool::<flags>()
        .build()
        .expect_err("the same tool twice");
    assert_eq!(error, BuildError::DuplicateName("flags".into()));
}

#[test]
fn missing_state_fails_the_build() {
    let error = ToolSet::builder()
        .tool::<with_state>()
        .build()
        .expect_err("no `Db`");
    let message = error.to_string();
    assert!(
        matches!(&error, BuildError::MissingState { tool, .. } if tool == "with_state"),
        "{error:?}"
    );
    for needle in ["`with_state`", "Db", ".state("] {
        assert!(
            message.contains(needle),
            "{message:?} does not mention {needle:?}"
        );
    }
    let tools = ToolSet::builder()
        .tool::<with_state>()
        .state(Db)
        .build()
        .expect("the state is there");
    assert_eq!(
        parameters(&tools, "with_state")["properties"]
            .as_object()
            .map(|p| p.keys().map(String::as_str).collect::<Vec<_>>()),
        Some(vec!["query"]),
        "state is not part of the schema"
    );
}

#[test]
fn definitions_come_in_every_format() {
    let tools = suite();
    let defs = tools.definitions();
    assert!(
        std::ptr::eq(defs, tools.definitions()),
        "definitions are cached, not rebuilt"
    );
    let (openai, anthropic, mcp) = (
        tools.openai_tools(),
        tools.anthropic_tools(),
        tools.mcp_tools(),
    );
    assert_eq!(
        (openai.len(), anthropic.len(), mcp.len()),
        (defs.len(), defs.len(), defs.len())
    );
    for (i, d) in defs.iter().enumerate() {
        assert_eq!(
            openai[i],
            json!({"type": "function", "function": {
                "name": d.name, "description": d.description, "parameters": d.parameters, "strict": true
            }})
        );
        let expected = if d.name == "recursive" {
            json!({"name": d.name, "description": d.description, "input_schema": d.parameters})
        } else {
            json!({"name": d.name, "description": d.description,
                "input_schema": toolcall::schema::anthropic_strict(&d.parameters), "strict": true})
        };
        assert_eq!(anthropic[i], expected);
        assert_eq!(
            mcp[i],
            json!({"name": d.name, "description": d.description, "inputSchema": d.parameters})
        );
    }
    assert_eq!(defs[0].description, "Text parameters.");
    assert_eq!(
        defs[0].parameters["properties"]["text"]["description"],
        "Some text."
    );
    let relaxed = relaxed_suite();
    assert_eq!(
        relaxed.openai_tools()[0]["function"]["strict"],
        json!(false)
    );
}

#[tokio::test]
async fn invalid_arguments_name_the_field() {
    let tools = suite();
    for (name, arguments, path) in [
        (
            "integers",
            r#"{"count": -1, "offset": 0, "small": 0, "index": 0, "delta": null}"#,
            "`count`",
        ),
        (
            "integers",
            r#"{"count": 1, "offset": 0, "small": 0, "index": 0, "delta": "x"}"#,
            "`delta`",
        ),
        (
            "nested",
            r#"{"customer": {"name": "A", "address": {"street": 1}}}"#,
            "`customer.address.street`",
        ),
        ("data_enums", r#"{"shape": "hexagon"}"#, "`shape`"),
    ] {
        let reply = tools.call(name, arguments).await;
        assert_eq!(
            reply.outcome,
            Outcome::InvalidArguments,
            "{name}: {}",
            reply.content
        );
        assert!(
            reply.content.contains(path),
            "{name}: {:?} does not name {path}",
            reply.content
        );
    }
}

/// Anthropic's strict tool use accepts a subset of JSON Schema: every
/// definition offered strict keeps to it, and is still valid JSON Schema.
#[test]
fn anthropic_strict_tools_keep_to_the_supported_subset() {
    const ALLOWED: [&str; 15] = [
        "type",
        "enum",
        "const",
        "anyOf",
        "allOf",
        "$ref",
        "$defs",
        "description",
        "title",
        "properties",
        "additionalProperties",
        "required",
        "items",
        "minItems",
        "format",
    ];
    fn walk(node: &Value, at: &str, problems: &mut Vec<String>) {
        match node {
            Value::Object(map) => {
                for (key, value) in map {
                    let here = format!("{at}/{key}");
                    let container = at.ends_with("/properties") || at.ends_with("/$defs");
                    if !container && !ALLOWED.contains(&key.as_str()) {
                        problems.push(format!("{here}: `{key}` is not supported"));
                    }
                    if !container && key == "type" && !value.is_string() {
                        problems.push(format!("{here}: a list of types"));
                    }
                    if !container && key == "minItems" && value != 0 && value != 1 {
                        problems.push(format!("{here}: minItems above 1"));
                    }
                    walk(value, &here, problems);
                }
                if map.get("type").and_then(Value::as_str) == Some("object")
                    && map.get("additionalProperties") != Some(&Value::Bool(false))
                {
                    problems.push(format!("{at}: an object not closed"));
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{at}/{i}"), problems);
                }
            }
            _ => {}
        }
    }
    for definition in suite().definitions() {
        let tool = definition.to_anthropic();
        if definition.name == "recursive" {
            // Recursion is beyond Anthropic's strict mode: offered as is.
            assert!(tool.get("strict").is_none());
            assert_eq!(tool["input_schema"], definition.parameters);
            continue;
        }
        assert_eq!(tool["strict"], true, "{}", definition.name);
        let schema = &tool["input_schema"];
        if let Err(error) = jsonschema::draft202012::meta::validate(schema) {
            panic!(
                "`{}`: not valid JSON Schema: {error}\n{schema:#}",
                definition.name
            );
        }
        let mut problems = Vec::new();
        walk(schema, "", &mut problems);
        assert!(
            problems.is_empty(),
            "`{}` breaks Anthropic's strict subset:\n{}\n{schema:#}",
            definition.name,
            problems.join("\n")
        );
    }
    // A relaxed tool is offered as written, without `strict`.
    for definition in relaxed_suite().definitions() {
        let tool = definition.to_anthropic();
        assert!(tool.get("strict").is_none());
        assert_eq!(tool["input_schema"], definition.parameters);
    }
}

/// A level that is `Default` but not `Serialize`: schemars cannot write its
/// default, so nothing in the schema says the field may be left out.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Level {
    #[default]
    Low,
    High,
}

/// A struct whose fields have defaults.
#[derive(Debug, Deserialize, JsonSchema)]
struct Profile {
    name: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    level: Level,
    #[serde(default)]
    home: Option<Address>,
}

/// `#[serde(default)]` fields of every kind, top-level and nested.
#[tool]
async fn profiles(
    profile: Profile,
    #[serde(default)] level: Level,
    #[serde(default)] extra: Vec<Profile>,
) -> String {
    let Profile {
        name,
        tags,
        level: inner,
        home,
    } = profile;
    format!(
        "{name} {tags:?} {inner:?} {} {level:?} {}",
        home.is_some(),
        extra.len()
    )
}

/// Durations and a time: what their schemas allow, serde takes (nanos
/// under a second, a time within `i64` seconds of the epoch).
#[tool]
async fn waits(
    delay: std::time::Duration,
    every: Option<std::time::Duration>,
    at: std::time::SystemTime,
) -> String {
    format!("{delay:?} {every:?} {at:?}")
}

/// Arguments generated from a schema: every value it allows, with the
/// bounds and the edges (lengths, ranges, `null`, absent keys) favoured.
mod generate {
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    /// How deep a recursive type (`$ref`) is followed.
    const MAX_DEPTH: usize = 3;

    pub fn arguments(root: &Value) -> BoxedStrategy<Value> {
        node(root, root, 0)
    }

    fn node(schema: &Value, root: &Value, depth: usize) -> BoxedStrategy<Value> {
        let Some(map) = schema.as_object() else {
            return Just(Value::Null).boxed();
        };
        if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
            let target = reference
                .strip_prefix('#')
                .and_then(|pointer| root.pointer(pointer))
                .unwrap_or_else(|| panic!("unresolved {reference}"));
            return node(target, root, depth + 1);
        }
        if let Some(Value::Array(values)) = map.get("enum") {
            return proptest::sample::select(values.clone()).boxed();
        }
        if let Some(value) = map.get("const") {
            return Just(value.clone()).boxed();
        }
        if let Some(Value::Array(variants)) = map.get("anyOf").or_else(|| map.get("oneOf")) {
            let strategies: Vec<_> = variants.iter().map(|v| node(v, root, depth)).collect();
            return proptest::strategy::Union::new(strategies).boxed();
        }
        match map.get("type") {
            Some(Value::Array(types)) => {
                let strategies: Vec<_> = types
                    .iter()
                    .map(|t| {
                        let mut one = map.clone();
                        one.insert("type".into(), t.clone());
                        node(&Value::Object(one), root, depth)
                    })
                    .collect();
                proptest::strategy::Union::new(strategies).boxed()
            }
            Some(Value::String(t)) => typed(t, map, root, depth),
            _ if map.contains_key("properties") => typed("object", map, root, depth),
            _ => panic!("the generator cannot follow {schema}"),
        }
    }

    fn bound(map: &Map<String, Value>, key: &str) -> Option<f64> {
        map.get(key).and_then(Value::as_f64)
    }

    fn typed(
        t: &str,
        map: &Map<String, Value>,
        root: &Value,
        depth: usize,
    ) -> BoxedStrategy<Value> {
        match t {
            "null" => Just(Value::Null).boxed(),
            "boolean" => any::<bool>().prop_map(Value::Bool).boxed(),
            "integer" => {
                // Whole numbers as i128, so every bound up to `u64::MAX` is exact.
                let to_i128 = |key: &str, default: i128| {
                    map.get(key).map_or(default, |v| {
                        v.as_i64()
                            .map(i128::from)
                            .or_else(|| v.as_u64().map(i128::from))
                            .unwrap_or_else(|| panic!("a whole {key}: {v}"))
                    })
                };
                // Unbounded: beyond every Rust integer, to catch a missing range.
                let (min, max) = (to_i128("minimum", -(1 << 70)), to_i128("maximum", 1 << 70));
                prop_oneof![Just(min), Just(max), Just(0i128.clamp(min, max)), min..=max]
                    .prop_map(|n| {
                        u64::try_from(n)
                            .map(Value::from)
                            .or_else(|_| i64::try_from(n).map(Value::from))
                            .unwrap_or_else(|_| Value::from(n as f64))
                    })
                    .boxed()
            }
            "number" => {
                let min = bound(map, "minimum").unwrap_or(-f64::MAX);
                let max = bound(map, "maximum").unwrap_or(f64::MAX);
                prop_oneof![
                    Just(min),
                    Just(max),
                    Just(0.5f64.clamp(min, max)),
                    (0.0..=1.0f64).prop_map(move |f| min + (max / 2.0 - min / 2.0) * 2.0 * f),
                ]
                .prop_map(move |f| Value::from(f.clamp(min, max)))
                .boxed()
            }
            "string" => {
                let length = |key: &str| map.get(key).and_then(Value::as_u64).map(|n| n as usize);
                let (min, max) = match map.get("pattern").and_then(Value::as_str) {
                    None => {
                        let min = length("minLength").unwrap_or(0);
                        (min, length("maxLength").unwrap_or(min + 8))
                    }
                    Some(pattern) => length_pattern(pattern).unwrap_or_else(|| {
                        panic!("the generator cannot follow the pattern {pattern}")
                    }),
                };
                proptest::collection::vec(
                    any::<char>().prop_filter("no line terminator", |c| {
                        !matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
                    }),
                    min..=max,
                )
                .prop_map(|chars| Value::String(chars.into_iter().collect()))
                .boxed()
            }
            "array" => {
                let item = map.get("items").cloned().unwrap_or(Value::Bool(true));
                let min = map.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
                if depth >= MAX_DEPTH && min == 0 {
                    return Just(Value::Array(Vec::new())).boxed();
                }
                let max = if depth >= MAX_DEPTH {
                    min
                } else {
                    map.get("maxItems")
                        .and_then(Value::as_u64)
                        .map_or(min + 3, |m| m as usize)
                };
                proptest::collection::vec(node(&item, root, depth + 1), min..=max)
                    .prop_map(Value::Array)
                    .boxed()
            }
            "object" => {
                let required: Vec<&str> = map
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let mut fields: Vec<BoxedStrategy<Option<(String, Value)>>> = Vec::new();
                for (name, schema) in map
                    .get("properties")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    let name = name.clone();
                    let value = node(schema, root, depth + 1);
                    fields.push(if required.contains(&name.as_str()) {
                        value.prop_map(move |v| Some((name.clone(), v))).boxed()
                    } else {
                        proptest::option::of(value.prop_map(move |v| (name.clone(), v))).boxed()
                    });
                }
                fields
                    .prop_map(|fields| Value::Object(fields.into_iter().flatten().collect()))
                    .boxed()
            }
            other => panic!("the generator has no type {other}"),
        }
    }

    /// The length bounds of the patterns the strict rewrite writes (`^.{m,n}$`).
    fn length_pattern(pattern: &str) -> Option<(usize, usize)> {
        let inner = pattern.strip_prefix("^.{")?.strip_suffix("}$")?;
        match inner.split_once(',') {
            None => inner.parse().ok().map(|n| (n, n)),
            Some((min, "")) => min.parse().ok().map(|min| (min, min + 8)),
            Some((min, max)) => Some((min.parse().ok()?, max.parse().ok()?)),
        }
    }
}

/// Every argument object a schema allows parses: generated from every
/// snapshot schema, strict and non-strict, none is refused.
#[test]
fn whatever_a_schema_allows_parses() {
    use proptest::test_runner::{Config, TestRunner};

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let with_profiles = |builder: toolcall::ToolSetBuilder| {
        builder
            .tools(toolcall::tools![
                strings, integers, floats, flags, options, lists, nested, unit_enums, data_enums,
                recursive, no_params, defaults, profiles, waits
            ])
            .build()
            .expect("every tool builds")
    };
    let strict = with_profiles(ToolSet::builder());
    let relaxed = with_profiles(ToolSet::builder().relaxed());
    for tools in [&strict, &relaxed] {
        for definition in tools.definitions() {
            let validator =
                jsonschema::draft202012::new(&definition.parameters).expect("a valid schema");
            let mut runner = TestRunner::new(Config {
                cases: 128,
                failure_persistence: None,
                ..Config::default()
            });
            let result = runner.run(&generate::arguments(&definition.parameters), |arguments| {
                // The generator keeps to the schema ...
                let valid = validator.validate(&arguments).map_err(|e| e.to_string());
                proptest::prop_assert_eq!(valid, Ok(()), "the generator wrote {}", arguments);
                // ... and what the schema allows, the tool takes.
                let reply = runtime.block_on(tools.call(&definition.name, &arguments.to_string()));
                proptest::prop_assert_eq!(
                    reply.outcome,
                    Outcome::Ok,
                    "`{}` (strict: {}) refuses {}: {}",
                    definition.name,
                    definition.strict,
                    arguments,
                    reply.content
                );
                Ok(())
            });
            if let Err(failure) = result {
                panic!("{failure}\n{:#}", definition.parameters);
            }
        }
    }
}

/// Property: every snapshot schema, used as a typed output's schema, gets
/// an auto-mode answer in each wire format that reads into its Rust types
/// (the tool's own arguments, deserialised as a call would be), over many
/// draws of the simulator. Anthropic's structured outputs have no bounds,
/// lengths or patterns (its SDKs move them into the description, as
/// `schema::anthropic_strict` does), so there the property holds only for
/// the schemas whose Anthropic form keeps every constraint; for the others
/// an answer may not read and goes back with its error (the retry budget,
/// `simulator/tests/request_settings.rs`).
#[tokio::test]
async fn auto_answers_to_each_snapshot_schema_parse_into_its_types_in_every_format() {
    use toolcall::{
        AnthropicModel, ChatRequest, Message, Model, OpenAiModel, OpenAiResponsesModel,
        OutputFormat, ToolCall,
    };
    let tools = suite();
    let server = toolcall_sim::Server::builder()
        .seed(17)
        .api_key("sk")
        .start()
        .await
        .expect("server");
    let models: Vec<(&str, Box<dyn Model>)> = vec![
        (
            "chat",
            Box::new(
                OpenAiModel::builder()
                    .base_url(server.base_url())
                    .api_key("sk")
                    .build()
                    .expect("chat"),
            ),
        ),
        (
            "responses",
            Box::new(
                OpenAiResponsesModel::builder()
                    .base_url(server.base_url())
                    .api_key("sk")
                    .build()
                    .expect("responses"),
            ),
        ),
        (
            "anthropic",
            Box::new(
                AnthropicModel::builder()
                    .base_url(format!("http://{}", server.addr()))
                    .api_key("sk")
                    .build()
                    .expect("anthropic"),
            ),
        ),
    ];
    let mut anthropic_checked = 0;
    for definition in tools.definitions() {
        let mut request = ChatRequest::new("m", vec![Message::user("answer")]);
        request.output = Some(OutputFormat {
            name: definition.name.clone(),
            schema: definition.parameters.clone(),
            strict: true,
        });
        let anthropic_form = toolcall::schema::anthropic_strict(&definition.parameters);
        let lossless = constraints(&anthropic_form) == constraints(&definition.parameters);
        anthropic_checked += usize::from(lossless);
        for (format, model) in &models {
            if *format == "anthropic" && !lossless {
                continue;
            }
            for draw in 0..8 {
                let reply = model.complete(&request).await.expect("a reply");
                let answer = reply.content.unwrap_or_default();
                let call = ToolCall::new("c", definition.name.clone(), answer.clone());
                let batch = tools.dispatch(std::slice::from_ref(&call)).await;
                assert_eq!(
                    batch.results[0].outcome,
                    Outcome::Ok,
                    "{format} draw {draw}: `{}` does not read {answer}: {}",
                    definition.name,
                    batch.results[0].content
                );
            }
        }
    }
    assert!(
        anthropic_checked > 0,
        "no schema kept its constraints for Anthropic"
    );
}

/// The constraint keywords of a schema, counted over every node.
fn constraints(schema: &Value) -> usize {
    const KEYWORDS: [&str; 11] = [
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "minItems",
        "maxItems",
    ];
    match schema {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                usize::from(KEYWORDS.contains(&k.as_str()) && !v.is_object()) + constraints(v)
            })
            .sum(),
        Value::Array(items) => items.iter().map(constraints).sum(),
        _ => 0,
    }
}
