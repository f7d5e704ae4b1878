//! `crate = "..."` names toolcall through a re-export.
#![deny(warnings, unused_qualifications)]

mod reexport {
    pub use toolcall as tc;
}

/// Echo the text back.
#[reexport::tc::tool(crate = "reexport::tc")]
pub async fn echo(
    /// What to echo.
    mut text: String,
    /// A raw identifier becomes the field `type`.
    r#type: Option<String>,
) -> String {
    text.push_str(r#type.as_deref().unwrap_or(""));
    text
}

fn main() {
    let tools = reexport::tc::ToolSet::builder()
        .tool::<echo>()
        .build()
        .expect("the tool set builds");
    let params = &tools.definitions()[0].parameters;
    assert!(params["properties"]["type"].is_object(), "{params}");
}
