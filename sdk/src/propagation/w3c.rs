//! W3C Trace Context (`traceparent`, `tracestate`), conformant in every rule.
//!
//! Replaces `opentelemetry_sdk`'s `TraceContextPropagator` because that one accepts what the
//! Recommendation rejects and loses what it must carry: it reads only the first of two
//! `traceparent` headers (the spec says: treat as none), only the first of several
//! `tracestate` headers (the spec says: join them), accepts malformed version, parent-id and
//! flags lengths, and masks the Level 2 `random` flag. Each rule below has a unit test that
//! quotes it.

use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use opentelemetry::Context;

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";

/// The flags this version defines: `sampled` (0x01) and `random` (0x02, Level 2). Other bits
/// are reserved and set to zero, as the spec requires.
const KNOWN_FLAGS: u8 = 0x03;
/// Level 2's `random` trace-id flag.
const RANDOM: u8 = 0x02;
/// The most list-members a `tracestate` may have.
const MAX_MEMBERS: usize = 32;

/// The W3C Trace Context propagator Beacon installs for `tracecontext`.
#[derive(Clone, Debug, Default)]
pub struct TraceContextPropagator {
    _private: (),
}

impl TraceContextPropagator {
    /// A new propagator.
    pub fn new() -> Self {
        Self::default()
    }
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Parses one `traceparent` value; `None` when it must be ignored.
pub(crate) fn parse_traceparent(value: &str) -> Option<(TraceId, SpanId, TraceFlags)> {
    let value = value.trim_matches([' ', '\t']);
    // version "-" trace-id "-" parent-id "-" trace-flags: 2+1+32+1+16+1+2 = 55.
    if value.len() < 55 || !value.is_ascii() {
        return None;
    }
    let (version, rest) = (&value[..2], &value[2..]);
    if !is_lower_hex(version) || version == "ff" {
        return None;
    }
    // Version 00 is exactly 55 characters; a higher version may carry more fields after a
    // dash, which are ignored.
    if version == "00" && value.len() != 55 {
        return None;
    }
    if value.len() > 55 && value.as_bytes()[55] != b'-' {
        return None;
    }
    let bytes = rest.as_bytes();
    if bytes[0] != b'-' || bytes[33] != b'-' || bytes[50] != b'-' {
        return None;
    }
    let (trace, parent, flags) = (&rest[1..33], &rest[34..50], &rest[51..53]);
    if !is_lower_hex(trace) || !is_lower_hex(parent) || !is_lower_hex(flags) {
        return None;
    }
    let trace_id = TraceId::from_hex(trace)
        .ok()
        .filter(|t| *t != TraceId::INVALID)?;
    let span_id = SpanId::from_hex(parent)
        .ok()
        .filter(|s| *s != SpanId::INVALID)?;
    let flags = u8::from_str_radix(flags, 16).ok()?;
    Some((trace_id, span_id, TraceFlags::new(flags & KNOWN_FLAGS)))
}

/// Trace Context Level 2: `key = ( lcalpha / DIGIT ) 0*255( keychar )`, `keychar = lcalpha /
/// DIGIT / "_" / "-" / "*" / "/" / "@"` — so `foo@`, `foo@@bar` and `foo@bar@baz` are keys and
/// `@foo` is not.
fn valid_key(key: &str) -> bool {
    let b = key.as_bytes();
    let keychar = |c: u8| {
        c.is_ascii_lowercase()
            || c.is_ascii_digit()
            || matches!(c, b'_' | b'-' | b'*' | b'/' | b'@')
    };
    !b.is_empty()
        && b.len() <= 256
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter().all(|&c| keychar(c))
}

/// value = 0*255(chr) nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E; chr = %x20 / nblk-chr
fn valid_value(value: &str) -> bool {
    let nblk = |b: u8| matches!(b, 0x21..=0x2B | 0x2D..=0x3C | 0x3E..=0x7E);
    let b = value.as_bytes();
    !b.is_empty()
        && b.len() <= 256
        && b.last().is_some_and(|&c| nblk(c))
        && b.iter().all(|&c| c == 0x20 || nblk(c))
}

/// Parses the `tracestate` headers, joined in order; `None` when the list is invalid (then it
/// is dropped whole, never truncated).
pub(crate) fn parse_tracestate(headers: &[&str]) -> Option<TraceState> {
    let mut members: Vec<(&str, &str)> = Vec::new();
    for header in headers {
        for member in header.split(',') {
            // OWS around members; empty members are allowed and ignored.
            let member = member.trim_matches([' ', '\t']);
            if member.is_empty() {
                continue;
            }
            let (key, value) = member.split_once('=')?;
            if !valid_key(key) || !valid_value(value) {
                return None;
            }
            if members.iter().any(|(k, _)| *k == key) {
                // Level 2: a list with a duplicated key is still propagated, with one of them
                // (the first, the most recent vendor's).
                continue;
            }
            members.push((key, value));
            if members.len() > MAX_MEMBERS {
                return None;
            }
        }
    }
    TraceState::from_key_value(members.iter().copied())
        .ok()
        .or_else(|| {
            // `opentelemetry::trace::TraceState` (0.33) still holds keys to the Level 1
            // grammar (at most one `@`, then at most 13 characters) and cannot be built with a
            // Level 2 key such as `foo@@bar`. Rather than lose the whole list, carry the
            // members it can hold; the others cannot travel through the SDK's span context.
            let representable = members
                .iter()
                .copied()
                .filter(|member| TraceState::from_key_value([*member]).is_ok());
            TraceState::from_key_value(representable).ok()
        })
}

impl TextMapPropagator for TraceContextPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let sc = span.span_context();
        if !sc.is_valid() {
            return;
        }
        // Version 00, with the sampled and random flags as they are, and `random` for a trace
        // id known to be random (the SDK cannot keep that flag itself: see `random`).
        let flags = super::trace_flags(sc).to_u8() & KNOWN_FLAGS;
        injector.set(
            TRACEPARENT,
            format!("00-{}-{}-{flags:02x}", sc.trace_id(), sc.span_id()),
        );
        let state = sc.trace_state().header();
        if !state.is_empty() {
            injector.set(TRACESTATE, state);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let parents = extractor
            .get_all(TRACEPARENT)
            .unwrap_or_else(|| extractor.get(TRACEPARENT).into_iter().collect());
        // Two traceparent headers: the request carries none.
        let [parent] = parents.as_slice() else {
            return cx.clone();
        };
        let Some((trace_id, span_id, flags)) = parse_traceparent(parent) else {
            return cx.clone();
        };
        let states = extractor
            .get_all(TRACESTATE)
            .unwrap_or_else(|| extractor.get(TRACESTATE).into_iter().collect());
        let state = parse_tracestate(&states).unwrap_or_default();
        if flags.to_u8() & RANDOM != 0 {
            // Kept for the spans of this trace whose flags the SDK resets (dropped ones).
            super::random::remember(trace_id);
        }
        cx.with_remote_span_context(SpanContext::new(trace_id, span_id, flags, true, state))
    }

    fn fields(&self) -> FieldIter<'_> {
        static NAMES: std::sync::OnceLock<[String; 2]> = std::sync::OnceLock::new();
        FieldIter::new(NAMES.get_or_init(|| [TRACEPARENT.to_owned(), TRACESTATE.to_owned()]))
    }
}

#[cfg(test)]
mod tests;
