use schemars::JsonSchema;
use toolcall::tool;

/// A point, with no `Deserialize` derive.
#[derive(JsonSchema)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// Distance from the origin.
#[tool]
async fn norm(point: Point) -> f64 {
    point.x.hypot(point.y)
}

fn main() {}
