use toolcall::tool;

/// Weather for a city.
#[tool]
pub struct GetWeather {
    pub city: String,
}

fn main() {}
