use toolcall::tool;

/// Fetch a page.
#[tool(max_concurrency = 0)]
async fn fetch(url: String) -> String {
    url
}

fn main() {}
