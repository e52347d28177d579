//! Health checks: a registry of named async checks, run concurrently under deadlines, with a
//! JSON report for `/health/ready` (served by `beacon_middleware::axum::health_routes`).
//!
//! ```
//! use std::time::Duration;
//! use beacon::health::{Health, Status};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let health = Health::new();
//! health.register("database", Duration::from_millis(200), || async { Ok(()) });
//! health.register_optional("cache", Duration::from_millis(50), || async {
//!     Err("connection refused".to_owned())
//! });
//! let report = health.check().await;
//! // An optional check failing degrades the service; it stays ready.
//! assert_eq!(report.status, Status::Degraded);
//! assert!(report.is_ready());
//! assert!(report.to_json().contains(r#""cache":{"status":"degraded""#));
//! // What the HTTP route serves holds statuses only: error text can hold a database URL.
//! assert!(!report.to_json().contains("connection refused"));
//! assert!(report.to_json_with_errors().contains("connection refused"));
//! # }
//! ```
//!
//! Anyone who can reach `/health/ready` can call it, so what the routes serve
//! ([`Health::check_shared`]) is cached for a moment (1 s, [`Health::cache_for`]) and computed by
//! one round of checks at a time, whatever the number of callers; and it carries each check's
//! status, not its error text, unless [`Health::error_detail`] says so.

use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
type CheckFn = Arc<dyn Fn() -> CheckFuture + Send + Sync>;

/// The state of one check, or of the whole service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Everything passes.
    Up,
    /// An optional check fails: the service works with less.
    Degraded,
    /// A critical check fails or timed out.
    Down,
}

impl Status {
    /// `up`, `degraded` or `down`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Degraded => "degraded",
            Self::Down => "down",
        }
    }
}

#[derive(Clone)]
struct Check {
    name: String,
    critical: bool,
    timeout: Duration,
    run: CheckFn,
}

/// A registry of health checks. Cheap to clone; clones share the checks and the cached report.
#[derive(Clone)]
pub struct Health {
    checks: Arc<RwLock<Vec<Check>>>,
    deadline: Duration,
    cache_for: Duration,
    error_detail: bool,
    /// The last shared report and when its round ended; the lock is held while a round runs.
    last: Arc<tokio::sync::Mutex<Option<(tokio::time::Instant, HealthReport)>>>,
    /// The telemetry components of `/health/telemetry` ([`crate::telemetry_health`]).
    pub(crate) components: Arc<RwLock<Vec<(String, crate::telemetry_health::ReportFn)>>>,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self
            .checks
            .read()
            .map(|c| c.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default();
        f.debug_struct("Health")
            .field("checks", &names)
            .field("deadline", &self.deadline)
            .field("cache_for", &self.cache_for)
            .field("error_detail", &self.error_detail)
            .finish()
    }
}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}

/// The result of one check.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckResult {
    /// The check's name.
    pub name: String,
    /// `Up`, or `Down` for a failed or timed-out critical check, `Degraded` for an optional one.
    pub status: Status,
    /// How long it took (capped at its timeout).
    pub duration: Duration,
    /// Why it failed.
    pub error: Option<String>,
}

/// The result of all checks.
#[derive(Clone, Debug, PartialEq)]
pub struct HealthReport {
    /// The worst of the checks' statuses.
    pub status: Status,
    /// Each check, in registration order.
    pub checks: Vec<CheckResult>,
    /// When the report was made.
    pub timestamp: SystemTime,
}

impl Health {
    /// An empty registry; all checks together get at most 5 s (see [`Health::deadline`]); the
    /// shared report is kept 1 s and shows no error text.
    pub fn new() -> Self {
        Self {
            checks: Arc::default(),
            deadline: Duration::from_secs(5),
            cache_for: Duration::from_secs(1),
            error_detail: false,
            last: Arc::default(),
            components: Arc::default(),
        }
    }

    /// How long [`Health::check_shared`] (what the HTTP routes serve) reuses a report before it
    /// runs the checks again; 1 s by default. `Duration::ZERO` still runs one round at a time:
    /// callers that arrive during a round get that round's report.
    #[must_use]
    pub fn cache_for(mut self, ttl: Duration) -> Self {
        self.cache_for = ttl;
        self
    }

    /// Whether the HTTP routes include each failing check's error text (`"error": "…"`). Off by
    /// default: the text can name hosts, users or whole connection strings, and anyone who can
    /// reach the route reads it.
    #[must_use]
    pub fn error_detail(mut self, on: bool) -> Self {
        self.error_detail = on;
        self
    }

    /// Whether [`Health::error_detail`] is on.
    pub fn shows_error_detail(&self) -> bool {
        self.error_detail
    }

    /// The report for callers that may be many and hostile (the `/health/ready` route): the last
    /// report while it is younger than [`Health::cache_for`], else a fresh one. One round of
    /// checks runs at a time; callers that arrive while it runs wait for it and share its
    /// report, so a flood of requests costs one round per `cache_for` at most.
    pub async fn check_shared(&self) -> HealthReport {
        let arrived = tokio::time::Instant::now();
        let mut last = self.last.lock().await;
        if let Some((done, report)) = &*last {
            if *done >= arrived || done.elapsed() < self.cache_for {
                return report.clone();
            }
        }
        let report = self.check().await;
        *last = Some((tokio::time::Instant::now(), report.clone()));
        report
    }

    /// The most time one report may take, whatever the checks' own timeouts.
    #[must_use]
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Registers a critical check: when it fails or exceeds `timeout`, the service is not
    /// ready. A check registered again under the same name replaces the first.
    pub fn register<F, Fut>(&self, name: impl Into<String>, timeout: Duration, check: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.insert(name.into(), true, timeout, check);
    }

    /// Registers an optional check: when it fails the service is degraded but still ready.
    pub fn register_optional<F, Fut>(&self, name: impl Into<String>, timeout: Duration, check: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.insert(name.into(), false, timeout, check);
    }

    fn insert<F, Fut>(&self, name: String, critical: bool, timeout: Duration, check: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let run: CheckFn = Arc::new(move || Box::pin(check()) as CheckFuture);
        let mut checks = self
            .checks
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        checks.retain(|c| c.name != name);
        checks.push(Check {
            name,
            critical,
            timeout,
            run,
        });
    }

    /// Runs every check concurrently, each under its timeout and all under the deadline. A
    /// check that hangs is reported as timed out; it cannot hold the report back.
    pub async fn check(&self) -> HealthReport {
        let checks: Vec<Check> = self
            .checks
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let deadline = tokio::time::Instant::now() + self.deadline;
        let mut set = tokio::task::JoinSet::new();
        let mut ids = std::collections::HashMap::new();
        for (index, check) in checks.iter().cloned().enumerate() {
            let handle = set.spawn(async move {
                let start = Instant::now();
                let limit = check.timeout;
                let outcome = match tokio::time::timeout_at(
                    deadline.min(tokio::time::Instant::now() + limit),
                    (check.run)(),
                )
                .await
                {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(e),
                    Err(_) => Some(format!("timed out after {} ms", limit.as_millis())),
                };
                (start.elapsed(), outcome)
            });
            ids.insert(handle.id(), index);
        }
        let mut results: Vec<Option<CheckResult>> = vec![None; checks.len()];
        while let Some(joined) = set.join_next_with_id().await {
            let (id, duration, error) = match joined {
                Ok((id, (duration, error))) => (id, duration, error),
                // A panicking check is a failed check, not a failed endpoint.
                Err(e) => (e.id(), Duration::ZERO, Some(format!("check panicked: {e}"))),
            };
            let Some(&index) = ids.get(&id) else {
                continue;
            };
            let check = &checks[index];
            let status = match (&error, check.critical) {
                (None, _) => Status::Up,
                (Some(_), true) => Status::Down,
                (Some(_), false) => Status::Degraded,
            };
            results[index] = Some(CheckResult {
                name: check.name.clone(),
                status,
                duration,
                error,
            });
        }
        let checks: Vec<CheckResult> = results.into_iter().flatten().collect();
        let status = if checks.iter().any(|c| c.status == Status::Down) {
            Status::Down
        } else if checks.iter().any(|c| c.status == Status::Degraded) {
            Status::Degraded
        } else {
            Status::Up
        };
        HealthReport {
            status,
            checks,
            timestamp: SystemTime::now(),
        }
    }
}

impl HealthReport {
    /// Whether every critical check passed (what `/health/ready` answers 200 for).
    pub fn is_ready(&self) -> bool {
        self.status != Status::Down
    }

    /// `{"status":…,"checks":{"name":{"status":…,"duration_ms":…}},"timestamp":…}`, the
    /// timestamp in RFC 3339 (UTC): statuses only, without the checks' error text.
    pub fn to_json(&self) -> String {
        self.json(false)
    }

    /// [`HealthReport::to_json`] with each failing check's `"error":…` text as well.
    pub fn to_json_with_errors(&self) -> String {
        self.json(true)
    }

    fn json(&self, errors: bool) -> String {
        let mut out = String::with_capacity(64 + 80 * self.checks.len());
        let _ = write!(out, r#"{{"status":"{}","checks":{{"#, self.status.as_str());
        for (i, check) in self.checks.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json_string(&mut out, &check.name);
            let _ = write!(
                out,
                r#":{{"status":"{}","duration_ms":{:.3}"#,
                check.status.as_str(),
                check.duration.as_secs_f64() * 1000.0
            );
            if let Some(error) = check.error.as_ref().filter(|_| errors) {
                out.push_str(r#","error":"#);
                json_string(&mut out, error);
            }
            out.push('}');
        }
        let _ = write!(out, r#"}},"timestamp":"{}"}}"#, rfc3339(self.timestamp));
        out
    }
}

pub(crate) fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` from a system time (civil-from-days, Howard Hinnant's algorithm).
fn rfc3339(t: SystemTime) -> String {
    let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_305_600_123);
        assert_eq!(rfc3339(t), "2026-11-22T00:00:00.123Z");
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn json_escapes_names_and_errors() {
        let report = HealthReport {
            status: Status::Down,
            checks: vec![CheckResult {
                name: "db \"main\"".into(),
                status: Status::Down,
                duration: Duration::from_micros(1500),
                error: Some("line\nbreak".into()),
            }],
            timestamp: SystemTime::UNIX_EPOCH,
        };
        assert_eq!(
            report.to_json_with_errors(),
            r#"{"status":"down","checks":{"db \"main\"":{"status":"down","duration_ms":1.500,"error":"line\nbreak"}},"timestamp":"1970-01-01T00:00:00.000Z"}"#
        );
        assert_eq!(
            report.to_json(),
            r#"{"status":"down","checks":{"db \"main\"":{"status":"down","duration_ms":1.500}},"timestamp":"1970-01-01T00:00:00.000Z"}"#
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_flood_of_callers_runs_one_round_per_cache_period() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let rounds = Arc::new(AtomicUsize::new(0));
        let health = Health::new().cache_for(Duration::from_secs(1));
        let counted = Arc::clone(&rounds);
        health.register("slow", Duration::from_secs(2), move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async {
                // The check's own duration is the behaviour under test (paused time).
                tokio::time::sleep(Duration::from_millis(300)).await;
                Ok(())
            }
        });
        let callers: Vec<_> = (0..500)
            .map(|_| {
                let h = health.clone();
                tokio::spawn(async move { h.check_shared().await })
            })
            .collect();
        for caller in callers {
            assert_eq!(caller.await.map(|r| r.status).ok(), Some(Status::Up));
        }
        assert_eq!(
            rounds.load(Ordering::SeqCst),
            1,
            "500 concurrent callers, one round"
        );
        health.check_shared().await;
        assert_eq!(rounds.load(Ordering::SeqCst), 1, "cached");
        tokio::time::advance(Duration::from_millis(1001)).await;
        health.check_shared().await;
        assert_eq!(rounds.load(Ordering::SeqCst), 2, "stale after cache_for");
        // Without a cache, still one round at a time.
        let uncached = health.clone().cache_for(Duration::ZERO);
        tokio::time::advance(Duration::from_millis(1)).await;
        let (a, b) = tokio::join!(uncached.check_shared(), uncached.check_shared());
        assert_eq!((a.status, b.status), (Status::Up, Status::Up));
        assert_eq!(
            rounds.load(Ordering::SeqCst),
            3,
            "joined the round under way"
        );
    }
}
