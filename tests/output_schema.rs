//! What `#[tool]` derives from a fn's return type and attribute for MCP: an
//! output schema (the successful value's, when it is `JsonSchema` and not
//! text) and annotations; and how MCP lists them.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};
use toolcall::{ToolAnnotations, ToolSet, tool};

#[derive(Serialize, JsonSchema)]
struct Forecast {
    /// Degrees Celsius.
    celsius: f64,
    summary: Option<String>,
}

/// Serialisable, but without a schema.
#[derive(Serialize)]
struct Opaque {
    n: u32,
}

/// A structured value.
#[tool(title = "Forecast", read_only, idempotent, open_world = true)]
async fn forecast(city: String) -> Result<Forecast, std::io::Error> {
    Ok(Forecast {
        celsius: 21.5,
        summary: Some(city),
    })
}

/// A list, through an alias of `Result`.
#[tool(destructive = false)]
async fn readings() -> std::io::Result<Vec<u32>> {
    Ok(vec![1, 2])
}

/// Text.
#[tool]
async fn greeting(name: String) -> String {
    format!("hello {name}")
}

/// Any JSON.
#[tool]
async fn anything() -> Value {
    json!({"a": 1})
}

/// Not `JsonSchema`.
#[tool]
async fn opaque() -> Opaque {
    Opaque { n: 1 }
}

/// A map.
#[tool]
fn counts() -> BTreeMap<String, u32> {
    BTreeMap::from([("a".to_owned(), 1)])
}

fn tools() -> ToolSet {
    ToolSet::builder()
        .tools(toolcall::tools![
            forecast, readings, greeting, anything, opaque, counts
        ])
        .build()
        .expect("tools")
}

fn output(tools: &ToolSet, name: &str) -> Option<Value> {
    tools
        .definitions()
        .iter()
        .find(|d| d.name == name)
        .and_then(|d| d.output_schema.clone())
}

#[test]
fn the_return_type_gives_the_output_schema() {
    let tools = tools();
    let forecast = output(&tools, "forecast").expect("a struct has a schema");
    assert_eq!(forecast["type"], "object");
    assert_eq!(forecast["required"], json!(["celsius", "summary"]));
    assert_eq!(
        forecast["properties"]["celsius"]["description"],
        "Degrees Celsius."
    );
    assert!(forecast.get("$schema").is_none() && forecast.get("title").is_none());
    jsonschema::draft202012::meta::validate(&forecast).expect("valid JSON Schema");
    assert_eq!(
        output(&tools, "readings"),
        Some(
            json!({"type": "array", "items": {"type": "integer", "format": "uint32", "minimum": 0}})
        )
    );
    assert_eq!(output(&tools, "greeting"), None, "text is not structured");
    assert_eq!(
        output(&tools, "anything"),
        None,
        "any value describes nothing"
    );
    assert_eq!(output(&tools, "opaque"), None, "no JsonSchema, no schema");
    assert_eq!(
        output(&tools, "counts").map(|s| s["type"].clone()),
        Some(json!("object"))
    );
}

#[tokio::test]
async fn the_structured_value_fits_its_schema() {
    let tools = tools();
    for name in ["forecast", "readings", "counts"] {
        let arguments = if name == "forecast" {
            r#"{"city": "Oslo"}"#
        } else {
            "{}"
        };
        let result = tools.call(name, arguments).await;
        let value = result.structured().expect("a structured value");
        let schema = output(&tools, name).expect("a schema");
        let validator = jsonschema::draft202012::new(&schema).expect("valid");
        assert!(
            validator.is_valid(&value),
            "{name}: {value} against {schema}"
        );
    }
}

#[test]
fn the_attribute_gives_the_annotations() {
    let tools = tools();
    let annotations = |name: &str| {
        tools
            .definitions()
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.annotations)
            .expect("a tool")
    };
    assert_eq!(
        annotations("forecast"),
        ToolAnnotations::NONE
            .with_title("Forecast")
            .with_read_only(true)
            .with_idempotent(true)
            .with_open_world(true)
    );
    assert_eq!(
        annotations("readings"),
        ToolAnnotations::NONE.with_destructive(false)
    );
    assert!(annotations("greeting").is_empty());
}

#[test]
fn mcp_lists_object_results_as_they_are_and_wraps_the_others() {
    let tools = tools();
    let mcp = tools.mcp_tools();
    let by_name = |name: &str| {
        mcp.iter()
            .find(|t| t["name"] == name)
            .cloned()
            .expect("listed")
    };
    let forecast = by_name("forecast");
    assert_eq!(
        Some(forecast["outputSchema"].clone()),
        output(&tools, "forecast")
    );
    assert_eq!(
        forecast["annotations"],
        json!({"title": "Forecast", "readOnlyHint": true, "idempotentHint": true, "openWorldHint": true})
    );
    assert_eq!(
        by_name("readings")["outputSchema"],
        json!({
            "type": "object",
            "properties": {"result": output(&tools, "readings")},
            "required": ["result"]
        })
    );
    assert!(by_name("greeting").get("outputSchema").is_none());
    assert!(by_name("greeting").get("annotations").is_none());
}
