//! One expected item of a sequence: a span or a log record.

use crate::matcher::{LogMatcher, Matcher, SpanMatcher};
use crate::record::{CapturedLog, CapturedSpan, Item};

/// A span or log expectation, for [`crate::Capture::assert_sequence`],
/// [`crate::Capture::wait_for_any`] and [`crate::Capture::refute`].
pub enum Expect {
    /// A span matching this.
    Span(Box<dyn Matcher<CapturedSpan>>),
    /// A log record matching this.
    Log(Box<dyn Matcher<CapturedLog>>),
}

impl Expect {
    pub(crate) fn matches(&self, item: &Item) -> bool {
        match (self, item) {
            (Expect::Span(m), Item::Span(s)) => m.matches(s),
            (Expect::Log(m), Item::Log(l)) => m.matches(l),
            _ => false,
        }
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            Expect::Span(m) => m.describe(),
            Expect::Log(m) => m.describe(),
        }
    }
}

impl From<SpanMatcher> for Expect {
    fn from(m: SpanMatcher) -> Self {
        Expect::Span(Box::new(m))
    }
}

impl From<LogMatcher> for Expect {
    fn from(m: LogMatcher) -> Self {
        Expect::Log(Box::new(m))
    }
}
