//! `#[beacon::instrument]` and `#[derive(beacon::Event)]` compile in a crate whose only
//! Beacon-related dependency is `beacon`: the generated code names only `::beacon::__private`
//! paths, never `tracing` or `opentelemetry` from the caller's crate root.
//!
//! The cases are trybuild pass cases of *this* package, because trybuild gives a case the
//! dependencies and dev-dependencies of the package that runs it: here `beacon` and
//! `async-trait` (and the macro crate's own syn/quote/proc-macro2), no `tracing`. The same
//! cases under `sdk/tests/ui-pass` would see the SDK's `tracing` dependency and prove nothing.

#[test]
fn every_option_compiles_with_only_beacon() {
    trybuild::TestCases::new().pass("tests/pass/*.rs");
}
