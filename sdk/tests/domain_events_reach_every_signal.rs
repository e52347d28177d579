//! `beacon::emit` with a derived event, through an installed pipeline, as a real OTLP receiver
//! gets it: a span event on the current span, a log record with `event.name`, the fields (a
//! sensitive one redacted, a skipped one absent) and the trace ids, and a `beacon.events`
//! count; per-type switches turn outputs off.

mod support;

use std::time::Duration;

use support::{any_value, latest, HttpReceiver};

#[derive(Debug)]
enum State {
    Open,
}

#[derive(beacon::Event)]
#[event(name = "circuit_breaker.state_change", severity = "warn")]
struct StateChange {
    service_id: String,
    failures: u32,
    ratio: f64,
    half_open: bool,
    #[event(debug)]
    to: State,
    #[event(sensitive)]
    api_key: String,
    #[event(skip)]
    internal: Vec<u8>,
    #[event(rename = "peer.name")]
    peer: Option<&'static str>,
}

#[derive(beacon::Event)]
#[event(name = "cache.hit", log = false, metric = false)]
struct CacheHit {
    key: String,
}

#[test]
fn one_emit_makes_a_span_event_a_log_record_and_a_count() {
    let receiver = HttpReceiver::start();
    let telemetry = beacon::builder()
        .env_source(|_| None)
        .otlp_endpoint(receiver.endpoint())
        .otlp_protocol(beacon::config::Protocol::HttpProtobuf)
        .collectors(beacon::collectors::Collectors::none())
        .try_init()
        .expect("installed");
    tracing::info_span!("breaker.trip").in_scope(|| {
        for _ in 0..2 {
            beacon::emit(StateChange {
                service_id: "payments".into(),
                failures: 3,
                ratio: 0.5,
                half_open: false,
                to: State::Open,
                api_key: "sk-live-123".into(),
                internal: vec![1, 2, 3],
                peer: Some("db-1"),
            });
        }
        beacon::emit(CacheHit {
            key: "user:7".into(),
        });
    });
    telemetry.shutdown().expect("clean shutdown");

    assert!(receiver.wait_for(Duration::from_secs(10), |r| {
        r.spans().count() == 1
            && r.log_records().count() >= 2
            && latest(
                r,
                "beacon.events",
                &[("event.name", "circuit_breaker.state_change")],
            )
            .is_some()
    }));
    receiver.with(|r| {
        let span = r.spans().next().expect("span");
        let names: Vec<&str> = span.events.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "circuit_breaker.state_change",
                "circuit_breaker.state_change",
                "cache.hit"
            ]
        );

        let logs: Vec<_> = r
            .log_records()
            .filter(|l| l.event_name == "circuit_breaker.state_change")
            .collect();
        assert_eq!(logs.len(), 2);
        let log = logs[0];
        assert_eq!(log.severity_number, 13, "WARN");
        assert_eq!(log.trace_id, span.trace_id);
        assert_eq!(log.span_id, span.span_id);
        let attr = |k: &str| {
            log.attributes
                .iter()
                .find(|kv| kv.key == k)
                .map(|kv| any_value(kv.value.as_ref()))
        };
        // The name is the record's EventName field, not the deprecated `event.name`
        // attribute (logs/data-model.md, "Field: EventName"; semconv: `event.name` is
        // deprecated, "use the log record's EventName instead").
        assert_eq!(attr("event.name"), None);
        assert_eq!(attr("service_id").as_deref(), Some("payments"));
        assert_eq!(attr("failures").as_deref(), Some("3"));
        assert_eq!(attr("ratio").as_deref(), Some("0.5"));
        assert_eq!(attr("half_open").as_deref(), Some("false"));
        assert_eq!(attr("to").as_deref(), Some("Open"));
        assert_eq!(attr("api_key").as_deref(), Some("REDACTED"));
        assert_eq!(attr("peer.name").as_deref(), Some("db-1"));
        assert_eq!(attr("internal"), None);
        assert!(!format!("{:?}", r.logs).contains("sk-live-123"));

        assert!(
            r.log_records().all(|l| l.event_name != "cache.hit"),
            "log = false"
        );
        assert_eq!(
            latest(
                r,
                "beacon.events",
                &[("event.name", "circuit_breaker.state_change")]
            ),
            Some(2.0)
        );
        assert_eq!(
            latest(r, "beacon.events", &[("event.name", "cache.hit")]),
            None,
            "metric = false"
        );
    });
}

#[test]
fn a_scoped_dispatch_gets_the_span_event_even_after_an_emit_with_no_subscriber() {
    // The first emit runs with no subscriber at all: the cheap path.
    std::thread::spawn(|| {
        beacon::emit(CacheHit {
            key: "early".into(),
        })
    })
    .join()
    .expect("no panic");
    let receiver = HttpReceiver::start();
    let telemetry = beacon::builder()
        .env_source(|_| None)
        .otlp_endpoint(receiver.endpoint())
        .otlp_protocol(beacon::config::Protocol::HttpProtobuf)
        .collectors(beacon::collectors::Collectors::none())
        .build()
        .expect("pipeline builds");
    tracing::dispatcher::with_default(&telemetry.dispatch(), || {
        tracing::info_span!("scoped").in_scope(|| beacon::emit(CacheHit { key: "k".into() }));
    });
    telemetry.shutdown().expect("clean shutdown");
    assert!(receiver.wait_for(Duration::from_secs(10), |r| r.spans().count() == 1));
    receiver.with(|r| {
        let span = r.spans().next().expect("span");
        assert_eq!(span.name, "scoped");
        let names: Vec<&str> = span.events.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["cache.hit"]);
    });
}
