//! Beacon's pipelines reporting on themselves, as metrics on the same meter provider (so they
//! reach OTLP, or a scrape, like any other), named per the OpenTelemetry SDK self-observability
//! conventions (`otel.sdk.*`, development status) plus `beacon.*` for what they do not cover.
//!
//! | metric | type | unit | attributes |
//! |---|---|---|---|
//! | `otel.sdk.processor.span.processed` / `….log.processed` | counter | `{span}` / `{log_record}` | `otel.component.type`, `otel.component.name`, `error.type=queue_full` for items dropped |
//! | `otel.sdk.processor.span.queue.size` / `….log.queue.size` | up-down counter | as above | queued or in an export now |
//! | `otel.sdk.processor.span.queue.capacity` / `….log.queue.capacity` | up-down counter | as above | |
//! | `otel.sdk.exporter.span.exported` / `….log.exported` | counter | as above | `error.type` for items given up: `export_failed`, or `spool_full` for items evicted from the disk spool past its cap |
//! | `beacon.exporter.span.retained` / `….log.retained` | up-down counter | as above | held for retry while the collector is away |
//! | `beacon.exporter.span.spooled` / `….log.spooled` | up-down counter | as above | held in the disk spool ([`crate::config::SpoolConfig`]) |
//! | `beacon.exporter.span.spool.usage` / `….log.spool.usage` | up-down counter | `By` | bytes those spooled items take on disk |
//! | `otel.sdk.exporter.metric_data_point.exported`, `beacon.exporter.metric_data_point.retained` / `….spooled` / `….spool.usage` | as the span and log exporter instruments | `{data_point}` (`By` for the usage) | Beacon's OTLP metric exporter (`otel.component.name=metrics/otlp`): data points delivered, given up, kept for another try, spooled |
//! | `otel.sdk.exporter.operation.duration` | histogram | `s` | `otel.component.name`, `error.type` (`timeout`, `unavailable`, `rejected`) on failure |
//!
//! The counters are read from the same atomics as [`crate::Telemetry::stats`] when metrics
//! are collected, on the metric reader's thread: nothing is added to the application's path.

use std::sync::Arc;

use beacon_exporter::batch::PipelineStats;
use beacon_exporter::otlp::Signal;
use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::metrics::SdkMeterProvider;

/// One batch pipeline: its signal, its destination's name, its counters and queue capacity.
pub(crate) struct Pipe {
    pub(crate) signal: Signal,
    pub(crate) name: &'static str,
    pub(crate) stats: Arc<PipelineStats>,
    pub(crate) capacity: usize,
}

pub(crate) fn register(provider: &SdkMeterProvider, pipes: Vec<Pipe>) {
    if pipes.is_empty() {
        return;
    }
    let meter = provider.meter_with_scope(
        InstrumentationScope::builder("beacon")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build(),
    );
    let duration = meter
        .f64_histogram("otel.sdk.exporter.operation.duration")
        .with_unit("s")
        .with_description("The duration of exporting a batch of telemetry records.")
        // Seconds-scale boundaries (the SDK's defaults are for milliseconds, where every
        // export would land in the first bucket): the semantic conventions' duration buckets.
        .with_boundaries(crate::slo::LATENCY_BUCKETS.to_vec())
        .build();
    let pipes: Arc<Vec<(Pipe, Vec<KeyValue>)>> = Arc::new(
        pipes
            .into_iter()
            .map(|p| {
                let kind = match p.signal {
                    Signal::Logs => "batching_log_processor",
                    Signal::Metrics => "periodic_metric_reader",
                    Signal::Traces => "batching_span_processor",
                };
                let attrs = vec![
                    KeyValue::new("otel.component.type", kind),
                    KeyValue::new(
                        "otel.component.name",
                        format!("{}/{}", signal_name(p.signal), p.name),
                    ),
                ];
                p.stats
                    .set_duration_histogram(duration.clone(), attrs[1..].to_vec());
                (p, attrs)
            })
            .collect(),
    );
    for (signal, item, unit) in [
        (Signal::Traces, "span", "{span}"),
        (Signal::Logs, "log", "{log_record}"),
        (Signal::Metrics, "metric_data_point", "{data_point}"),
    ] {
        if pipes.iter().any(|(p, _)| p.signal == signal) {
            instruments(&meter, &pipes, signal, item, unit);
        }
    }
}

fn signal_name(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "traces",
        Signal::Metrics => "metrics",
        Signal::Logs => "logs",
    }
}

fn with(attrs: &[KeyValue], extra: Option<KeyValue>) -> Vec<KeyValue> {
    let mut out = attrs.to_vec();
    out.extend(extra);
    out
}

fn instruments(
    meter: &Meter,
    pipes: &Arc<Vec<(Pipe, Vec<KeyValue>)>>,
    signal: Signal,
    item: &str,
    unit: &'static str,
) {
    let each: Arc<Each> = {
        let pipes = Arc::clone(pipes);
        Arc::new(
            move |f: &mut dyn FnMut(&beacon_exporter::batch::StatsSnapshot, &Pipe, &[KeyValue])| {
                for (p, attrs) in pipes.iter().filter(|(p, _)| p.signal == signal) {
                    f(&p.stats.snapshot(), p, attrs);
                }
            },
        )
    };
    // A metric exporter has no queue of its own (the reader collects, then exports): only the
    // exporter's instruments apply.
    if signal != Signal::Metrics {
        processor_instruments(meter, &each, item, unit);
    }
    exporter_instruments(meter, each, item, unit);
}

type Each = dyn Fn(&mut dyn FnMut(&beacon_exporter::batch::StatsSnapshot, &Pipe, &[KeyValue]))
    + Send
    + Sync;

fn processor_instruments(meter: &Meter, each: &Arc<Each>, item: &str, unit: &'static str) {
    let e = Arc::clone(each);
    meter
        .u64_observable_counter(format!("otel.sdk.processor.{item}.processed"))
        .with_unit(unit)
        .with_description(
            "Items handed to the processor: queued, or dropped when the queue was full.",
        )
        .with_callback(move |o| {
            e(&mut |s, _, attrs| {
                // Items evicted from the spool were processed; they are given up at export.
                let queue_full = s.dropped.saturating_sub(s.spool_evicted);
                o.observe(s.accepted.saturating_sub(queue_full), attrs);
                o.observe(
                    queue_full,
                    &with(attrs, Some(KeyValue::new("error.type", "queue_full"))),
                );
            });
        })
        .build();
    let e = each.clone();
    meter
        .i64_observable_up_down_counter(format!("otel.sdk.processor.{item}.queue.size"))
        .with_unit(unit)
        .with_description("Items queued or in an export now.")
        .with_callback(move |o| e(&mut |s, _, attrs| o.observe(s.in_flight() as i64, attrs)))
        .build();
    let e = each.clone();
    meter
        .i64_observable_up_down_counter(format!("otel.sdk.processor.{item}.queue.capacity"))
        .with_unit(unit)
        .with_description("The most items the queue holds.")
        .with_callback(move |o| e(&mut |_, p, attrs| o.observe(p.capacity as i64, attrs)))
        .build();
}

fn exporter_instruments(meter: &Meter, each: Arc<Each>, item: &str, unit: &'static str) {
    let e = each.clone();
    meter
        .u64_observable_counter(format!("otel.sdk.exporter.{item}.exported"))
        .with_unit(unit)
        .with_description("Items delivered, or given up after their export failed.")
        .with_callback(move |o| {
            e(&mut |s, _, attrs| {
                let attrs = &attrs[1..];
                o.observe(s.exported, attrs);
                o.observe(
                    s.failed,
                    &with(attrs, Some(KeyValue::new("error.type", "export_failed"))),
                );
                if s.spool_evicted > 0 {
                    o.observe(
                        s.spool_evicted,
                        &with(attrs, Some(KeyValue::new("error.type", "spool_full"))),
                    );
                }
            });
        })
        .build();
    let e = each.clone();
    meter
        .i64_observable_up_down_counter(format!("beacon.exporter.{item}.retained"))
        .with_unit(unit)
        .with_description("Items held in memory for another try while the collector is away.")
        .with_callback(move |o| e(&mut |s, _, attrs| o.observe(s.retained as i64, &attrs[1..])))
        .build();
    let e = each.clone();
    meter
        .i64_observable_up_down_counter(format!("beacon.exporter.{item}.spooled"))
        .with_unit(unit)
        .with_description("Items held in the disk spool until the collector takes them.")
        .with_callback(move |o| e(&mut |s, _, attrs| o.observe(s.spooled as i64, &attrs[1..])))
        .build();
    let e = each;
    meter
        .i64_observable_up_down_counter(format!("beacon.exporter.{item}.spool.usage"))
        .with_unit("By")
        .with_description("Bytes the spooled items take on disk.")
        .with_callback(move |o| {
            e(&mut |s, _, attrs| o.observe(s.spooled_bytes as i64, &attrs[1..]));
        })
        .build();
}
