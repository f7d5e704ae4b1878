use std::borrow::Cow;

use toolcall::tool;

/// Echo.
#[tool]
async fn echo(text: Cow<'_, str>) -> String {
    text.into_owned()
}

fn main() {}
