use toolcall::tool_methods;

pub struct Db;

#[tool_methods]
impl Db {
    /// Echo a value.
    #[toolcall::tool]
    pub async fn echo<T: serde::Serialize>(&self, value: T) -> T {
        value
    }
}

fn main() {}
