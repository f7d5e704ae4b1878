use toolcall::tool;

/// Write a file.
#[tool(writes = ["db", "file:{path"])]
async fn write_file(path: String, text: String) -> usize {
    let _ = path;
    text.len()
}

fn main() {}
