//! `meter_provider.views`, the readers' `cardinality_limits` and `default_histogram_aggregation`
//! as SDK views.

use std::sync::Arc;

use opentelemetry::Key;
use opentelemetry_sdk::metrics::{
    Aggregation as SdkAggregation, Instrument, InstrumentKind, Stream,
};

use super::error::FileError;
use super::model::{Aggregation, CardinalityLimits, IncludeExclude, InstrumentType, View};

/// The spec's default explicit bucket boundaries.
const DEFAULT_BOUNDARIES: [f64; 15] = [
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

/// Everything that decides the streams of the meter provider.
#[derive(Debug, Clone)]
pub(crate) struct Views {
    views: Arc<Vec<View>>,
    base2_histograms: bool,
    limits: CardinalityLimits,
}

impl Views {
    pub(crate) fn new(
        views: &[View],
        base2_histograms: bool,
        limits: CardinalityLimits,
    ) -> Result<Self, FileError> {
        for (i, v) in views.iter().enumerate() {
            let f = format!("meter_provider.views[{i}].stream");
            if let Some(keys) = &v.stream.attribute_keys {
                if keys.excluded.is_some() {
                    return Err(at(format!("{f}.attribute_keys.excluded"), FileError::unsupported(
                        "Beacon keeps attributes by an allow-list only; list the keys to keep under .included",
                    )));
                }
                if let Some(k) = keys
                    .included
                    .iter()
                    .flatten()
                    .find(|k| k.contains(['*', '?']))
                {
                    return Err(at(
                        format!("{f}.attribute_keys.included"),
                        FileError::invalid(
                            k,
                            "exact attribute keys (Beacon does not match key patterns)",
                        ),
                    ));
                }
            }
            if v.stream.aggregation_cardinality_limit == Some(0) {
                return Err(at(
                    format!("{f}.aggregation_cardinality_limit"),
                    FileError::invalid(0, "a limit of at least 1"),
                ));
            }
            if let Some(Aggregation::Base2ExponentialBucketHistogram(Some(b))) =
                &v.stream.aggregation
            {
                if b.max_scale.is_some_and(|s| !(-10..=20).contains(&s)) {
                    return Err(at(
                        format!("{f}.aggregation.base2_exponential_bucket_histogram.max_scale"),
                        FileError::invalid(
                            b.max_scale.unwrap_or_default(),
                            "a scale from -10 to 20",
                        ),
                    ));
                }
                if b.max_size.is_some_and(|s| s < 2) {
                    return Err(at(
                        format!("{f}.aggregation.base2_exponential_bucket_histogram.max_size"),
                        FileError::invalid(b.max_size.unwrap_or_default(), "at least 2 buckets"),
                    ));
                }
            }
            if v.stream.name.is_some()
                && v.selector
                    .instrument_name
                    .as_deref()
                    .is_none_or(|n| n.contains(['*', '?']))
            {
                return Err(at(format!("{f}.name"), FileError::unsupported(
                    "a stream name needs a selector matching one instrument (an instrument_name without wildcards)",
                )));
            }
        }
        Ok(Self {
            views: Arc::new(views.to_vec()),
            base2_histograms,
            limits,
        })
    }

    /// One SDK view per configured view, then one for instruments no view selects.
    pub(crate) fn install(
        self,
        mut builder: opentelemetry_sdk::metrics::MeterProviderBuilder,
    ) -> opentelemetry_sdk::metrics::MeterProviderBuilder {
        for index in 0..self.views.len() {
            let me = self.clone();
            builder = builder.with_view(move |i: &Instrument| {
                let v = &me.views[index];
                selects(v, i).then(|| me.stream(Some(v), i)).flatten()
            });
        }
        let me = self;
        builder.with_view(move |i: &Instrument| {
            if me.views.iter().any(|v| selects(v, i)) {
                return None;
            }
            let histogram = i.kind() == InstrumentKind::Histogram;
            (me.limit(i.kind()).is_some() || (histogram && me.base2_histograms))
                .then(|| me.stream(None, i))
                .flatten()
        })
    }

    fn limit(&self, kind: InstrumentKind) -> Option<usize> {
        let l = &self.limits;
        let by_kind = match kind {
            InstrumentKind::Counter => l.counter,
            InstrumentKind::UpDownCounter => l.up_down_counter,
            InstrumentKind::Histogram => l.histogram,
            InstrumentKind::Gauge => l.gauge,
            InstrumentKind::ObservableCounter => l.observable_counter,
            InstrumentKind::ObservableUpDownCounter => l.observable_up_down_counter,
            InstrumentKind::ObservableGauge => l.observable_gauge,
        };
        by_kind.or(l.default)
    }

    fn stream(&self, view: Option<&View>, i: &Instrument) -> Option<Stream> {
        let mut s = Stream::builder();
        let histogram = i.kind() == InstrumentKind::Histogram;
        let mut aggregation = view
            .and_then(|v| v.stream.aggregation.as_ref())
            .map(aggregation);
        let unset = aggregation.is_none() || aggregation == Some(SdkAggregation::Default);
        if unset && histogram && self.base2_histograms {
            aggregation = Some(base2(160, 20, true));
        }
        if let Some(a) = aggregation {
            s = s.with_aggregation(a);
        }
        if let Some(v) = view {
            if let Some(n) = &v.stream.name {
                s = s.with_name(n.clone());
            }
            if let Some(d) = &v.stream.description {
                s = s.with_description(d.clone());
            }
            if let Some(keys) = v
                .stream
                .attribute_keys
                .as_ref()
                .and_then(|k| k.included.as_ref())
            {
                s = s.with_allowed_attribute_keys(keys.iter().map(|k| Key::new(k.clone())));
            }
        }
        let limit = view
            .and_then(|v| v.stream.aggregation_cardinality_limit)
            .or_else(|| self.limit(i.kind()));
        if let Some(l) = limit {
            s = s.with_cardinality_limit(l);
        }
        s.build().ok()
    }
}

fn base2(max_size: u32, max_scale: i8, record_min_max: bool) -> SdkAggregation {
    SdkAggregation::Base2ExponentialHistogram {
        max_size,
        max_scale,
        record_min_max,
    }
}

fn aggregation(a: &Aggregation) -> SdkAggregation {
    match a {
        Aggregation::Default(()) => SdkAggregation::Default,
        Aggregation::Drop(()) => SdkAggregation::Drop,
        Aggregation::Sum(()) => SdkAggregation::Sum,
        Aggregation::LastValue(()) => SdkAggregation::LastValue,
        Aggregation::ExplicitBucketHistogram(b) => SdkAggregation::ExplicitBucketHistogram {
            boundaries: b
                .as_ref()
                .and_then(|b| b.boundaries.clone())
                .unwrap_or_else(|| DEFAULT_BOUNDARIES.to_vec()),
            record_min_max: b.as_ref().and_then(|b| b.record_min_max).unwrap_or(true),
        },
        Aggregation::Base2ExponentialBucketHistogram(b) => base2(
            b.as_ref().and_then(|b| b.max_size).unwrap_or(160),
            b.as_ref().and_then(|b| b.max_scale).unwrap_or(20),
            b.as_ref().and_then(|b| b.record_min_max).unwrap_or(true),
        ),
    }
}

fn selects(v: &View, i: &Instrument) -> bool {
    let s = &v.selector;
    s.instrument_name
        .as_deref()
        .is_none_or(|p| glob(p, i.name()))
        && s.instrument_type.is_none_or(|t| kind(t) == i.kind())
        && s.unit.as_deref().is_none_or(|u| u == i.unit())
        && s.meter_name
            .as_deref()
            .is_none_or(|n| n == i.scope().name())
        && s.meter_version
            .as_deref()
            .is_none_or(|n| Some(n) == i.scope().version())
        && s.meter_schema_url
            .as_deref()
            .is_none_or(|n| Some(n) == i.scope().schema_url())
}

fn kind(t: InstrumentType) -> InstrumentKind {
    match t {
        InstrumentType::Counter => InstrumentKind::Counter,
        InstrumentType::Gauge => InstrumentKind::Gauge,
        InstrumentType::Histogram => InstrumentKind::Histogram,
        InstrumentType::ObservableCounter => InstrumentKind::ObservableCounter,
        InstrumentType::ObservableGauge => InstrumentKind::ObservableGauge,
        InstrumentType::ObservableUpDownCounter => InstrumentKind::ObservableUpDownCounter,
        InstrumentType::UpDownCounter => InstrumentKind::UpDownCounter,
    }
}

/// The schema's include/exclude rule: exact or wildcard (`?` one character, `*` any run).
pub(crate) fn included(filter: &IncludeExclude, value: &str) -> bool {
    let inc = filter
        .included
        .as_ref()
        .is_none_or(|p| p.iter().any(|p| glob(p, value)));
    let exc = filter.excluded.iter().flatten().any(|p| glob(p, value));
    inc && !exc
}

/// Wildcard match without recursion (linear in practice; no pathological backtracking).
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn at(field: String, mut e: FileError) -> FileError {
    e.field = field;
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_follows_the_schema() {
        for (p, t, want) in [
            ("http.*", "http.server.duration", true),
            ("http.?erver", "http.server", true),
            ("*", "", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b", "ac", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
        ] {
            assert_eq!(glob(p, t), want, "{p} ~ {t}");
        }
    }
}
