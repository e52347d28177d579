//! The metric instruments of one side of an exchange, created once per layer, and the
//! server's bound series.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use opentelemetry::metrics::{BoundHistogram, BoundUpDownCounter, Histogram, Meter, UpDownCounter};

use beacon::metrics::{exemplars, Reservoir};

use super::exchange::Side;
use super::semconv::DURATION_BUCKETS;

/// The SDK's default explicit buckets, which the RPC conventions leave in place, written out
/// so the exemplar reservoir aligns with them.
const RPC_DURATION_BUCKETS_MS: &[f64] = &[
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

/// A route's metric series, bound once: recording through a bound handle skips the SDK's
/// per-measurement work of hashing the attribute set and looking it up (about 150 ns per
/// measurement, four per request; see BENCHMARKS.md).
///
/// One per route template and method (the server layer's `RouteNames`): `active_requests` per
/// scheme, and the duration and body-size histograms per scheme, protocol version and status
/// code as they occur, at most [`BOUND_SERIES`] of those; others are recorded unbound. A
/// handle is bound with the first exchange's attributes, which every exchange with the same
/// key has too (method and route from the cache entry, the rest in the key; `error.type`
/// follows from the status). An exchange whose attributes could differ (a failure that adds
/// its own `error.type`) is recorded unbound.
#[derive(Default)]
pub(crate) struct BoundRoute {
    pub(crate) active: [OnceLock<BoundUpDownCounter<i64>>; 2],
    pub(crate) series: [OnceLock<BoundSeries>; BOUND_SERIES],
}

/// How many (scheme, version, status) series a route and method keeps bound.
const BOUND_SERIES: usize = 8;

pub(crate) struct BoundSeries {
    key: u32,
    pub(crate) duration: OnceLock<BoundHistogram<f64>>,
    pub(crate) request_size: OnceLock<BoundHistogram<u64>>,
    pub(crate) response_size: OnceLock<BoundHistogram<u64>>,
}

impl BoundRoute {
    pub(crate) fn series(&self, key: u32) -> Option<&BoundSeries> {
        self.series.iter().find_map(|slot| {
            let series = slot.get_or_init(|| BoundSeries {
                key,
                duration: OnceLock::new(),
                request_size: OnceLock::new(),
                response_size: OnceLock::new(),
            });
            (series.key == key).then_some(series)
        })
    }
}

/// The part of a bound series' key known when the request arrives: the scheme (`http` 0,
/// `https` 1; other schemes are not bound) and `network.protocol.version`.
pub(crate) fn bound_key(scheme: &str, version: &str) -> Option<u32> {
    let scheme = match scheme {
        "http" => 0,
        "https" => 1,
        _ => return None,
    };
    let version = match version {
        "1.1" => 0,
        "2" => 1,
        "1.0" => 2,
        "3" => 3,
        "0.9" => 4,
        _ => 5,
    };
    Some(scheme << 20 | version << 16)
}

/// The metrics of one side, created once per layer.
#[derive(Debug, Clone)]
pub(crate) struct Instruments {
    pub(crate) duration: Histogram<f64>,
    /// Seconds are multiplied by this: 1 for `s`, 1000 for the RPC conventions' `ms`.
    pub(crate) duration_scale: f64,
    pub(crate) active: Option<UpDownCounter<i64>>,
    pub(crate) request_size: Option<Histogram<u64>>,
    pub(crate) response_size: Option<Histogram<u64>>,
    /// Exemplars of `duration` (see `beacon::metrics::offer_exemplar`).
    pub(crate) exemplars: Arc<Reservoir>,
    /// gRPC only: which RPC conventions the span and metrics follow.
    pub(crate) rpc: RpcConventions,
    /// gRPC with `rpc/dup`: the stable `rpc.*.call.duration` (seconds) beside the v1.37 one.
    pub(crate) stable_duration: Option<Histogram<f64>>,
}

/// Which RPC semantic conventions the gRPC layers follow (`OTEL_SEMCONV_STABILITY_OPT_IN`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RpcConventions {
    /// v1.37 (the default, as the conventions ask of instrumentations that emitted it
    /// before): `rpc.system`, `rpc.service`, `rpc.method` (the method alone),
    /// `rpc.grpc.status_code`, `rpc.{server,client}.duration` in milliseconds.
    #[default]
    V1_37,
    /// The stable conventions (`rpc`): `rpc.system.name`, `rpc.method`
    /// (`package.Service/Method`), `rpc.response.status_code` (`OK`, `UNAVAILABLE`, …),
    /// `error.type`, `rpc.{server,client}.call.duration` in seconds.
    Stable,
    /// Both (`rpc/dup`): both metrics, and both attribute sets on the span (where a name is
    /// shared, `rpc.method`, the stable value).
    Both,
}

impl RpcConventions {
    /// From `OTEL_SEMCONV_STABILITY_OPT_IN` (a comma-separated list): `rpc/dup` → [`Self::Both`]
    /// (it wins over `rpc`), `rpc` → [`Self::Stable`], otherwise [`Self::V1_37`].
    pub fn from_env() -> Self {
        Self::parse(
            std::env::var("OTEL_SEMCONV_STABILITY_OPT_IN")
                .ok()
                .as_deref(),
        )
    }

    pub(crate) fn parse(value: Option<&str>) -> Self {
        let values = || value.unwrap_or("").split(',').map(str::trim);
        if values().any(|v| v == "rpc/dup") {
            RpcConventions::Both
        } else if values().any(|v| v == "rpc") {
            RpcConventions::Stable
        } else {
            RpcConventions::V1_37
        }
    }

    pub(crate) fn legacy(self) -> bool {
        self != RpcConventions::Stable
    }

    pub(crate) fn stable(self) -> bool {
        self != RpcConventions::V1_37
    }
}

/// The name of a gRPC status code, as `rpc.response.status_code` and `error.type` carry it.
pub(crate) fn grpc_code_name(code: u16) -> Cow<'static, str> {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    match NAMES.get(usize::from(code)) {
        Some(name) => Cow::Borrowed(name),
        None => Cow::Owned(code.to_string()),
    }
}

impl Instruments {
    /// The RPC duration histograms: `rpc.{server,client}.duration` in milliseconds (v1.37),
    /// `rpc.{server,client}.call.duration` in seconds (stable), or both.
    pub(crate) fn grpc(meter: &Meter, side: Side, rpc: RpcConventions) -> Self {
        let (legacy, stable, description) = match side {
            Side::Server => (
                "rpc.server.duration",
                "rpc.server.call.duration",
                "Measures the duration of inbound RPC.",
            ),
            Side::Client => (
                "rpc.client.duration",
                "rpc.client.call.duration",
                "Measures the duration of outbound RPC.",
            ),
        };
        let seconds = || {
            meter
                .f64_histogram(stable)
                .with_unit("s")
                .with_description(description)
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build()
        };
        let (duration, duration_scale, exemplars, stable_duration) = match rpc {
            RpcConventions::Stable => (
                seconds(),
                1.0,
                exemplars().histogram(stable, &DURATION_BUCKETS),
                None,
            ),
            RpcConventions::V1_37 | RpcConventions::Both => (
                meter
                    .f64_histogram(legacy)
                    .with_unit("ms")
                    .with_description(description)
                    .with_boundaries(RPC_DURATION_BUCKETS_MS.to_vec())
                    .build(),
                1000.0,
                exemplars().histogram(legacy, RPC_DURATION_BUCKETS_MS),
                (rpc == RpcConventions::Both).then(seconds),
            ),
        };
        Self {
            duration,
            duration_scale,
            active: None,
            request_size: None,
            response_size: None,
            exemplars,
            rpc,
            stable_duration,
        }
    }

    pub(crate) fn new(meter: &Meter, side: Side) -> Self {
        let (duration, active, request, response) = match side {
            Side::Server => (
                "http.server.request.duration",
                "http.server.active_requests",
                "http.server.request.body.size",
                "http.server.response.body.size",
            ),
            Side::Client => (
                "http.client.request.duration",
                "http.client.active_requests",
                "http.client.request.body.size",
                "http.client.response.body.size",
            ),
        };
        let who = match side {
            Side::Server => "server",
            Side::Client => "client",
        };
        Self {
            duration: meter
                .f64_histogram(duration)
                .with_unit("s")
                .with_description(format!("Duration of HTTP {who} requests."))
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            duration_scale: 1.0,
            exemplars: exemplars().histogram(duration, &DURATION_BUCKETS),
            rpc: RpcConventions::V1_37,
            stable_duration: None,
            active: Some(
                meter
                    .i64_up_down_counter(active)
                    .with_unit("{request}")
                    .with_description(format!("Number of active HTTP {who} requests."))
                    .build(),
            ),
            request_size: Some(
                meter
                    .u64_histogram(request)
                    .with_unit("By")
                    .with_description(format!("Size of HTTP {who} request bodies."))
                    .build(),
            ),
            response_size: Some(
                meter
                    .u64_histogram(response)
                    .with_unit("By")
                    .with_description(format!("Size of HTTP {who} response bodies."))
                    .build(),
            ),
        }
    }
}
