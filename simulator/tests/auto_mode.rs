//! Auto mode: arguments generated from schemas are valid against them, for
//! many seeds; and the auto agent loop calls every tool, then reports.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use toolcall_runtime::{Agent, ChatRequest, Message, Model, ToolDefinition, ToolSet};
use toolcall_sim::{SimModel, SimRng, SimTool, Simulator, generate_arguments};

/// A small JSON Schema checker: the keywords tool schemas use.
fn check(schema: &Value, root: &Value, value: &Value, path: &str) -> Result<(), String> {
    let fail = |why: String| Err(format!("{path}: {why} (value {value}, schema {schema})"));
    let map = match schema {
        Value::Bool(true) => return Ok(()),
        Value::Bool(false) => return fail("false schema".into()),
        Value::Object(map) => map,
        _ => return fail("schema is not an object".into()),
    };
    if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
        let target = root
            .pointer(reference.trim_start_matches('#'))
            .ok_or("unresolved $ref")?;
        check(target, root, value, path)?;
    }
    if map.get("const").is_some_and(|c| c != value) {
        return fail("const".into());
    }
    if map
        .get("enum")
        .and_then(Value::as_array)
        .is_some_and(|options| !options.contains(value))
    {
        return fail("enum".into());
    }
    if let Some(all) = map.get("allOf").and_then(Value::as_array) {
        for s in all {
            check(s, root, value, path)?;
        }
    }
    if let Some(any) = map.get("anyOf").and_then(Value::as_array)
        && !any.iter().any(|s| check(s, root, value, path).is_ok())
    {
        return fail("anyOf".into());
    }
    if let Some(one) = map.get("oneOf").and_then(Value::as_array) {
        let n = one
            .iter()
            .filter(|s| check(s, root, value, path).is_ok())
            .count();
        if n != 1 {
            return fail(format!("oneOf matched {n}"));
        }
    }
    if let Some(types) = map.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let is = |t: &str| match t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "integer" => {
                value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            "number" => value.is_number(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        };
        if !types.iter().any(|t| is(t)) {
            return fail(format!("type {types:?}"));
        }
    }
    if let Some(x) = value.as_f64() {
        let num = |k: &str| map.get(k).and_then(Value::as_f64);
        if num("minimum").is_some_and(|m| x < m) || num("maximum").is_some_and(|m| x > m) {
            return fail("bounds".into());
        }
        if num("exclusiveMinimum").is_some_and(|m| x <= m)
            || num("exclusiveMaximum").is_some_and(|m| x >= m)
        {
            return fail("exclusive bounds".into());
        }
        if let Some(step) = num("multipleOf") {
            let q = x / step;
            if (q - q.round()).abs() > 1e-9 {
                return fail("multipleOf".into());
            }
        }
    }
    if let Some(s) = value.as_str() {
        let n = s.chars().count() as u64;
        if map
            .get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| n < m)
            || map
                .get("maxLength")
                .and_then(Value::as_u64)
                .is_some_and(|m| n > m)
        {
            return fail("length".into());
        }
        if map.get("format").and_then(Value::as_str) == Some("date") {
            let parts: Vec<&str> = s.split('-').collect();
            let ok = parts.len() == 3
                && parts[0].len() == 4
                && parts[1].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
                && parts[2].parse::<u32>().is_ok_and(|d| (1..=31).contains(&d));
            if !ok {
                return fail("date format".into());
            }
        }
        if map.get("format").and_then(Value::as_str) == Some("email") && !s.contains('@') {
            return fail("email format".into());
        }
    }
    if let Some(items) = value.as_array() {
        let n = items.len() as u64;
        if map
            .get("minItems")
            .and_then(Value::as_u64)
            .is_some_and(|m| n < m)
            || map
                .get("maxItems")
                .and_then(Value::as_u64)
                .is_some_and(|m| n > m)
        {
            return fail("item count".into());
        }
        if map.get("uniqueItems") == Some(&Value::Bool(true)) {
            for (i, a) in items.iter().enumerate() {
                if items[..i].contains(a) {
                    return fail("unique items".into());
                }
            }
        }
        if let Some(item_schema) = map.get("items") {
            for (i, item) in items.iter().enumerate() {
                check(item_schema, root, item, &format!("{path}/{i}"))?;
            }
        }
    }
    if let Some(object) = value.as_object() {
        let empty = Map::new();
        let properties = map
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        for name in map
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(name) {
                return fail(format!("missing required `{name}`"));
            }
        }
        for (key, v) in object {
            match properties.get(key) {
                Some(s) => check(s, root, v, &format!("{path}/{key}"))?,
                None if map.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return fail(format!("extra property `{key}`"));
                }
                None => {}
            }
        }
    }
    Ok(())
}

fn hand_written() -> Value {
    json!({
        "type": "object",
        "$defs": {
            "address": {
                "type": "object",
                "properties": {
                    "street": {"type": "string", "minLength": 3, "maxLength": 40},
                    "zip": {"type": "string", "pattern": "^[0-9]{5}$"},
                    "country": {"const": "FR"}
                },
                "required": ["street", "zip", "country"],
                "additionalProperties": false
            }
        },
        "properties": {
            "patient_id": {"type": "string", "pattern": "^P-\\d{5}$"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "limit": {"type": ["integer", "null"], "minimum": 1, "maximum": 50},
            "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            "step": {"type": "integer", "multipleOf": 5, "minimum": 10, "maximum": 40},
            "since": {"type": "string", "format": "date"},
            "email": {"type": "string", "format": "email"},
            "urgent": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b", "c", "d"]}, "minItems": 1, "maxItems": 3, "uniqueItems": true},
            "home": {"$ref": "#/$defs/address"},
            "other": {"anyOf": [{"$ref": "#/$defs/address"}, {"type": "null"}]},
            "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "integer", "minimum": -3, "maximum": 3}, "minItems": 2}},
            "nested": {
                "type": "object",
                "properties": {"deep": {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}},
                "required": ["deep"]
            }
        },
        "required": ["patient_id", "unit", "limit", "ratio", "step", "since", "tags", "home", "nested"],
        "additionalProperties": false
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code)]
enum Severity {
    Mild,
    Moderate,
    Severe,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[allow(dead_code)]
enum Filter {
    ByDate { from: String, to: Option<String> },
    ByCode { code: u16 },
}

#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Range {
    low: f64,
    high: f64,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code)]
struct LabQuery {
    patient_id: String,
    limit: Option<u32>,
    severity: Severity,
    filters: Vec<Filter>,
    range: Option<Range>,
    codes: Vec<u8>,
    include_archived: bool,
}

fn schemars_schema() -> Value {
    toolcall_runtime::schema::parameters_of::<LabQuery>(&mut toolcall_runtime::schema::generator())
}

#[test]
fn hand_written_schema_is_followed_for_many_seeds() {
    let schema = hand_written();
    for seed in 0..500 {
        let value = generate_arguments(&schema, &mut SimRng::new(seed));
        if let Err(why) = check(&schema, &schema, &value, "") {
            panic!("seed {seed}: {why}");
        }
        let id = value["patient_id"].as_str().expect("id");
        assert!(
            id.len() == 7 && id.starts_with("P-") && id[2..].bytes().all(|b| b.is_ascii_digit()),
            "{id}"
        );
        let zip = value["home"]["zip"].as_str().expect("zip");
        assert!(
            zip.len() == 5 && zip.bytes().all(|b| b.is_ascii_digit()),
            "{zip}"
        );
    }
}

#[test]
fn generation_is_seeded_and_varied() {
    let schema = hand_written();
    let a = generate_arguments(&schema, &mut SimRng::new(42));
    assert_eq!(a, generate_arguments(&schema, &mut SimRng::new(42)));
    let nulls = (0..200)
        .filter(|s| generate_arguments(&schema, &mut SimRng::new(*s))["limit"].is_null())
        .count();
    assert!(
        (40..160).contains(&nulls),
        "nullable fields take both branches: {nulls}"
    );
}

#[test]
fn schemars_schemas_are_followed_and_deserialize() {
    let plain = schemars_schema();
    let strict = toolcall_runtime::schema::to_strict(plain.clone()).expect("strict");
    for schema in [plain, strict] {
        for seed in 0..300 {
            let value = generate_arguments(&schema, &mut SimRng::new(seed));
            if let Err(why) = check(&schema, &schema, &value, "") {
                panic!("seed {seed}: {why}\nschema: {schema:#}");
            }
            if let Err(e) = serde_json::from_value::<LabQuery>(value.clone()) {
                panic!("seed {seed}: {e}: {value}");
            }
        }
    }
}

fn lab_tool() -> SimTool {
    SimTool::new("query_labs", "Lab results")
        .parameters(schemars_schema())
        .returns(json!({"labs": []}))
}

#[tokio::test(start_paused = true)]
async fn auto_mode_calls_every_tool_with_valid_arguments_then_reports() {
    let tools = ToolSet::builder()
        .add(
            SimTool::new("get_profile", "Profile")
                .parameters(hand_written())
                .returns(json!("profile ok")),
        )
        .add(lab_tool())
        .build()
        .expect("tools");
    for seed in 0..20 {
        let model = SimModel::auto(seed);
        let run = Agent::new(model.clone(), tools.clone())
            .run("summarise")
            .await
            .expect("run");
        assert_eq!(run.rounds.len(), 2);
        let batch = run.rounds[0].batch.as_ref().expect("batch");
        assert!(batch.all_ok(), "seed {seed}: {:?}", batch.results);
        assert_eq!(
            run.rounds[0]
                .tool_calls
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["get_profile", "query_labs"]
        );
        for (call, definition) in run.rounds[0].tool_calls.iter().zip(tools.definitions()) {
            let args: Value = serde_json::from_str(&call.arguments).expect("JSON");
            if let Err(why) = check(&definition.parameters, &definition.parameters, &args, "") {
                panic!("seed {seed}: {why}");
            }
        }
        assert_eq!(
            run.answer,
            "Here is what the tools returned:\n- get_profile: profile ok\n- query_labs: {\"labs\":[]}"
        );
        let journal = model.journal().entries();
        assert_eq!(journal[0].tools_offered, ["get_profile", "query_labs"]);
        assert_eq!(
            journal[1].delivered_results(),
            run.rounds[0]
                .tool_calls
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>()
        );
    }
}

#[tokio::test(start_paused = true)]
async fn auto_mode_respects_tool_choice_and_parallel_flag() {
    let tools = ToolSet::builder()
        .add(SimTool::new("a", "a"))
        .add(SimTool::new("b", "b"))
        .add(SimTool::new("c", "c"))
        .build()
        .expect("tools");
    let run = Agent::new(SimModel::auto(1), tools.clone())
        .parallel_tool_calls(false)
        .run("go")
        .await
        .expect("run");
    let per_round: Vec<Vec<&str>> = run
        .rounds
        .iter()
        .map(|r| r.tool_calls.iter().map(|c| c.name.as_str()).collect())
        .collect();
    assert_eq!(per_round, [vec!["a"], vec!["b"], vec!["c"], vec![]]);

    let run = Agent::new(SimModel::auto(1), tools.clone())
        .tool_choice(toolcall_runtime::ToolChoice::Function("b".into()))
        .run("go")
        .await
        .expect("run");
    assert_eq!(
        run.rounds[0]
            .tool_calls
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["b"]
    );

    let mut request = ChatRequest::new("m", vec![Message::user("hi")]);
    request.tools = vec![ToolDefinition::new("a", String::new(), json!({})).with_strict(false)];
    request.tool_choice = Some(toolcall_runtime::ToolChoice::None);
    let reply = Simulator::auto(0)
        .model()
        .complete(&request)
        .await
        .expect("reply");
    assert!(reply.tool_calls.is_empty() && reply.content.is_some());
}

#[test]
fn the_checker_is_not_vacuous() {
    let schema = hand_written();
    let good = generate_arguments(&schema, &mut SimRng::new(1));
    assert_eq!(check(&schema, &schema, &good, ""), Ok(()));
    let breakages: [(&str, Value); 6] = [
        ("/unit", json!("kelvin")),
        ("/limit", json!(0)),
        ("/step", json!(12)),
        ("/home/country", json!("DE")),
        ("/tags", json!([])),
        ("/nested/deep", json!({})),
    ];
    for (pointer, bad) in breakages {
        let mut value = good.clone();
        *value.pointer_mut(pointer).expect("field") = bad;
        assert!(check(&schema, &schema, &value, "").is_err(), "{pointer}");
    }
    let mut extra = good.clone();
    extra["surprise"] = json!(1);
    assert!(check(&schema, &schema, &extra, "").is_err());
    let schemars = schemars_schema();
    let mut value = generate_arguments(&schemars, &mut SimRng::new(3));
    value["severity"] = json!("Fatal");
    assert!(check(&schemars, &schemars, &value, "").is_err());
}
