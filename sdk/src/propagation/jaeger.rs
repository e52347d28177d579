//! Jaeger propagation: the `uber-trace-id` header,
//! `{trace-id}:{span-id}:{parent-span-id}:{flags}` (<https://www.jaegertracing.io/docs/client-libraries/#propagation-format>).
//! Baggage (`uberctx-*`) is not carried.

use opentelemetry::propagation::{
    text_map_propagator::FieldIter, Extractor, Injector, TextMapPropagator,
};
use opentelemetry::trace::{SpanContext, TraceContextExt as _};
use opentelemetry::Context;

use super::hex;

const HEADER: &str = "uber-trace-id";

/// The Jaeger propagator (`OTEL_PROPAGATORS=jaeger`).
#[derive(Debug, Clone)]
pub struct JaegerPropagator {
    fields: [String; 1],
}

impl Default for JaegerPropagator {
    fn default() -> Self {
        Self::new()
    }
}

impl JaegerPropagator {
    /// A Jaeger propagator.
    pub fn new() -> Self {
        Self {
            fields: [HEADER.to_owned()],
        }
    }

    fn parse(value: &str) -> Option<SpanContext> {
        // The value may arrive percent-encoded (`%3A` for `:`).
        let decoded = value.trim().replace("%3A", ":").replace("%3a", ":");
        let mut parts = decoded.split(':');
        let (trace, span, parent, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let trace_id = hex::trace_id_upto(trace)?;
        let span_id = hex::span_id_upto(span)?;
        // The parent id is deprecated and may be `0`; it must still be hex.
        if parent.is_empty() || parent.len() > 16 || !parent.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return None;
        }
        if flags.is_empty() || flags.len() > 2 || !flags.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let flags = u8::from_str_radix(flags, 16).ok()?;
        // 0x1 sampled, 0x2 debug (implies sampled).
        let sampled = flags & 0x03 != 0;
        Some(hex::remote_context(trace_id, span_id, sampled))
    }
}

impl TextMapPropagator for JaegerPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let sc = span.span_context();
        if !sc.is_valid() {
            return;
        }
        let flags = if sc.is_sampled() { "01" } else { "00" };
        injector.set(
            HEADER,
            format!("{}:{}:0:{flags}", sc.trace_id(), sc.span_id()),
        );
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        match extractor.get(HEADER).and_then(Self::parse) {
            Some(sc) => cx.with_remote_span_context(sc),
            None => cx.clone(),
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.fields)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use opentelemetry::trace::{SpanId, TraceFlags, TraceId, TraceState};

    use super::*;

    const TRACE: &str = "463ac35c9f6413ad48485a3953bb6124";
    const SPAN: &str = "a2fb4a1d1a96d312";

    fn extract(value: &str) -> SpanContext {
        let headers: HashMap<String, String> = [(HEADER.to_owned(), value.to_owned())].into();
        JaegerPropagator::new()
            .extract(&headers)
            .span()
            .span_context()
            .clone()
    }

    #[test]
    fn round_trip() {
        let sc = SpanContext::new(
            TraceId::from_hex(TRACE).expect("hex"),
            SpanId::from_hex(SPAN).expect("hex"),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        );
        let mut headers = HashMap::new();
        JaegerPropagator::new().inject_context(
            &Context::new().with_remote_span_context(sc.clone()),
            &mut headers,
        );
        assert_eq!(
            headers.get(HEADER).map(String::as_str),
            Some(&*format!("{TRACE}:{SPAN}:0:01"))
        );
        let back = JaegerPropagator::new().extract(&headers);
        assert_eq!(back.span().span_context().trace_id(), sc.trace_id());
        assert!(back.span().span_context().is_remote());
    }

    #[test]
    fn valid_forms() {
        assert!(extract(&format!("{TRACE}:{SPAN}:0:1")).is_sampled());
        assert!(!extract(&format!("{TRACE}:{SPAN}:0:0")).is_sampled());
        assert!(
            extract(&format!("{TRACE}:{SPAN}:0:2")).is_sampled(),
            "debug means sampled"
        );
        assert!(
            extract(&format!("{TRACE}%3A{SPAN}%3A0%3A1")).is_valid(),
            "percent-encoded"
        );
        let short = extract(&format!("48485a3953bb6124:{SPAN}:0:1"));
        assert_eq!(
            short.trace_id().to_string(),
            "000000000000000048485a3953bb6124"
        );
        assert!(
            extract(&format!("{TRACE}:1:0:1")).is_valid(),
            "short span id is padded"
        );
    }

    #[test]
    fn malformed_values_are_ignored() {
        for bad in [
            format!("{TRACE}:{SPAN}:0"),
            format!("{TRACE}:{SPAN}:0:1:9"),
            format!("{}:{SPAN}:0:1", "0".repeat(32)),
            format!("{TRACE}:{}:0:1", "0".repeat(16)),
            format!("{TRACE}1:{SPAN}:0:1"),
            format!("{TRACE}:{SPAN}:zz:1"),
            format!("{TRACE}:{SPAN}:0:100"),
            format!("{TRACE}:+{}:0:1", &SPAN[1..]),
            String::new(),
        ] {
            assert!(!extract(&bad).is_valid(), "accepted {bad:?}");
        }
    }
}
