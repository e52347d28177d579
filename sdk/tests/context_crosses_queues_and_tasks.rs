//! Trace context crosses a message queue (inject into message headers, extract on the
//! consumer) and spawned tokio tasks: producer, consumer and task spans share one trace.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use beacon::config::{Exporter, Propagator};
use beacon::propagation::SpanExt as _;
use support::HttpReceiver;

fn service(name: &str, receiver: &HttpReceiver, propagators: &[Propagator]) -> beacon::Telemetry {
    beacon::builder()
        .env_source(|_| None)
        .service_name(name)
        .otlp_endpoint(receiver.endpoint())
        .propagators(propagators.iter().copied())
        .metrics_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .build()
        .expect("pipeline builds")
}

fn producer_and_consumer_share_a_trace(propagators: &[Propagator]) {
    let receiver = HttpReceiver::start();
    let producer = service("producer", &receiver, propagators);
    let consumer = service("consumer", &receiver, propagators);
    let (queue, inbox) = std::sync::mpsc::channel::<(HashMap<String, String>, String)>();

    tracing::dispatcher::with_default(&producer.dispatch(), || {
        let span = tracing::info_span!("publish", otel.kind = "producer");
        let _e = span.enter();
        let mut headers = HashMap::new();
        producer.propagator().inject(&mut headers);
        queue.send((headers, "order-7".into())).expect("send");
    });
    let consumer_thread = std::thread::spawn({
        let dispatch = consumer.dispatch();
        let propagator = consumer.propagator();
        move || {
            tracing::dispatcher::with_default(&dispatch, || {
                let (headers, body) = inbox.recv().expect("a message");
                let span = tracing::info_span!("process", otel.kind = "consumer", message = %body);
                span.set_parent(propagator.extract(&headers))
                    .expect("parent set before start");
                let _e = span.enter();
            });
        }
    });
    consumer_thread.join().expect("consumer");
    producer.shutdown().expect("producer shutdown");
    consumer.shutdown().expect("consumer shutdown");

    assert!(receiver.wait_for(Duration::from_secs(10), |r| r.spans().count() == 2));
    receiver.with(|r| {
        let publish = r.spans().find(|s| s.name == "publish").expect("publish");
        let process = r.spans().find(|s| s.name == "process").expect("process");
        assert_eq!(
            process.trace_id, publish.trace_id,
            "one trace across the queue"
        );
        assert_eq!(
            process.parent_span_id, publish.span_id,
            "consumer is the producer's child"
        );
    });
}

#[test]
fn w3c_tracecontext_carries_the_trace_through_message_headers() {
    producer_and_consumer_share_a_trace(&[Propagator::TraceContext, Propagator::Baggage]);
}

#[test]
fn b3_single_header_carries_the_trace() {
    producer_and_consumer_share_a_trace(&[Propagator::B3]);
}

#[test]
fn b3_multi_headers_carry_the_trace() {
    producer_and_consumer_share_a_trace(&[Propagator::B3Multi]);
}

#[test]
fn jaeger_header_carries_the_trace() {
    producer_and_consumer_share_a_trace(&[Propagator::Jaeger]);
}

#[test]
fn a_spawned_task_stays_in_the_callers_trace() {
    let receiver = HttpReceiver::start();
    let t = service("tasks", &receiver, &[Propagator::TraceContext]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let _default = tracing::dispatcher::set_default(&t.dispatch());
    rt.block_on(async {
        let span = tracing::info_span!("handler");
        let task = {
            let _e = span.enter();
            beacon::propagation::spawn(async {
                let child = tracing::info_span!("background");
                let _c = child.enter();
            })
        };
        task.await.expect("task");
        drop(span);
    });
    t.shutdown().expect("shutdown");
    assert!(receiver.wait_for(Duration::from_secs(10), |r| r.spans().count() == 2));
    receiver.with(|r| {
        let handler = r.spans().find(|s| s.name == "handler").expect("handler");
        let background = r
            .spans()
            .find(|s| s.name == "background")
            .expect("background");
        assert_eq!(background.trace_id, handler.trace_id);
        assert_eq!(background.parent_span_id, handler.span_id);
    });
}
