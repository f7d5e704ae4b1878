use toolcall::tool_methods;

pub struct Db;

#[tool_methods(timeout = "2s")]
impl Db {
    /// Look a patient up.
    #[toolcall::tool]
    pub async fn lookup(&self, id: String) -> String {
        id
    }
}

fn main() {}
