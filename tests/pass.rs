//! Every supported `#[tool]` signature compiles cleanly under strict lints and works.
#![deny(warnings, unused_qualifications)]

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use toolcall::{Outcome, State, ToolSet, tool};

/// A database handle, shared by the tools.
#[derive(Clone)]
pub struct Db {
    prefix: String,
}

/// How urgent.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Soon.
    High,
    /// Whenever.
    Low,
}

/// A filter.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
pub struct Filter {
    /// Field name.
    pub field: String,
    /// Values to match.
    pub values: Vec<String>,
    /// Optional cap.
    pub max: Option<u32>,
}

/// Medications.
#[derive(Debug, Serialize)]
pub struct Medications {
    patient: String,
    items: Vec<String>,
}

/// Get the current active medication list
/// for a patient.
///
/// Second paragraph.
#[tool]
pub async fn get_patient_medications(
    State(db): State<Db>,
    /// Patient ID (format: P-NNNNN)
    patient_id: String,
    /// Number of results.
    limit: Option<u32>,
) -> Result<Medications, String> {
    if patient_id.is_empty() {
        return Err("empty patient id".to_owned());
    }
    let n = limit.unwrap_or(2) as usize;
    Ok(Medications {
        patient: format!("{}{patient_id}", db.prefix),
        items: ["a", "b", "c"]
            .iter()
            .take(n)
            .map(|s| s.to_string())
            .collect(),
    })
}

/// Says hello.
#[tool(
    name = "say-hello",
    description = "Greets someone.",
    timeout = "2s",
    strict = false
)]
async fn hello(name: String) -> String {
    format!("hello {name}")
}

/// No parameters, returns unit.
#[tool(exclusive, spawn)]
async fn ping() {}

/// A plain fn runs on the blocking pool.
#[tool]
fn add(a: i64, b: f64, flag: bool, priority: Priority, filters: Vec<Filter>) -> f64 {
    let _ = (flag, priority, filters);
    a as f64 + b
}

#[tokio::test]
async fn tools_register_and_run() {
    let tools = ToolSet::builder()
        .tools(toolcall::tools![get_patient_medications, hello, ping, add])
        .state(Db {
            prefix: "db:".into(),
        })
        .build()
        .expect("build");
    assert_eq!(
        tools.names().collect::<Vec<_>>(),
        ["get_patient_medications", "say-hello", "ping", "add"]
    );
    let defs = tools.definitions();
    assert_eq!(
        defs[0].description,
        "Get the current active medication list\nfor a patient.\n\nSecond paragraph.",
    );
    assert_eq!(defs[1].description, "Greets someone.");
    assert!(defs[0].strict && !defs[1].strict);
    let props = &defs[0].parameters["properties"];
    assert_eq!(
        props["patient_id"]["description"],
        "Patient ID (format: P-NNNNN)"
    );
    assert!(props.get("db").is_none());
    assert_eq!(tools.policy("ping").map(|p| p.exclusive), Some(true));
    assert_eq!(tools.policy("ping").map(|p| p.spawn), Some(true));
    assert_eq!(tools.policy("say-hello").map(|p| p.spawn), Some(false));
    assert_eq!(tools.policy("add").map(|p| p.blocking), Some(true));
    assert_eq!(tools.policy("ping").map(|p| p.blocking), Some(false));
    assert_eq!(
        tools.policy("say-hello").and_then(|p| p.timeout),
        Some(std::time::Duration::from_secs(2))
    );

    let r = tools
        .call(
            "get_patient_medications",
            r#"{"patient_id": "P-1", "limit": 1}"#,
        )
        .await;
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    assert_eq!(r.content, r#"{"patient":"db:P-1","items":["a"]}"#);
    let r = tools
        .call("get_patient_medications", r#"{"patient_id": ""}"#)
        .await;
    assert_eq!(
        (r.outcome, r.content.as_str()),
        (Outcome::ToolError, "error: empty patient id")
    );
    let r = tools
        .call(
            "get_patient_medications",
            r#"{"patient_id": "P-1", "limit": "x"}"#,
        )
        .await;
    assert_eq!(r.outcome, Outcome::InvalidArguments);
    assert!(r.content.contains("`limit`"), "{}", r.content);
    let r = tools.call("say-hello", r#"{"name": "Ada"}"#).await;
    assert_eq!(r.content, "hello Ada");
    let r = tools.call("ping", "").await;
    assert_eq!((r.outcome, r.content.as_str()), (Outcome::Ok, "null"));
    let r = tools
        .call(
            "add",
            r#"{"a": 1, "b": 0.5, "flag": true, "priority": "high", "filters": []}"#,
        )
        .await;
    assert_eq!(r.content, "1.5");
    let r = tools.call("nope", "{}").await;
    assert_eq!(r.outcome, Outcome::UnknownTool);

    // The fns stay callable as written.
    assert_eq!(hello("x".into()).await, "hello x");
    assert_eq!(add(1, 1.0, false, Priority::Low, vec![]), 2.0);
}
