use toolcall::tool;

pub struct Db;

impl Db {
    /// Look a patient up.
    #[tool]
    pub async fn lookup(id: String) -> String {
        id
    }
}

fn main() {}
