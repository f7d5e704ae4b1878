use toolcall::tool;

/// Greet someone.
#[tool(timeout = 5)]
async fn greet(name: String) -> String {
    format!("hello {name}")
}

fn main() {}
