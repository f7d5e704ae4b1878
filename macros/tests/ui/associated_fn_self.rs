use toolcall::tool;

#[derive(Clone, serde::Serialize)]
pub struct Patient {
    pub id: String,
}

impl Patient {
    /// Make a patient.
    #[tool]
    pub async fn create(id: String) -> Self {
        Patient { id }
    }
}

fn main() {}
