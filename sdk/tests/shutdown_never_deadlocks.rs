//! `Telemetry::shutdown()` (and drop) flushes what was accepted and returns — on a
//! multi-thread runtime, on a current-thread runtime, inside or outside a runtime — and with
//! a dead collector it returns within its timeout and says how much was lost.
//! (opentelemetry-rust #2583, #3176 and #2400 are the failures this guards against.)

mod support;

use std::time::{Duration, Instant};

use beacon::config::{BatchConfig, Exporter, Protocol};
use beacon::Telemetry;
use support::HttpReceiver;

fn telemetry(endpoint: &str, protocol: Protocol) -> Telemetry {
    beacon::builder()
        .env_source(|_| None)
        .service_name("shutdown-test")
        .otlp_endpoint(endpoint)
        .otlp_protocol(protocol)
        .metrics_exporter(Exporter::None)
        .build()
        .expect("pipeline builds")
}

fn emit(t: &Telemetry, name: &'static str) {
    tracing::dispatcher::with_default(&t.dispatch(), || {
        let span = tracing::info_span!("work", case = name);
        let _e = span.enter();
        tracing::info!("working");
    });
}

fn delivered(receiver: &HttpReceiver, case: &str) -> bool {
    receiver.wait_for(Duration::from_secs(10), |r| {
        r.spans().any(|s| {
            s.attributes
                .iter()
                .any(|kv| kv.key == "case" && support::any_value(kv.value.as_ref()) == case)
        })
    })
}

#[test]
fn outside_any_runtime() {
    let receiver = HttpReceiver::start();
    let t = telemetry(&receiver.endpoint(), Protocol::HttpProtobuf);
    emit(&t, "no-runtime");
    let stats = t.shutdown().expect("clean shutdown");
    assert_eq!((stats.traces.exported, stats.logs.exported), (1, 1));
    assert!(delivered(&receiver, "no-runtime"));
}

#[test]
fn inside_a_current_thread_runtime() {
    let receiver = HttpReceiver::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let t = telemetry(&receiver.endpoint(), Protocol::HttpProtobuf);
        emit(&t, "current-thread");
        let stats = t.shutdown().expect("clean shutdown");
        assert_eq!(stats.traces.exported, 1);
    });
    assert!(delivered(&receiver, "current-thread"));
}

#[test]
fn dropped_inside_a_current_thread_runtime() {
    let receiver = HttpReceiver::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let t = telemetry(&receiver.endpoint(), Protocol::HttpProtobuf);
        emit(&t, "dropped");
        drop(t);
    });
    assert!(delivered(&receiver, "dropped"));
}

#[test]
fn inside_a_multi_thread_runtime() {
    let receiver = HttpReceiver::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let t = telemetry(&receiver.endpoint(), Protocol::HttpProtobuf);
        emit(&t, "multi-thread");
        // From a worker thread of the application's runtime, too.
        tokio::spawn(async move { t.shutdown().map(|s| s.traces.exported) })
            .await
            .expect("task")
            .expect("clean shutdown");
    });
    assert!(delivered(&receiver, "multi-thread"));
}

#[test]
fn with_a_dead_collector_returns_in_time_and_counts_the_loss() {
    let port = dead_port();
    let t = beacon::builder()
        .env_source(|_| None)
        .otlp_endpoint(format!("http://127.0.0.1:{port}"))
        .otlp_protocol(Protocol::Grpc)
        .otlp_timeout(Duration::from_millis(200))
        .span_batch(BatchConfig {
            export_timeout: Duration::from_millis(500),
            ..BatchConfig::default()
        })
        .log_batch(BatchConfig {
            export_timeout: Duration::from_millis(500),
            ..BatchConfig::logs_default()
        })
        .metrics_exporter(Exporter::None)
        .shutdown_timeout(Duration::from_secs(3))
        .build()
        .expect("pipeline builds");
    for _ in 0..5 {
        emit(&t, "dead");
    }
    let started = Instant::now();
    let result = t.shutdown();
    let took = started.elapsed();
    // Bounded by the shutdown timeout (3 s), with slack for a loaded machine.
    assert!(took < Duration::from_secs(6), "shutdown took {took:?}");
    let stats = match result {
        Ok(stats) => stats,
        Err(e) => {
            assert!(e.to_string().contains("not delivered"), "{e}");
            *e.stats
        }
    };
    assert_eq!(stats.traces.accepted, 5);
    assert_eq!(stats.traces.undelivered(), 5, "{stats:?}");
    assert_eq!(stats.logs.undelivered(), 5, "{stats:?}");
}

#[test]
fn a_failed_final_metric_export_says_why() {
    let port = dead_port();
    let t = beacon::builder()
        .env_source(|_| None)
        .otlp_endpoint(format!("http://127.0.0.1:{port}"))
        .otlp_protocol(Protocol::Grpc)
        .otlp_timeout(Duration::from_millis(300))
        .metric_timeout(Duration::from_millis(500))
        .traces_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .shutdown_timeout(Duration::from_secs(3))
        .build()
        .expect("pipeline builds");
    use beacon::otel::api::metrics::MeterProvider as _;
    t.meter_provider()
        .meter("test")
        .u64_counter("jobs")
        .build()
        .add(1, &[]);
    let error = t.shutdown().expect_err("nothing listens");
    let text = error.to_string();
    assert!(text.contains("metrics:"), "{text}");
    assert!(
        text.contains("last export") && text.contains(&format!("127.0.0.1:{port}")),
        "the exporter's reason, with the endpoint: {text}"
    );
    // `Debug` is the same readable line, for `main() -> Result<(), Box<dyn Error>>`.
    assert_eq!(format!("{error:?}"), text);
}

/// A port that was free a moment ago: nothing listens there.
fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A collector that accepts connections and never answers: every export waits for its full
/// timeout. The shutdown timeout is one budget for the whole shutdown — traces, logs and the
/// final metric export together — not one per signal.
#[test]
fn a_collector_that_never_answers_cannot_stretch_shutdown_past_its_budget() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    // Accept and hold every connection, reading nothing and answering nothing.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    for protocol in [Protocol::HttpProtobuf, Protocol::Grpc] {
        let t = beacon::builder()
            .env_source(|_| None)
            .otlp_endpoint(format!("http://127.0.0.1:{port}"))
            .otlp_protocol(protocol)
            // Every export alone could take longer than the whole budget.
            .otlp_timeout(Duration::from_secs(5))
            .metric_timeout(Duration::from_secs(5))
            .shutdown_timeout(Duration::from_secs(2))
            .build()
            .expect("pipeline builds");
        emit(&t, "silent");
        use beacon::otel::api::metrics::MeterProvider as _;
        t.meter_provider()
            .meter("test")
            .u64_counter("jobs")
            .build()
            .add(1, &[]);
        let started = Instant::now();
        let _ = t.shutdown();
        let took = started.elapsed();
        // The budget, with slack for a loaded machine; one export timeout alone is 5 s.
        assert!(
            took < Duration::from_millis(3500),
            "{protocol:?}: shutdown took {took:?} against a 2 s budget"
        );
    }
}
