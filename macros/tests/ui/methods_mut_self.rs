use toolcall::tool_methods;

pub struct Counter;

#[tool_methods]
impl Counter {
    /// Count one more.
    #[toolcall::tool]
    pub async fn bump(&mut self, by: u32) -> u32 {
        by
    }
}

fn main() {}
