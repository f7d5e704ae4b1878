use toolcall::tool;

/// Greet someone.
#[tool(nmae = "greet_someone")]
async fn greet(name: String) -> String {
    format!("hello {name}")
}

fn main() {}
