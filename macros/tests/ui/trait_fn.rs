use toolcall::tool;

pub trait Weather {
    /// Weather for a city.
    #[tool]
    fn weather(&self, city: String) -> String;
}

fn main() {}
