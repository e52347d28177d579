//! An in-process OTLP/HTTP receiver for tests: decodes protobuf or JSON (gzip or not), keeps
//! what arrived, and wakes waiters the moment new data lands — no polling, no sleeping.

#![allow(dead_code, unreachable_pub)]

use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, Response};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

/// Everything the receiver was sent.
#[derive(Default, Debug)]
pub struct Received {
    pub traces: Vec<ExportTraceServiceRequest>,
    pub metrics: Vec<ExportMetricsServiceRequest>,
    pub logs: Vec<ExportLogsServiceRequest>,
    /// `(path, content-type, content-encoding, all headers)` of each request.
    pub requests: Vec<(String, String, String, hyper::HeaderMap)>,
    /// When each request arrived.
    pub arrivals: Vec<Instant>,
}

impl Received {
    pub fn span_names(&self) -> Vec<String> {
        self.spans().map(|s| s.name.clone()).collect()
    }

    pub fn spans(&self) -> impl Iterator<Item = &opentelemetry_proto::tonic::trace::v1::Span> {
        self.traces
            .iter()
            .flat_map(|r| &r.resource_spans)
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
    }

    pub fn log_records(
        &self,
    ) -> impl Iterator<Item = &opentelemetry_proto::tonic::logs::v1::LogRecord> {
        self.logs
            .iter()
            .flat_map(|r| &r.resource_logs)
            .flat_map(|rl| &rl.scope_logs)
            .flat_map(|sl| &sl.log_records)
    }

    pub fn metric_names(&self) -> Vec<String> {
        self.metrics
            .iter()
            .flat_map(|r| &r.resource_metrics)
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .map(|m| m.name.clone())
            .collect()
    }

    /// The resource attributes of the first span batch, as strings.
    pub fn trace_resource(&self) -> Vec<(String, String)> {
        self.traces
            .iter()
            .flat_map(|r| &r.resource_spans)
            .filter_map(|rs| rs.resource.as_ref())
            .flat_map(|r| &r.attributes)
            .map(|kv| (kv.key.clone(), any_value(kv.value.as_ref())))
            .collect()
    }
}

pub fn any_value(v: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    match v.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(Value::BoolValue(b)) => b.to_string(),
        other => format!("{other:?}"),
    }
}

struct Shared {
    received: Mutex<Received>,
    arrived: Condvar,
    /// Answers for the next requests, in order: status, `Retry-After`, body (protobuf).
    script: Mutex<std::collections::VecDeque<Scripted>>,
}

/// A scripted answer: status, `Retry-After`, body.
type Scripted = (u16, Option<&'static str>, Vec<u8>);

/// The receiver. Runs on a runtime of its own, so it serves whatever the test's runtime is
/// doing (even a current-thread runtime blocked in `shutdown()`).
pub struct HttpReceiver {
    addr: SocketAddr,
    scheme: &'static str,
    shared: Arc<Shared>,
    _runtime: tokio::runtime::Runtime,
}

impl HttpReceiver {
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// An `https` receiver presenting `cert_pem` (chain) with `key_pem`.
    pub fn start_tls(cert_pem: &str, key_pem: &str) -> Self {
        use rustls::pki_types::pem::PemObject as _;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("cert pem");
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("key pem");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("tls versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server cert");
        Self::start_with(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
    }

    fn start_with(tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("receiver runtime");
        let shared = Arc::new(Shared {
            received: Mutex::new(Received::default()),
            arrived: Condvar::new(),
            script: Mutex::default(),
        });
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let tls_on = tls.is_some();
        let state = Arc::clone(&shared);
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = Arc::clone(&state);
                let tls = tls.clone();
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req| handle(Arc::clone(&state), req));
                    let http = hyper::server::conn::http1::Builder::new();
                    match tls {
                        Some(acceptor) => {
                            let Ok(stream) = acceptor.accept(stream).await else {
                                return;
                            };
                            let io = hyper_util::rt::TokioIo::new(stream);
                            let _ = http.serve_connection(io, service).await;
                        }
                        None => {
                            let io = hyper_util::rt::TokioIo::new(stream);
                            let _ = http.serve_connection(io, service).await;
                        }
                    }
                });
            }
        });
        let scheme = if tls_on { "https" } else { "http" };
        Self {
            addr,
            scheme,
            shared,
            _runtime: runtime,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Waits until `done` holds for what was received, or `timeout` passes; returns whether it
    /// held. Woken by each arrival.
    pub fn wait_for(&self, timeout: Duration, done: impl Fn(&Received) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut guard = self.shared.received.lock().expect("lock");
        loop {
            if done(&guard) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            guard = self
                .shared
                .arrived
                .wait_timeout(guard, left)
                .expect("lock")
                .0;
        }
    }

    /// Answers the next request with `status` (and `Retry-After`, and `body`) instead of 200;
    /// a request answered so is recorded in `requests` and `arrivals` but its data is not kept.
    pub fn respond_next(&self, status: u16, retry_after: Option<&'static str>, body: Vec<u8>) {
        self.shared
            .script
            .lock()
            .expect("lock")
            .push_back((status, retry_after, body));
    }

    pub fn with<R>(&self, f: impl FnOnce(&Received) -> R) -> R {
        f(&self.shared.received.lock().expect("lock"))
    }
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let path = req.uri().path().to_owned();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let content_type = header("content-type");
    let encoding = header("content-encoding");
    let headers = req.headers().clone();
    let mut body = req.into_body().collect().await?.to_bytes().to_vec();
    if encoding == "gzip" {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .expect("gzip body");
        body = out;
    }
    let json = content_type.contains("json");
    let scripted = shared.script.lock().expect("lock").pop_front();
    {
        let mut r = shared.received.lock().expect("lock");
        r.arrivals.push(Instant::now());
        match path.as_str() {
            _ if scripted
                .as_ref()
                .is_some_and(|(status, _, _)| *status != 200) => {}
            "/v1/traces" => r.traces.push(decode(&body, json)),
            "/v1/metrics" => r.metrics.push(decode(&body, json)),
            "/v1/logs" => r.logs.push(decode(&body, json)),
            _ => {}
        }
        r.requests
            .push((path, content_type.clone(), encoding, headers));
    }
    shared.arrived.notify_all();
    if let Some((status, retry_after, body)) = scripted {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
        response.headers_mut().insert(
            "content-type",
            hyper::header::HeaderValue::from_static("application/x-protobuf"),
        );
        if let Some(after) = retry_after {
            response.headers_mut().insert(
                "retry-after",
                hyper::header::HeaderValue::from_static(after),
            );
        }
        return Ok(response);
    }
    let reply = if json {
        Bytes::from_static(b"{}")
    } else {
        Bytes::new()
    };
    let mut response = Response::new(Full::new(reply));
    if let Ok(v) = content_type.parse() {
        response.headers_mut().insert("content-type", v);
    }
    Ok(response)
}

fn decode<M: prost::Message + Default + serde::de::DeserializeOwned>(body: &[u8], json: bool) -> M {
    if json {
        serde_json::from_slice(body).expect("valid OTLP JSON")
    } else {
        M::decode(body).expect("valid OTLP protobuf")
    }
}

fn number(p: &opentelemetry_proto::tonic::metrics::v1::NumberDataPoint) -> f64 {
    use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;
    match p.value {
        Some(Value::AsInt(i)) => i as f64,
        Some(Value::AsDouble(d)) => d,
        None => f64::NAN,
    }
}

/// The latest value of `name`'s point whose attributes are exactly `attrs` (for a histogram,
/// its count).
pub fn latest(r: &Received, name: &str, attrs: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for m in r
        .metrics
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .filter(|m| m.name == name)
    {
        let points: Vec<(f64, &Vec<_>)> = match &m.data {
            Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::Sum(s)) => s
                .data_points
                .iter()
                .map(|p| (number(p), &p.attributes))
                .collect(),
            Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::Gauge(g)) => g
                .data_points
                .iter()
                .map(|p| (number(p), &p.attributes))
                .collect(),
            Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::Histogram(h)) => h
                .data_points
                .iter()
                .map(|p| (p.count as f64, &p.attributes))
                .collect(),
            _ => Vec::new(),
        };
        for (value, point_attrs) in points {
            let have: std::collections::HashMap<String, String> = point_attrs
                .iter()
                .map(|kv| (kv.key.clone(), any_value(kv.value.as_ref())))
                .collect();
            let exact = have.len() == attrs.len();
            if exact
                && attrs
                    .iter()
                    .all(|(k, v)| have.get(*k).map(String::as_str) == Some(*v))
            {
                found = Some(value);
            }
        }
    }
    found
}

/// A builder that reads its `OTEL_*` configuration from `vars` only (never the process
/// environment).
pub fn env_builder(vars: &[(&str, String)]) -> beacon::Builder {
    let env: std::collections::HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    beacon::builder().env_source(move |k| env.get(k).cloned())
}
