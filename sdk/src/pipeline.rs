//! Assembling providers, processors, readers and the subscriber from a resolved [`Config`].

use std::sync::Arc;

use beacon_exporter::batch::{BatchLogProcessor, BatchSpanProcessor, PipelineStats};
use beacon_exporter::console::{
    ConsoleLogExporter, ConsoleMetricExporter, ConsoleSpanExporter, Output,
};
use beacon_exporter::otlp::{self, Signal};
use beacon_exporter::{ExportRuntime, RuntimeMetricExporter};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanLimits, SpanProcessor};

use crate::config::extra::BoxedSpanProcessor;
use crate::config::{Config, InitError};
use crate::propagation::Propagators;
use crate::sampling::TailSampling;
use crate::telemetry::{Pipeline, Telemetry};

pub(crate) fn build(mut config: Config) -> Result<Telemetry, InitError> {
    if config.disabled {
        return Ok(Telemetry::disabled(
            Propagators::new(&config.propagators),
            config.warnings,
        ));
    }
    let filter = crate::subscriber::filter(&config.filter)?;
    let runtime = ExportRuntime::new()?;
    let mut stats: Vec<(Signal, &'static str, Arc<PipelineStats>)> = Vec::new();

    let limits = config.limits;
    #[cfg(feature = "config-file")]
    let sampler = crate::config::file::sampler(&mut config);
    #[cfg(not(feature = "config-file"))]
    let sampler = config.sampler.to_sdk();
    let mut traces = SdkTracerProvider::builder()
        .with_resource(config.resource.clone())
        .with_sampler(sampler)
        .with_span_limits(SpanLimits {
            max_events_per_span: limits.span_events,
            max_attributes_per_span: limits.span_attributes,
            max_links_per_span: limits.span_links,
            max_attributes_per_event: limits.event_attributes,
            max_attributes_per_link: limits.link_attributes,
        });
    traces = match config.id_generator.take() {
        Some(ids) => traces.with_id_generator(BoxedIds(ids)),
        // The SDK's generator, remembering its trace ids as random for `traceparent`.
        None => traces.with_id_generator(crate::propagation::random::RandomIds::default()),
    };
    // Exporting processors; behind the tail sampler when there is one.
    let mut exporting: Vec<Box<dyn SpanProcessor>> = Vec::new();
    if let Some(cfg) = &config.traces.otlp {
        let exporter = otlp::span_exporter(cfg, &runtime)?;
        let processor = match open_spool(config.spool.as_ref(), Signal::Traces)? {
            Some(spool) => {
                BatchSpanProcessor::with_spool(exporter, config.span_batch, spool, &runtime)
            }
            None => BatchSpanProcessor::new(exporter, config.span_batch, &runtime),
        }
        .with_value_length_limit(limits.attribute_value_length);
        processor
            .stats()
            .set_destination(format!("traces to OTLP {}", cfg.endpoint_redacted()));
        stats.push((Signal::Traces, "otlp", processor.stats()));
        exporting.push(Box::new(processor));
    }
    #[cfg(feature = "config-file")]
    let console_span_batch = config.file.console_span_batch.unwrap_or(config.span_batch);
    #[cfg(not(feature = "config-file"))]
    let console_span_batch = config.span_batch;
    if config.traces.console {
        let processor = BatchSpanProcessor::new(
            ConsoleSpanExporter::new(Output::stdout()),
            console_span_batch,
            &runtime,
        )
        .with_value_length_limit(limits.attribute_value_length);
        stats.push((Signal::Traces, "console", processor.stats()));
        exporting.push(Box::new(processor));
    }
    #[cfg(feature = "hub")]
    if let Some(hub) = &config.hub {
        exporting.push(Box::new(crate::hub::span_processor(
            hub, &config, &runtime, &mut stats,
        )));
    }
    let mut tail_stats = None;
    match config.tail_sampling.take() {
        Some(tail) => {
            let processor = TailSampling::new(tail, exporting);
            tail_stats = Some(processor.stats());
            traces = traces.with_span_processor(processor);
        }
        None => {
            for processor in exporting {
                traces = traces.with_span_processor(BoxedSpanProcessor(processor));
            }
        }
    }
    for processor in std::mem::take(&mut config.span_processors) {
        traces = traces.with_span_processor(processor);
    }
    let tracer_provider = traces.build();

    let mut metrics = SdkMeterProvider::builder().with_resource(config.resource.clone());
    // A file's views handle its own histogram aggregation; without one, the OTLP exporter's
    // default histogram aggregation applies (to the OTLP reader's instruments, which with a
    // provider-wide view are all of them: `Config::resolve` refuses it beside Prometheus).
    #[cfg(feature = "config-file")]
    let file_views = config.file.views.is_some();
    #[cfg(not(feature = "config-file"))]
    let file_views = false;
    let base2 = !file_views
        && config.metrics.otlp.is_some()
        && config.otlp_histograms
            == crate::config::HistogramAggregation::Base2ExponentialBucketHistogram;
    if let Some(view) =
        crate::config::metrics_view(std::mem::take(&mut config.cardinality_limits), base2)
    {
        metrics = metrics.with_view(view);
    }
    #[cfg(feature = "config-file")]
    if let Some(views) = config.file.views.take() {
        metrics = views.install(metrics);
    }
    let temporality: Temporality = config.otlp_temporality.to_sdk();
    // Why the last export of each push reader failed, for a shutdown error worth reading.
    let mut metric_errors = Vec::new();
    // The shutdown budget's end, handed to each push exporter before its final export.
    let mut metric_deadlines = Vec::new();
    if let Some(cfg) = &config.metrics.otlp {
        // Exemplars ride on OTLP data points too (see `beacon_exporter::exemplars`).
        beacon_exporter::exemplars::exemplars().enable(config.exemplar_filter);
        let mut exporter =
            otlp::metric_exporter(cfg, temporality, &runtime)?.with_timeout(config.metric_timeout);
        if let Some(spool) = open_spool(config.spool.as_ref(), Signal::Metrics)? {
            exporter = exporter.with_spool(spool);
        }
        if let Some(points) = config.metric_max_retained {
            exporter = exporter.with_max_retained(points);
        }
        exporter
            .stats()
            .set_destination(format!("metrics to OTLP {}", cfg.endpoint_redacted()));
        stats.push((Signal::Metrics, "otlp", exporter.stats()));
        metric_errors.push(exporter.last_error());
        metric_deadlines.push(exporter.deadline());
        metrics = metrics.with_reader(
            PeriodicReader::builder(exporter)
                .with_interval(config.metric_interval)
                .build(),
        );
    }
    if config.metrics.console {
        let exporter = RuntimeMetricExporter::new(
            ConsoleMetricExporter::new(Output::stdout()),
            runtime.clone(),
        )
        .with_timeout(config.metric_timeout);
        metrics = metrics.with_reader(
            PeriodicReader::builder(exporter)
                .with_interval(config.metric_interval)
                .build(),
        );
    }
    #[cfg(feature = "hub")]
    if let Some(hub) = &config.hub {
        metrics = metrics.with_reader(crate::hub::metric_reader(hub, config.metric_interval));
    }
    let mut prometheus = None;
    if let Some(cfg) = &config.metrics.prometheus {
        let reader = beacon_exporter::prometheus::PrometheusReader::new()
            .with_exemplar_filter(config.exemplar_filter)
            .with_naming(cfg.naming);
        metrics = metrics.with_reader(reader.clone());
        let server = match &cfg.listen {
            Some((host, port)) => Some(
                beacon_exporter::prometheus::PrometheusServer::start(
                    reader.clone(),
                    host,
                    *port,
                    &runtime,
                )
                .map_err(InitError::from)?,
            ),
            None => None,
        };
        prometheus = Some((reader, server));
    }
    let meter_provider = metrics.build();
    #[cfg(feature = "hub")]
    if let (Some(hub), true) = (&config.hub, config.self_telemetry) {
        crate::hub::register_metrics(&meter_provider, hub);
    }

    let mut logs = SdkLoggerProvider::builder().with_resource(config.resource.clone());
    if let Some(cfg) = &config.logs.otlp {
        let exporter = otlp::log_exporter(cfg, &runtime)?;
        let processor = match open_spool(config.spool.as_ref(), Signal::Logs)? {
            Some(spool) => {
                BatchLogProcessor::with_spool(exporter, config.log_batch, spool, &runtime)
            }
            None => BatchLogProcessor::new(exporter, config.log_batch, &runtime),
        };
        processor
            .stats()
            .set_destination(format!("logs to OTLP {}", cfg.endpoint_redacted()));
        stats.push((Signal::Logs, "otlp", processor.stats()));
        logs = logs.with_log_processor(processor);
    }
    #[cfg(feature = "config-file")]
    let console_log_batch = config.file.console_log_batch.unwrap_or(config.log_batch);
    #[cfg(not(feature = "config-file"))]
    let console_log_batch = config.log_batch;
    if config.logs.console {
        let processor = BatchLogProcessor::new(
            ConsoleLogExporter::new(Output::stdout()),
            console_log_batch,
            &runtime,
        );
        stats.push((Signal::Logs, "console", processor.stats()));
        logs = logs.with_log_processor(processor);
    }
    #[cfg(feature = "hub")]
    if let Some(hub) = &config.hub {
        logs = logs.with_log_processor(crate::hub::log_processor(
            hub, &config, &runtime, &mut stats,
        ));
    }
    for processor in std::mem::take(&mut config.log_processors) {
        logs = logs.with_log_processor(processor);
    }
    let logger_provider = logs.build();

    #[cfg(feature = "system-metrics")]
    crate::collectors::register(&meter_provider, &config.collectors);
    let capacity = |signal: Signal| match signal {
        Signal::Logs => config.log_batch.max_queue_size,
        _ => config.span_batch.max_queue_size,
    };
    if config.self_telemetry {
        crate::self_telemetry::register(
            &meter_provider,
            stats
                .iter()
                .map(|(signal, name, stats)| crate::self_telemetry::Pipe {
                    signal: *signal,
                    name,
                    stats: Arc::clone(stats),
                    capacity: capacity(*signal),
                })
                .collect(),
        );
    }

    let dispatch = crate::subscriber::dispatch(
        filter,
        &tracer_provider,
        &logger_provider,
        crate::log_limits::LogLimits {
            attributes: limits.log_attributes as usize,
            value_length: limits.log_attribute_value_length,
        },
        config.console_logs.then(|| {
            // Colours only for a terminal, never into a log file or a pipe.
            let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
            (
                tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::io::stderr),
                ansi,
            )
        }),
    );
    let pipeline = Pipeline {
        tracer_provider,
        meter_provider,
        logger_provider,
        dispatch,
        propagators: Propagators::new(&config.propagators),
        stats,
        tail_stats,
        _runtime: runtime,
        shutdown_timeout: config.shutdown_timeout,
        destinations: describe(&config, prometheus.as_ref()),
        metric_errors,
        metric_deadlines,
        prometheus,
        #[cfg(feature = "hub")]
        hub: config.hub.clone(),
        http: std::sync::Arc::clone(&config.http),
    };
    Ok(Telemetry::new(pipeline, config.warnings))
}

/// Opens the disk spool for `signal`. A directory another process holds is an error (two
/// processes must never share one); a directory that cannot be used is one warning on
/// stderr, and the pipeline keeps failed exports in memory only.
fn open_spool(
    config: Option<&beacon_exporter::spool::SpoolConfig>,
    signal: Signal,
) -> Result<Option<beacon_exporter::spool::Spool>, InitError> {
    use beacon_exporter::spool::{Spool, SpoolError};
    let Some(config) = config else {
        return Ok(None);
    };
    match Spool::open(config, signal) {
        Ok(spool) => Ok(Some(spool)),
        Err(err @ SpoolError::Locked { .. }) => Err(InitError::config(err.to_string())),
        Err(err) => {
            eprintln!(
                "beacon: {err}; continuing without the disk spool for {} (failed exports are \
                 kept in memory only)",
                signal.as_str()
            );
            Ok(None)
        }
    }
}

/// One line per signal saying where it goes, for `Telemetry::describe`.
fn describe(
    config: &Config,
    prometheus: Option<&(
        beacon_exporter::prometheus::PrometheusReader,
        Option<beacon_exporter::prometheus::PrometheusServer>,
    )>,
) -> Vec<String> {
    [
        ("traces", &config.traces),
        ("metrics", &config.metrics),
        ("logs", &config.logs),
    ]
    .iter()
    .map(|(name, d)| {
        let mut parts = Vec::new();
        if let Some(o) = &d.otlp {
            parts.push(format!("OTLP {} to {}", o.protocol, o.endpoint_redacted()));
        }
        if d.console {
            parts.push("console (stdout)".to_owned());
        }
        if d.prometheus.is_some() {
            parts.push(match prometheus.and_then(|(_, s)| s.as_ref()) {
                Some(server) => format!(
                    "Prometheus scrapes at http://{}/metrics",
                    server.local_addr()
                ),
                None => "Prometheus scrapes through the application's metrics route".to_owned(),
            });
        }
        #[cfg(feature = "hub")]
        if config.hub.is_some() {
            parts.push("the in-process hub".to_owned());
        }
        if d.is_empty() && parts.is_empty() {
            parts.push("nowhere (exporter none)".to_owned());
        }
        format!("{name}: {}", parts.join(", "))
    })
    .collect()
}

/// Lets a boxed id generator be given to the SDK, which takes one by value.
#[derive(Debug)]
struct BoxedIds(Box<dyn opentelemetry_sdk::trace::IdGenerator>);

impl opentelemetry_sdk::trace::IdGenerator for BoxedIds {
    fn new_trace_id(&self) -> opentelemetry::trace::TraceId {
        self.0.new_trace_id()
    }
    fn new_span_id(&self) -> opentelemetry::trace::SpanId {
        self.0.new_span_id()
    }
}
