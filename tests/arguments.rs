//! A `#[tool]`'s arguments are parsed in one pass when they are valid; when
//! they are not, the message the model reads is the field-by-field path's,
//! whatever the number of parameters (past twelve there is no one-pass
//! parser and every call goes field by field).

use schemars::JsonSchema;
use serde::Deserialize;
use toolcall::__private01::{CallError, arguments};
use toolcall::{Outcome, ToolSet, tool};

#[derive(Debug, Deserialize, JsonSchema, PartialEq)]
struct Point {
    x: i32,
    y: i32,
}

/// Three parameters of three kinds.
#[tool]
async fn mixed(
    /// A count.
    count: u32,
    /// A note.
    note: Option<String>,
    /// Points.
    points: Vec<Point>,
) -> String {
    format!("{count} {note:?} {points:?}")
}

/// Thirteen parameters: more than the one-pass parser takes.
#[tool]
#[allow(clippy::too_many_arguments, reason = "the point of the test")]
async fn wide(
    a: u8,
    b: u8,
    c: u8,
    d: u8,
    e: u8,
    f: u8,
    g: u8,
    h: u8,
    i: u8,
    j: u8,
    k: u8,
    l: u8,
    m: Option<u8>,
) -> u32 {
    [a, b, c, d, e, f, g, h, i, j, k, l, m.unwrap_or(100)]
        .iter()
        .map(|&n| u32::from(n))
        .sum()
}

/// What the field-by-field path says of `text` for `mixed`'s parameters.
fn field_by_field(text: &str) -> String {
    let parsed = arguments(text, &["count", "note", "points"]).and_then(|args| {
        args.take::<u32>("count")?;
        args.take::<Option<String>>("note")?;
        args.take::<Vec<Point>>("points")?;
        Ok(())
    });
    match parsed {
        Err(CallError::InvalidArguments(message)) => message,
        other => panic!("{text}: {other:?}"),
    }
}

#[tokio::test]
async fn valid_arguments_parse_and_invalid_ones_read_as_field_by_field() {
    let tools = ToolSet::builder()
        .tools(toolcall::tools![mixed, wide])
        .build()
        .expect("tools");
    let ok = tools
        .call("mixed", r#" {"points": [{"x": 1, "y": -2}], "count": 3} "#)
        .await;
    assert_eq!(ok.outcome, Outcome::Ok, "{}", ok.content);
    assert_eq!(ok.content, "3 None [Point { x: 1, y: -2 }]");
    let ok = tools
        .call("mixed", r#"{"count": 3, "note": "n", "points": []}"#)
        .await;
    assert_eq!(ok.content, r#"3 Some("n") []"#);
    for text in [
        r#"{"count": -1, "note": null, "points": []}"#,
        r#"{"count": 1, "points": [{"x": 1}]}"#,
        r#"{"count": 1, "points": [{"x": 1, "y": "2"}]}"#,
        r#"{"count": 1, "count": 2, "points": []}"#,
        r#"{"count": 1, "points": [], "extra": true}"#,
        r#"{"note": "n", "points": []}"#,
        r#"{"count": 1, "points": []} trailing"#,
        r#"{"count": 1, "points": ["#,
        "[1, null, []]",
        "",
    ] {
        let result = tools.call("mixed", text).await;
        assert_eq!(result.outcome, Outcome::InvalidArguments, "{text}");
        assert_eq!(
            result.content,
            format!("invalid arguments for `mixed`: {}", field_by_field(text)),
            "{text}"
        );
    }

    let all = r#"{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1,"j":1,"k":1,"l":1}"#;
    let ok = tools.call("wide", all).await;
    assert_eq!(ok.content, "112");
    let bad = tools
        .call("wide", &all.replace(r#""l":1"#, r#""l":300"#))
        .await;
    assert_eq!(bad.outcome, Outcome::InvalidArguments);
    assert!(
        bad.content.contains("`l`: invalid value"),
        "{}",
        bad.content
    );
}
