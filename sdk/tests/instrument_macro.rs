//! `#[beacon::instrument]` on sync and async functions, methods and generic functions: the
//! span (name, kind, fields, skipped arguments), `Result`-aware status with `error.type`, and
//! the autometrics-compatible `function.calls*` metrics.

use std::fmt;

use beacon_test::{capture, span, MetricsCapture};
use opentelemetry::trace::{SpanKind, Status};

#[derive(Debug)]
struct PaymentError {
    reason: &'static str,
}

impl fmt::Display for PaymentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "payment declined: {}", self.reason)
    }
}

#[beacon::instrument(err, metrics, fields(order.id = order_id), skip(card))]
fn charge(order_id: u64, card: &str, amount: f64) -> Result<f64, PaymentError> {
    if amount > 100.0 {
        return Err(PaymentError { reason: "limit" });
    }
    let _ = card;
    Ok(amount)
}

const RESERVE: beacon::slo::Objective = beacon::slo::Objective::new("inventory")
    .success_rate(99.5)
    .latency(0.1, 99.0);

#[beacon::instrument(kind = "client", name = "inventory.reserve", metrics, objective = RESERVE)]
async fn reserve(sku: &'static str, quantity: u32) -> u32 {
    let _ = sku;
    quantity
}

fn declined_is_fine(r: &Result<f64, PaymentError>) -> bool {
    matches!(r, Ok(_) | Err(PaymentError { reason: "declined" }))
}

#[beacon::instrument(err, metrics, ok_if = declined_is_fine)]
fn authorize(amount: f64) -> Result<f64, PaymentError> {
    match amount {
        a if a > 1000.0 => Err(PaymentError { reason: "fraud" }),
        a if a > 100.0 => Err(PaymentError { reason: "declined" }),
        a => Ok(a),
    }
}

#[beacon::instrument(metrics, error_if = Option::is_none)]
fn lookup(key: u32) -> Option<u32> {
    (key < 10).then_some(key)
}

struct Ledger;

impl Ledger {
    #[beacon::instrument(skip(self), err)]
    fn post(&self, entry: i64) -> Result<i64, std::io::Error> {
        if entry < 0 {
            return Err(std::io::Error::other("negative entry"));
        }
        Ok(entry)
    }
}

#[beacon::instrument(skip_all)]
fn total(values: impl IntoIterator<Item = u32>) -> u32 {
    values.into_iter().sum()
}

#[tokio::test]
async fn spans_status_and_metrics() {
    let cap = capture();
    let metrics = MetricsCapture::new();
    // This test's own provider for the function metrics, whatever the global one is.
    let _functions = metrics.record_function_metrics();

    assert_eq!(charge(7, "4242", 9.5).expect("ok"), 9.5);
    assert!(charge(8, "4242", 500.0).is_err());
    assert_eq!(reserve("apple", 3).await, 3);
    assert!(Ledger.post(-1).is_err());
    assert_eq!(total([1, 2, 3]), 6);
    assert!(authorize(5.0).is_ok());
    assert!(authorize(500.0).is_err());
    assert!(authorize(5000.0).is_err());
    assert_eq!(lookup(3), Some(3));
    assert_eq!(lookup(30), None);

    let ok = cap
        .wait_for_span(span::named("charge").attr("order.id", 7_i64))
        .await
        .expect("charge span");
    assert_eq!(ok.status, Status::Unset);
    assert!(ok.attr("card").is_none(), "skipped argument");
    assert!(ok.attr("error.type").is_none());
    let failed = cap
        .wait_for_span(span::named("charge").attr("order.id", 8_i64))
        .await
        .expect("failed charge span");
    assert_eq!(failed.status, Status::error("payment declined: limit"));
    assert_eq!(
        failed
            .attr("error.type")
            .map(|v| v.as_str().into_owned())
            .as_deref(),
        Some("PaymentError")
    );

    let client = cap
        .wait_for_span(span::named("inventory.reserve"))
        .await
        .expect("reserve span");
    assert_eq!(client.kind, SpanKind::Client);
    let post = cap
        .wait_for_span(span::named("post"))
        .await
        .expect("post span");
    assert_eq!(
        post.attr("error.type")
            .map(|v| v.as_str().into_owned())
            .as_deref(),
        Some("Other"),
        "an io::Error reports its kind"
    );
    assert!(post.is_error());
    cap.wait_for_span(span::named("total"))
        .await
        .expect("total span");

    let module = module_path!();
    let calls = |function: &str, result: &str| {
        metrics
            .point(
                "function.calls",
                &[
                    ("function", function),
                    ("module", module),
                    ("result", result),
                ],
            )
            .and_then(|p| p.value.sum())
    };
    assert_eq!(calls("charge", "ok"), Some(1.0));
    assert_eq!(calls("charge", "error"), Some(1.0));
    assert_eq!(calls("inventory.reserve", "ok"), Some(1.0));
    let with_objective = metrics
        .point("function.calls", &[("function", "inventory.reserve")])
        .expect("reserve calls");
    assert!(with_objective.has(&[
        ("objective.name", "inventory"),
        ("objective.percentile", "99.5"),
        ("objective.latency_threshold", "0.1"),
    ]));
    assert!(metrics
        .point(
            "function.calls.duration",
            &[
                ("function", "inventory.reserve"),
                ("objective.name", "inventory")
            ]
        )
        .is_some());
    assert_eq!(calls("post", "ok"), None, "no metrics without the option");
    assert_eq!(
        calls("authorize", "ok"),
        Some(2.0),
        "declined is an expected outcome"
    );
    assert_eq!(calls("authorize", "error"), Some(1.0));
    assert_eq!(calls("lookup", "ok"), Some(1.0));
    assert_eq!(
        calls("lookup", "error"),
        Some(1.0),
        "error_if on a non-Result"
    );
    let duration = metrics
        .point("function.calls.duration", &[("function", "charge")])
        .expect("duration");
    assert_eq!(duration.unit, "s");
    assert_eq!(duration.value.count(), Some(2));
    let concurrent = metrics
        .point("function.calls.concurrent", &[("function", "charge")])
        .expect("concurrent");
    assert_eq!(concurrent.value.sum(), Some(0.0));
}
