//! Matchers that read well in assertions and describe themselves in failure reports.

use opentelemetry::logs::Severity;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::Value;

use crate::record::{CapturedLog, CapturedSpan};

/// Something that decides whether a captured item is the one a test waits for.
///
/// Implemented by the matchers of [`span`](crate::span) and [`log`](crate::log), and by any
/// closure `Fn(&T) -> bool`.
pub trait Matcher<T>: Send + Sync {
    /// Whether `item` matches.
    fn matches(&self, item: &T) -> bool;
    /// What is expected, for failure reports.
    fn describe(&self) -> String {
        "an item matching a closure".to_owned()
    }
}

impl<T, F: Fn(&T) -> bool + Send + Sync> Matcher<T> for F {
    fn matches(&self, item: &T) -> bool {
        self(item)
    }
}

type Check<T> = Box<dyn Fn(&T) -> bool + Send + Sync>;

/// A span matcher, built from [`crate::span::named`] or [`crate::span::any`].
pub struct SpanMatcher {
    checks: Vec<(String, Check<CapturedSpan>)>,
}

impl SpanMatcher {
    pub(crate) fn new() -> Self {
        Self { checks: Vec::new() }
    }

    fn with(
        mut self,
        what: String,
        check: impl Fn(&CapturedSpan) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.checks.push((what, Box::new(check)));
        self
    }

    pub(crate) fn name(self, name: &str) -> Self {
        let n = name.to_owned();
        self.with(format!("named {name:?}"), move |s| s.name == n)
    }

    /// … whose attribute `key` equals `value`.
    #[must_use]
    pub fn attr(self, key: &str, value: impl Into<Value>) -> Self {
        let (k, v) = (key.to_owned(), value.into());
        self.with(format!("with {key}={v}"), move |s| {
            s.attr(&k).is_some_and(|x| values_equal(x, &v))
        })
    }

    /// … whose attribute `key` contains `part` (as text).
    #[must_use]
    pub fn attr_contains(self, key: &str, part: &str) -> Self {
        let (k, p) = (key.to_owned(), part.to_owned());
        self.with(format!("with {key} containing {part:?}"), move |s| {
            s.attr(&k).is_some_and(|x| x.as_str().contains(p.as_str()))
        })
    }

    /// … of this kind.
    #[must_use]
    pub fn kind(self, kind: SpanKind) -> Self {
        self.with(format!("of kind {kind:?}"), move |s| s.kind == kind)
    }

    /// … with status Error.
    #[must_use]
    pub fn error(self) -> Self {
        self.with("with status Error".into(), CapturedSpan::is_error)
    }

    /// … with status Unset or Ok.
    #[must_use]
    pub fn not_error(self) -> Self {
        self.with("without an Error status".into(), |s| {
            !matches!(s.status, Status::Error { .. })
        })
    }

    /// … whose parent is `parent`.
    #[must_use]
    pub fn child_of(self, parent: &CapturedSpan) -> Self {
        let id = parent.span_id;
        self.with(format!("child of {:?}", parent.name), move |s| {
            s.parent_span_id == id
        })
    }

    /// … in the same trace as `other`.
    #[must_use]
    pub fn same_trace_as(self, other: &CapturedSpan) -> Self {
        let id = other.trace_id;
        self.with(format!("in the trace of {:?}", other.name), move |s| {
            s.trace_id == id
        })
    }
}

impl Matcher<CapturedSpan> for SpanMatcher {
    fn matches(&self, item: &CapturedSpan) -> bool {
        self.checks.iter().all(|(_, c)| c(item))
    }
    fn describe(&self) -> String {
        let parts: Vec<&str> = self.checks.iter().map(|(w, _)| w.as_str()).collect();
        if parts.is_empty() {
            "any span".into()
        } else {
            format!("a span {}", parts.join(", "))
        }
    }
}

/// A log matcher, built from [`crate::log::any`], [`crate::log::body_contains`]…
pub struct LogMatcher {
    checks: Vec<(String, Check<CapturedLog>)>,
}

impl LogMatcher {
    pub(crate) fn new() -> Self {
        Self { checks: Vec::new() }
    }

    fn with(
        mut self,
        what: String,
        check: impl Fn(&CapturedLog) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.checks.push((what, Box::new(check)));
        self
    }

    /// … whose body contains `part`.
    #[must_use]
    pub fn body_contains(self, part: &str) -> Self {
        let p = part.to_owned();
        self.with(format!("whose body contains {part:?}"), move |l| {
            l.body.contains(p.as_str())
        })
    }

    /// … at this severity.
    #[must_use]
    pub fn severity(self, severity: Severity) -> Self {
        self.with(format!("at {}", severity.name()), move |l| {
            l.severity == Some(severity)
        })
    }

    /// … at this severity or a more severe one.
    #[must_use]
    pub fn at_least(self, severity: Severity) -> Self {
        self.with(format!("at {} or above", severity.name()), move |l| {
            l.severity.is_some_and(|s| s as i32 >= severity as i32)
        })
    }

    /// … whose attribute `key` reads `value`.
    #[must_use]
    pub fn attr(self, key: &str, value: &str) -> Self {
        let (k, v) = (key.to_owned(), value.to_owned());
        self.with(format!("with {key}={value}"), move |l| {
            l.attr(&k) == Some(v.as_str())
        })
    }

    /// … emitted inside `span`.
    #[must_use]
    pub fn in_span(self, span: &CapturedSpan) -> Self {
        let id = span.span_id;
        self.with(format!("inside {:?}", span.name), move |l| {
            l.span_id == Some(id)
        })
    }
}

impl Matcher<CapturedLog> for LogMatcher {
    fn matches(&self, item: &CapturedLog) -> bool {
        self.checks.iter().all(|(_, c)| c(item))
    }
    fn describe(&self) -> String {
        let parts: Vec<&str> = self.checks.iter().map(|(w, _)| w.as_str()).collect();
        if parts.is_empty() {
            "any log record".into()
        } else {
            format!("a log record {}", parts.join(", "))
        }
    }
}

/// Integers recorded as `u64` reach OTel as strings or `i64`; compare them by value.
fn values_equal(a: &Value, b: &Value) -> bool {
    a == b || a.as_str() == b.as_str()
}
