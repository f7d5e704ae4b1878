use serde::Deserialize;
use toolcall::tool;

/// A point, with no `JsonSchema` derive.
#[derive(Deserialize)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// Distance from the origin.
#[tool]
async fn norm(label: String, point: Point) -> f64 {
    let _ = label;
    point.x.hypot(point.y)
}

fn main() {}
