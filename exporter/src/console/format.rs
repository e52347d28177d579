//! Line formats of the console exporter.

use std::fmt::Write as _;

use opentelemetry::logs::AnyValue;
use opentelemetry::trace::Status;
use opentelemetry::KeyValue;
use opentelemetry_sdk::logs::SdkLogRecord;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::trace::SpanData;

// Writing into a `String` cannot fail, so the `fmt::Result`s below are ignored.

/// Text as written to the console: newlines, carriage returns, tabs and every other control
/// character (and U+2028/U+2029, which some terminals and log viewers break lines at) escaped,
/// so a value a caller sent (a header, a path, a logged string) cannot start a forged line.
pub(super) struct Esc<'a>(pub(super) &'a str);

impl std::fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.0;
        let needs = |c: char| c.is_control() || c == '\u{2028}' || c == '\u{2029}';
        if !text.contains(needs) {
            return f.write_str(text);
        }
        for c in text.chars() {
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if needs(c) => write!(f, "\\u{{{:x}}}", u32::from(c))?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

pub(super) fn span(out: &mut String, span: &SpanData) {
    let ctx = &span.span_context;
    let micros = span
        .end_time
        .duration_since(span.start_time)
        .map(|d| d.as_micros())
        .unwrap_or(0);
    let _ = write!(
        out,
        "SPAN {} trace_id={} span_id={} parent={} kind={:?} duration={}µs",
        Esc(&span.name),
        ctx.trace_id(),
        ctx.span_id(),
        span.parent_span_id,
        span.span_kind,
        micros
    );
    match &span.status {
        Status::Unset => {}
        Status::Ok => out.push_str(" status=ok"),
        Status::Error { description } => {
            let _ = write!(out, " status=error({})", Esc(description));
        }
    }
    attributes(
        out,
        span.attributes
            .iter()
            .map(|kv| (kv.key.as_str(), kv.value.to_string())),
    );
    out.push('\n');
    // Span events (a domain event's span side, a recorded exception), one indented line each.
    for event in span.events.iter() {
        let _ = write!(out, "  EVENT {}", Esc(&event.name));
        attributes(
            out,
            event
                .attributes
                .iter()
                .map(|kv| (kv.key.as_str(), kv.value.to_string())),
        );
        out.push('\n');
    }
}

pub(super) fn log(out: &mut String, record: &SdkLogRecord) {
    let severity = record.severity_text().unwrap_or("-");
    let _ = write!(out, "LOG {:<5}", Esc(severity));
    if let Some(body) = record.body() {
        let _ = write!(out, " {}", Esc(&any_value(body)));
    }
    if let Some(tc) = record.trace_context() {
        let _ = write!(out, " trace_id={} span_id={}", tc.trace_id, tc.span_id);
    }
    attributes(
        out,
        record
            .attributes_iter()
            .map(|(k, v)| (k.as_str(), any_value(v))),
    );
    out.push('\n');
}

pub(super) fn metrics(out: &mut String, metrics: &ResourceMetrics) {
    for scope in metrics.scope_metrics() {
        for metric in scope.metrics() {
            let unit = metric.unit();
            let _ = write!(out, "METRIC {}", Esc(metric.name()));
            if !unit.is_empty() {
                let _ = write!(out, " [{}]", Esc(unit));
            }
            match metric.data() {
                AggregatedMetrics::F64(d) => summary(out, d),
                AggregatedMetrics::U64(d) => summary(out, d),
                AggregatedMetrics::I64(d) => summary(out, d),
            }
            out.push('\n');
        }
    }
}

fn summary<T: std::fmt::Display + Copy>(out: &mut String, data: &MetricData<T>) {
    let mut points = 0;
    match data {
        MetricData::Gauge(g) => {
            out.push_str(" gauge");
            for p in g.data_points() {
                points += 1;
                point(out, p.value(), p.attributes());
            }
        }
        MetricData::Sum(s) => {
            out.push_str(if s.is_monotonic() {
                " counter"
            } else {
                " updown"
            });
            for p in s.data_points() {
                points += 1;
                point(out, p.value(), p.attributes());
            }
        }
        MetricData::Histogram(h) => {
            out.push_str(" histogram");
            for p in h.data_points() {
                points += 1;
                let _ = write!(out, " {{count={} sum={}", p.count(), p.sum());
                attrs_inline(out, p.attributes());
                out.push('}');
            }
        }
        MetricData::ExponentialHistogram(h) => {
            out.push_str(" exp_histogram");
            for p in h.data_points() {
                points += 1;
                let _ = write!(out, " {{count={} sum={}", p.count(), p.sum());
                attrs_inline(out, p.attributes());
                out.push('}');
            }
        }
    }
    if points == 0 {
        out.push_str(" (no points)");
    }
}

fn point<'a, T: std::fmt::Display>(
    out: &mut String,
    value: T,
    attrs: impl Iterator<Item = &'a KeyValue>,
) {
    let _ = write!(out, " {{{value}");
    attrs_inline(out, attrs);
    out.push('}');
}

fn attrs_inline<'a>(out: &mut String, attrs: impl Iterator<Item = &'a KeyValue>) {
    for kv in attrs {
        let _ = write!(
            out,
            " {}={}",
            Esc(kv.key.as_str()),
            Esc(&kv.value.to_string())
        );
    }
}

fn attributes<'a>(out: &mut String, attrs: impl Iterator<Item = (&'a str, String)>) {
    for (k, v) in attrs {
        let _ = write!(out, " {}={}", Esc(k), Esc(&v));
    }
}

fn any_value(v: &AnyValue) -> String {
    match v {
        AnyValue::String(s) => s.to_string(),
        AnyValue::Int(i) => i.to_string(),
        AnyValue::Double(d) => d.to_string(),
        AnyValue::Boolean(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}
