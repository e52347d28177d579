//! What the collectors cost: time per collection (on the metric reader's thread) for each
//! group, and the process's resident memory with and without them.
//!
//! `cargo run --release -p beacon-benches --example collector_cost`

use std::time::{Duration, Instant};

use beacon::collectors::{register, Collectors};

const ROUNDS: u32 = 200;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn groups(name: &str) -> Collectors {
    match name {
        "process" => Collectors::none().process(true),
        "runtime" => Collectors::none().runtime(true),
        "system" => Collectors::none().system(true),
        "all" => Collectors::default().system(true),
        _ => Collectors::none(),
    }
}

/// Mean time of one collection (aggregate + hand to a discarding exporter).
fn per_collection(name: &str, rt: &tokio::runtime::Runtime) -> Duration {
    let provider = beacon_benches::aggregating_meter_provider();
    let _guard = rt.enter();
    register(&provider, &groups(name).runtime_handle(rt.handle().clone()));
    provider.force_flush().expect("warm-up collection");
    let start = Instant::now();
    for _ in 0..ROUNDS {
        provider.force_flush().expect("collection");
    }
    start.elapsed() / ROUNDS
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if let Some(name) = args.get(2).filter(|_| args[1] == "rss") {
        // Child process: build one provider with `name`, collect a while, report RSS.
        let provider = beacon_benches::aggregating_meter_provider();
        let _guard = rt.enter();
        register(&provider, &groups(name).runtime_handle(rt.handle().clone()));
        for _ in 0..ROUNDS {
            provider.force_flush().expect("collection");
        }
        println!("{}", rss_kib());
        return;
    }
    // Warm up, then measure the baseline inside the same series.
    per_collection("none", &rt);
    let baseline = per_collection("none", &rt);
    println!("| collectors | time per collection | added by the collectors | RSS |");
    println!("|---|---|---|---|");
    for name in ["none", "process", "runtime", "system", "all"] {
        let t = per_collection(name, &rt);
        let rss = std::process::Command::new(&args[0])
            .args(["rss", name])
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0);
        println!(
            "| {name} | {:.1} µs | {:.1} µs | {:.1} MiB |",
            t.as_secs_f64() * 1e6,
            t.saturating_sub(baseline).as_secs_f64() * 1e6,
            rss as f64 / 1024.0
        );
    }
}
