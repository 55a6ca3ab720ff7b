//! Every construct outside the supported subset fails to compile with a spanned error that
//! names it and says what to do (tests/ui/*.rs and their .stderr snapshots).
//! Regenerate the snapshots with `TRYBUILD=overwrite cargo test --test compiletest` and read them.

#![deny(warnings)]

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
