//! The runtime side of `#[beacon::instrument(metrics)]`: per-function call, duration and
//! concurrency metrics, named as autometrics names them so its dashboards and queries work
//! unchanged: `function.calls` (counter; `function`, `module`, `result` = ok/error),
//! `function.calls.duration` (histogram, seconds; `function`, `module`) and
//! `function.calls.concurrent` (up-down counter; `function`, `module`). A call made from another
//! function instrumented with `metrics` adds `caller.function` / `caller.module` to its
//! `function.calls` (only there, as autometrics does, to keep the other series few).
//!
//! A call records to the meter provider current when it starts: the
//! [`set_default_function_meter_provider`] of the trace it runs in or of this thread if one is
//! set, else the global provider as it is at that moment — never one cached from an earlier
//! call.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::task::Poll;
use std::time::Instant;

use opentelemetry::metrics::{Counter, Histogram, MeterProvider, UpDownCounter};
use opentelemetry::{InstrumentationScope, KeyValue};

use crate::metrics::{exemplar_context_current, exemplars, Reservoir};

/// The three instruments, from one meter provider.
#[derive(Debug)]
struct Instruments {
    calls: Counter<u64>,
    duration: Histogram<f64>,
    concurrent: UpDownCounter<i64>,
}

impl Instruments {
    fn new(provider: &(impl MeterProvider + ?Sized)) -> Self {
        let meter = provider.meter_with_scope(
            InstrumentationScope::builder("beacon.functions")
                .with_version(env!("CARGO_PKG_VERSION"))
                .build(),
        );
        Self {
            calls: meter
                .u64_counter("function.calls")
                .with_unit("{call}")
                .with_description("Calls of instrumented functions, by result.")
                .build(),
            duration: meter
                .f64_histogram("function.calls.duration")
                .with_unit("s")
                .with_description("Duration of instrumented function calls.")
                // The SLO rules read latency thresholds from these boundaries.
                .with_boundaries(crate::slo::LATENCY_BUCKETS.to_vec())
                .build(),
            concurrent: meter
                .i64_up_down_counter("function.calls.concurrent")
                .with_unit("{call}")
                .with_description("Calls of instrumented functions in progress.")
                .build(),
        }
    }
}

/// The exemplar reservoirs of `function.calls` and `function.calls.duration` (process-wide,
/// keyed by instrument name, as every reservoir of [`exemplars()`] is).
struct Exemplars {
    calls: Arc<Reservoir>,
    duration: Arc<Reservoir>,
}

fn reservoirs() -> &'static Exemplars {
    static RESERVOIRS: OnceLock<Exemplars> = OnceLock::new();
    RESERVOIRS.get_or_init(|| Exemplars {
        calls: exemplars().counter("function.calls"),
        duration: exemplars().histogram("function.calls.duration", &crate::slo::LATENCY_BUCKETS),
    })
}

type GlobalMeterProvider = Arc<dyn MeterProvider + Send + Sync>;

/// The providers set with [`set_default_function_meter_provider`] inside a trace, by trace,
/// innermost last; and how many there are, so that calls read the current trace only while
/// there is one (in practice: in tests).
static BY_TRACE: RwLock<Vec<(u64, opentelemetry::trace::TraceId, Arc<Instruments>)>> =
    RwLock::new(Vec::new());
static ROUTED: AtomicUsize = AtomicUsize::new(0);
static NEXT_SCOPE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The provider set for the trace the current span belongs to, if any.
fn trace_instruments() -> Option<Arc<Instruments>> {
    use opentelemetry::trace::TraceContextExt as _;
    if ROUTED.load(Ordering::Acquire) == 0 {
        return None;
    }
    let trace = opentelemetry::Context::map_current(|cx| cx.span().span_context().trace_id());
    if trace == opentelemetry::trace::TraceId::INVALID {
        return None;
    }
    BY_TRACE
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .rev()
        .find(|(_, t, _)| *t == trace)
        .map(|(_, _, i)| Arc::clone(i))
}

/// The instruments of the meter provider that is current for this call: the innermost
/// [`set_default_function_meter_provider`] of the current trace, else of this thread, else
/// the global meter provider as it is now. Instruments are built once per provider and
/// thread; the global provider is compared by identity on every call (one uncontended read
/// lock and reference count), so installing a provider later — `beacon::init()` after a
/// first call, a test's own provider — takes effect at the next call. The current trace is
/// read only while some provider is set for one.
fn current_instruments() -> Arc<Instruments> {
    if let Some(routed) = trace_instruments() {
        return routed;
    }
    if let Some(scoped) = SCOPED.with(|s| s.borrow().last().map(|(_, i)| Arc::clone(i))) {
        return scoped;
    }
    let global = opentelemetry::global::meter_provider();
    let cached = GLOBAL_CACHE.with(|cache| match &*cache.borrow() {
        Some((provider, instruments)) if Arc::ptr_eq(provider, &global) => {
            Some(Arc::clone(instruments))
        }
        _ => None,
    });
    if let Some(instruments) = cached {
        return instruments;
    }
    let instruments = Arc::new(Instruments::new(&*global));
    GLOBAL_CACHE.with(|cache| *cache.borrow_mut() = Some((global, Arc::clone(&instruments))));
    instruments
}

/// Makes `provider` the meter provider of `#[beacon::instrument(metrics)]` calls until the
/// guard is dropped, whatever the global meter provider is: calls on this thread, and — when
/// it is called inside a span — calls anywhere in that span's trace, on any thread (a task
/// spawned with `.in_current_span()`, a request that carried the trace's headers). Tests use
/// it to give each test its own provider while tests run in parallel
/// (`beacon_test::MetricsCapture::record_function_metrics` does it for a capture). Calls in
/// other traces on other threads record to the global provider.
///
/// ```
/// #[beacon::instrument(metrics)]
/// fn reserve(items: u32) -> u32 {
///     items
/// }
///
/// let metrics = beacon_test::MetricsCapture::new();
/// {
///     let _scope = beacon::set_default_function_meter_provider(metrics.provider());
///     reserve(3);
/// }
/// reserve(4); // after the guard: the global meter provider (here, the no-op one)
/// let calls = metrics.point("function.calls", &[("function", "reserve")]).expect("a point");
/// assert_eq!(calls.value.sum(), Some(1.0));
/// ```
///
pub fn set_default_function_meter_provider(
    provider: &(impl MeterProvider + ?Sized),
) -> FunctionMeterProviderGuard {
    use opentelemetry::trace::TraceContextExt as _;
    let id = NEXT_SCOPE.fetch_add(1, Ordering::Relaxed);
    let instruments = Arc::new(Instruments::new(provider));
    let trace = opentelemetry::Context::map_current(|cx| cx.span().span_context().trace_id());
    let routed = trace != opentelemetry::trace::TraceId::INVALID;
    if routed {
        BY_TRACE
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push((id, trace, Arc::clone(&instruments)));
        ROUTED.fetch_add(1, Ordering::AcqRel);
    }
    SCOPED.with(|s| s.borrow_mut().push((id, instruments)));
    FunctionMeterProviderGuard {
        id,
        routed,
        _not_send: PhantomData,
    }
}

/// Restores the previous function meter provider of this thread when dropped (see
/// [`set_default_function_meter_provider`]). Not `Send`: it belongs to the thread it was made
/// on.
#[derive(Debug)]
#[must_use = "the provider stays the default only while the guard lives"]
pub struct FunctionMeterProviderGuard {
    id: u64,
    /// Whether it was also set for a trace.
    routed: bool,
    _not_send: PhantomData<*const ()>,
}

impl Drop for FunctionMeterProviderGuard {
    fn drop(&mut self) {
        // By id, so that guards dropped out of order remove their own entry.
        let id = self.id;
        SCOPED.with(|s| s.borrow_mut().retain(|(i, _)| *i != id));
        if self.routed {
            BY_TRACE
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|(i, _, _)| *i != id);
            ROUTED.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

thread_local! {
    /// This thread's function meter providers ([`set_default_function_meter_provider`]),
    /// innermost last.
    static SCOPED: RefCell<Vec<(u64, Arc<Instruments>)>> = const { RefCell::new(Vec::new()) };
    /// The global provider this thread last saw, and its instruments.
    static GLOBAL_CACHE: RefCell<Option<(GlobalMeterProvider, Arc<Instruments>)>> =
        const { RefCell::new(None) };
    /// The instrumented function (with `metrics`) running on this thread, if any.
    static CALLER: Cell<Option<(&'static str, &'static str)>> = const { Cell::new(None) };
    /// Remote parents attached while a span is created (`parent = expr`).
    static PARENTS: RefCell<Vec<opentelemetry::ContextGuard>> = const { RefCell::new(Vec::new()) };
}

/// Makes `function` in `module` the caller of the instrumented functions called until dropped.
#[doc(hidden)]
#[derive(Debug)]
pub struct CallerGuard {
    previous: Option<(&'static str, &'static str)>,
}

impl CallerGuard {
    /// Enters `function` as the caller.
    pub fn enter(function: &'static str, module: &'static str) -> Self {
        Self {
            previous: CALLER.with(|c| c.replace(Some((function, module)))),
        }
    }
}

impl Drop for CallerGuard {
    fn drop(&mut self) {
        CALLER.with(|c| c.set(self.previous));
    }
}

pin_project_lite::pin_project! {
    /// An async body that is the caller of the instrumented functions it calls: the caller is
    /// set around each poll, so it follows the task across threads and never leaks into other
    /// tasks polled by the same thread.
    #[doc(hidden)]
    pub struct AsCaller<F> {
        function: &'static str,
        module: &'static str,
        #[pin]
        inner: F,
    }
}

impl<F> AsCaller<F> {
    /// Wraps the body of `function` in `module`.
    pub fn new(function: &'static str, module: &'static str, inner: F) -> Self {
        Self {
            function,
            module,
            inner,
        }
    }
}

impl<F: Future> Future for AsCaller<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _caller = CallerGuard::enter(this.function, this.module);
        this.inner.poll(cx)
    }
}

/// What `parent = expr` accepts: a remote parent for a span about to be created.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`parent = …` needs an `opentelemetry::Context` or a `SpanContext`, not `{Self}`",
    label = "not a parent context",
    note = "extract one from the message's headers with a propagator: `propagator.extract(&headers)`"
)]
pub trait AsParentContext {
    /// The context to create the span under.
    fn parent_context(&self) -> opentelemetry::Context;
}

impl AsParentContext for opentelemetry::Context {
    fn parent_context(&self) -> opentelemetry::Context {
        self.clone()
    }
}

impl AsParentContext for opentelemetry::trace::SpanContext {
    fn parent_context(&self) -> opentelemetry::Context {
        use opentelemetry::trace::TraceContextExt as _;
        opentelemetry::Context::new().with_remote_span_context(self.clone())
    }
}

impl<T: AsParentContext + ?Sized> AsParentContext for &T {
    fn parent_context(&self) -> opentelemetry::Context {
        (**self).parent_context()
    }
}

/// Attaches `parent` as the current OpenTelemetry context while the span is created (called as
/// a field value by `tracing::instrument`, so it runs only when the span is enabled), and
/// records nothing.
#[doc(hidden)]
pub fn attach_parent<P: AsParentContext + ?Sized>(parent: &P) -> tracing::field::Empty {
    let guard = parent.parent_context().attach();
    PARENTS.with(|p| p.borrow_mut().push(guard));
    tracing::field::Empty
}

/// Detaches what [`attach_parent`] attached, once the span exists.
#[doc(hidden)]
pub fn release_parent() {
    let guard = PARENTS.with(|p| p.borrow_mut().pop());
    drop(guard);
}

/// One call in progress; records when finished, or when dropped by a panic (as an error).
#[doc(hidden)]
#[derive(Debug)]
pub struct Call {
    /// `function`, `module`, then the objective's labels if any.
    attrs: Vec<KeyValue>,
    /// The instrumented function that called this one, for `function.calls` only.
    caller: Option<(&'static str, &'static str)>,
    /// Read once when the call starts, so its measurements all go to one provider.
    instruments: Arc<Instruments>,
    start: Instant,
    done: bool,
}

impl Call {
    /// Starts counting a call of `function` in `module`.
    pub fn start(function: &'static str, module: &'static str) -> Self {
        // Room for `result`, added when the call finishes.
        let mut attrs = Vec::with_capacity(3);
        attrs.push(KeyValue::new("function", function));
        attrs.push(KeyValue::new("module", module));
        Self::begin(attrs)
    }

    /// Starts counting a call of a function with a service-level objective, whose labels go
    /// on every metric of the call.
    pub fn start_with_objective(
        function: &'static str,
        module: &'static str,
        objective: &crate::slo::Objective,
    ) -> Self {
        let labels = objective.attributes();
        let mut attrs = Vec::with_capacity(3 + labels.len());
        attrs.push(KeyValue::new("function", function));
        attrs.push(KeyValue::new("module", module));
        attrs.extend(labels);
        Self::begin(attrs)
    }

    fn begin(attrs: Vec<KeyValue>) -> Self {
        let instruments = current_instruments();
        instruments.concurrent.add(1, &attrs);
        Self {
            attrs,
            caller: CALLER.with(Cell::get),
            instruments,
            start: Instant::now(),
            done: false,
        }
    }

    /// The call returned; `error` when it returned `Err`.
    pub fn finish(mut self, error: bool) {
        self.record(error);
    }

    fn record(&mut self, error: bool) {
        if self.done {
            return;
        }
        self.done = true;
        let i = &self.instruments;
        let ex = reservoirs();
        let elapsed = self.start.elapsed().as_secs_f64();
        i.duration.record(elapsed, &self.attrs);
        i.concurrent.add(-1, &self.attrs);
        let exemplar = exemplar_context_current();
        if let Some(sc) = &exemplar {
            ex.duration.offer(elapsed, &self.attrs, sc);
        }
        self.attrs
            .push(KeyValue::new("result", if error { "error" } else { "ok" }));
        if let Some((function, module)) = self.caller {
            self.attrs.push(KeyValue::new("caller.function", function));
            self.attrs.push(KeyValue::new("caller.module", module));
        }
        i.calls.add(1, &self.attrs);
        if let Some(sc) = &exemplar {
            ex.calls.offer(1.0, &self.attrs, sc);
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        // Only reached unfinished when the function panicked (or a future was dropped mid-call).
        self.record(true);
    }
}

/// Records `error.type` and the message of an `Err` on the current span, and sets its status.
#[doc(hidden)]
pub fn record_error<E: std::fmt::Display>(error: &E) {
    record_error_as(error, short_type_name::<E>().to_owned());
}

/// [`record_error`] with the `error.type` already worked out (see [`ErrorProbe`]).
#[doc(hidden)]
pub fn record_error_as<E: std::fmt::Display>(error: &E, error_type: String) {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let span = tracing::Span::current();
    if span.is_disabled() {
        return;
    }
    span.set_attribute("error.type", error_type);
    span.set_status(opentelemetry::trace::Status::error(error.to_string()));
}

/// The type's own name, without its module path or generic arguments.
fn short_type_name<E>() -> &'static str {
    let full = std::any::type_name::<E>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

/// An error's `error.type` (a low-cardinality class of error, per the semantic conventions),
/// for `#[beacon::instrument(err)]`. Implement it when neither the type's name nor its enum
/// variant says what failed well enough (say, a variant carrying a status code):
///
/// ```
/// #[derive(Debug)]
/// enum GatewayError { Status(u16), Timeout }
/// impl beacon::ErrorType for GatewayError {
///     fn error_type(&self) -> String {
///         match self {
///             GatewayError::Status(code) => format!("gateway.status.{code}"),
///             GatewayError::Timeout => "gateway.timeout".to_owned(),
///         }
///     }
/// }
/// ```
///
/// Without it, `error.type` is `Type::Variant` when the error's `Debug` form names a variant
/// (`OrderError::OutOfStock`), else the type's name. `std::io::Error` reports its kind
/// (`NotFound`, `ConnectionRefused`, …).
pub trait ErrorType {
    /// The class of this error.
    fn error_type(&self) -> String;
}

impl ErrorType for std::io::Error {
    fn error_type(&self) -> String {
        format!("{:?}", self.kind())
    }
}

/// Picks `error.type` for an error: [`ErrorType`] when implemented, else `Type::Variant` when
/// the error's `Debug` form starts like an enum variant of it (`OutOfStock`,
/// `Declined { .. }`, `Io(..)`), else the type's name. The macro calls
/// `(&&&ErrorProbe(e)).error_type()`, and method resolution takes the first of
/// [`ErrorTypeViaTrait`], [`ErrorTypeViaDebug`], [`ErrorTypeViaName`] that applies.
#[doc(hidden)]
pub struct ErrorProbe<'a, E>(pub &'a E);

/// See [`ErrorProbe`].
#[doc(hidden)]
pub trait ErrorTypeViaTrait {
    /// `error.type` from the error's [`ErrorType`].
    fn error_type(&self) -> String;
}

impl<E: ErrorType> ErrorTypeViaTrait for &&ErrorProbe<'_, E> {
    fn error_type(&self) -> String {
        ErrorType::error_type(self.0)
    }
}

/// See [`ErrorProbe`].
#[doc(hidden)]
pub trait ErrorTypeViaDebug {
    /// `error.type` read from the `Debug` form.
    fn error_type(&self) -> String;
}

impl<E: std::fmt::Debug> ErrorTypeViaDebug for &ErrorProbe<'_, E> {
    fn error_type(&self) -> String {
        let name = short_type_name::<E>();
        match debug_variant(self.0) {
            Some(variant) if variant != name => format!("{name}::{variant}"),
            _ => name.to_owned(),
        }
    }
}

/// See [`ErrorProbe`].
#[doc(hidden)]
pub trait ErrorTypeViaName {
    /// `error.type` from the type's name.
    fn error_type(&self) -> String;
}

impl<E> ErrorTypeViaName for ErrorProbe<'_, E> {
    fn error_type(&self) -> String {
        short_type_name::<E>().to_owned()
    }
}

/// The leading identifier of `value`'s `Debug` form when it reads like a variant or a struct
/// (`Name`, `Name(…`, `Name { …`), formatting no further than needed: an error whose `Debug`
/// is its message (anyhow's) does not qualify.
fn debug_variant<E: std::fmt::Debug>(value: &E) -> Option<String> {
    use std::fmt::Write as _;
    /// Keeps the first 64 bytes, then makes the formatter stop.
    struct Head(String);
    impl std::fmt::Write for Head {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            let room = 64usize.saturating_sub(self.0.len());
            let take = s
                .char_indices()
                .map(|(i, c)| i + c.len_utf8())
                .take_while(|end| *end <= room)
                .last()
                .unwrap_or(0);
            self.0.push_str(&s[..take]);
            if self.0.len() >= 64 {
                Err(std::fmt::Error)
            } else {
                Ok(())
            }
        }
    }
    let mut head = Head(String::new());
    let _ = write!(head, "{value:?}");
    let text = head.0;
    let ident_len = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    let (ident, rest) = text.split_at(ident_len);
    let looks_like_variant = ident.starts_with(|c: char| c.is_ascii_uppercase())
        && (rest.is_empty() || rest.starts_with('(') || rest.starts_with(" {"));
    looks_like_variant.then(|| ident.to_owned())
}

/// An unsigned argument recorded by `#[beacon::instrument]`: an integer attribute when it fits
/// in `i64` (OpenTelemetry's integer type), as the same field of an [`crate::Event`] is; a
/// value above `i64::MAX` is recorded as its decimal text, never wrapped. (Recorded as a plain
/// `u64`, tracing-opentelemetry would export every unsigned value as text.)
#[doc(hidden)]
#[derive(Debug)]
pub enum UnsignedField {
    /// Fits in `i64`.
    Int(i64),
    /// Above `i64::MAX`.
    Text(tracing::field::DisplayValue<u64>),
}

impl UnsignedField {
    fn new(value: u64) -> Self {
        match i64::try_from(value) {
            Ok(v) => Self::Int(v),
            Err(_) => Self::Text(tracing::field::display(value)),
        }
    }

    /// The field value to record.
    pub fn as_value(&self) -> &dyn tracing::Value {
        match self {
            Self::Int(v) => v,
            Self::Text(t) => t,
        }
    }
}

/// The unsigned integer types (and references to them) [`UnsignedField`] records.
#[doc(hidden)]
pub trait AsUnsignedField {
    /// The value as a field.
    fn unsigned_field(&self) -> UnsignedField;
}

macro_rules! unsigned_fields {
    ($($t:ty),*) => {$(
        impl AsUnsignedField for $t {
            fn unsigned_field(&self) -> UnsignedField {
                UnsignedField::new(u64::from(*self))
            }
        }
    )*};
}
unsigned_fields!(u8, u16, u32, u64);

impl AsUnsignedField for usize {
    fn unsigned_field(&self) -> UnsignedField {
        // `usize` is at most 64 bits on every target Rust supports; saturate otherwise.
        UnsignedField::new(u64::try_from(*self).unwrap_or(u64::MAX))
    }
}

macro_rules! nonzero_fields {
    ($($t:ty),*) => {$(
        impl AsUnsignedField for $t {
            fn unsigned_field(&self) -> UnsignedField {
                self.get().unsigned_field()
            }
        }
    )*};
}
nonzero_fields!(
    std::num::NonZeroU8,
    std::num::NonZeroU16,
    std::num::NonZeroU32,
    std::num::NonZeroU64,
    std::num::NonZeroUsize
);

impl<T: AsUnsignedField + ?Sized> AsUnsignedField for &T {
    fn unsigned_field(&self) -> UnsignedField {
        (**self).unsigned_field()
    }
}

impl<T: AsUnsignedField + ?Sized> AsUnsignedField for &mut T {
    fn unsigned_field(&self) -> UnsignedField {
        (**self).unsigned_field()
    }
}
