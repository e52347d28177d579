//! W3C Trace Context Level 2, §3.2.2.4 (trace-flags, "Random Trace ID Flag"): "The second
//! least significant bit of the trace-flags field denotes the random-trace-id flag. If that
//! flag is set, at least the right-most 7 bytes of the trace-id MUST be random". Beacon sets
//! it on the `traceparent` of traces whose id it generated (randomly), keeps it for traces
//! that arrived with it (also on spans its sampler drops, whose flags the SDK resets), and
//! never sets it for a trace that arrived without it.

use std::collections::HashMap;

use beacon::config::{Exporter, Sampler};
use beacon::propagation::SpanExt as _;

fn pipeline(sampler: Sampler) -> beacon::Telemetry {
    beacon::builder()
        .traces_exporter(Exporter::None)
        .metrics_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .sampler(sampler)
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The flags of the `traceparent` injected inside `span`.
fn flags_sent(telemetry: &beacon::Telemetry, span: &tracing::Span) -> String {
    let mut headers: HashMap<String, String> = HashMap::new();
    span.in_scope(|| telemetry.propagator().inject(&mut headers));
    let parent = headers.get("traceparent").cloned().unwrap_or_default();
    parent.rsplit('-').next().unwrap_or_default().to_owned()
}

/// A `traceparent` of trace `n` (each case its own trace: a trace id once known to be random
/// stays so).
fn incoming(n: u8, flags: &str) -> HashMap<String, String> {
    HashMap::from([(
        "traceparent".to_owned(),
        format!("00-0af7651916cd43dd8448eb211c8031{n:02x}-b7ad6b7169203331-{flags}"),
    )])
}

#[test]
fn a_trace_started_here_is_sent_as_random() {
    let telemetry = pipeline(Sampler::AlwaysOn);
    tracing::dispatcher::with_default(&telemetry.dispatch(), || {
        let root = tracing::info_span!("job");
        assert_eq!(flags_sent(&telemetry, &root), "03", "sampled and random");
        let child = root.in_scope(|| tracing::info_span!("step"));
        assert_eq!(flags_sent(&telemetry, &child), "03");
    });
    let dropped = pipeline(Sampler::AlwaysOff);
    tracing::dispatcher::with_default(&dropped.dispatch(), || {
        let root = tracing::info_span!("job");
        assert_eq!(
            flags_sent(&dropped, &root),
            "02",
            "not sampled, still random"
        );
    });
}

#[test]
fn an_incoming_flag_is_kept_and_never_invented() {
    for (n, (sampler, arrived, sent)) in [
        (Sampler::ParentBasedAlwaysOn, "03", "03"),
        (Sampler::ParentBasedAlwaysOn, "01", "01"),
        // Dropped by the sampler: the SDK gives the span no flags; the random one is kept.
        (Sampler::ParentBasedAlwaysOn, "02", "02"),
        (Sampler::ParentBasedAlwaysOn, "00", "00"),
        (Sampler::AlwaysOff, "03", "02"),
    ]
    .into_iter()
    .enumerate()
    {
        let telemetry = pipeline(sampler);
        tracing::dispatcher::with_default(&telemetry.dispatch(), || {
            let span = tracing::info_span!("handle");
            span.set_parent(telemetry.propagator().extract(&incoming(n as u8, arrived)))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                flags_sent(&telemetry, &span),
                sent,
                "{sampler:?}, arrived with {arrived}"
            );
        });
    }
}
