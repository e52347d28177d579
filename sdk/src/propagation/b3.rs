//! Zipkin B3 propagation (<https://github.com/openzipkin/b3-propagation>), single header
//! (`b3`) and multiple headers (`x-b3-*`).
//!
//! Extraction accepts both encodings whatever the injection mode, preferring the single header
//! when both are present (as the OTel B3 propagator spec says). An unusable value leaves the
//! context unchanged; a sampling-only `b3: 0` carries no span context.

use opentelemetry::propagation::{
    text_map_propagator::FieldIter, Extractor, Injector, TextMapPropagator,
};
use opentelemetry::trace::{SpanContext, TraceContextExt as _};
use opentelemetry::Context;

use super::hex;

const B3: &str = "b3";
const TRACE_ID: &str = "x-b3-traceid";
const SPAN_ID: &str = "x-b3-spanid";
const SAMPLED: &str = "x-b3-sampled";
const FLAGS: &str = "x-b3-flags";
const PARENT: &str = "x-b3-parentspanid";

/// The B3 propagator. [`B3Propagator::single`] injects the `b3` header,
/// [`B3Propagator::multi`] the `x-b3-*` headers; both extract either form.
#[derive(Debug, Clone)]
pub struct B3Propagator {
    multi: bool,
    fields: Vec<String>,
}

impl B3Propagator {
    /// Injects the single `b3` header (`OTEL_PROPAGATORS=b3`).
    pub fn single() -> Self {
        Self {
            multi: false,
            fields: vec![B3.to_owned()],
        }
    }

    /// Injects the `x-b3-traceid`, `x-b3-spanid` and `x-b3-sampled` headers
    /// (`OTEL_PROPAGATORS=b3multi`).
    pub fn multi() -> Self {
        Self {
            multi: true,
            fields: [TRACE_ID, SPAN_ID, SAMPLED, FLAGS, PARENT]
                .map(str::to_owned)
                .to_vec(),
        }
    }

    fn extract_single(value: &str) -> Option<SpanContext> {
        let mut parts = value.trim().split('-');
        let trace = parts.next()?;
        let span = parts.next()?; // a lone sampling state (`0`, `1`, `d`) has no span context
        let sampled = match parts.next() {
            None => true, // absent: defer; we record, as the parent-based default would
            Some("1") | Some("d") => true,
            Some("0") => false,
            Some(_) => return None,
        };
        if let Some(parent) = parts.next() {
            hex::span_id_fixed(parent)?;
        }
        if parts.next().is_some() {
            return None;
        }
        Some(hex::remote_context(
            hex::trace_id_fixed(trace)?,
            hex::span_id_fixed(span)?,
            sampled,
        ))
    }

    fn extract_multi(carrier: &dyn Extractor) -> Option<SpanContext> {
        let trace = hex::trace_id_fixed(carrier.get(TRACE_ID)?.trim())?;
        let span = hex::span_id_fixed(carrier.get(SPAN_ID)?.trim())?;
        let debug = carrier.get(FLAGS).map(str::trim) == Some("1");
        let sampled = match carrier.get(SAMPLED).map(str::trim) {
            None => true,
            Some("1") | Some("true") => true,
            Some("0") | Some("false") => debug,
            Some(_) => return None,
        };
        Some(hex::remote_context(trace, span, sampled || debug))
    }
}

impl TextMapPropagator for B3Propagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let sc = span.span_context();
        if !sc.is_valid() {
            return;
        }
        let sampled = if sc.is_sampled() { "1" } else { "0" };
        if self.multi {
            injector.set(TRACE_ID, sc.trace_id().to_string());
            injector.set(SPAN_ID, sc.span_id().to_string());
            injector.set(SAMPLED, sampled.to_owned());
        } else {
            injector.set(B3, format!("{}-{}-{sampled}", sc.trace_id(), sc.span_id()));
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let found = match extractor.get(B3) {
            Some(single) => Self::extract_single(single),
            None => Self::extract_multi(extractor),
        };
        match found {
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

    fn carrier(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn extract(pairs: &[(&str, &str)]) -> SpanContext {
        let cx = B3Propagator::single().extract(&carrier(pairs));
        cx.span().span_context().clone()
    }

    #[test]
    fn round_trips_in_both_modes() {
        let sc = SpanContext::new(
            TraceId::from_hex(TRACE).expect("hex"),
            SpanId::from_hex(SPAN).expect("hex"),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        );
        let cx = Context::new().with_remote_span_context(sc.clone());
        for p in [B3Propagator::single(), B3Propagator::multi()] {
            let mut headers = HashMap::new();
            p.inject_context(&cx, &mut headers);
            let back = p.extract(&headers);
            let got = back.span().span_context().clone();
            assert_eq!(got.trace_id(), sc.trace_id());
            assert_eq!(got.span_id(), sc.span_id());
            assert!(got.is_sampled() && got.is_remote());
        }
        let mut single = HashMap::new();
        B3Propagator::single().inject_context(&cx, &mut single);
        assert_eq!(
            single.get("b3").map(String::as_str),
            Some(&*format!("{TRACE}-{SPAN}-1"))
        );
    }

    #[test]
    fn single_header_forms() {
        assert!(extract(&[("b3", &format!("{TRACE}-{SPAN}"))]).is_valid());
        assert!(extract(&[("b3", &format!("{TRACE}-{SPAN}-1"))]).is_sampled());
        assert!(!extract(&[("b3", &format!("{TRACE}-{SPAN}-0"))]).is_sampled());
        assert!(extract(&[("b3", &format!("{TRACE}-{SPAN}-d"))]).is_sampled());
        assert!(extract(&[("b3", &format!("{TRACE}-{SPAN}-1-{SPAN}"))]).is_valid());
        let short = extract(&[("b3", &format!("48485a3953bb6124-{SPAN}-1"))]);
        assert_eq!(
            short.trace_id().to_string(),
            "000000000000000048485a3953bb6124"
        );
        assert!(extract(&[("b3", &format!("{}-{SPAN}-1", TRACE.to_uppercase()))]).is_valid());
    }

    #[test]
    fn malformed_single_headers_are_ignored() {
        for bad in [
            "0".to_owned(),
            "1".to_owned(),
            TRACE.to_owned(),
            format!("{TRACE}-{SPAN}-x"),
            format!("{TRACE}-{SPAN}-1-zz"),
            format!("{TRACE}-{SPAN}-1-{SPAN}-extra"),
            format!("{}-{SPAN}-1", &TRACE[..30]),
            format!("{TRACE}-{}-1", &SPAN[..15]),
            format!("{}-{SPAN}-1", "0".repeat(32)),
            format!("{TRACE}-{}-1", "0".repeat(16)),
            format!("{TRACE}-+{}-1", &SPAN[1..]),
            String::new(),
        ] {
            assert!(!extract(&[("b3", &bad)]).is_valid(), "accepted {bad:?}");
        }
    }

    #[test]
    fn multi_header_forms() {
        let sc = extract(&[
            ("x-b3-traceid", TRACE),
            ("x-b3-spanid", SPAN),
            ("x-b3-sampled", "1"),
        ]);
        assert!(sc.is_valid() && sc.is_sampled());
        let sc = extract(&[
            ("x-b3-traceid", TRACE),
            ("x-b3-spanid", SPAN),
            ("x-b3-sampled", "0"),
        ]);
        assert!(sc.is_valid() && !sc.is_sampled());
        let sc = extract(&[
            ("x-b3-traceid", TRACE),
            ("x-b3-spanid", SPAN),
            ("x-b3-sampled", "0"),
            ("x-b3-flags", "1"),
        ]);
        assert!(sc.is_sampled(), "debug means sampled");
        assert!(!extract(&[("x-b3-traceid", TRACE)]).is_valid());
        assert!(!extract(&[("x-b3-traceid", TRACE), ("x-b3-spanid", "xyz")]).is_valid());
        assert!(!extract(&[
            ("x-b3-traceid", TRACE),
            ("x-b3-spanid", SPAN),
            ("x-b3-sampled", "maybe")
        ])
        .is_valid());
    }

    #[test]
    fn the_single_header_wins_over_multi() {
        let other = "0af7651916cd43dd8448eb211c80319c";
        let sc = extract(&[
            ("b3", &format!("{TRACE}-{SPAN}-1")),
            ("x-b3-traceid", other),
            ("x-b3-spanid", SPAN),
        ]);
        assert_eq!(sc.trace_id().to_string(), TRACE);
    }

    #[test]
    fn an_invalid_context_injects_nothing() {
        let mut headers: HashMap<String, String> = HashMap::new();
        B3Propagator::multi().inject_context(&Context::new(), &mut headers);
        assert!(headers.is_empty());
    }
}
