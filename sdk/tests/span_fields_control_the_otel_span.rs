//! `otel.name`, `otel.kind` and `otel.status_code` fields shape the exported span, and an
//! `Err` returned from an `#[instrument(err)]` function marks the span as an error.

mod support;

use std::time::Duration;

use beacon::config::Exporter;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use support::HttpReceiver;

#[derive(Debug)]
struct PaymentDeclined;

impl std::fmt::Display for PaymentDeclined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("card declined")
    }
}

#[tracing::instrument(err)]
fn charge(amount: u64) -> Result<(), PaymentDeclined> {
    if amount > 100 {
        Err(PaymentDeclined)
    } else {
        Ok(())
    }
}

#[test]
fn special_fields_and_errors_reach_the_span() {
    let receiver = HttpReceiver::start();
    let t = beacon::builder()
        .env_source(|_| None)
        .otlp_endpoint(receiver.endpoint())
        .metrics_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .build()
        .expect("pipeline builds");
    tracing::dispatcher::with_default(&t.dispatch(), || {
        let renamed = tracing::info_span!(
            "ignored",
            otel.name = "GET /orders/{id}",
            otel.kind = "client"
        );
        drop(renamed.entered());
        let failed = tracing::info_span!("marked", otel.status_code = "ERROR");
        drop(failed.entered());
        let ok = charge(5);
        let err = charge(500);
        assert!(ok.is_ok() && err.is_err());
    });
    t.shutdown().expect("shutdown");
    assert!(receiver.wait_for(Duration::from_secs(10), |r| r.spans().count() == 4));
    receiver.with(|r| {
        let renamed = r
            .spans()
            .find(|s| s.name == "GET /orders/{id}")
            .expect("renamed span");
        assert_eq!(renamed.kind, SpanKind::Client as i32);
        let marked = r.spans().find(|s| s.name == "marked").expect("marked span");
        assert_eq!(
            marked.status.as_ref().map(|s| s.code),
            Some(StatusCode::Error as i32)
        );
        let charges: Vec<_> = r.spans().filter(|s| s.name == "charge").collect();
        assert_eq!(charges.len(), 2);
        let codes: Vec<i32> = charges
            .iter()
            .map(|s| s.status.as_ref().map_or(0, |st| st.code))
            .collect();
        assert!(
            codes.contains(&(StatusCode::Error as i32)),
            "the Err call is an error: {codes:?}"
        );
        assert!(
            codes.contains(&(StatusCode::Unset as i32)),
            "the Ok call stays unset: {codes:?}"
        );
    });
}
