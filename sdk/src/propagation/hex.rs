//! Strict hexadecimal id parsing for the propagators (no sign, no whitespace, bounded length).

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

/// Parses 1 to `max_len` hex digits (either case) into a number; `None` for anything else.
fn parse(s: &str, max_len: usize) -> Option<u128> {
    if s.is_empty() || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(s, 16).ok()
}

/// A trace id of exactly 16 or 32 hex digits (16 are left-padded, as B3 allows); zero is invalid.
pub(super) fn trace_id_fixed(s: &str) -> Option<TraceId> {
    if s.len() != 16 && s.len() != 32 {
        return None;
    }
    trace_id_upto(s)
}

/// A trace id of up to 32 hex digits, left-padded; zero is invalid.
pub(super) fn trace_id_upto(s: &str) -> Option<TraceId> {
    let v = parse(s, 32)?;
    (v != 0).then(|| TraceId::from_bytes(v.to_be_bytes()))
}

/// A span id of exactly 16 hex digits; zero is invalid.
pub(super) fn span_id_fixed(s: &str) -> Option<SpanId> {
    if s.len() != 16 {
        return None;
    }
    span_id_upto(s)
}

/// A span id of up to 16 hex digits, left-padded; zero is invalid.
pub(super) fn span_id_upto(s: &str) -> Option<SpanId> {
    let v = u64::try_from(parse(s, 16)?).ok()?;
    (v != 0).then(|| SpanId::from_bytes(v.to_be_bytes()))
}

/// A remote span context with the sampled flag as given.
pub(super) fn remote_context(trace_id: TraceId, span_id: SpanId, sampled: bool) -> SpanContext {
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    SpanContext::new(trace_id, span_id, flags, true, TraceState::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_signs_spaces_lengths_and_zero() {
        assert!(trace_id_fixed("+000000000000001").is_none());
        assert!(trace_id_fixed(" 0000000000000001").is_none());
        assert!(trace_id_fixed("0000000000000000").is_none());
        assert!(trace_id_fixed("00000000000000001").is_none());
        assert!(span_id_fixed("000000000000001").is_none());
        assert!(span_id_upto("g1").is_none());
        assert_eq!(
            trace_id_fixed("463ac35c9f6413ad")
                .map(|t| t.to_string())
                .as_deref(),
            Some("0000000000000000463ac35c9f6413ad")
        );
        assert_eq!(
            trace_id_fixed("463AC35C9F6413AD48485A3953BB6124")
                .map(|t| t.to_string())
                .as_deref(),
            Some("463ac35c9f6413ad48485a3953bb6124")
        );
    }
}
