use toolcall::{State, tool};

/// A handle that cannot be cloned out of the tool set.
pub struct Db;

/// Look a patient up.
#[tool]
async fn lookup(State(_db): State<Db>, id: String) -> String {
    id
}

fn main() {}
