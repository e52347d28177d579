//! Turning a [`Builder`] and the environment into one resolved, typed [`Config`].

use std::time::Duration;

use beacon_exporter::batch::BatchConfig;
use beacon_exporter::exemplars::ExemplarFilter;
use beacon_exporter::otlp::{OtlpConfig, Signal};
use opentelemetry_sdk::Resource;

use super::parse::{Env, Lookup};
use super::vars::*;
use super::{Builder, Exporter, InitError, Limits, Propagator, Sampler};

/// Everything the pipeline needs, validated.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) disabled: bool,
    pub(crate) resource: Resource,
    pub(crate) sampler: Sampler,
    pub(crate) propagators: Vec<Propagator>,
    pub(crate) traces: Destinations,
    pub(crate) metrics: Destinations,
    pub(crate) logs: Destinations,
    pub(crate) span_batch: BatchConfig,
    pub(crate) log_batch: BatchConfig,
    pub(crate) metric_interval: Duration,
    pub(crate) metric_timeout: Duration,
    pub(crate) metric_max_retained: Option<u64>,
    pub(crate) exemplar_filter: ExemplarFilter,
    /// The OTLP metric exporter's temporality preference and histogram aggregation.
    pub(crate) otlp_temporality: super::Temporality,
    pub(crate) otlp_histograms: super::HistogramAggregation,
    pub(crate) self_telemetry: bool,
    pub(crate) limits: Limits,
    pub(crate) filter: String,
    pub(crate) console_logs: bool,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) warnings: Vec<String>,
    pub(crate) span_processors: Vec<super::extra::BoxedSpanProcessor>,
    pub(crate) tail_sampling: Option<crate::sampling::TailSamplingConfig>,
    pub(crate) cardinality_limits: Vec<(String, usize)>,
    pub(crate) id_generator: Option<Box<dyn opentelemetry_sdk::trace::IdGenerator>>,
    #[cfg(feature = "system-metrics")]
    pub(crate) collectors: crate::collectors::Collectors,
    pub(crate) log_processors: Vec<super::extra::BoxedLogProcessor>,
    /// What a configuration file sets beyond the environment's reach.
    #[cfg(feature = "config-file")]
    pub(crate) file: super::file::Extras,
    #[cfg(feature = "hub")]
    pub(crate) hub: Option<beacon_hub::Hub>,
    pub(crate) spool: Option<beacon_exporter::spool::SpoolConfig>,
    /// Options for Beacon's HTTP layers (from a configuration file).
    pub(crate) http: std::sync::Arc<super::http::HttpOptions>,
}

/// Where one signal goes.
#[derive(Debug, Default)]
pub(crate) struct Destinations {
    pub(crate) otlp: Option<OtlpConfig>,
    pub(crate) console: bool,
    pub(crate) prometheus: Option<PrometheusConfig>,
}

impl Destinations {
    pub(crate) fn is_empty(&self) -> bool {
        self.otlp.is_none() && !self.console && self.prometheus.is_none()
    }
}

/// The Prometheus exporter: where its own listener binds, if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PrometheusConfig {
    pub(crate) listen: Option<(String, u16)>,
    pub(crate) naming: beacon_exporter::prometheus::Naming,
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl Config {
    pub(crate) fn resolve(mut b: Builder) -> Result<Self, InitError> {
        let lookup: &Lookup = match &b.env {
            Some(f) => f.as_ref(),
            None => &process_env,
        };
        let env = Env::new(lookup);
        let strict = b
            .strict_config
            .unwrap_or_else(|| env.bool(BEACON_CONFIG_STRICT));
        let env = env.strict(strict);

        let disabled = b.disabled.unwrap_or_else(|| env.bool(OTEL_SDK_DISABLED));
        let resource = crate::resource::detect(&b, &env);
        let sampler = match b.sampler {
            Some(s) => s,
            None => sampler(&env)?,
        };
        let propagators = match &b.propagators {
            Some(p) => p.clone(),
            None => propagators(&env)?,
        };

        let traces = destinations(
            Signal::Traces,
            b.traces_exporter,
            OTEL_TRACES_EXPORTER,
            &b,
            &env,
        )?;
        let metrics = destinations(
            Signal::Metrics,
            b.metrics_exporter,
            OTEL_METRICS_EXPORTER,
            &b,
            &env,
        )?;
        let logs = destinations(Signal::Logs, b.logs_exporter, OTEL_LOGS_EXPORTER, &b, &env)?;

        let span_batch = match b.span_batch {
            Some(c) => c,
            None => batch(
                &env,
                BatchConfig::default(),
                [
                    OTEL_BSP_SCHEDULE_DELAY,
                    OTEL_BSP_EXPORT_TIMEOUT,
                    OTEL_BSP_MAX_QUEUE_SIZE,
                    OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
                ],
            )?,
        };
        let log_batch = match b.log_batch {
            Some(c) => c,
            None => batch(
                &env,
                BatchConfig::logs_default(),
                [
                    OTEL_BLRP_SCHEDULE_DELAY,
                    OTEL_BLRP_EXPORT_TIMEOUT,
                    OTEL_BLRP_MAX_QUEUE_SIZE,
                    OTEL_BLRP_MAX_EXPORT_BATCH_SIZE,
                ],
            )?,
        };

        let metric_interval = match b.metric_interval {
            Some(d) => d,
            None => env
                .millis(OTEL_METRIC_EXPORT_INTERVAL)?
                .unwrap_or(Duration::from_secs(60)),
        };
        let metric_interval = if metric_interval.is_zero() {
            let zero = InitError::invalid(
                OTEL_METRIC_EXPORT_INTERVAL,
                "0",
                "a positive number of milliseconds",
            );
            if b.metric_interval.is_some() {
                // Set in code: a programming error, not a value to ignore.
                return Err(zero);
            }
            env.reject(zero, "the default, 60000")?;
            Duration::from_secs(60)
        } else {
            metric_interval
        };
        let metric_timeout = match b.metric_timeout {
            Some(d) => d,
            None => env
                .millis(OTEL_METRIC_EXPORT_TIMEOUT)?
                .unwrap_or(Duration::from_secs(30)),
        };
        let exemplar_filter = match (b.exemplar_filter, env.get(OTEL_METRICS_EXEMPLAR_FILTER)) {
            (Some(code), _) => code,
            (None, None) => ExemplarFilter::default(),
            (None, Some(v)) => env.or_default(
                v.to_ascii_lowercase().parse().map_err(|()| {
                    InitError::invalid(OTEL_METRICS_EXEMPLAR_FILTER, &v, ExemplarFilter::NAMES)
                }),
                ExemplarFilter::default(),
                "the default, trace_based",
            )?,
        };
        let (otlp_temporality, mut otlp_histograms) = super::metrics::resolve(&b, &env)?;
        if otlp_histograms == super::HistogramAggregation::Base2ExponentialBucketHistogram
            && metrics.otlp.is_some()
            && metrics.prometheus.is_some()
        {
            let clash = InitError::invalid(
                OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION,
                "base2_exponential_bucket_histogram",
                "explicit_bucket_histogram while OTEL_METRICS_EXPORTER includes prometheus: \
                 Beacon's views apply to every reader, and the Prometheus text formats cannot \
                 carry exponential histograms",
            );
            if b.otlp_histogram_aggregation.is_some() {
                // Asked for in code: a programming error, not a value to ignore.
                return Err(clash);
            }
            env.reject(clash, "the default, explicit_bucket_histogram")?;
            otlp_histograms = super::HistogramAggregation::default();
        }
        let limits = match b.limits {
            Some(l) => l,
            None => limits(&env)?,
        };
        let filter = b
            .filter
            .clone()
            .or_else(|| env.get(RUST_LOG))
            .unwrap_or_else(|| "info".to_owned());

        #[cfg(feature = "hub")]
        let hub = crate::hub::resolve(b.hub.take(), &env);
        let spool = super::spool::resolve(b.spool.take(), &env)?;
        let warnings = env.warnings.take();
        let span_processors = std::mem::take(&mut b.span_processors);
        let log_processors = std::mem::take(&mut b.log_processors);
        Ok(Self {
            disabled,
            resource,
            sampler,
            propagators,
            traces,
            metrics,
            logs,
            span_batch,
            log_batch,
            metric_interval,
            metric_timeout,
            metric_max_retained: b.metric_max_retained,
            exemplar_filter,
            otlp_temporality,
            otlp_histograms,
            self_telemetry: !b.no_self_telemetry,
            limits,
            filter,
            console_logs: b.console_logs.unwrap_or_else(|| env.bool(BEACON_CONSOLE)),
            shutdown_timeout: b.shutdown_timeout.unwrap_or(Duration::from_secs(10)),
            warnings,
            span_processors,
            tail_sampling: b.tail_sampling.take(),
            cardinality_limits: std::mem::take(&mut b.cardinality_limits),
            id_generator: b.id_generator.take(),
            #[cfg(feature = "system-metrics")]
            collectors: b.collectors.take().unwrap_or_default(),
            log_processors,
            #[cfg(feature = "config-file")]
            file: super::file::Extras::default(),
            #[cfg(feature = "hub")]
            hub,
            spool,
            http: std::sync::Arc::default(),
        })
    }
}

fn sampler(env: &Env<'_>) -> Result<Sampler, InitError> {
    let Some(name) = env.get(OTEL_TRACES_SAMPLER) else {
        return Ok(Sampler::default());
    };
    // Enum values are case-insensitive (configuration/common.md, "Enum").
    let name = name.to_ascii_lowercase();
    // An invalid argument behaves as if unset (the spec), outside strict mode.
    let ratio = || -> Result<f64, InitError> {
        let Some(arg) = env.get(OTEL_TRACES_SAMPLER_ARG) else {
            return Ok(1.0);
        };
        match arg.parse::<f64>() {
            Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
            _ => env
                .reject(
                    InitError::invalid(
                        OTEL_TRACES_SAMPLER_ARG,
                        &arg,
                        format!(
                            "a probability between 0 and 1, such as 0.25, for \
                             {OTEL_TRACES_SAMPLER}={name}"
                        ),
                    ),
                    "1.0, as if unset",
                )
                .map(|()| 1.0),
        }
    };
    // The spec defines no argument for these; one that is set anyway is ignored, and said so.
    let no_argument = || {
        if let Some(arg) = env.get(OTEL_TRACES_SAMPLER_ARG) {
            env.warn(format!(
                "{OTEL_TRACES_SAMPLER_ARG}={arg:?} is ignored: {OTEL_TRACES_SAMPLER}={name} takes \
                 no argument (traceidratio, parentbased_traceidratio and beacon_ratelimit do)"
            ));
        }
    };
    Ok(match name.as_str() {
        "always_on" => {
            no_argument();
            Sampler::AlwaysOn
        }
        "always_off" => {
            no_argument();
            Sampler::AlwaysOff
        }
        "traceidratio" => Sampler::TraceIdRatio(ratio()?),
        "parentbased_always_on" => {
            no_argument();
            Sampler::ParentBasedAlwaysOn
        }
        "parentbased_always_off" => {
            no_argument();
            Sampler::ParentBasedAlwaysOff
        }
        "parentbased_traceidratio" => Sampler::ParentBasedTraceIdRatio(ratio()?),
        "beacon_ratelimit" => Sampler::ParentBasedRateLimited(rate(env)?),
        _ => {
            env.reject(
                InitError::invalid(OTEL_TRACES_SAMPLER, &name, Sampler::NAMES),
                "the default, parentbased_always_on",
            )?;
            Sampler::default()
        }
    })
}

/// `OTEL_TRACES_SAMPLER_ARG` for `beacon_ratelimit`: traces per second (default 100).
fn rate(env: &Env<'_>) -> Result<f64, InitError> {
    let Some(arg) = env.get(OTEL_TRACES_SAMPLER_ARG) else {
        return Ok(100.0);
    };
    match arg.parse::<f64>() {
        Ok(r) if r.is_finite() && r >= 0.0 => Ok(r),
        _ => env
            .reject(
                InitError::invalid(
                    OTEL_TRACES_SAMPLER_ARG,
                    &arg,
                    "a number of traces per second, such as 100, for \
                     OTEL_TRACES_SAMPLER=beacon_ratelimit",
                ),
                "100, as if unset",
            )
            .map(|()| 100.0),
    }
}

fn propagators(env: &Env<'_>) -> Result<Vec<Propagator>, InitError> {
    let Some(list) = env.get(OTEL_PROPAGATORS) else {
        return Ok(vec![Propagator::TraceContext, Propagator::Baggage]);
    };
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let item = item.to_ascii_lowercase();
        if item == "none" {
            continue;
        }
        let Ok(p) = item.parse() else {
            // Known to the spec but not to Beacon (`xray`, `ottrace`) or unknown: this item is
            // left out, the rest of the list kept.
            env.reject(
                InitError::invalid(
                    OTEL_PROPAGATORS,
                    &item,
                    format!("{} (in {OTEL_PROPAGATORS}={list:?})", Propagator::NAMES),
                ),
                "the rest of the list",
            )?;
            continue;
        };
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

fn destinations(
    signal: Signal,
    code: Option<Exporter>,
    var: &'static str,
    b: &Builder,
    env: &Env<'_>,
) -> Result<Destinations, InitError> {
    let kinds: Vec<Exporter> = match code {
        Some(e) => vec![e],
        None => match env.get(var) {
            None => vec![Exporter::Otlp],
            Some(list) => {
                let mut kinds = Vec::new();
                for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    match item.to_ascii_lowercase().parse() {
                        Ok(kind) => kinds.push(kind),
                        // Known to the spec but not to Beacon (`zipkin`, `logging`) or unknown:
                        // left out, the rest of the list kept.
                        Err(()) => env.reject(
                            InitError::invalid(
                                var,
                                item,
                                format!("{} (in {var}={list:?})", Exporter::NAMES),
                            ),
                            "the rest of the list",
                        )?,
                    }
                }
                kinds
            }
        },
    };
    let mut dest = Destinations::default();
    for kind in kinds {
        match kind {
            Exporter::Otlp if dest.otlp.is_none() => {
                let own = b
                    .otlp_signals
                    .iter()
                    .rev()
                    .find(|(s, _)| *s == signal)
                    .map(|(_, o)| &o.overrides);
                dest.otlp = Some(super::otlp::resolve(signal, &b.otlp, own, env)?);
            }
            Exporter::Console => dest.console = true,
            Exporter::Prometheus if signal != Signal::Metrics => {
                env.reject(
                    InitError::invalid(
                        var,
                        "prometheus",
                        "otlp, console or none: prometheus exports metrics only (set it in \
                         OTEL_METRICS_EXPORTER)",
                    ),
                    "the rest of the list",
                )?;
            }
            Exporter::Prometheus if dest.prometheus.is_none() => {
                dest.prometheus = Some(prometheus(b, env)?);
            }
            Exporter::Otlp | Exporter::Prometheus | Exporter::None => {}
        }
    }
    Ok(dest)
}

fn prometheus(b: &Builder, env: &Env<'_>) -> Result<PrometheusConfig, InitError> {
    if b.prometheus_no_listener {
        return Ok(PrometheusConfig {
            listen: None,
            naming: b.prometheus_naming,
        });
    }
    if let Some((host, port)) = &b.prometheus_address {
        return Ok(PrometheusConfig {
            listen: Some((host.clone(), *port)),
            naming: b.prometheus_naming,
        });
    }
    let host = env
        .get(OTEL_EXPORTER_PROMETHEUS_HOST)
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    let port = match env.get(OTEL_EXPORTER_PROMETHEUS_PORT) {
        None => 9464,
        Some(p) => env.or_default(
            p.trim().parse::<u16>().map_err(|_| {
                InitError::invalid(
                    OTEL_EXPORTER_PROMETHEUS_PORT,
                    &p,
                    "a TCP port from 0 to 65535, such as 9464 (0 picks a free one)",
                )
            }),
            9464,
            "the default, 9464",
        )?,
    };
    Ok(PrometheusConfig {
        listen: Some((host, port)),
        naming: b.prometheus_naming,
    })
}

fn batch(
    env: &Env<'_>,
    defaults: BatchConfig,
    names: [&'static str; 4],
) -> Result<BatchConfig, InitError> {
    let [delay, timeout, queue, size] = names;
    let config = BatchConfig {
        scheduled_delay: env.millis(delay)?.unwrap_or(defaults.scheduled_delay),
        export_timeout: env.millis(timeout)?.unwrap_or(defaults.export_timeout),
        max_queue_size: env.count(queue)?.unwrap_or(defaults.max_queue_size),
        max_export_batch_size: env.count(size)?.unwrap_or(defaults.max_export_batch_size),
        max_retained: defaults.max_retained,
        max_queue_bytes: defaults.max_queue_bytes,
    };
    let mut config = config;
    if config.max_queue_size == 0 {
        env.reject(
            InitError::invalid(queue, "0", "a queue size of at least 1"),
            &format!("the default, {}", defaults.max_queue_size),
        )?;
        config.max_queue_size = defaults.max_queue_size;
    }
    if config.max_export_batch_size == 0 || config.max_export_batch_size > config.max_queue_size {
        let fallback = defaults.max_export_batch_size.min(config.max_queue_size);
        env.reject(
            InitError::invalid(
                size,
                &config.max_export_batch_size.to_string(),
                format!(
                    "a batch size from 1 to the queue size ({})",
                    config.max_queue_size
                ),
            ),
            &fallback.to_string(),
        )?;
        config.max_export_batch_size = fallback;
    }
    Ok(config)
}

fn limits(env: &Env<'_>) -> Result<Limits, InitError> {
    let d = Limits::default();
    let general = env.count(OTEL_ATTRIBUTE_COUNT_LIMIT)?;
    let count =
        |name: &'static str, fallback: Option<usize>, default: u32| -> Result<u32, InitError> {
            let v = env.count(name)?.or(fallback);
            match v {
                None => Ok(default),
                Some(n) => env.or_default(
                    u32::try_from(n).map_err(|_| {
                        InitError::invalid(name, &n.to_string(), "a number below 4294967296")
                    }),
                    default,
                    "the default",
                ),
            }
        };
    Ok(Limits {
        span_attributes: count(OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, general, d.span_attributes)?,
        span_events: count(OTEL_SPAN_EVENT_COUNT_LIMIT, None, d.span_events)?,
        span_links: count(OTEL_SPAN_LINK_COUNT_LIMIT, None, d.span_links)?,
        event_attributes: count(
            OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT,
            general,
            d.event_attributes,
        )?,
        link_attributes: count(OTEL_LINK_ATTRIBUTE_COUNT_LIMIT, general, d.link_attributes)?,
        attribute_value_length: env
            .count(OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT)?
            .or(env.count(OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT)?),
        log_attributes: count(
            OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT,
            general,
            d.log_attributes,
        )?,
        log_attribute_value_length: env
            .count(OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT)?
            .or(env.count(OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT)?),
    })
}
