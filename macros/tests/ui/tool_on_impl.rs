use toolcall::tool;

pub struct Db;

#[tool]
impl Db {
    /// Look a patient up.
    pub async fn lookup(&self, id: String) -> String {
        id
    }
}

fn main() {}
