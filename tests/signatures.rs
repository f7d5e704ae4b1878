//! Signatures users write that the expansion must take as they are: a
//! parameter named like its fn, `#[cfg]`s on parameters, deprecated tools,
//! crates that forbid the lints an `#[allow]` would touch, types named
//! `State` or `Result` that are not toolcall's or std's, aliases of
//! `Option`, descriptions made by macros or written in markdown, and the
//! text the model sees of each kind of result.
//!
//! `forbid(dead_code)` holds; which other `forbid`s can is the `tool`
//! docs' Lints section (tested by `macros/tests/ui/pass/lints.rs`), and
//! `deny(warnings)` shows the expansion trips no lint.
#![deny(warnings, unused_qualifications)]
#![forbid(dead_code)]

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use toolcall::{Outcome, ToolSet, tool};

/// Looks something up.
#[tool]
async fn query(query: String) -> String {
    format!("found {query}")
}

/// The same, as a plain fn.
#[tool]
fn lookup(lookup: u32) -> u32 {
    lookup + 1
}

/// Parameters switched on and off by `cfg`.
#[tool]
async fn configured(
    #[cfg(not(test))] hidden: String,
    #[cfg(test)] shown: u32,
    /// Renamed when the predicate holds.
    #[cfg_attr(test, serde(rename = "renamed"))]
    original: u32,
) -> u32 {
    shown + original
}

/// An old tool.
#[deprecated = "use `query`"]
#[tool]
async fn old_query(text: String) -> String {
    text
}

/// A `State` of another crate: an argument like any other.
mod geo {
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    /// A state of a country.
    #[derive(Debug, Deserialize, Serialize, JsonSchema)]
    pub struct State<T>(pub T);

    /// A `Result` of our own, that is no `std::result::Result`.
    #[derive(Debug, Serialize)]
    pub enum Result<A, B> {
        /// One.
        Left(A),
        /// Other.
        Right(B),
    }
}

/// Takes a region.
#[tool]
async fn region(state: geo::State<String>) -> geo::Result<String, u32> {
    if state.0.is_empty() {
        geo::Result::Right(0)
    } else {
        geo::Result::Left(state.0)
    }
}

/// An alias of `Option`.
type Maybe<T> = Option<T>;

/// Takes an optional limit through an alias.
#[tool]
async fn aliased(limit: Maybe<u32>) -> String {
    format!("{limit:?}")
}

#[doc = concat!("Adds ", "two numbers.")]
///
/// Markdown keeps its lines:
/// - first item
/// - second item
///
/// ```text
/// a + b
/// ```
#[tool]
async fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// A colour.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Color {
    /// Red.
    Red,
}

/// Returns a unit variant.
#[tool]
async fn color() -> Color {
    Color::Red
}

/// Returns text with quotes and a line break.
#[tool]
async fn quoted() -> String {
    "say \"hi\"\nbye".to_owned()
}

/// Returns a `&'static str`.
#[tool]
async fn fixed() -> &'static str {
    "fixed"
}

/// Returns `Result<String, String>`.
#[tool]
async fn fallible(fail: bool) -> Result<String, String> {
    if fail {
        Err("no \"luck\"".into())
    } else {
        Ok("lucky".into())
    }
}

/// Takes a `Cow<'static, str>`: owned, so it parses like a `String`.
#[tool]
async fn shout(text: std::borrow::Cow<'static, str>) -> String {
    text.to_uppercase()
}

/// Returns `impl Serialize`.
#[tool]
async fn opaque(n: u32) -> impl Serialize {
    json!({ "n": n })
}

/// Returns `impl Serialize` text, or an error.
#[tool]
fn opaque_text(fail: bool) -> Result<impl Serialize + Send, String> {
    if fail { Err("no".into()) } else { Ok("plain") }
}

#[allow(deprecated, reason = "the deprecated tool is registered on purpose")]
fn tools() -> ToolSet {
    ToolSet::builder()
        .tools(toolcall::tools![
            query,
            lookup,
            configured,
            old_query,
            region,
            aliased,
            add,
            color,
            quoted,
            fixed,
            fallible,
            shout,
            opaque,
            opaque_text
        ])
        .build()
        .expect("every tool builds")
}

#[tokio::test]
async fn a_static_cow_parameter_and_impl_serialize_returns() {
    let tools = tools();
    let text = &parameters_of(&tools, "shout")["properties"]["text"];
    assert_eq!(text["type"], "string");
    for (name, arguments, expected) in [
        ("shout", json!({"text": "hi"}), (Outcome::Ok, "HI")),
        ("opaque", json!({"n": 3}), (Outcome::Ok, r#"{"n":3}"#)),
        (
            "opaque_text",
            json!({"fail": false}),
            (Outcome::Ok, "plain"),
        ),
        (
            "opaque_text",
            json!({"fail": true}),
            (Outcome::ToolError, "error: no"),
        ),
    ] {
        let (outcome, content) = call(&tools, name, arguments).await;
        assert_eq!((outcome, content.as_str()), expected, "{name}");
    }
    // The type behind `impl Serialize` is hidden: no output schema.
    for name in ["opaque", "opaque_text"] {
        let definition = tools.definitions().iter().find(|d| d.name == name);
        assert_eq!(definition.map(|d| d.output_schema.is_none()), Some(true));
    }
}

fn parameters_of<'a>(tools: &'a ToolSet, name: &str) -> &'a Value {
    &tools
        .definitions()
        .iter()
        .find(|d| d.name == name)
        .expect("the tool is listed")
        .parameters
}

async fn call(tools: &ToolSet, name: &str, arguments: Value) -> (Outcome, String) {
    let reply = tools.call(name, &arguments.to_string()).await;
    (reply.outcome, reply.content)
}

#[tokio::test]
async fn a_parameter_may_share_its_fn_name() {
    let tools = tools();
    assert_eq!(
        call(&tools, "query", json!({"query": "x"})).await,
        (Outcome::Ok, "found x".into())
    );
    assert_eq!(
        call(&tools, "lookup", json!({"lookup": 1})).await,
        (Outcome::Ok, "2".into())
    );
    assert_eq!(query("y".into()).await, "found y", "the fn is callable");
}

#[tokio::test]
async fn cfg_and_cfg_attr_on_parameters() {
    let tools = tools();
    let schema = &tools.definitions()[2].parameters;
    let names: Vec<&String> = schema["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .collect();
    assert_eq!(names, ["shown", "renamed"]);
    assert_eq!(
        schema["properties"]["renamed"]["description"],
        "Renamed when the predicate holds."
    );
    assert_eq!(
        call(&tools, "configured", json!({"shown": 1, "renamed": 2})).await,
        (Outcome::Ok, "3".into())
    );
}

#[tokio::test]
async fn deprecated_tools_and_foreign_state_and_result_types() {
    let tools = tools();
    assert_eq!(
        call(&tools, "old_query", json!({"text": "t"})).await,
        (Outcome::Ok, "t".into())
    );
    assert_eq!(
        call(&tools, "region", json!({"state": "Bavaria"})).await,
        (Outcome::Ok, r#"{"Left":"Bavaria"}"#.into())
    );
}

#[tokio::test]
async fn an_alias_of_option_is_optional() {
    let tools = tools();
    assert_eq!(
        call(&tools, "aliased", json!({})).await,
        (Outcome::Ok, "None".into())
    );
    assert_eq!(
        call(&tools, "aliased", json!({"limit": null})).await,
        (Outcome::Ok, "None".into())
    );
    assert_eq!(
        call(&tools, "aliased", json!({"limit": 3})).await,
        (Outcome::Ok, "Some(3)".into())
    );
    let definition = &tools.definitions()[5];
    assert_eq!(
        definition.parameters["properties"]["limit"]["type"],
        json!(["integer", "null"])
    );
}

#[test]
fn descriptions_are_kept_as_written() {
    let tools = tools();
    assert_eq!(
        tools.definitions()[6].description,
        "Adds two numbers.\n\nMarkdown keeps its lines:\n- first item\n- second item\n\n```text\na + b\n```"
    );
}

#[tokio::test]
async fn text_results_reach_the_model_as_they_are_and_values_as_json() {
    let tools = tools();
    for (name, arguments, expected) in [
        ("color", json!({}), (Outcome::Ok, r#""red""#)),
        ("quoted", json!({}), (Outcome::Ok, "say \"hi\"\nbye")),
        ("fixed", json!({}), (Outcome::Ok, "fixed")),
        ("fallible", json!({"fail": false}), (Outcome::Ok, "lucky")),
        (
            "fallible",
            json!({"fail": true}),
            (Outcome::ToolError, "error: no \"luck\""),
        ),
    ] {
        let (outcome, content) = call(&tools, name, arguments).await;
        assert_eq!((outcome, content.as_str()), expected, "{name}");
    }
}
