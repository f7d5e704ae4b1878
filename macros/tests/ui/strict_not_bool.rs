use toolcall::tool;

/// Greet someone.
#[tool(strict = "no")]
async fn greet(name: String) -> String {
    format!("hello {name}")
}

fn main() {}
