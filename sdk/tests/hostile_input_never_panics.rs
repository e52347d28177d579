//! Property tests of every parser Beacon owns, fed seeded hostile strings: environment
//! values (every variable Beacon reads, including resource attributes and OTLP headers) and
//! the propagators' extraction. Nothing panics; a bad value is a typed error or a warning;
//! nothing grows without bound. Seeds are fixed, so a failure reproduces.

use std::collections::HashMap;

use beacon::config::vars;
use beacon::otel::api::trace::TraceContextExt as _;
use beacon::propagation::{B3Propagator, JaegerPropagator, TraceContextPropagator};
use beacon_test::HostileStrings;

#[test]
fn every_environment_variable_survives_hostile_values() {
    let mut gen = HostileStrings::new(0xBEAC0);
    let mut errors = 0;
    for name in vars::ALL {
        for _ in 0..6 {
            let value = gen.next_string(12);
            let env: HashMap<String, String> = [
                ((*name).to_owned(), value.clone()),
                // Keep the run fast: nothing is exported, but everything is parsed.
                ("OTEL_EXPORTER_OTLP_TIMEOUT".to_owned(), "100".to_owned()),
            ]
            .into_iter()
            .collect();
            let result = std::panic::catch_unwind(|| {
                beacon::builder()
                    .env_source(move |k| env.get(k).cloned())
                    .build()
            });
            match result {
                Ok(Ok(telemetry)) => drop(telemetry),
                Ok(Err(e)) => {
                    errors += 1;
                    let text = e.to_string();
                    assert!(
                        !text.is_empty() && text.len() < 2_000 + value.len(),
                        "{name}: {text}"
                    );
                }
                Err(_) => panic!("{name}={value:?} panicked"),
            }
        }
    }
    // Some values must have been rejected, or the inputs are not hostile enough.
    assert!(errors > 0);
}

#[test]
fn propagators_survive_hostile_headers() {
    let propagators: Vec<Box<dyn beacon::otel::api::propagation::TextMapPropagator>> = vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(B3Propagator::single()),
        Box::new(B3Propagator::multi()),
        Box::new(JaegerPropagator::new()),
        Box::new(beacon::otel::sdk::propagation::BaggagePropagator::new()),
    ];
    let names = [
        "traceparent",
        "tracestate",
        "b3",
        "x-b3-traceid",
        "x-b3-spanid",
        "x-b3-sampled",
        "x-b3-flags",
        "x-b3-parentspanid",
        "uber-trace-id",
        "uberctx-user",
        "baggage",
    ];
    let mut gen = HostileStrings::new(42);
    let mut valid = 0;
    for _ in 0..20_000 {
        let mut headers: HashMap<String, String> = HashMap::new();
        for _ in 0..gen.below(4) + 1 {
            headers.insert(
                names[gen.below(names.len())].to_owned(),
                gen.next_string(10),
            );
        }
        // Now and then a well-formed prefix with hostile tails.
        if gen.below(4) == 0 {
            headers.insert(
                "traceparent".to_owned(),
                format!(
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{}",
                    gen.next_string(2)
                ),
            );
        }
        for p in &propagators {
            let cx = p.extract(&headers);
            let sc = cx.span().span_context().clone();
            if sc.is_valid() {
                valid += 1;
                assert!(sc.is_remote());
                assert!(
                    sc.trace_state().header().len() <= 32 * 513,
                    "tracestate is bounded"
                );
                // Whatever was accepted re-injects as valid headers.
                let mut out: HashMap<String, String> = HashMap::new();
                p.inject_context(&cx, &mut out);
                assert!(out.values().all(|v| v.len() < 10_000));
            }
        }
    }
    assert!(valid > 0, "some inputs must be accepted");
}
