use toolcall::tool_methods;

pub struct Db;

pub trait Lookup {
    fn lookup(&self, id: String) -> String;
}

#[tool_methods]
impl Lookup for Db {
    /// Look a patient up.
    #[toolcall::tool]
    fn lookup(&self, id: String) -> String {
        id
    }
}

fn main() {}
