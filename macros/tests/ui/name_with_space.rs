use toolcall::tool;

/// Greet someone.
#[tool(name = "has space")]
async fn greet(name: String) -> String {
    format!("hello {name}")
}

fn main() {}
