use toolcall::tool;

/// Write a file.
#[tool(writes = "file:{file}")]
async fn write_file(path: String, text: String) -> usize {
    let _ = path;
    text.len()
}

fn main() {}
