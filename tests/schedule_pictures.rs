//! The schedule pictures in `docs/schedules/` are what the code draws: the
//! README shows them, so a change of schedule must show there too
//! (`cargo run --example schedules` redraws them).

#[allow(dead_code)]
#[path = "../examples/schedules.rs"]
mod schedules;

fn committed(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/schedules")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_resource_keys_picture_is_current() {
    assert!(
        committed("resource_keys.svg") == schedules::resource_keys_svg(),
        "docs/schedules/resource_keys.svg is stale: run `cargo run --example schedules`"
    );
}

#[test]
fn the_approval_picture_is_current() {
    assert!(
        committed("approval.svg") == schedules::approval_svg(),
        "docs/schedules/approval.svg is stale: run `cargo run --example schedules`"
    );
}
