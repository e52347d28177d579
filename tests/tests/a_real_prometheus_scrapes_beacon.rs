//! A real Prometheus (exemplar storage on) scrapes an instrumented axum service through
//! `beacon_middleware::axum::metrics_route()`, while its spans go over OTLP to a real collector
//! (rotel). Then:
//! - `promtool check metrics` finds nothing to complain about in the text exposition of every
//!   metric the service emits (HTTP server and client, functions, events, process, system,
//!   runtime, pipeline);
//! - Prometheus's `query_exemplars` on `http_server_request_duration_seconds_bucket` returns
//!   trace ids of requests the service answered, and the collector received those traces;
//! - every PromQL expression of every Grafana dashboard in `deploy/` runs without error, and
//!   returns data wherever this service produces the metrics it reads.

use std::collections::HashSet;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use beacon::collectors::Collectors;
use beacon::config::{Exporter, Protocol};
use beacon::slo::Objective;
use beacon_middleware::http::{ClientLayer, ServerLayer};
use beacon_middleware::metrics::MetricsService;
use beacon_tests::prometheus::{encode, http_get, Prometheus};
use beacon_tests::rotel::Rotel;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::watch;
use tower::ServiceExt as _;

const CHECKOUT: Objective = Objective::new("checkout")
    .success_rate(99.0)
    .latency(0.25, 99.0);

#[derive(beacon::Event)]
#[event(name = "order.placed")]
struct OrderPlaced {
    order_id: String,
}

#[beacon::instrument(metrics, objective = CHECKOUT, err)]
async fn charge(order: &str) -> Result<u32, ChargeError> {
    if order.ends_with('7') {
        return Err(ChargeError);
    }
    beacon::emit(OrderPlaced {
        order_id: order.to_owned(),
    });
    Ok(42)
}

#[derive(Debug)]
struct ChargeError;

impl std::fmt::Display for ChargeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("card declined")
    }
}

type HttpClient = beacon_middleware::http::ClientService<
    Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
>;

fn client() -> HttpClient {
    tower::ServiceBuilder::new()
        .layer(ClientLayer::new())
        .service(Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>())
}

/// Panels left empty by this service, and why; every other query must return data.
const MAY_BE_EMPTY: &[(&str, &str)] = &[
    ("rpc_server_duration", "this service has no gRPC"),
    ("tokio_worker_poll_count", "needs --cfg tokio_unstable"),
    ("tokio_worker_steal_count", "needs --cfg tokio_unstable"),
    ("log_queue", "no log pipeline here"),
    ("log_processed", "no log pipeline here"),
    ("log_exported", "no log pipeline here"),
    ("log_retained", "no log pipeline here"),
    (
        "caller_function",
        "no instrumented function calls another here",
    ),
    (
        "http_response_status_code=~\"5..\"",
        "ratios divide by traffic that has passed",
    ),
];

fn skip_or_fail(what: &str) -> bool {
    assert!(!beacon_tests::in_ci(), "CI needs {what}");
    eprintln!("SKIPPED: {what} is not installed (cargo xtask ci installs it)");
    true
}

#[test]
fn a_real_prometheus_scrapes_metrics_exemplars_and_every_dashboard_query() {
    if beacon_tests::prometheus::binary().is_none() && skip_or_fail("prometheus") {
        return;
    }
    if beacon_tests::rotel::agent().is_none() && skip_or_fail("rotel") {
        return;
    }
    let rotel = Rotel::start().expect("rotel starts");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let _entered = runtime.enter();
    let telemetry = beacon::builder()
        .env_source(|k| match k {
            "OTEL_EXPORTER_PROMETHEUS_HOST" => Some("127.0.0.1".to_owned()),
            "OTEL_EXPORTER_PROMETHEUS_PORT" => Some("0".to_owned()),
            _ => None,
        })
        .service_name("shop")
        .otlp_endpoint(format!("http://127.0.0.1:{}", rotel.grpc_port))
        .otlp_protocol(Protocol::Grpc)
        .metrics_exporter(Exporter::Prometheus)
        .logs_exporter(Exporter::None)
        .prometheus_listener(true)
        // The promtool-clean naming: this test feeds the exposition to `promtool check
        // metrics`, which rejects the spec's `process_thread_count` gauge (the default names;
        // the dashboards read both).
        .prometheus_naming(beacon::metrics::Naming::Prometheus)
        .collectors(Collectors::default().system(true))
        .try_init()
        .expect("beacon installs");
    // Beacon's own listener, on the free port `OTEL_EXPORTER_PROMETHEUS_PORT=0` picked.
    let listener = telemetry.prometheus_addr().expect("own listener");

    let (scraped, mut scrapes) = watch::channel(0u64);
    let scraped = std::sync::Arc::new(scraped);
    let app = Router::new()
        .route(
            "/orders/{id}",
            get(|Path(id): Path<String>| async move {
                let stock = client()
                    .oneshot(
                        Request::get(format!("http://{}/stock/{id}", own_addr()))
                            .body(Full::new(Bytes::new()))
                            .expect("request"),
                    )
                    .await;
                match (stock, charge(&id).await) {
                    (Ok(_), Ok(_)) => (StatusCode::OK, "charged"),
                    _ => (StatusCode::INTERNAL_SERVER_ERROR, "declined"),
                }
            }),
        )
        .route("/stock/{id}", get(|| async { "in stock" }))
        .route(
            "/metrics",
            get(move |req: Request<Body>| {
                let scraped = std::sync::Arc::clone(&scraped);
                async move {
                    let response = MetricsService::new().oneshot(req).await;
                    scraped.send_modify(|n| *n += 1);
                    response
                }
            }),
        )
        .layer(ServerLayer::new().trace_response(true));
    let addr = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    });
    OWN_ADDR.set(addr).expect("set once");

    let prometheus = Prometheus::start(&addr.to_string(), "shop").expect("prometheus starts");

    // Traffic: successes, declined charges (500s), each through the client layer too.
    let trace_ids: HashSet<String> = runtime.block_on(async {
        let mut ids = HashSet::new();
        for i in 0..40 {
            let response = client()
                .oneshot(
                    Request::get(format!("http://{addr}/orders/{i}"))
                        .body(Full::new(Bytes::new()))
                        .expect("request"),
                )
                .await
                .expect("response");
            let header = response
                .headers()
                .get("traceresponse")
                .and_then(|v| v.to_str().ok())
                .expect("traceresponse header")
                .to_owned();
            let _ = response.into_body().collect().await;
            ids.insert(header.split('-').nth(1).expect("trace id").to_owned());
        }
        ids
    });
    assert_eq!(trace_ids.len(), 40);

    // Each target is scraped in turn, and a scrape is stored before the next one starts: once
    // three more scrapes have begun after the traffic, two samples of it are in the TSDB.
    let after_traffic = *scrapes.borrow();
    runtime.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(60),
            scrapes.wait_for(|n| *n >= after_traffic + 3),
        )
        .await
        .expect("Prometheus keeps scraping")
        .expect("scrape counter");
    });

    // 1. promtool on the text exposition of Beacon's own listener.
    let (status, text) = http_get(&listener.to_string(), "/metrics", None).expect("scrape");
    assert_eq!(status, 200);
    for family in [
        "http_server_request_duration_seconds",
        "http_client_request_duration_seconds",
        "function_calls_total",
        "function_calls_duration_seconds",
        "beacon_events_total",
        "process_cpu_time_seconds_total",
        "system_memory_usage_bytes",
        "tokio_workers",
        // `process.thread.count` / `process.unix.file_descriptor.count`, named as Prometheus
        // names gauges of things (`Naming::Prometheus`, asked for above), not with `_count`.
        "process_threads",
        "process_unix_file_descriptors",
        "otel_sdk_processor_span_processed_total",
        "target_info",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family} missing from\n{text}"
        );
    }
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    promtool
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let out = promtool.wait_with_output().expect("promtool ends");
    let complaints: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&out.stderr).lines())
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    assert!(
        complaints.is_empty() && out.status.success(),
        "promtool check metrics complained ({}):\n{}",
        out.status,
        complaints.join("\n")
    );

    // 2. Exemplars: Prometheus stored some, and they name traces we served and exported.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let data = prometheus
        .api(
            "query_exemplars",
            &format!(
                "query={}&start={}&end={}",
                encode("http_server_request_duration_seconds_bucket{job=\"shop\"}"),
                now - 600,
                now + 60
            ),
        )
        .expect("query_exemplars");
    let exemplar_ids: Vec<String> = data
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|series| series["exemplars"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["labels"]["trace_id"].as_str().map(str::to_owned))
        .collect();
    let served: Vec<&String> = exemplar_ids
        .iter()
        .filter(|id| trace_ids.contains(*id))
        .collect();
    assert!(
        !served.is_empty(),
        "no exemplar names a request we served; exemplars: {exemplar_ids:?}"
    );
    let wanted = served[0].clone();
    telemetry.flush().expect("spans exported");
    rotel
        .wait_for(Duration::from_secs(30), |out| out.contains(&wanted))
        .expect("the exemplar's trace reached the collector");

    // 3. Every dashboard query runs; those over metrics this service makes return data.
    let dir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/grafana/dashboards");
    let queries = beacon_tests::dashboards::queries(&dir);
    assert!(queries.len() > 40, "{} queries", queries.len());
    let mut empty = Vec::new();
    for q in &queries {
        let data = prometheus
            .api("query", &format!("query={}", encode(&q.expr)))
            .unwrap_or_else(|e| panic!("{} / {}: {e}\n{}", q.dashboard, q.panel, q.expr));
        let results = data["result"].as_array().map_or(0, Vec::len);
        if results == 0 && !MAY_BE_EMPTY.iter().any(|(part, _)| q.expr.contains(part)) {
            empty.push(format!("{} / {}: {}", q.dashboard, q.panel, q.expr));
        }
    }
    assert!(
        empty.is_empty(),
        "queries with no data although this service makes their metrics:\n{}",
        empty.join("\n")
    );
    drop(telemetry);
}

static OWN_ADDR: std::sync::OnceLock<std::net::SocketAddr> = std::sync::OnceLock::new();

fn own_addr() -> std::net::SocketAddr {
    *OWN_ADDR.get().expect("server address set before traffic")
}
