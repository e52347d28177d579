//! `#[beacon::instrument]` beyond what `tracing::instrument` does: `parent = expr` starts the
//! span under a remote context, `metrics` functions label the calls they make with
//! `caller.function` / `caller.module`, and methods of an `#[async_trait]` impl are instrumented
//! around the future they return (span, status and metrics cover the awaited work).

use std::fmt;

use beacon_test::{capture_global, span, MetricsCapture};
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceId};
use opentelemetry::Context;

#[beacon::instrument(parent = remote, skip(remote))]
fn handle_message(remote: &Context, body: &str) -> usize {
    body.len()
}

#[beacon::instrument(parent = *sc, skip(sc), name = "by_span_context")]
async fn handle_with_span_context(sc: &SpanContext) {}

#[beacon::instrument(metrics)]
async fn checkout(items: u32) -> u32 {
    let reserved = reserve(items).await;
    audit(reserved);
    reserved
}

#[beacon::instrument(metrics)]
async fn reserve(items: u32) -> u32 {
    tokio::task::yield_now().await;
    items
}

#[beacon::instrument(metrics)]
fn audit(items: u32) -> u32 {
    items
}

#[derive(Debug)]
struct NotFound;

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no such order")
    }
}

#[async_trait::async_trait]
trait Orders {
    async fn load(&self, id: u32) -> Result<String, NotFound>;
}

struct Db;

#[async_trait::async_trait]
impl Orders for Db {
    #[beacon::instrument(err, metrics, skip(self), name = "orders.load")]
    async fn load(&self, id: u32) -> Result<String, NotFound> {
        // Awaited work: its span must be a child of `orders.load`, which proves the span
        // covers the future, not just the call that built it.
        let n = reserve(id).await;
        if n == 0 {
            return Err(NotFound);
        }
        Ok(format!("order {n}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parent_caller_and_async_trait() {
    let cap = capture_global();
    let metrics = MetricsCapture::new();
    // The test's body runs on this thread (the runtime's workers only poll spawned tasks).
    let _functions = metrics.record_function_metrics();

    // parent = a Context extracted from a message's headers, called inside another span.
    let headers = std::collections::HashMap::from([(
        "traceparent".to_owned(),
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned(),
    )]);
    let remote = beacon::propagation::TraceContextPropagator::new().extract(&headers);
    tracing::info_span!("local.outer").in_scope(|| handle_message(&remote, "hello"));
    let handled = cap
        .wait_for_span(span::named("handle_message"))
        .await
        .expect("handle_message span");
    assert_eq!(
        handled.trace_id,
        TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").expect("hex")
    );
    assert_eq!(
        handled.parent_span_id,
        SpanId::from_hex("b7ad6b7169203331").expect("hex")
    );
    assert!(handled.attr("beacon.parent").is_none(), "records nothing");
    // Afterwards the remote context is detached again: a new span is a root.
    tracing::info_span!("after").in_scope(|| {});
    let after = cap
        .wait_for_span(span::named("after"))
        .await
        .expect("after span");
    assert_ne!(after.trace_id, handled.trace_id);

    // parent = a SpanContext, on an async fn.
    let sc = remote.span().span_context().clone();
    handle_with_span_context(&sc).await;
    let by_sc = cap
        .wait_for_span(span::named("by_span_context"))
        .await
        .expect("span");
    assert_eq!(
        (by_sc.trace_id, by_sc.parent_span_id),
        (sc.trace_id(), sc.span_id())
    );

    // caller labels: reserve and audit are called by checkout; checkout by nobody instrumented.
    assert_eq!(checkout(3).await, 3);
    let module = module_path!();
    let calls = |function: &str, caller: Option<&str>| {
        let mut want = vec![("function", function), ("result", "ok")];
        if let Some(c) = caller {
            want.push(("caller.function", c));
            want.push(("caller.module", module));
        }
        metrics
            .points("function.calls")
            .into_iter()
            .filter(|p| p.has(&want))
            .filter(|p| caller.is_some() || p.attr("caller.function").is_none())
            .filter_map(|p| p.value.sum())
            .sum::<f64>()
    };
    assert_eq!(calls("reserve", Some("checkout")), 1.0);
    assert_eq!(calls("audit", Some("checkout")), 1.0);
    assert_eq!(calls("checkout", None), 1.0);
    // The caller does not leak: a call from plain code has none.
    assert_eq!(audit(1), 1);
    assert_eq!(calls("audit", None), 1.0);

    // async_trait: span around the awaited future, error status, metrics.
    assert!(Db.load(0).await.is_err());
    assert_eq!(Db.load(5).await.expect("found"), "order 5");
    let failed = cap
        .wait_for_span(span::named("orders.load").error())
        .await
        .expect("failed load span");
    assert_eq!(
        failed
            .attr("error.type")
            .map(|v| v.as_str().into_owned())
            .as_deref(),
        Some("NotFound")
    );
    let inner = cap
        .wait_for_span(span::named("reserve").child_of(&failed))
        .await
        .expect("reserve ran inside orders.load");
    assert_eq!(inner.trace_id, failed.trace_id);
    assert_eq!(calls("reserve", Some("orders.load")), 2.0);
    let load_errors = metrics
        .point(
            "function.calls",
            &[("function", "orders.load"), ("result", "error")],
        )
        .and_then(|p| p.value.sum());
    assert_eq!(load_errors, Some(1.0));
    let concurrent = metrics
        .point("function.calls.concurrent", &[("function", "orders.load")])
        .and_then(|p| p.value.sum());
    assert_eq!(concurrent, Some(0.0));
}

#[beacon::instrument(level = "debug", target = "shop::audit", ret)]
fn describe<T: fmt::Display + fmt::Debug>(item: T) -> String {
    format!("<{item}>")
}

#[tokio::test]
async fn level_target_ret_and_generics_pass_through() {
    let cap = beacon_test::capture();
    assert_eq!(describe(42_u32), "<42>");
    assert_eq!(describe("tea"), "<tea>");
    let first = cap
        .wait_for_span(span::named("describe").attr("item", "42"))
        .await
        .expect("span of the u32 instance");
    cap.wait_for_span(span::named("describe").attr("item", "\"tea\""))
        .await
        .expect("span of the &str instance");
    // `ret` logs the return value inside the span, at the span's level and target.
    let ret = cap
        .wait_for_log(
            beacon_test::log::any()
                .attr("return", "\"<42>\"")
                .in_span(&first),
        )
        .await
        .expect("return value logged");
    assert_eq!(ret.target, "shop::audit");
    assert_eq!(
        ret.severity,
        Some(opentelemetry::logs::Severity::Debug),
        "the span's level"
    );
}
