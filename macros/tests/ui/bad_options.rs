use toolcall::tool;

/// Every bad option is reported, not only the first.
#[tool(nmae = "greet_someone", timeout = "soon", strict = 1, exclusive)]
async fn greet(name: String) -> String {
    format!("hello {name}")
}

fn main() {}
