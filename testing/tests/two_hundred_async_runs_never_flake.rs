//! The same asynchronous scenario 200 times in a row, asserted by waiting on the span that
//! proves it finished: it must pass every time, however loaded the machine is. (The example
//! `sleep_vs_wait` runs the sleep-based version of this test side by side and counts its
//! failures.)

use beacon_test::{capture, span};
use tracing::Instrument as _;

/// A job that hops across tasks and a blocking thread, taking a variable time, then says so.
async fn job(n: u64) -> u64 {
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(
        async move {
            let sum = tokio::task::spawn_blocking(move || busy(n))
                .await
                .unwrap_or(0);
            tracing::info_span!("job.done", n = n as i64).in_scope(|| {});
            let _ = tx.send(sum);
        }
        .in_current_span(),
    );
    rx.await.unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_runs_all_pass() {
    let mut passed = 0;
    for n in 0..200_u64 {
        let cap = capture();
        // Fire and forget: the test learns the job finished only from its telemetry.
        tokio::spawn(job(n).in_current_span());
        let done = cap
            .wait_for_span(span::named("job.done"))
            .await
            .expect("the job finished");
        assert_eq!(done.attr("n").map(|v| v.to_string()), Some(n.to_string()));
        passed += 1;
    }
    assert_eq!(passed, 200);
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
