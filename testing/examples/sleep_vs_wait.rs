//! Runs one asynchronous scenario 200 times asserted two ways — after a fixed 2 ms sleep, and
//! by waiting for the span that proves the work finished — and prints how often each passed.
//!
//! `cargo run --release -p beacon-test --example sleep_vs_wait` (run two at once to load the
//! machine). The sleep here is deliberate: it is the pattern this crate replaces.

use std::time::{Duration, Instant};

use beacon_test::{capture, span};
use tracing::Instrument as _;

async fn job(n: u64) {
    let work = tokio::task::spawn_blocking(move || busy(n));
    let _ = work.await;
    tracing::info_span!("job.done", n = n as i64).in_scope(|| {});
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs = 200_u64;
    let (mut sleep_ok, mut wait_ok) = (0, 0);
    let mut sleep_time = Duration::ZERO;
    let mut wait_time = Duration::ZERO;
    for n in 0..runs {
        let cap = capture();
        let started = Instant::now();
        tokio::spawn(job(n).in_current_span());
        tokio::time::sleep(Duration::from_millis(2)).await; // deliberate: the flaky pattern
        if cap.spans().iter().any(|s| s.name == "job.done") {
            sleep_ok += 1;
        }
        sleep_time += started.elapsed();
        // Let the job finish before the next run, so runs do not overlap.
        let _ = cap.wait_for_span(span::named("job.done")).await;

        let cap = capture();
        let started = Instant::now();
        tokio::spawn(job(n).in_current_span());
        if cap.wait_for_span(span::named("job.done")).await.is_ok() {
            wait_ok += 1;
        }
        wait_time += started.elapsed();
    }
    println!(
        "sleep 2 ms then assert : {sleep_ok}/{runs} passed, {:.1} ms in all",
        sleep_time.as_secs_f64() * 1e3
    );
    println!(
        "wait_for_span          : {wait_ok}/{runs} passed, {:.1} ms in all",
        wait_time.as_secs_f64() * 1e3
    );
}

/// 0.1 to 1.9 ms of CPU work (longer when the machine is loaded): the "variable time" a fixed
/// sleep has to guess.
fn busy(n: u64) -> u64 {
    let until = std::time::Instant::now() + std::time::Duration::from_micros(100 + (n % 10) * 200);
    let mut spins = 0_u64;
    while std::time::Instant::now() < until {
        spins = spins.wrapping_add(1);
        std::hint::spin_loop();
    }
    spins
}
