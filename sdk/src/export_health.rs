//! The window behind the `telemetry.export` health check: how many items failed to export or
//! were dropped in the last minute, whoever asked and however often.
//!
//! Counting "since the last check" let any caller of `/health/ready` clear the failure by
//! asking twice; the window is kept by time instead.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How far back the `telemetry.export` check looks.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);

/// Samples closer together than this are merged, so the window holds about 60 of them however
/// often it is asked.
const RESOLUTION: Duration = Duration::from_secs(1);

/// Cumulative `(failed, dropped)` counts as observed at the checks.
#[derive(Debug)]
pub(crate) struct ExportWindow {
    samples: VecDeque<(Instant, u64, u64)>,
}

impl ExportWindow {
    /// Starts with the counts at registration: what happened before does not count.
    pub(crate) fn new(now: Instant, failed: u64, dropped: u64) -> Self {
        Self {
            samples: VecDeque::from([(now, failed, dropped)]),
        }
    }

    /// Records the cumulative counts at `now` and returns how many items failed and were
    /// dropped within [`WINDOW`] before it (as far as the checks saw: at least since the
    /// newest sample at or before `now - WINDOW`).
    pub(crate) fn observe(&mut self, now: Instant, failed: u64, dropped: u64) -> (u64, u64) {
        if let Some(start) = now.checked_sub(WINDOW) {
            // Keep one sample at or before the window's start as the baseline.
            while self.samples.len() >= 2 && self.samples[1].0 <= start {
                self.samples.pop_front();
            }
        }
        let several = self.samples.len() >= 2;
        match self.samples.back_mut() {
            Some(last) if several && now.duration_since(last.0) < RESOLUTION => {
                last.1 = failed;
                last.2 = dropped;
            }
            _ => self.samples.push_back((now, failed, dropped)),
        }
        let (_, base_failed, base_dropped) = self.samples.front().copied().unwrap_or((now, 0, 0));
        (
            failed.saturating_sub(base_failed),
            dropped.saturating_sub(base_dropped),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asking_again_does_not_clear_a_failure_but_a_quiet_minute_does() {
        let t0 = Instant::now();
        let mut w = ExportWindow::new(t0, 0, 0);
        assert_eq!(w.observe(t0 + Duration::from_secs(1), 0, 0), (0, 0));
        // 3 failures and 2 drops at t = 2 s.
        assert_eq!(w.observe(t0 + Duration::from_secs(2), 3, 2), (3, 2));
        // A hostile caller asks 10,000 times over the next 50 s: still failing.
        for i in 0..10_000u64 {
            let at = t0 + Duration::from_secs(2) + Duration::from_millis(i * 5);
            assert_eq!(w.observe(at, 3, 2), (3, 2), "ask {i}");
        }
        assert!(w.samples.len() <= 62, "bounded: {}", w.samples.len());
        // More than a minute after the last failure: clear.
        assert_eq!(w.observe(t0 + Duration::from_secs(63), 3, 2), (0, 0));
        // A new failure counts again.
        assert_eq!(w.observe(t0 + Duration::from_secs(64), 4, 2), (1, 0));
    }
}
