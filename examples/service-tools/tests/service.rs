//! Method tools and a free-fn tool in one tool set, with state, as a
//! downstream crate uses them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use toolcall::{Outcome, State, ToolCall, ToolSet};
use toolcall_example_service::{Allergy, PatientService, Settings, milligrams_to_grams};

fn service() -> Arc<PatientService> {
    let allergy = Allergy {
        substance: "penicillin".into(),
        severity: "severe".into(),
    };
    Arc::new(PatientService::new(HashMap::from([(
        "P-00001".to_owned(),
        vec![allergy],
    )])))
}

fn tools(service: &Arc<PatientService>) -> ToolSet {
    ToolSet::builder()
        .tools(service.tools())
        .tools(toolcall::tools![milligrams_to_grams])
        .state(Settings {
            latency: Duration::from_millis(100),
        })
        .build()
        .expect("the tools build")
}

#[test]
fn methods_and_fns_are_offered_with_their_options() {
    let tools = tools(&service());
    let names: Vec<&str> = tools.names().collect();
    assert_eq!(
        names,
        ["get_allergies", "patient_count", "milligrams_to_grams"]
    );
    let allergies = &tools.definitions()[0];
    assert_eq!(allergies.description, "Get documented drug allergies.");
    assert_eq!(
        allergies.parameters["properties"]["patient_id"]["description"],
        "Patient ID (format: P-NNNNN)"
    );
    // State is injected, not part of the schema.
    assert_eq!(
        allergies.parameters["required"],
        serde_json::json!(["patient_id"])
    );
    let policy = tools.policy("get_allergies").expect("a policy");
    assert_eq!(policy.timeout, Some(Duration::from_secs(2)));
    assert!(tools.policy("patient_count").expect("a policy").exclusive);
    assert_eq!(tools.mcp_tools()[0]["annotations"]["readOnlyHint"], true);
}

#[tokio::test(start_paused = true)]
async fn calls_run_on_the_service_concurrently() {
    let service = service();
    let tools = tools(&service);
    let calls = [
        ToolCall::new("a", "get_allergies", r#"{"patient_id": "P-00001"}"#),
        ToolCall::new("b", "get_allergies", r#"{"patient_id": "P-00002"}"#),
        ToolCall::new("c", "milligrams_to_grams", r#"{"milligrams": 250}"#),
        ToolCall::new("d", "patient_count", "{}"),
    ];
    let batch = tools.dispatch(&calls).await;
    let outcomes: Vec<Outcome> = batch.results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [Outcome::Ok, Outcome::ToolError, Outcome::Ok, Outcome::Ok]
    );
    assert_eq!(
        batch.results[0].content,
        r#"[{"substance":"penicillin","severity":"severe"}]"#
    );
    assert_eq!(batch.results[1].content, "error: no patient P-00002");
    assert_eq!(batch.results[2].content, "0.25");
    assert_eq!(batch.results[3].content, "1");
    // Three 100 ms calls at once, then the exclusive count alone.
    assert_eq!(batch.makespan, Duration::from_millis(100));
    assert_eq!(service.lookups(), 2);
}

#[tokio::test(start_paused = true)]
async fn methods_stay_callable_as_written() {
    let service = service();
    let settings = Settings {
        latency: Duration::ZERO,
    };
    let found = service
        .get_allergies(State(settings), "P-00001".into())
        .await
        .expect("a record");
    assert_eq!(found[0].substance, "penicillin");
    assert_eq!(service.count(), 1);
}

#[test]
fn missing_state_is_refused_at_build() {
    let error = ToolSet::builder()
        .tools(service().tools())
        .build()
        .expect_err("no Settings");
    assert!(error.to_string().contains("Settings"), "{error}");
}
