use toolcall::tool;

/// Not `Serialize`.
pub struct Report {
    pub text: String,
}

/// Make a report.
#[tool]
async fn report(text: String) -> Report {
    Report { text }
}

fn main() {}
