//! Beacon's procedural macros, re-exported by `beacon`: use them as `#[beacon::instrument]`
//! and `#[derive(beacon::Event)]`.
//!
//! - [`macro@instrument`] puts a span around a function (sync or async, a method, generic, or
//!   in an `#[async_trait]` impl), with `Result`-aware status and `error.type`, a span kind, a
//!   remote parent, and (with `metrics`) the autometrics-compatible `function.calls*` metrics.
//! - [`derive@Event`] makes a struct a typed domain event for `beacon::emit`.
//!
//! The generated code names only `::beacon::__private` paths.
//!
//! The crate is laid out like tracing-attributes: `attr` parses `instrument`'s arguments into
//! a typed `InstrumentArgs`, `expand` generates the instrumented function, `event` holds the
//! derive.

mod attr;
mod event;
mod expand;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput, Error};

/// Derives `beacon::Event` for a struct with named fields.
///
/// Type attribute `#[event(name = "…", severity = "info", span_event = true, log = true,
/// metric = true)]` (`name` required; severity one of trace, debug, info, warn, error,
/// fatal). Field attributes: `#[event(skip)]` leaves it out, `#[event(sensitive)]` records
/// `REDACTED`, `#[event(display)]` / `#[event(debug)]` record its `Display` / `Debug` text,
/// `#[event(rename = "…")]` changes the attribute key. Other fields must be integers, floats,
/// `bool`, `String`, `&str`, or an `Option` of those.
#[proc_macro_derive(Event, attributes(event))]
pub fn derive_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    event::expand(&input)
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

/// Instruments a function: everything `tracing::instrument` does (it is used underneath, so
/// the function's crate needs `tracing` as a dependency), plus:
///
/// - `kind = "server" | "client" | "producer" | "consumer" | "internal"`: the span kind.
/// - `err`: on a function returning `Result`, an `Err` sets the span status to Error with the
///   error's message and records `error.type`: the error's `beacon::ErrorType` if it has one,
///   else `Type::Variant` for an enum error whose `Debug` names the variant
///   (`OrderError::OutOfStock`), else the type's name; `Ok` leaves it unset.
/// - `objective = CONST` (with `metrics`): a `beacon::slo::Objective` whose labels go on the
///   metrics; `beacon::slo::prometheus_rules` turns it into recording and burn-rate alert rules.
/// - `metrics`: records `function.calls` (counter; `function`, `module`, `result` = ok/error,
///   and `caller.function` / `caller.module` when called from another function instrumented
///   with `metrics`), `function.calls.duration` (histogram, seconds) and
///   `function.calls.concurrent` (up-down counter) — autometrics' names and labels, so its
///   dashboards and queries work as they are.
/// - `ok_if = path` / `error_if = path` (with `metrics`): a `fn(&ReturnType) -> bool` deciding
///   the `result` label instead of `Result::is_err`, so expected outcomes (a declined card, a
///   404) do not spend the error budget — as autometrics' options of the same names. The span
///   status still follows `err`.
/// - `parent = expr`: starts the span under a remote parent — an `opentelemetry::Context` (say,
///   extracted by a propagator from a message's headers) or a `SpanContext` — instead of the
///   current span; something `tracing::instrument` cannot do.
///
/// Works on free functions, inherent and trait-impl methods, generic functions, and methods
/// of an `#[async_trait]` impl (put `#[async_trait]` on the impl, this on the method).
///
/// Passed through to `tracing::instrument`: `name`, `level`, `target`, `skip(..)`, `skip_all`,
/// `fields(..)`, `ret`. Anything else is a compile error that points at it.
#[proc_macro_attribute]
pub fn instrument(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = proc_macro2::TokenStream::from(args);
    let item = proc_macro2::TokenStream::from(item);
    attr::InstrumentArgs::parse(args)
        .and_then(|args| expand::instrument(args, item))
        .unwrap_or_else(Error::into_compile_error)
        .into()
}
