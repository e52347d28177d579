//! Retries of Beacon's own OTLP metric exports, by the rules `opentelemetry-otlp` (0.33) applies
//! to the span and log exporters: the OTLP spec's retryable codes (gRPC `CANCELLED`,
//! `DEADLINE_EXCEEDED`, `ABORTED`, `OUT_OF_RANGE`, `UNAVAILABLE`, `DATA_LOSS`, and
//! `RESOURCE_EXHAUSTED` only with `RetryInfo`; HTTP 429, 502, 503, 504 and no response at all),
//! the server's delay (`RetryInfo`, `Retry-After` in seconds) when it gives one, and otherwise
//! its recommended policy: 3 retries, exponential backoff from 100 ms to 1.6 s, up to 100 ms of
//! jitter, everything within the export's timeout.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// The most a server-given delay may hold one export (as in `opentelemetry-otlp`).
const MAX_THROTTLE: Duration = Duration::from_secs(30);
const MAX_RETRIES: usize = 3;
const INITIAL_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_millis(1600);
const MAX_JITTER_MS: u64 = 100;

/// How a failed export may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Not at all: the collector refused the data.
    Never,
    /// With backoff: the collector is away or overloaded.
    Backoff,
    /// After at least this long, as the collector asked.
    After(Duration),
}

/// A failed export attempt: how it may be retried, and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) retry: Retry,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(retry: Retry, message: impl Into<String>) -> Self {
        Self {
            retry,
            message: message.into(),
        }
    }

    /// Worth keeping for a later try (the collector may take it then).
    pub(crate) fn retryable(&self) -> bool {
        self.retry != Retry::Never
    }
}

/// The OTLP/HTTP rule: 429 and 503 (with `Retry-After`, after that long), 502 and 504.
#[cfg_attr(not(feature = "otlp-http"), allow(dead_code))]
pub(crate) fn classify_http(status: u16, retry_after: Option<&str>) -> Retry {
    match status {
        429 | 503 => retry_after
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(Retry::Backoff, |s| {
                Retry::After(Duration::from_secs(s.min(600)))
            }),
        502 | 504 => Retry::Backoff,
        _ => Retry::Never,
    }
}

/// The OTLP/gRPC rule, with Beacon's one addition (as for spans and logs): `UNKNOWN` from a
/// connection that broke under the request (no server answered) is retried too.
#[cfg(feature = "otlp-grpc")]
pub(crate) fn classify_grpc(status: &tonic::Status) -> Retry {
    use tonic::Code;
    use tonic_types::StatusExt as _;
    let delay = status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
        .filter(|d| !d.is_zero())
        .map(|d| d.min(Duration::from_secs(600)));
    match status.code() {
        Code::ResourceExhausted => delay.map_or(Retry::Never, Retry::After),
        Code::Unavailable => delay.map_or(Retry::Backoff, Retry::After),
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::DataLoss => Retry::Backoff,
        Code::Unknown if status.message().contains("transport error") => Retry::Backoff,
        _ => Retry::Never,
    }
}

fn jitter() -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    // Spread the low bits; any value in 0..=100 ms will do.
    let mixed = nanos.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    Duration::from_millis(mixed % (MAX_JITTER_MS + 1))
}

/// Runs `attempt` until it succeeds, fails for good, runs out of retries, or the next wait
/// would pass `deadline` (counted from now). Returns the last failure and the attempts made.
pub(crate) async fn with_backoff<T, F, Fut>(
    deadline: Duration,
    mut attempt: F,
) -> (Result<T, Failure>, usize)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let start = Instant::now();
    let mut delay = INITIAL_DELAY;
    let mut cap = MAX_DELAY;
    let mut tries = 0;
    loop {
        tries += 1;
        let failure = match attempt().await {
            Ok(value) => return (Ok(value), tries),
            Err(failure) => failure,
        };
        if tries > MAX_RETRIES {
            return (Err(failure), tries);
        }
        match failure.retry {
            Retry::Never => return (Err(failure), tries),
            Retry::Backoff => {}
            Retry::After(server) => {
                let server = server.min(MAX_THROTTLE);
                if server > cap {
                    cap = MAX_THROTTLE;
                }
                delay = delay.max(server);
            }
        }
        let wait = delay.saturating_add(jitter()).min(cap);
        if wait >= deadline.saturating_sub(start.elapsed()) {
            return (Err(failure), tries);
        }
        // The backoff itself: the wait between two attempts is the behaviour under test.
        tokio::time::sleep(wait).await;
        delay = delay.saturating_mul(2).min(cap);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// opentelemetry-otlp's `RetryPolicy::recommended()`: 3 retries, 100 ms doubling to at
    /// most 1.6 s (OTLP spec, "Retryable Response Codes" / exponential backoff with jitter).
    #[tokio::test(start_paused = true)]
    async fn a_retryable_failure_is_tried_four_times_with_growing_waits() {
        let calls = AtomicUsize::new(0);
        let started = tokio::time::Instant::now();
        let (result, tries) = with_backoff(Duration::from_secs(30), || {
            calls.fetch_add(1, Ordering::Relaxed);
            async { Err::<(), _>(Failure::new(Retry::Backoff, "unavailable")) }
        })
        .await;
        assert_eq!((tries, calls.load(Ordering::Relaxed)), (4, 4));
        assert!(result.is_err());
        let waited = started.elapsed();
        // 100 + 200 + 400 ms, each plus up to 100 ms of jitter.
        assert!(
            waited >= Duration::from_millis(700) && waited <= Duration::from_millis(1000),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_is_not_retried_and_a_success_stops_at_once() {
        let (result, tries) = with_backoff(Duration::from_secs(30), || async {
            Err::<(), _>(Failure::new(Retry::Never, "invalid argument"))
        })
        .await;
        assert_eq!((result.is_err(), tries), (true, 1));
        let calls = AtomicUsize::new(0);
        let (result, tries) = with_backoff(Duration::from_secs(30), || {
            let n = calls.fetch_add(1, Ordering::Relaxed);
            async move {
                if n == 0 {
                    Err(Failure::new(Retry::Backoff, "unavailable"))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!((result, tries), (Ok(1), 2));
    }

    #[tokio::test(start_paused = true)]
    async fn the_servers_delay_is_honoured_within_the_deadline() {
        let started = tokio::time::Instant::now();
        let (_, tries) = with_backoff(Duration::from_secs(60), || async {
            Err::<(), _>(Failure::new(
                Retry::After(Duration::from_secs(5)),
                "throttled",
            ))
        })
        .await;
        assert_eq!(tries, 4);
        // 5 s, then doubling from there up to the 30 s throttle cap: 5 + 10 + 20 s.
        assert!(
            started.elapsed() >= Duration::from_secs(35),
            "{:?}",
            started.elapsed()
        );
        // A wait that would pass the deadline is not started.
        let started = tokio::time::Instant::now();
        let (_, tries) = with_backoff(Duration::from_secs(2), || async {
            Err::<(), _>(Failure::new(
                Retry::After(Duration::from_secs(5)),
                "throttled",
            ))
        })
        .await;
        assert_eq!((tries, started.elapsed()), (1, Duration::ZERO));
    }

    /// OTLP spec, "OTLP/HTTP Response": 429, 502, 503, 504 are retryable, with `Retry-After`.
    #[test]
    fn http_statuses_follow_the_otlp_rule() {
        assert_eq!(
            classify_http(503, Some("7")),
            Retry::After(Duration::from_secs(7))
        );
        assert_eq!(classify_http(429, None), Retry::Backoff);
        assert_eq!(classify_http(502, None), Retry::Backoff);
        assert_eq!(classify_http(504, Some("x")), Retry::Backoff);
        for status in [400, 401, 403, 404, 413, 500] {
            assert_eq!(classify_http(status, None), Retry::Never, "{status}");
        }
    }

    /// OTLP spec, "OTLP/gRPC Response": the retryable codes, and `RESOURCE_EXHAUSTED` only
    /// with `RetryInfo`.
    #[cfg(feature = "otlp-grpc")]
    #[test]
    fn grpc_codes_follow_the_otlp_rule() {
        use tonic::{Code, Status};
        for code in [
            Code::Cancelled,
            Code::DeadlineExceeded,
            Code::Aborted,
            Code::OutOfRange,
            Code::Unavailable,
            Code::DataLoss,
        ] {
            assert_eq!(
                classify_grpc(&Status::new(code, "")),
                Retry::Backoff,
                "{code:?}"
            );
        }
        for code in [
            Code::ResourceExhausted,
            Code::InvalidArgument,
            Code::Unauthenticated,
            Code::Internal,
            Code::Unknown,
        ] {
            assert_eq!(
                classify_grpc(&Status::new(code, "no")),
                Retry::Never,
                "{code:?}"
            );
        }
        assert_eq!(
            classify_grpc(&Status::unknown("transport error: connection reset")),
            Retry::Backoff
        );
    }
}
