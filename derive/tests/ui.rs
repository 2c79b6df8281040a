//! `#[derive(Failure)]` refuses misused statuses at compile time: each case
//! under `tests/ui/`, compiled against the main crate with its `derive` feature alone, fails to compile with the message in its `.stderr`
//! file, which says what to write instead. `TRYBUILD=overwrite` writes the
//! messages anew.

#[test]
fn misuse_is_refused_at_compile_time() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
