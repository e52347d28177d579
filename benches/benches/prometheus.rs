//! What one Prometheus scrape of 10,000 series costs with Beacon's `PrometheusReader`, with
//! `prometheus-client`'s encoders and with `metrics-exporter-prometheus`, side by side on the
//! same workload; and whether recording waits while a scrape runs.
//!
//! The workload, identical for the three: one counter family `http_requests` and one histogram
//! family `http_request_duration_seconds` (the 14 OTel HTTP buckets), each with 5,000 label sets
//! (5 methods × 100 routes × 10 statuses), every series recorded one to three times before
//! measuring. Beacon adds an `otel_scope_name` label to every series, so the two baselines carry
//! the same label (a global label / a label field) and all outputs have the same content.
//!
//! Only the scrape is measured. For Beacon that is `PrometheusReader::render`, which includes
//! the SDK's collect (a copy of every data point); `prometheus_scrape_10k/beacon_collect_only`
//! measures that collect alone so the encoding's share can be read off.
//!
//! `cargo bench -p beacon-benches --bench prometheus -- --warm-up-time 1 --measurement-time 5`

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use beacon_exporter::prometheus::{Format, PrometheusReader};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use opentelemetry::metrics::{Counter, MeterProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader as _;
use opentelemetry_sdk::metrics::{Instrument, SdkMeterProvider, Stream};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter as PcCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram as PcHistogram;
use prometheus_client::registry::{Registry, Unit};

/// The OTel semantic conventions' advice for HTTP durations, in seconds.
const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];
const STATUSES: [&str; 10] = [
    "200", "201", "204", "301", "304", "400", "401", "404", "500", "503",
];
const ROUTES: usize = 100;
/// Series per family; two families make the 10,000.
const SERIES: usize = METHODS.len() * ROUTES * STATUSES.len();
const SCOPE: &str = "bench";
const REQUESTS_HELP: &str = "Number of HTTP requests.";
const DURATION_HELP: &str = "Duration of HTTP requests.";

/// One label set: method × route × status.
struct Labels {
    method: &'static str,
    route: String,
    status: &'static str,
}

fn label_sets() -> Vec<Labels> {
    let mut sets = Vec::with_capacity(SERIES);
    for r in 0..ROUTES {
        for method in METHODS {
            for status in STATUSES {
                sets.push(Labels {
                    method,
                    route: format!("/api/v1/resource{r}/{{id}}"),
                    status,
                });
            }
        }
    }
    sets
}

/// How often series `i` is counted.
fn count(i: usize) -> u64 {
    1 + (i % 3) as u64
}

/// The durations recorded into series `i`: spread over the buckets, sums not round.
fn durations(i: usize) -> [f64; 3] {
    [
        0.002 + (i % 97) as f64 * 0.001,
        0.02 * ((i % 13) as f64 + 1.0),
        0.3 + (i % 41) as f64 * 0.23,
    ]
}

// ---- Beacon -----------------------------------------------------------------------------------

struct Beacon {
    reader: PrometheusReader,
    provider: SdkMeterProvider,
    requests: Counter<u64>,
    attrs: Vec<Vec<KeyValue>>,
}

fn beacon() -> Beacon {
    let reader = PrometheusReader::new();
    let provider = SdkMeterProvider::builder()
        .with_reader(reader.clone())
        // The SDK's default cardinality limit (2,000) would fold most of the 5,000 series into
        // the overflow series.
        .with_view(|_: &Instrument| {
            Stream::builder()
                .with_cardinality_limit(20_000)
                .build()
                .ok()
        })
        .build();
    let meter = provider.meter(SCOPE);
    let requests = meter
        .u64_counter("http.requests")
        .with_description(REQUESTS_HELP)
        .build();
    let duration = meter
        .f64_histogram("http.request.duration")
        .with_unit("s")
        .with_description(DURATION_HELP)
        .with_boundaries(BUCKETS.to_vec())
        .build();
    let attrs: Vec<Vec<KeyValue>> = label_sets()
        .into_iter()
        .map(|l| {
            vec![
                KeyValue::new("method", l.method),
                KeyValue::new("route", l.route),
                KeyValue::new("status", l.status),
            ]
        })
        .collect();
    for (i, a) in attrs.iter().enumerate() {
        requests.add(count(i), a);
        for d in durations(i) {
            duration.record(d, a);
        }
    }
    Beacon {
        reader,
        provider,
        requests,
        attrs,
    }
}

// ---- prometheus-client ------------------------------------------------------------------------

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PcLabels {
    method: &'static str,
    route: String,
    status: &'static str,
    otel_scope_name: &'static str,
}

fn prometheus_client() -> Registry {
    let mut registry = Registry::default();
    let requests = Family::<PcLabels, PcCounter>::default();
    registry.register("http_requests", REQUESTS_HELP, requests.clone());
    let duration =
        Family::<PcLabels, PcHistogram, fn() -> PcHistogram>::new_with_constructor(|| {
            PcHistogram::new(BUCKETS)
        });
    registry.register_with_unit(
        "http_request_duration",
        DURATION_HELP,
        Unit::Seconds,
        duration.clone(),
    );
    for (i, l) in label_sets().into_iter().enumerate() {
        let labels = PcLabels {
            method: l.method,
            route: l.route,
            status: l.status,
            otel_scope_name: SCOPE,
        };
        requests.get_or_create(&labels).inc_by(count(i));
        let h = duration.get_or_create(&labels);
        for d in durations(i) {
            h.observe(d);
        }
    }
    registry
}

// ---- metrics-exporter-prometheus --------------------------------------------------------------

fn metrics_exporter() -> PrometheusHandle {
    let recorder = PrometheusBuilder::new()
        // `_total` on counters and `_seconds` from the unit, as the other two name them.
        .with_recommended_naming(true)
        // Without buckets it renders histograms as summaries.
        .set_buckets(&BUCKETS)
        .expect("buckets are not empty")
        .add_global_label("otel_scope_name", SCOPE)
        .build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        metrics::describe_counter!("http_requests", REQUESTS_HELP);
        metrics::describe_histogram!(
            "http_request_duration",
            metrics::Unit::Seconds,
            DURATION_HELP
        );
        for (i, l) in label_sets().into_iter().enumerate() {
            let labels = vec![
                metrics::Label::new("method", l.method),
                metrics::Label::new("route", l.route),
                metrics::Label::new("status", l.status),
            ];
            metrics::counter!("http_requests", labels.clone()).increment(count(i));
            let h = metrics::histogram!("http_request_duration", labels);
            for d in durations(i) {
                h.record(d);
            }
        }
    });
    // The recorder only feeds the handle's registry; dropping it loses nothing.
    drop(recorder);
    handle
}

// ---- the scrape comparison --------------------------------------------------------------------

fn pc_openmetrics(registry: &Registry) -> String {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, registry).expect("encodes");
    out
}

fn pc_text(registry: &Registry) -> String {
    let mut out = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut out, registry).expect("encodes");
    out
}

/// Says what each exposition holds, once, so the comparison can be checked: the same number of
/// sample lines in every one, and sizes within a few percent.
fn describe(name: &str, body: &str) {
    let samples = body.lines().filter(|l| !l.starts_with('#')).count();
    let buckets = body.lines().filter(|l| l.contains("_bucket{")).count();
    let counters = body
        .lines()
        .filter(|l| l.starts_with("http_requests_total{"))
        .count();
    assert_eq!(counters, SERIES, "{name}: every counter series is exposed");
    assert_eq!(
        buckets,
        SERIES * (BUCKETS.len() + 1),
        "{name}: every bucket is exposed"
    );
    assert!(
        !body.contains("overflow"),
        "{name}: no series folded into overflow"
    );
    let counter = body
        .lines()
        .find(|l| l.starts_with("http_requests_total{"))
        .unwrap_or_default();
    let bucket = body
        .lines()
        .find(|l| l.contains("_bucket{"))
        .unwrap_or_default();
    eprintln!(
        "{name:>40}: {:>9} bytes, {samples} sample lines\n{:>40}  e.g. {counter}\n{:>40}       {bucket}",
        body.len(),
        "",
        ""
    );
}

fn scrape(c: &mut Criterion) {
    let beacon = beacon();
    let registry = prometheus_client();
    let handle = metrics_exporter();

    eprintln!("one scrape of {} series:", 2 * SERIES);
    let text = beacon.reader.render(Format::Text).expect("renders");
    describe("beacon Text 0.0.4", &text);
    let om = beacon.reader.render(Format::OpenMetrics).expect("renders");
    describe("beacon OpenMetrics", &om);
    describe("prometheus-client text 0.0.4", &pc_text(&registry));
    describe("prometheus-client OpenMetrics", &pc_openmetrics(&registry));
    describe("metrics-exporter-prometheus", &handle.render());

    let mut g = c.benchmark_group("prometheus_scrape_10k");
    // A scrape takes milliseconds: fewer, flat samples keep the run within the measurement time.
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(30);
    g.throughput(Throughput::Elements(2 * SERIES as u64));
    g.bench_function("beacon_text", |b| {
        b.iter(|| beacon.reader.render(Format::Text).expect("renders"))
    });
    g.bench_function("beacon_openmetrics", |b| {
        b.iter(|| beacon.reader.render(Format::OpenMetrics).expect("renders"))
    });
    // The SDK's collect alone: what `render` does before encoding (and the drop of what it
    // collected, which `render` pays too).
    g.bench_function("beacon_collect_only", |b| {
        b.iter(|| {
            let mut rm = ResourceMetrics::default();
            beacon.reader.collect(&mut rm).expect("collects");
            black_box(&rm);
        })
    });
    g.bench_function("prometheus_client_text", |b| b.iter(|| pc_text(&registry)));
    g.bench_function("prometheus_client_openmetrics", |b| {
        b.iter(|| pc_openmetrics(&registry))
    });
    g.bench_function("metrics_exporter_prometheus", |b| {
        b.iter(|| handle.render())
    });
    g.finish();
}

// ---- recording while a scrape runs ------------------------------------------------------------

/// Runs `f` while another thread scrapes `reader` back to back; returns `f`'s result and the
/// number of scrapes completed meanwhile.
fn while_scraping<T>(reader: &PrometheusReader, f: impl FnOnce() -> T) -> (T, u64) {
    let stop = AtomicBool::new(false);
    let scrapes = AtomicU64::new(0);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                black_box(reader.render(Format::Text).expect("renders"));
                scrapes.fetch_add(1, Ordering::Relaxed);
            }
        });
        let out = f();
        stop.store(true, Ordering::Relaxed);
        (out, scrapes.load(Ordering::Relaxed))
    })
}

/// Latency of each of `n` calls, sorted.
fn latencies(n: usize, mut op: impl FnMut(usize)) -> Vec<u64> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        op(i);
        out.push(t.elapsed().as_nanos() as u64);
    }
    out.sort_unstable();
    out
}

fn report(what: &str, sorted: &[u64], scrapes: Option<(u64, Duration)>) {
    let q = |p: f64| sorted[((sorted.len() - 1) as f64 * p) as usize];
    let mean = sorted.iter().sum::<u64>() as f64 / sorted.len() as f64;
    let scrapes = scrapes.map_or(String::new(), |(n, d)| {
        format!(
            ", {n} scrapes done meanwhile ({:.1} ms each)",
            d.as_secs_f64() * 1e3 / n.max(1) as f64
        )
    });
    eprintln!(
        "{what:>48}: n={} mean {mean:.0} ns, p50 {} ns, p99 {} ns, p99.9 {} ns, p99.99 {} ns, max {} µs{scrapes}",
        sorted.len(),
        q(0.5),
        q(0.99),
        q(0.999),
        q(0.9999),
        sorted[sorted.len() - 1] / 1000,
    );
}

/// Whether a criterion filter given on the command line selects `name` (criterion skips only its
/// own benchmarks; the latency loops below run outside it). A filter is taken to be any argument
/// that is neither a flag nor a number.
fn selected(name: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-') && a.parse::<f64>().is_err())
        .collect();
    filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
}

fn recording(c: &mut Criterion) {
    // Its own provider, so the series added below do not change the scrape benchmark.
    let beacon = beacon();
    let Beacon {
        reader,
        requests,
        attrs,
        ..
    } = &beacon;
    let add = |i: usize| requests.add(1, &attrs[(i * 7919) % attrs.len()]);

    let mut g = c.benchmark_group("record_under_scrape");
    let mut i = 0usize;
    g.bench_function("counter_add_idle", |b| {
        b.iter(|| {
            i += 1;
            add(i)
        })
    });
    let ((), scrapes) = while_scraping(reader, || {
        g.bench_function("counter_add_while_scraping", |b| {
            b.iter(|| {
                i += 1;
                add(i)
            })
        });
    });
    if scrapes > 0 {
        eprintln!(
            "record_under_scrape/counter_add_while_scraping: {scrapes} scrapes ran meanwhile"
        );
    }
    g.finish();

    if !selected("record_under_scrape/latency") {
        return;
    }
    // The tail, which a mean hides: every call timed on its own (the clock read adds ~20-40 ns
    // to each sample, equally in both runs).
    const N: usize = 2_000_000;
    let idle = latencies(N, add);
    report("counter add, existing series, idle", &idle, None);
    let t = Instant::now();
    let (busy, scrapes) = while_scraping(reader, || latencies(N, add));
    report(
        "counter add, existing series, while scraping",
        &busy,
        Some((scrapes, t.elapsed())),
    );

    // A new label set is where the SDK takes its write lock on the instrument's series map,
    // which a collect holds for reading while it copies that instrument's points. Spread over
    // time (200 adds to existing series between two new ones) so that many scrapes overlap.
    const NEW: usize = 15_000;
    let meter = beacon.provider.meter(SCOPE);
    let fresh = |name: &'static str| {
        let counter = meter.u64_counter(name).build();
        let mut latencies = Vec::with_capacity(NEW);
        for i in 0..NEW {
            for j in 0..200 {
                add(i * 200 + j);
            }
            let t = Instant::now();
            counter.add(1, &[KeyValue::new("id", i as i64)]);
            latencies.push(t.elapsed().as_nanos() as u64);
        }
        latencies.sort_unstable();
        latencies
    };
    report(
        "counter add, new series, idle",
        &fresh("new.series.idle"),
        None,
    );
    let t = Instant::now();
    let (busy, scrapes) = while_scraping(reader, || fresh("new.series.scraped"));
    report(
        "counter add, new series, while scraping",
        &busy,
        Some((scrapes, t.elapsed())),
    );
}

criterion_group!(benches, scrape, recording);
criterion_main!(benches);
