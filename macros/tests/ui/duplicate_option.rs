use toolcall::tool;

/// Greet someone.
#[tool(name = "greet", name = "greet_someone")]
async fn greet(name: String) -> String {
    format!("hello {name}")
}

fn main() {}
