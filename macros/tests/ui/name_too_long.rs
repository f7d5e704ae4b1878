use toolcall::tool;

/// Greet someone.
#[tool(name = "greet_someone_with_a_name_that_is_much_too_long_for_the_openai_api")]
async fn greet(name: String) -> String {
    format!("hello {name}")
}

fn main() {}
