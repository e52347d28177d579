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
/// `bool`, `String`, `&str`, or an `Option` of those (`None` leaves the attribute out); any
/// other type is a compile error at the field that names these options. Integers are integer
/// attributes; a `u64`, `usize` or `isize` beyond `i64`'s range (OpenTelemetry has only signed
/// 64-bit integers) is recorded as its decimal text, never wrapped.
#[proc_macro_derive(Event, attributes(event))]
pub fn derive_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    event::expand(&input)
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

/// Instruments a function: a span around each call, as `tracing::instrument` makes it (same
/// options, same span, same cost), plus what OpenTelemetry needs. The generated code names
/// only `::beacon::__private` paths, so the function's crate needs no `tracing` dependency.
///
/// As `tracing::instrument`:
/// - `name = "…"` (default the function's name), `level = "trace" | "debug" | "info" | "warn" |
///   "error"` (default info), `target = "…"` (default the module path).
/// - The arguments are the span's fields: primitives (`bool`, integers, floats, `&str`,
///   `String`, and references to them) as values, anything else with its `Debug`; `skip(a, b)`
///   leaves some out (naming an argument that does not exist is an error), `skip_all` all of
///   them. An unsigned integer argument (`u8` … `u64`, `usize`, their `NonZero*`) is an
///   integer attribute, as the same field of an `Event` is; one above `i64::MAX` (OpenTelemetry
///   has only signed 64-bit integers) is recorded as its decimal text, never wrapped.
/// - `fields(a = expr, b = %display, c = ?debug, later)`: more fields, in `tracing::span!`
///   syntax; a bare name (`later`) is a field recorded afterwards with `Span::record`; a field
///   named like an argument replaces it.
/// - `ret`: the return value's `Debug` is logged as `return` inside the span, at its level
///   and target.
///
/// Beacon's own:
/// - `kind = "server" | "client" | "producer" | "consumer" | "internal"`: the span kind.
/// - `err`: on a function returning `Result`, an `Err` sets the span status to Error with the
///   error's message and records `error.type`: the error's `beacon::ErrorType` if it has one,
///   else `Type::Variant` for an enum error whose `Debug` names the variant
///   (`OrderError::OutOfStock`), else the type's name; `Ok` leaves it unset. (Unlike
///   `tracing::instrument(err)`, no error event is logged.)
/// - `metrics`: records `function.calls` (counter; `function`, `module`, `result` = ok/error,
///   and `caller.function` / `caller.module` when called from another function instrumented
///   with `metrics`), `function.calls.duration` (histogram, seconds) and
///   `function.calls.concurrent` (up-down counter) — autometrics' names and labels, so its
///   dashboards and queries work as they are. They go to the meter provider current when the
///   call starts: `beacon::set_default_function_meter_provider`'s on this thread, else the
///   global one.
/// - `objective = CONST` (with `metrics`): a `beacon::slo::Objective` whose labels go on the
///   metrics; `beacon::slo::prometheus_rules` turns it into recording and burn-rate alert rules.
/// - `ok_if = path` / `error_if = path` (with `metrics`): a `fn(&ReturnType) -> bool` deciding
///   the `result` label instead of `Result::is_err`, so expected outcomes (a declined card, a
///   404) do not spend the error budget — as autometrics' options of the same names. The span
///   status still follows `err`.
/// - `parent = expr`: starts the span under a remote parent — an `opentelemetry::Context` (say,
///   extracted by a propagator from a message's headers) or a `SpanContext` — instead of the
///   current span; something `tracing::instrument` cannot do.
///
/// Works on free functions, inherent and trait-impl methods, generic functions, `async fn`
/// (the span is entered around each poll), and methods of an `#[async_trait]` impl (put
/// `#[async_trait]` on the impl, this on the method: the returned future is instrumented, not
/// the call that builds it). Anything else is a compile error that points at it.
#[proc_macro_attribute]
pub fn instrument(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = proc_macro2::TokenStream::from(args);
    let item = proc_macro2::TokenStream::from(item);
    attr::InstrumentArgs::parse(args)
        .and_then(|args| expand::instrument(args, item))
        .unwrap_or_else(Error::into_compile_error)
        .into()
}
