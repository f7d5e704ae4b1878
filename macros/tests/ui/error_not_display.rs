use toolcall::tool;

/// An error type without `Display`.
#[derive(Debug)]
pub struct Oops;

/// Might fail.
#[tool]
async fn risky(text: String) -> Result<String, Oops> {
    Ok(text)
}

fn main() {}
