//! Compile-fail tests of `#[tool]`: one mistake per file, the expected
//! diagnostics checked in beside it (`TRYBUILD=overwrite` regenerates them).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
