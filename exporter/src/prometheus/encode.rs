//! The Prometheus text (0.0.4) and OpenMetrics (1.0) encoders.
//!
//! Written for one pass over the SDK's collected data into one growing buffer: each series'
//! label set is rendered once and reused for every line of the series (a histogram's buckets,
//! sum and count), numbers go through `itoa` or the shortest float form, and label names that
//! are already valid (nearly all) are written without being copied.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::UNIX_EPOCH;

use opentelemetry::{InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::metrics::data::{
    AggregatedMetrics, Gauge, Histogram, Metric, MetricData, ResourceMetrics, Sum,
};
use opentelemetry_sdk::Resource;

use super::names::{self, FamilyName, Kind};
use super::{Format, Naming};
use crate::exemplars::{self, Exemplar, Exemplars};

/// What an encoding left out, so the caller can say so once.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Skipped {
    /// Metrics whose Prometheus name was already taken by a metric of another type.
    pub(crate) conflicting: usize,
    /// Exponential histograms, which neither text format can carry.
    pub(crate) unsupported: usize,
}

/// Encodes everything in `rm` into `out`.
pub(crate) fn encode(
    rm: &ResourceMetrics,
    format: Format,
    naming: Naming,
    exemplars: Option<(&Exemplars, exemplars::Window)>,
    out: &mut String,
) -> Skipped {
    let mut skipped = Skipped::default();
    let mut enc = Encoder {
        out,
        format,
        exemplars: exemplars.map(|(e, _)| e),
        window: exemplars.map_or_else(exemplars::Window::everything, |(_, w)| w),
        labels: String::with_capacity(256),
    };
    enc.target_info(rm.resource());

    // One family per Prometheus name: every line of a name must be together, under one TYPE.
    let mut order: Vec<Family<'_>> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    // Scopes in name order: the SDK's order is not stable between runs, and which of two
    // clashing metrics is kept (the first) must not change from one scrape to the next.
    let mut scopes: Vec<_> = rm.scope_metrics().collect();
    scopes.sort_by(|a, b| {
        (a.scope().name(), a.scope().version()).cmp(&(b.scope().name(), b.scope().version()))
    });
    for scope in scopes {
        for metric in scope.metrics() {
            let Some(kind) = kind_of(metric.data()) else {
                skipped.unsupported += 1;
                continue;
            };
            let name = names::family(metric.name(), metric.unit(), kind, naming);
            // Keyed by the name the samples carry: a counter `x` and a gauge `x_total` clash.
            let exposed = if kind == Kind::Counter {
                format!("{}_total", name.name)
            } else {
                name.name.clone()
            };
            match by_name.get(&exposed) {
                Some(&i) if order[i].kind == kind => order[i].members.push((scope.scope(), metric)),
                Some(_) => skipped.conflicting += 1,
                None if exposed == "target_info" || name.name == "target" => {
                    skipped.conflicting += 1;
                }
                None => {
                    by_name.insert(exposed, order.len());
                    order.push(Family {
                        name,
                        kind,
                        members: vec![(scope.scope(), metric)],
                    });
                }
            }
        }
    }
    for family in &order {
        enc.family(family);
    }
    if format == Format::OpenMetrics {
        enc.out.push_str("# EOF\n");
    }
    skipped
}

struct Family<'a> {
    name: FamilyName,
    kind: Kind,
    members: Vec<(&'a InstrumentationScope, &'a Metric)>,
}

fn kind_of(data: &AggregatedMetrics) -> Option<Kind> {
    fn of<T>(d: &MetricData<T>) -> Option<Kind> {
        match d {
            MetricData::Gauge(_) => Some(Kind::Gauge),
            MetricData::Sum(s) if s.is_monotonic() => Some(Kind::Counter),
            MetricData::Sum(_) => Some(Kind::Gauge),
            MetricData::Histogram(_) => Some(Kind::Histogram),
            MetricData::ExponentialHistogram(_) => None,
        }
    }
    match data {
        AggregatedMetrics::F64(d) => of(d),
        AggregatedMetrics::U64(d) => of(d),
        AggregatedMetrics::I64(d) => of(d),
    }
}

/// A number as the text formats want it.
trait Number: Copy {
    fn write(self, out: &mut String);
}

impl Number for u64 {
    fn write(self, out: &mut String) {
        out.push_str(itoa::Buffer::new().format(self));
    }
}

impl Number for i64 {
    fn write(self, out: &mut String) {
        out.push_str(itoa::Buffer::new().format(self));
    }
}

impl Number for f64 {
    fn write(self, out: &mut String) {
        write_float(self, out);
    }
}

/// The shortest form that reads back as the same value, `+Inf`/`-Inf`/`NaN` as both formats
/// spell them, and integers with `.0` (the canonical form OpenMetrics asks of `le`, used in both
/// formats so a bucket's series is the same whichever format was scraped).
fn write_float(v: f64, out: &mut String) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{v:?}");
    }
}

struct Encoder<'a> {
    out: &'a mut String,
    format: Format,
    exemplars: Option<&'a Exemplars>,
    /// Which collection cycles' exemplars this scrape shows.
    window: exemplars::Window,
    /// The current series' labels, rendered `a="1",b="2"` (no braces), reused across lines.
    labels: String,
}

impl Encoder<'_> {
    fn target_info(&mut self, resource: &Resource) {
        if resource.is_empty() {
            return;
        }
        match self.format {
            Format::Text => self
                .out
                .push_str("# HELP target_info Target metadata\n# TYPE target_info gauge\n"),
            Format::OpenMetrics => self
                .out
                .push_str("# TYPE target info\n# HELP target Target metadata\n"),
        }
        let mut attrs: Vec<(&str, String)> = resource
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().into_owned()))
            .collect();
        attrs.sort_by(|a, b| a.0.cmp(b.0));
        self.labels.clear();
        write_merged_labels(
            &mut self.labels,
            attrs.iter().map(|(k, v)| (*k, v.as_str())),
        );
        self.out.push_str("target_info{");
        self.out.push_str(&self.labels);
        self.out.push_str("} 1\n");
    }

    fn family(&mut self, family: &Family<'_>) {
        let name = family.name.name.as_str();
        let help = family
            .members
            .iter()
            .map(|(_, m)| m.description())
            .find(|d| !d.is_empty())
            // promtool flags a family without help; the instrument's own name is better than
            // nothing and tells the reader where the series came from.
            .unwrap_or_else(|| family.members[0].1.name());
        // Text 0.0.4 names a counter family by its samples (`x_total`); OpenMetrics by `x`.
        let total = if family.kind == Kind::Counter && self.format == Format::Text {
            "_total"
        } else {
            ""
        };
        self.out.push_str("# HELP ");
        self.out.push_str(name);
        self.out.push_str(total);
        self.out.push(' ');
        escape_help(help, self.format, self.out);
        self.out.push_str("\n# TYPE ");
        self.out.push_str(name);
        self.out.push_str(total);
        self.out.push(' ');
        self.out.push_str(family.kind.type_name());
        self.out.push('\n');
        if self.format == Format::OpenMetrics {
            if let Some(unit) = &family.name.unit {
                self.out.push_str("# UNIT ");
                self.out.push_str(name);
                self.out.push(' ');
                self.out.push_str(unit);
                self.out.push('\n');
            }
        }
        for (scope, metric) in &family.members {
            let reservoir = self
                .exemplars
                .filter(|_| self.format == Format::OpenMetrics)
                .and_then(|e| e.reservoir(metric.name()));
            let (scope_labels, scope_names) = scope_labels(scope);
            let ctx = Series {
                name,
                scope_labels: &scope_labels,
                scope_names: &scope_names,
                reservoir: reservoir.as_deref(),
                window: self.window,
            };
            match metric.data() {
                AggregatedMetrics::F64(d) => self.data(&ctx, d),
                AggregatedMetrics::U64(d) => self.data(&ctx, d),
                AggregatedMetrics::I64(d) => self.data(&ctx, d),
            }
        }
    }

    fn data<T: Number>(&mut self, s: &Series<'_>, data: &MetricData<T>) {
        match data {
            MetricData::Gauge(g) => self.gauge(s, g),
            MetricData::Sum(sum) => self.sum(s, sum),
            MetricData::Histogram(h) => self.histogram(s, h),
            MetricData::ExponentialHistogram(_) => {}
        }
    }

    fn gauge<T: Number>(&mut self, s: &Series<'_>, g: &Gauge<T>) {
        for p in g.data_points() {
            self.series_labels(s, || p.attributes(), false);
            self.line(s.name, "", p.value());
        }
    }

    fn sum<T: Number>(&mut self, s: &Series<'_>, sum: &Sum<T>) {
        let suffix = if sum.is_monotonic() { "_total" } else { "" };
        let created = sum
            .is_monotonic()
            .then(|| self.created_value(sum.start_time()))
            .flatten();
        for p in sum.data_points() {
            self.series_labels(s, || p.attributes(), false);
            let exemplar = s
                .reservoir
                .and_then(|r| r.get(exemplars::attributes_hash(p.attributes()), 0, s.window));
            self.line(s.name, suffix, p.value());
            if let Some(e) = exemplar.filter(|_| sum.is_monotonic()) {
                self.exemplar(&e);
            }
            if let Some(created) = &created {
                self.created(s.name, created);
            }
        }
    }

    fn histogram<T: Number>(&mut self, s: &Series<'_>, h: &Histogram<T>) {
        // Every point of an instrument has the same bounds: format each once, not per series
        // (formatting floats was ~40 % of a 10k-series scrape).
        let mut le: Vec<(f64, String)> = Vec::new();
        let created = self.created_value(h.start_time());
        for p in h.data_points() {
            self.series_labels(s, || p.attributes(), true);
            let slots = s
                .reservoir
                .and_then(|r| r.snapshot(exemplars::attributes_hash(p.attributes()), s.window));
            let mut cumulative = 0u64;
            let mut counts = p.bucket_counts();
            for (i, bound) in p.bounds().enumerate() {
                cumulative += counts.next().unwrap_or(0);
                if le
                    .get(i)
                    .is_none_or(|(b, _)| b.to_bits() != bound.to_bits())
                {
                    let mut text = String::new();
                    write_float(bound, &mut text);
                    le.truncate(i);
                    le.push((bound, text));
                }
                self.bucket_line(s.name, &le[i].1, cumulative);
                if let Some(e) = slots.as_ref().and_then(|s| s.get(i).copied().flatten()) {
                    self.exemplar(&e);
                }
            }
            let inf = p.bounds().count();
            self.bucket_line(s.name, "+Inf", p.count());
            if let Some(e) = slots.as_ref().and_then(|s| s.get(inf).copied().flatten()) {
                self.exemplar(&e);
            }
            self.line(s.name, "_sum", p.sum());
            self.line(s.name, "_count", p.count());
            if let Some(created) = &created {
                self.created(s.name, created);
            }
        }
    }

    /// The value of OpenMetrics' `_created` sample of a counter or histogram: when its
    /// accumulation began (the data's start time, the same for all its points), in seconds.
    /// `None` in the text format 0.0.4, which has no such sample.
    fn created_value(&self, start: std::time::SystemTime) -> Option<String> {
        if self.format != Format::OpenMetrics {
            return None;
        }
        let since = start.duration_since(UNIX_EPOCH).ok()?;
        let mut secs = format!("{}.{:09}", since.as_secs(), since.subsec_nanos());
        secs.truncate(secs.trim_end_matches('0').len());
        if secs.ends_with('.') {
            secs.push('0');
        }
        Some(secs)
    }

    /// A `_created` line for the series whose labels were just rendered.
    fn created(&mut self, name: &str, value: &str) {
        let out = &mut *self.out;
        out.push_str(name);
        out.push_str("_created{");
        out.push_str(&self.labels);
        out.push_str("} ");
        out.push_str(value);
        out.push('\n');
    }

    /// Renders a series' labels into `self.labels`: its attributes (sanitised, colliding names
    /// joined with `;` in key order), then the scope's.
    fn series_labels<'k, I: Iterator<Item = &'k KeyValue>>(
        &mut self,
        s: &Series<'_>,
        attrs: impl Fn() -> I,
        histogram: bool,
    ) {
        self.labels.clear();
        let reserved = |k: &str| {
            matches!(
                k,
                "otel_scope_name" | "otel_scope_version" | "otel_scope_schema_url"
            ) || (histogram && k == "le")
                || s.scope_names.iter().any(|n| n == k)
        };
        // Fast path: every key is already a valid, unreserved label name, so no two can
        // collide (the SDK has already merged duplicate keys).
        let simple = attrs().all(|kv| {
            matches!(names::label(kv.key.as_str()), std::borrow::Cow::Borrowed(_))
                && !reserved(kv.key.as_str())
        });
        if simple {
            for kv in attrs() {
                push_label(&mut self.labels, kv.key.as_str(), &kv.value);
            }
        } else {
            let mut merged: Vec<(String, String)> = Vec::new();
            let mut sorted: Vec<&KeyValue> = attrs().collect();
            sorted.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
            for kv in sorted {
                let name = names::label(kv.key.as_str()).into_owned();
                if reserved(&name) {
                    // The exporter's own labels win; a clash would make the scrape unparseable.
                    continue;
                }
                let value = kv.value.as_str().into_owned();
                match merged.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, v)) => {
                        v.push(';');
                        v.push_str(&value);
                    }
                    None => merged.push((name, value)),
                }
            }
            write_merged_labels(
                &mut self.labels,
                merged.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            );
        }
        if !self.labels.is_empty() {
            self.labels.push(',');
        }
        self.labels.push_str(s.scope_labels);
    }

    fn line<T: Number>(&mut self, name: &str, suffix: &str, value: T) {
        let out = &mut *self.out;
        out.push_str(name);
        out.push_str(suffix);
        out.push('{');
        out.push_str(&self.labels);
        out.push_str("} ");
        value.write(out);
        out.push('\n');
    }

    /// A `_bucket` line, its `le` already formatted.
    fn bucket_line(&mut self, name: &str, le: &str, cumulative: u64) {
        let out = &mut *self.out;
        out.push_str(name);
        out.push_str("_bucket{");
        out.push_str(&self.labels);
        if !self.labels.is_empty() {
            out.push(',');
        }
        out.push_str("le=\"");
        out.push_str(le);
        out.push_str("\"} ");
        cumulative.write(out);
        out.push('\n');
    }

    /// Appends ` # {trace_id="…",span_id="…"} value timestamp` to the line just written.
    fn exemplar(&mut self, e: &Exemplar) {
        let out = &mut *self.out;
        out.pop(); // the line's '\n'
        out.push_str(" # {");
        if let Some((trace_id, span_id)) = e.ids() {
            let _ = write!(out, "trace_id=\"{trace_id}\",span_id=\"{span_id}\"");
        }
        out.push_str("} ");
        write_float(e.value, out);
        if let Ok(t) = e.time.duration_since(UNIX_EPOCH) {
            out.push(' ');
            let _ = write!(out, "{}.{:03}", t.as_secs(), t.subsec_millis());
        }
        out.push('\n');
    }
}

struct Series<'a> {
    name: &'a str,
    /// The scope's labels, rendered (`otel_scope_name="…",…`).
    scope_labels: &'a str,
    /// The names of the scope's attribute labels (`otel_scope_<key>`), which a metric
    /// attribute of the same name must not repeat.
    scope_names: &'a [String],
    reservoir: Option<&'a exemplars::Reservoir>,
    window: exemplars::Window,
}

/// A scope's labels: `otel_scope_name`, `otel_scope_version` and `otel_scope_schema_url` when
/// set, then each scope attribute as `otel_scope_<key>` (sanitised like any label, colliding
/// keys joined with `;` in key order; an attribute that would repeat one of the three is
/// left out, the scope's own fields win). Also the attribute labels' names.
fn scope_labels(scope: &InstrumentationScope) -> (String, Vec<String>) {
    let mut out = String::with_capacity(64);
    push_str_label(&mut out, "otel_scope_name", scope.name());
    if let Some(v) = scope.version().filter(|v| !v.is_empty()) {
        push_str_label(&mut out, "otel_scope_version", v);
    }
    if let Some(v) = scope.schema_url().filter(|v| !v.is_empty()) {
        push_str_label(&mut out, "otel_scope_schema_url", v);
    }
    let mut attrs: Vec<(String, String)> = scope
        .attributes()
        .map(|kv| {
            (
                format!("otel_scope_{}", kv.key.as_str()),
                kv.value.as_str().into_owned(),
            )
        })
        .collect();
    if attrs.is_empty() {
        return (out, Vec::new());
    }
    attrs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut merged: Vec<(String, String)> = Vec::new();
    for (key, value) in attrs {
        let name = names::label(&key).into_owned();
        if matches!(
            name.as_str(),
            "otel_scope_name" | "otel_scope_version" | "otel_scope_schema_url"
        ) {
            continue;
        }
        match merged.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => {
                v.push(';');
                v.push_str(&value);
            }
            None => merged.push((name, value)),
        }
    }
    for (k, v) in &merged {
        push_str_label(&mut out, k, v);
    }
    (out, merged.into_iter().map(|(k, _)| k).collect())
}

fn push_label(labels: &mut String, key: &str, value: &Value) {
    if !labels.is_empty() {
        labels.push(',');
    }
    labels.push_str(key);
    labels.push_str("=\"");
    match value {
        Value::String(s) => escape_label_value(s.as_str(), labels),
        Value::Bool(b) => labels.push_str(if *b { "true" } else { "false" }),
        Value::I64(i) => labels.push_str(itoa::Buffer::new().format(*i)),
        Value::F64(f) => write_float(*f, labels),
        other => escape_label_value(&other.as_str(), labels),
    }
    labels.push('"');
}

fn push_str_label(labels: &mut String, key: &str, value: &str) {
    if !labels.is_empty() {
        labels.push(',');
    }
    labels.push_str(key);
    labels.push_str("=\"");
    escape_label_value(value, labels);
    labels.push('"');
}

/// Writes already-merged `(raw key, value)` pairs, sanitising keys and joining collisions.
fn write_merged_labels<'a>(labels: &mut String, pairs: impl Iterator<Item = (&'a str, &'a str)>) {
    let mut merged: Vec<(std::borrow::Cow<'a, str>, String)> = Vec::new();
    for (k, v) in pairs {
        let name = names::label(k);
        match merged.iter_mut().find(|(n, _)| *n == name) {
            Some((_, existing)) => {
                existing.push(';');
                existing.push_str(v);
            }
            None => merged.push((name, v.to_owned())),
        }
    }
    for (k, v) in &merged {
        push_str_label(labels, k, v);
    }
}

fn escape_label_value(v: &str, out: &mut String) {
    if !v.contains(['\\', '"', '\n']) {
        out.push_str(v);
        return;
    }
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(v: &str, format: Format, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if format == Format::OpenMetrics => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}
