//! The live hub: the span path with the in-process hub attached against without, ingest
//! rate, query latency at full capacity, and fan-out to 100 live subscribers.
//!
//! `cargo bench -p beacon-benches --bench hub -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::sync::Arc;

use beacon::config::Exporter;
use beacon_hub::model::{
    Attributes, LogRecord, Resource, Span, SpanId, SpanKind, Status, StatusCode, TraceId, Value,
};
use beacon_hub::query::{LogQuery, TraceQuery};
use beacon_hub::stream::{Filter, Live};
use beacon_hub::Hub;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

fn one_span() {
    let span = tracing::info_span!("request", user.id = 42_u64, http.route = "/users/{id}");
    let entered = span.enter();
    black_box(&entered);
    drop(entered);
    drop(span);
}

/// A destination that takes batches and does nothing: what the batch hand-off alone costs.
#[derive(Debug)]
struct Discard;

impl opentelemetry_sdk::trace::SpanExporter for Discard {
    async fn export(
        &self,
        _batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
}

fn pipeline(hub: bool) -> beacon::Telemetry {
    let b = beacon::builder()
        .env_source(|_| None)
        .traces_exporter(Exporter::None)
        .metrics_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .filter("info");
    let b = if hub { b.local_hub() } else { b };
    b.build().expect("beacon builds")
}

fn span_path(c: &mut Criterion) {
    let mut g = c.benchmark_group("hub_span_path");
    let without = pipeline(false);
    let with = pipeline(true);
    let runtime = beacon_exporter::ExportRuntime::new().expect("runtime");
    let discard = beacon::builder()
        .env_source(|_| None)
        .traces_exporter(Exporter::None)
        .metrics_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .filter("info")
        .with_span_processor(beacon_exporter::batch::BatchSpanProcessor::new(
            Discard,
            beacon_exporter::batch::BatchConfig::default(),
            &runtime,
        ))
        .build()
        .expect("beacon builds");
    // One after the other in one group so the rows see the same machine load.
    tracing::dispatcher::with_default(&without.dispatch(), || {
        g.bench_function("beacon_without_hub", |b| b.iter(one_span));
    });
    tracing::dispatcher::with_default(&discard.dispatch(), || {
        g.bench_function("beacon_with_discarding_batch_destination", |b| {
            b.iter(one_span)
        });
    });
    tracing::dispatcher::with_default(&with.dispatch(), || {
        g.bench_function("beacon_with_hub", |b| b.iter(one_span));
    });
    g.finish();
    let stats = with.stats();
    eprintln!(
        "hub pipeline: {} spans into the hub's batch queue, {} dropped (queue full)",
        stats.traces.accepted, stats.traces.dropped
    );

    // The same spans in bursts of `BURST` (fewer than a batch, so the worker is not woken
    // during one), each followed, outside the timing, by a flush that lets the destination's
    // worker store them: the application thread's cost when the destination keeps up, which
    // is what a service making thousands (not hundreds of thousands) of spans a second sees.
    // The rows above make spans flat out, so the worker (converting and indexing, ~5x the
    // work of making the span) runs saturated on the other core of a shared machine.
    let mut g = c.benchmark_group("hub_span_path_bursts");
    for (name, telemetry) in [
        ("beacon_without_hub", &without),
        ("beacon_with_discarding_batch_destination", &discard),
        ("beacon_with_hub", &with),
    ] {
        tracing::dispatcher::with_default(&telemetry.dispatch(), || {
            g.bench_function(name, |b| {
                b.iter_custom(|iters| {
                    let mut timed = std::time::Duration::ZERO;
                    let mut left = iters;
                    while left > 0 {
                        let n = left.min(BURST);
                        let start = std::time::Instant::now();
                        for _ in 0..n {
                            one_span();
                        }
                        timed += start.elapsed();
                        left -= n;
                        telemetry.flush().expect("flushed");
                    }
                    timed
                });
            });
        });
    }
    g.finish();
    let stats = with.stats();
    eprintln!(
        "hub pipeline after the bursts: {} spans accepted in all, {} dropped",
        stats.traces.accepted, stats.traces.dropped
    );
}

/// Spans per timed burst: under the batch size (512), so no export starts during one.
const BURST: u64 = 256;

const SERVICES: [&str; 4] = ["checkout", "payments", "users", "search"];
const ROUTES: [&str; 5] = ["/orders/{id}", "/pay", "/users/{id}", "/search", "/health"];

fn span(resource: &Arc<Resource>, trace: u64, i: u64) -> Span {
    Span {
        trace_id: TraceId(u128::from(trace + 1).to_be_bytes()),
        span_id: SpanId((trace * 8 + i + 1).to_be_bytes()),
        parent_span_id: (i > 0).then(|| SpanId((trace * 8 + 1).to_be_bytes())),
        name: if i == 0 {
            "GET".into()
        } else {
            format!("db.query.{i}")
        },
        kind: SpanKind::Server,
        start_time_unix_nano: trace * 1_000_000 + i,
        end_time_unix_nano: trace * 1_000_000 + i + (trace % 1000) * 1_000,
        status: Status {
            code: if trace.is_multiple_of(50) {
                StatusCode::Error
            } else {
                StatusCode::Unset
            },
            message: String::new(),
        },
        attributes: Attributes(vec![
            (
                "http.route".into(),
                Value::String(ROUTES[(trace % 5) as usize].into()),
            ),
            ("http.response.status_code".into(), Value::Int(200)),
            ("order.id".into(), Value::Int(trace as i64)),
            (
                "user.agent.original".into(),
                Value::String("Mozilla/5.0 (X11; Linux x86_64)".into()),
            ),
        ]),
        events: vec![],
        links: vec![],
        resource: Arc::clone(resource),
        scope: Arc::default(),
    }
}

fn log(resource: &Arc<Resource>, seq: u64) -> LogRecord {
    LogRecord {
        time_unix_nano: seq,
        severity_number: [9, 9, 9, 13, 17][(seq % 5) as usize],
        severity_text: None,
        body: Some(Value::String(format!(
            "order {seq} processed for customer {} in {} ms",
            seq % 977,
            seq % 300
        ))),
        attributes: Attributes(vec![("order.id".into(), Value::Int(seq as i64))]),
        event_name: None,
        trace_id: Some(TraceId(u128::from(seq + 1).to_be_bytes())),
        span_id: None,
        resource: Arc::clone(resource),
        scope: Arc::default(),
    }
}

fn resources() -> Vec<Arc<Resource>> {
    SERVICES
        .iter()
        .map(|s| Arc::new(Resource::for_service(*s)))
        .collect()
}

/// A hub filled to its default bounds: 10,000 traces of 5 spans, 10,000 logs.
fn full_hub() -> Hub {
    let hub = Hub::new();
    let rs = resources();
    for trace in 0..12_000u64 {
        let r = &rs[(trace % 4) as usize];
        hub.insert_spans((0..5).map(|i| span(r, trace, i)));
    }
    for seq in 0..12_000u64 {
        hub.insert_log(log(&rs[(seq % 4) as usize], seq));
    }
    let s = hub.stats();
    eprintln!(
        "full hub: {} traces / {} spans, {} logs, ~{} bytes estimated ({} per span+log)",
        s.traces,
        s.spans,
        s.logs,
        s.bytes,
        s.bytes / (s.spans + s.logs).max(1)
    );
    hub
}

fn ingest(c: &mut Criterion) {
    let mut g = c.benchmark_group("hub_ingest");
    let hub = full_hub();
    let rs = resources();
    let mut next = 1_000_000u64;
    g.throughput(Throughput::Elements(500));
    g.bench_function("spans_batch_500_at_capacity", |b| {
        b.iter_batched(
            || {
                let batch: Vec<Span> = (0..100)
                    .flat_map(|t| (0..5).map(move |i| (t, i)))
                    .map(|(t, i)| span(&rs[(t % 4) as usize], next + t, i))
                    .collect();
                next += 100;
                batch
            },
            |batch| hub.insert_spans(batch),
            BatchSize::SmallInput,
        );
    });
    g.bench_function("logs_batch_500_at_capacity", |b| {
        b.iter_batched(
            || {
                let batch: Vec<LogRecord> = (0..500)
                    .map(|i| log(&rs[(i % 4) as usize], next + i))
                    .collect();
                next += 500;
                batch
            },
            |batch| hub.insert_logs(batch),
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

fn queries(c: &mut Criterion) {
    let mut g = c.benchmark_group("hub_query_full");
    let hub = full_hub();
    let by_attr = TraceQuery {
        attributes: vec![("order.id".into(), "11000".into())],
        ..TraceQuery::default()
    };
    assert_eq!(hub.traces(&by_attr).len(), 1);
    g.bench_function("traces_by_attribute", |b| {
        b.iter(|| hub.traces(black_box(&by_attr)))
    });
    let by_service = TraceQuery {
        service: Some("payments".into()),
        span_name: Some("GET".into()),
        ..TraceQuery::default()
    };
    g.bench_function("traces_by_service_and_name_limit_20", |b| {
        b.iter(|| hub.traces(black_box(&by_service)))
    });
    let errors_slow = TraceQuery {
        status: Some(StatusCode::Error),
        min_duration: Some(std::time::Duration::from_micros(500)),
        ..TraceQuery::default()
    };
    g.bench_function("traces_errors_over_500us", |b| {
        b.iter(|| hub.traces(black_box(&errors_slow)))
    });
    let unindexed = TraceQuery {
        min_duration: Some(std::time::Duration::from_secs(3600)),
        ..TraceQuery::default()
    };
    g.bench_function("traces_unindexed_scan_no_match", |b| {
        b.iter(|| hub.traces(black_box(&unindexed)))
    });
    let id = TraceId(u128::from(11_001u64).to_be_bytes());
    g.bench_function("trace_by_id_with_logs", |b| {
        b.iter(|| hub.trace(black_box(id)))
    });
    // The same lookup while another thread ingests batches of 500 spans flat out: readers and
    // the writer share one read/write lock per signal, held only for the inserts.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (hub, stop) = (hub.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let rs = resources();
            let mut next = 2_000_000u64;
            let mut batches = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                hub.insert_spans((0..100).flat_map(|t| {
                    let r = Arc::clone(&rs[(t % 4) as usize]);
                    (0..5).map(move |i| span(&r, next + t, i))
                }));
                next += 100;
                batches += 1;
            }
            batches
        })
    };
    let recent = TraceQuery {
        service: Some("payments".into()),
        ..TraceQuery::default()
    };
    g.bench_function("traces_by_service_while_ingesting", |b| {
        b.iter(|| hub.traces(black_box(&recent)))
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let batches = writer.join().expect("writer");
    eprintln!("writer stored {batches} batches of 500 spans meanwhile");
    let text = LogQuery {
        text: Some("customer 123".into()),
        min_severity: Some(13),
        ..LogQuery::default()
    };
    g.bench_function("logs_text_and_severity", |b| {
        b.iter(|| hub.logs(black_box(&text)))
    });
    g.finish();
}

fn fan_out(c: &mut Criterion) {
    let mut g = c.benchmark_group("hub_fan_out");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let hub = Hub::new();
    let r = Arc::new(Resource::for_service("svc"));
    let mut subs: Vec<_> = (0..100).map(|_| hub.subscribe(Filter::default())).collect();
    g.throughput(Throughput::Elements(1000));
    g.bench_function("1000_logs_to_100_subscribers", |b| {
        b.iter_batched(
            || (0..1000).map(|i| log(&r, i)).collect::<Vec<_>>(),
            |batch| {
                hub.insert_logs(batch);
                rt.block_on(async {
                    for sub in &mut subs {
                        for _ in 0..1000 {
                            match sub.next().await {
                                Some(Live::Item(item)) => {
                                    black_box(item);
                                }
                                other => panic!("unexpected {other:?}"),
                            }
                        }
                    }
                });
            },
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

criterion_group!(benches, span_path, ingest, queries, fan_out);
criterion_main!(benches);
