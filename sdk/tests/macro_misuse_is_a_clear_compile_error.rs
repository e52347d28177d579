//! Misusing `#[beacon::instrument]` or `#[derive(beacon::Event)]` (or dropping the `Telemetry`
//! guard at once) is a compile error that points at the mistake (trybuild, with the expected
//! messages checked in beside each case), and every option used correctly compiles
//! (`tests/ui-pass`).

#[test]
fn misuse_fails_to_compile_with_a_clear_message() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui-pass/*.rs");
}
