//! Tools from another crate, registered automatically, collected by one call.

use toolcall::{Outcome, ToolSet};

// Link the library whose `#[tool]`s register themselves.
use toolcall_example_tools as _;

#[tokio::test]
async fn tools_from_another_crate_are_collected() {
    let tools = ToolSet::builder().registered().build().expect("tools");
    let names: Vec<&str> = tools.names().collect();
    assert!(names.contains(&"celsius_to_fahrenheit"), "{names:?}");
    assert!(names.contains(&"word_count"), "{names:?}");
    let r = tools
        .call("celsius_to_fahrenheit", r#"{"celsius": 100}"#)
        .await;
    assert_eq!((r.outcome, r.content.as_str()), (Outcome::Ok, "212.0"));
    let r = tools
        .call("word_count", r#"{"text": "one two three"}"#)
        .await;
    assert_eq!(r.content, "3");
}
