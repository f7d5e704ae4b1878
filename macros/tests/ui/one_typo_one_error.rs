use toolcall::{ToolSet, tool, tools};

/// A typo in an option: one error, not one more where the tool is registered.
#[tool(timout = "5s")]
async fn greet(name: String) -> String {
    format!("hello {name}")
}

fn main() {
    let _ = ToolSet::builder().tool::<greet>().tools(tools![greet]).build();
}
