//! The rate-limiting head sampler.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use opentelemetry::trace::{Link, SpanKind, TraceContextExt as _, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{SamplingDecision, SamplingResult, ShouldSample};

/// Samples at most `per_second` traces per second, with a burst of up to one second's worth.
///
/// Lock-free: one atomic compare-and-swap per decision (the generic cell rate algorithm), so
/// it is safe on the span-start path of every thread.
#[derive(Clone, Debug)]
pub struct RateLimited {
    state: Arc<Gcra>,
}

#[derive(Debug)]
struct Gcra {
    /// Theoretical arrival time of the next permit, in ns since `start`.
    tat: AtomicU64,
    /// Nanoseconds per permit.
    interval: u64,
    /// How far ahead of now the arrival time may run (the burst).
    tolerance: u64,
    start: Instant,
}

impl RateLimited {
    /// At most `per_second` traces per second (a non-positive or non-finite rate samples none).
    pub fn new(per_second: f64) -> Self {
        let (interval, tolerance) = if per_second.is_finite() && per_second > 0.0 {
            let interval = (1e9 / per_second).max(1.0) as u64;
            let burst = per_second.max(1.0) as u64;
            (interval, interval.saturating_mul(burst.saturating_sub(1)))
        } else {
            (u64::MAX, 0)
        };
        Self {
            state: Arc::new(Gcra {
                tat: AtomicU64::new(0),
                interval,
                tolerance,
                start: Instant::now(),
            }),
        }
    }

    fn allow_at(&self, now_ns: u64) -> bool {
        let g = &*self.state;
        if g.interval == u64::MAX {
            return false;
        }
        let mut tat = g.tat.load(Ordering::Relaxed);
        loop {
            let base = tat.max(now_ns);
            if base - now_ns > g.tolerance {
                return false;
            }
            let next = base.saturating_add(g.interval);
            match g
                .tat
                .compare_exchange_weak(tat, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(seen) => tat = seen,
            }
        }
    }

    fn allow(&self) -> bool {
        let now = u64::try_from(self.state.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.allow_at(now)
    }
}

impl ShouldSample for RateLimited {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        _trace_id: TraceId,
        _name: &str,
        _span_kind: &SpanKind,
        _attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        let decision = if self.allow() {
            SamplingDecision::RecordAndSample
        } else {
            SamplingDecision::Drop
        };
        SamplingResult {
            decision,
            attributes: Vec::new(),
            trace_state: parent_context
                .map(|cx| cx.span().span_context().trace_state().clone())
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_seconds_at_ten_times_the_rate_keep_the_rate_plus_one_burst() {
        let s = RateLimited::new(100.0);
        let mut kept = 0;
        // 1000 roots per simulated second for 10 s: a fixed, deterministic schedule.
        for i in 0..10_000_u64 {
            if s.allow_at(i * 1_000_000) {
                kept += 1;
            }
        }
        // 100 per second for 10 s, plus the initial burst of 100 (±1 for the edges).
        assert!((1099..=1101).contains(&kept), "kept {kept}");
    }

    #[test]
    fn below_the_rate_everything_is_kept() {
        let s = RateLimited::new(50.0);
        let kept = (0..100_u64).filter(|i| s.allow_at(i * 100_000_000)).count();
        assert_eq!(kept, 100);
    }

    #[test]
    fn a_zero_rate_keeps_nothing() {
        let s = RateLimited::new(0.0);
        assert!(!s.allow_at(0) && !s.allow_at(10_000_000_000));
    }

    #[test]
    fn threads_share_one_budget() {
        let s = RateLimited::new(1000.0);
        let kept: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let s = s.clone();
                    scope.spawn(move || (0..10_000).filter(|_| s.allow_at(0)).count())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
        });
        assert_eq!(
            kept, 1000,
            "exactly the burst at one instant, however many threads ask"
        );
    }
}
