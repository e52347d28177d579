//! A collector that accepts connections but stops answering (a TCP proxy that stalls in front
//! of a real rotel): exports time out, the spans are held, nothing blocks the application, and
//! when the collector answers again every span is delivered exactly once.

use std::time::Duration;

use beacon::config::{BatchConfig, Exporter, Protocol};
use beacon_tests::rotel::Rotel;
use beacon_tests::stall::StallProxy;

const NAME_LINE: &str = "Name           : stall.span";

#[test]
fn spans_made_while_the_collector_hangs_are_delivered_once_it_answers() {
    if beacon_tests::rotel::agent().is_none() && !beacon_tests::in_ci() {
        eprintln!("SKIPPED: rotel-agent not installed (cargo xtask ci installs it)");
        return;
    }
    let rotel = match Rotel::start() {
        Ok(r) => r,
        Err(e) if beacon_tests::in_ci() => panic!("CI needs a real collector: {e}"),
        Err(e) => {
            eprintln!("SKIPPED: {e}");
            return;
        }
    };
    let proxy = StallProxy::start(rotel.grpc_port).expect("proxy");
    let t = beacon::builder()
        .env_source(|_| None)
        .service_name("stall-test")
        .otlp_endpoint(format!("http://127.0.0.1:{}", proxy.port()))
        .otlp_protocol(Protocol::Grpc)
        .otlp_timeout(Duration::from_millis(300))
        .span_batch(BatchConfig {
            scheduled_delay: Duration::from_millis(100),
            export_timeout: Duration::from_millis(500),
            ..BatchConfig::default()
        })
        .metrics_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .build()
        .expect("pipeline builds");
    let emit = |from: i64, n: i64| {
        tracing::dispatcher::with_default(&t.dispatch(), || {
            for seq in from..from + n {
                tracing::info_span!("stall.span", seq).in_scope(|| {});
            }
        });
    };

    emit(0, 50);
    t.flush().expect("delivered while healthy");

    proxy.stall();
    emit(50, 200);
    assert!(t.flush().is_err(), "the collector hangs");
    let during = t.stats().traces;
    assert_eq!((during.exported, during.retained), (50, 200), "{during:?}");
    assert_eq!(
        during.last_error,
        Some(beacon_exporter::batch::ExportErrorKind::Timeout)
    );

    proxy.resume();
    // The channel reconnects after the reset; the held spans go out on the next flushes.
    let mut delivered = false;
    for _ in 0..20 {
        if t.flush().is_ok() && t.stats().traces.retained == 0 {
            delivered = true;
            break;
        }
    }
    assert!(delivered, "{:?}", t.stats());
    let stats = t.shutdown().expect("clean shutdown").traces;
    assert_eq!(
        (
            stats.accepted,
            stats.exported,
            stats.dropped,
            stats.failed,
            stats.retained
        ),
        (250, 250, 0, 0, 0),
        "{stats:?}"
    );
    rotel
        .wait_for(Duration::from_secs(20), |out| {
            out.matches(NAME_LINE).count() >= 250
        })
        .expect("rotel shows all 250");
    assert_eq!(
        rotel.output().matches(NAME_LINE).count(),
        250,
        "each span exactly once"
    );
}
