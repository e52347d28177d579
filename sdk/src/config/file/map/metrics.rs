//! `meter_provider`: readers, temporality, histogram aggregation, views.

use super::*;

pub(super) fn metrics(
    mp: &MeterProvider,
    config: &mut Config,
    beacon: Option<&BeaconSettings>,
) -> R<()> {
    if mp.meter_configurator.is_some() {
        return Err(at(
            "meter_provider.meter_configurator/development",
            not_implemented("meter_configurator/development"),
        ));
    }
    let mut temporality: Option<(Temporality, String)> = None;
    let mut histogram: Option<HistogramAggregation> = None;
    let mut interval: Option<(u64, u64)> = None;
    let mut cardinality: Option<CardinalityLimits> = None;
    for (i, reader) in mp.readers.iter().enumerate() {
        let f = format!("meter_provider.readers[{i}]");
        let limits = match reader {
            MetricReader::Periodic(p) => {
                let f = format!("{f}.periodic");
                if p.producers.is_some() {
                    return Err(at(
                        format!("{f}.producers"),
                        FileError::unsupported("Beacon has no metric producers"),
                    ));
                }
                if p.max_export_batch_size.is_some() {
                    return Err(at(
                        format!("{f}.max_export_batch_size/development"),
                        not_implemented("max_export_batch_size/development"),
                    ));
                }
                let iv = (p.interval.unwrap_or(60_000), p.timeout.unwrap_or(30_000));
                if iv.0 == 0 {
                    return Err(at(
                        format!("{f}.interval"),
                        FileError::invalid(0, "a positive number of milliseconds"),
                    ));
                }
                if interval.is_some_and(|prev| prev != iv) {
                    return Err(at(format!("{f}.interval"), FileError::unsupported("Beacon exports all periodic readers on one schedule; give them the same interval and timeout")));
                }
                interval = Some(iv);
                let ef = format!("{f}.exporter");
                let (t, h) = match &p.exporter {
                    PushMetricExporter::Console(c) => {
                        if config.metrics.console {
                            return Err(at(
                                ef,
                                FileError::unsupported("a second console exporter"),
                            ));
                        }
                        config.metrics.console = true;
                        let c = c.as_ref();
                        let t = c.and_then(|c| c.temporality_preference);
                        if t.is_some_and(|t| t != Temporality::Cumulative) {
                            return Err(at(format!("{ef}.console.temporality_preference"), FileError::unsupported("Beacon's console metric exporter prints cumulative values only")));
                        }
                        (None, c.and_then(|c| c.default_histogram_aggregation))
                    }
                    PushMetricExporter::OtlpHttp(o) => {
                        let o = o.clone().unwrap_or_default();
                        if config.metrics.otlp.is_some() {
                            return Err(at(ef, FileError::unsupported("Beacon exports metrics to one OTLP destination; remove the second OTLP exporter")));
                        }
                        config.metrics.otlp = Some(otlp_http(
                            &o,
                            Signal::Metrics,
                            &format!("{ef}.otlp_http"),
                            true,
                        )?);
                        (
                            Some((
                                o.temporality_preference.unwrap_or(Temporality::Cumulative),
                                format!("{ef}.otlp_http.temporality_preference"),
                            )),
                            o.default_histogram_aggregation,
                        )
                    }
                    PushMetricExporter::OtlpGrpc(o) => {
                        let o = o.clone().unwrap_or_default();
                        if config.metrics.otlp.is_some() {
                            return Err(at(ef, FileError::unsupported("Beacon exports metrics to one OTLP destination; remove the second OTLP exporter")));
                        }
                        config.metrics.otlp =
                            Some(otlp_grpc(&o, &format!("{ef}.otlp_grpc"), true)?);
                        (
                            Some((
                                o.temporality_preference.unwrap_or(Temporality::Cumulative),
                                format!("{ef}.otlp_grpc.temporality_preference"),
                            )),
                            o.default_histogram_aggregation,
                        )
                    }
                };
                if let Some(t) = t {
                    temporality = Some(t);
                }
                if let Some(h) = h {
                    if histogram.is_some_and(|prev| prev != h) {
                        return Err(at(ef, FileError::unsupported("Beacon applies one default histogram aggregation to all readers; give them the same default_histogram_aggregation")));
                    }
                    histogram = Some(h);
                }
                p.cardinality_limits
            }
            MetricReader::Pull(p) => {
                let f = format!("{f}.pull");
                if p.producers.is_some() {
                    return Err(at(
                        format!("{f}.producers"),
                        FileError::unsupported("Beacon has no metric producers"),
                    ));
                }
                let PullMetricExporter::Prometheus(prom) = &p.exporter;
                let prom = prom.as_ref();
                let pf = format!("{f}.exporter.prometheus/development");
                if config.metrics.prometheus.is_some() {
                    return Err(at(
                        pf,
                        FileError::unsupported("a second Prometheus exporter"),
                    ));
                }
                let naming = match prom.and_then(|p| p.translation_strategy.as_deref()) {
                    None | Some("underscore_escaping_with_suffixes") => beacon_exporter::prometheus::Naming::Compatibility,
                    Some(other) => return Err(at(format!("{pf}.translation_strategy"), FileError::invalid(other, "underscore_escaping_with_suffixes (the only strategy Beacon implements)"))),
                };
                if let Some(p) = prom {
                    // Beacon's behaviour is fixed: `target_info` from the resource, no scope
                    // labels, no resource attributes copied onto series. A key that asks for
                    // exactly that is accepted (under its 1.1 or its 1.0 name); one that asks
                    // for something else is an error naming the key as written.
                    let contrary = [
                        (p.scope_info_enabled == Some(true), "scope_info_enabled"),
                        (p.without_scope_info == Some(false), "without_scope_info"),
                        (
                            p.target_info_enabled == Some(false),
                            "target_info_enabled/development",
                        ),
                        (
                            p.without_target_info == Some(true),
                            "without_target_info/development",
                        ),
                        (
                            p.resource_constant_labels.is_some(),
                            "resource_constant_labels",
                        ),
                        (
                            p.with_resource_constant_labels.is_some(),
                            "with_resource_constant_labels",
                        ),
                    ];
                    if let Some((_, name)) = contrary.iter().find(|(on, _)| *on) {
                        return Err(at(format!("{pf}.{name}"), FileError::unsupported(format!("Beacon's Prometheus exporter has fixed behaviour ({name}): target_info from the resource, no scope labels, no resource constant labels; remove the key"))));
                    }
                }
                let listen = beacon
                    .and_then(|b| b.prometheus_listener)
                    .unwrap_or(true)
                    .then(|| {
                        (
                            prom.and_then(|p| p.host.clone())
                                .unwrap_or_else(|| "localhost".to_owned()),
                            prom.and_then(|p| p.port).unwrap_or(9464),
                        )
                    });
                config.metrics.prometheus = Some(PrometheusConfig { listen, naming });
                p.cardinality_limits
            }
        };
        if let Some(l) = limits {
            if cardinality.is_some_and(|prev| prev != l) {
                return Err(at(format!("{f}.cardinality_limits"), FileError::unsupported("Beacon applies one set of cardinality limits to all readers; give them the same cardinality_limits")));
            }
            cardinality = Some(l);
        }
    }
    if let Some((t, _)) = &temporality {
        config.otlp_temporality = match t {
            Temporality::Cumulative => crate::config::Temporality::Cumulative,
            Temporality::Delta => crate::config::Temporality::Delta,
            Temporality::LowMemory => crate::config::Temporality::LowMemory,
        };
    }
    if histogram == Some(HistogramAggregation::Base2ExponentialBucketHistogram)
        && config.metrics.prometheus.is_some()
    {
        return Err(at("meter_provider.readers", FileError::unsupported("Beacon's Prometheus exporter cannot encode base2 exponential histograms; keep explicit_bucket_histogram while a pull reader is configured")));
    }
    if let Some((ms, timeout)) = interval {
        config.metric_interval = Duration::from_millis(ms);
        config.metric_timeout = Duration::from_millis(timeout);
    }
    config.exemplar_filter = match mp.exemplar_filter {
        None | Some(ExemplarFilter::TraceBased) => {
            beacon_exporter::exemplars::ExemplarFilter::TraceBased
        }
        Some(ExemplarFilter::AlwaysOn) => beacon_exporter::exemplars::ExemplarFilter::AlwaysOn,
        Some(ExemplarFilter::AlwaysOff) => beacon_exporter::exemplars::ExemplarFilter::AlwaysOff,
    };
    config.file.views = Some(Views::new(
        mp.views.as_deref().unwrap_or_default(),
        histogram == Some(HistogramAggregation::Base2ExponentialBucketHistogram),
        cardinality.unwrap_or_default(),
    )?);
    Ok(())
}
