//! `tokio.*` metrics from tokio's stable runtime metrics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::metrics::Meter;
use opentelemetry::KeyValue;
use tokio::runtime::Handle;

use super::Shared;

#[derive(Clone, Default)]
struct Sample {
    workers: usize,
    alive: usize,
    queue: usize,
    busy: Vec<Duration>,
    parks: Vec<u64>,
    ratio: f64,
    #[cfg(all(feature = "tokio-unstable-metrics", tokio_unstable))]
    unstable: Unstable,
}

/// What tokio reports only when built with `--cfg tokio_unstable`.
#[cfg(all(feature = "tokio-unstable-metrics", tokio_unstable))]
#[derive(Clone, Default)]
struct Unstable {
    steals: Vec<u64>,
    polls: Vec<u64>,
    local_queue: Vec<usize>,
    blocking_threads: usize,
    spawned: u64,
}

struct State {
    handle: Handle,
    last: Option<(Instant, Duration)>,
    sample: Sample,
}

impl State {
    fn refresh(&mut self) {
        let m = self.handle.metrics();
        let workers = m.num_workers();
        let busy: Vec<Duration> = (0..workers)
            .map(|w| m.worker_total_busy_duration(w))
            .collect();
        let parks: Vec<u64> = (0..workers).map(|w| m.worker_park_count(w)).collect();
        let total: Duration = busy.iter().sum();
        let now = Instant::now();
        let ratio = match self.last {
            Some((at, before)) => {
                let wall = now.duration_since(at).as_secs_f64() * workers.max(1) as f64;
                if wall > 0.0 {
                    (total.saturating_sub(before).as_secs_f64() / wall).clamp(0.0, 1.0)
                } else {
                    self.sample.ratio
                }
            }
            None => 0.0,
        };
        self.last = Some((now, total));
        self.sample = Sample {
            workers,
            alive: m.num_alive_tasks(),
            queue: m.global_queue_depth(),
            busy,
            parks,
            ratio,
            #[cfg(all(feature = "tokio-unstable-metrics", tokio_unstable))]
            unstable: Unstable {
                steals: (0..workers).map(|w| m.worker_steal_count(w)).collect(),
                polls: (0..workers).map(|w| m.worker_poll_count(w)).collect(),
                local_queue: (0..workers)
                    .map(|w| m.worker_local_queue_depth(w))
                    .collect(),
                blocking_threads: m.num_blocking_threads(),
                spawned: m.spawned_tasks_count(),
            },
        };
    }
}

fn worker(index: usize) -> [KeyValue; 1] {
    [KeyValue::new("tokio.worker", index as i64)]
}

pub(super) fn register(meter: &Meter, handle: Handle) {
    let shared = Arc::new(Shared::new(State {
        handle,
        last: None,
        sample: Sample::default(),
    }));
    let sample = {
        let shared = Arc::clone(&shared);
        move |reader: u32| shared.fresh(reader, State::refresh).2.sample.clone()
    };
    let s = sample.clone();
    meter
        .i64_observable_up_down_counter("tokio.workers")
        .with_unit("{thread}")
        .with_description("Worker threads of the tokio runtime.")
        .with_callback(move |o| o.observe(s(0).workers as i64, &[]))
        .build();
    let s = sample.clone();
    meter
        .i64_observable_up_down_counter("tokio.tasks.alive")
        .with_unit("{task}")
        .with_description("Tasks spawned on the runtime and not yet finished.")
        .with_callback(move |o| o.observe(s(1).alive as i64, &[]))
        .build();
    let s = sample.clone();
    meter
        .i64_observable_up_down_counter("tokio.global_queue.depth")
        .with_unit("{task}")
        .with_description("Tasks waiting in the runtime's global queue.")
        .with_callback(move |o| o.observe(s(2).queue as i64, &[]))
        .build();
    let s = sample.clone();
    meter
        .f64_observable_counter("tokio.worker.busy_time")
        .with_unit("s")
        .with_description("Time each worker spent running tasks.")
        .with_callback(move |o| {
            for (i, busy) in s(3).busy.iter().enumerate() {
                o.observe(busy.as_secs_f64(), &worker(i));
            }
        })
        .build();
    let s = sample.clone();
    meter
        .u64_observable_counter("tokio.worker.park.count")
        .with_unit("{park}")
        .with_description("Times each worker parked for lack of work.")
        .with_callback(move |o| {
            for (i, parks) in s(4).parks.iter().enumerate() {
                o.observe(*parks, &worker(i));
            }
        })
        .build();
    #[cfg(all(feature = "tokio-unstable-metrics", tokio_unstable))]
    register_unstable(meter, &sample);
    let s = sample;
    meter
        .f64_observable_gauge("tokio.worker.busy_ratio")
        .with_unit("1")
        .with_description("Busy time over wall time and workers since the previous collection.")
        .with_callback(move |o| o.observe(s(5).ratio, &[]))
        .build();
}

/// The extras of a runtime built with `--cfg tokio_unstable` (feature `tokio-unstable-metrics`).
#[cfg(all(feature = "tokio-unstable-metrics", tokio_unstable))]
fn register_unstable(
    meter: &Meter,
    sample: &(impl Fn(u32) -> Sample + Clone + Send + Sync + 'static),
) {
    let per_worker = |name: &'static str,
                      unit: &'static str,
                      description: &'static str,
                      reader: u32,
                      pick: fn(&Unstable) -> Vec<u64>| {
        let s = sample.clone();
        meter
            .u64_observable_counter(name)
            .with_unit(unit)
            .with_description(description)
            .with_callback(move |o| {
                for (i, v) in pick(&s(reader).unstable).iter().enumerate() {
                    o.observe(*v, &worker(i));
                }
            })
            .build();
    };
    per_worker(
        "tokio.worker.steal.count",
        "{task}",
        "Tasks each worker stole from another.",
        40,
        |u| u.steals.clone(),
    );
    per_worker(
        "tokio.worker.poll.count",
        "{poll}",
        "Task polls by each worker.",
        41,
        |u| u.polls.clone(),
    );
    let s = sample.clone();
    meter
        .i64_observable_up_down_counter("tokio.worker.local_queue.depth")
        .with_unit("{task}")
        .with_description("Tasks waiting in each worker's local queue.")
        .with_callback(move |o| {
            for (i, v) in s(42).unstable.local_queue.iter().enumerate() {
                o.observe(*v as i64, &worker(i));
            }
        })
        .build();
    let s = sample.clone();
    meter
        .i64_observable_up_down_counter("tokio.blocking_threads")
        .with_unit("{thread}")
        .with_description("Threads of the blocking pool.")
        .with_callback(move |o| o.observe(s(43).unstable.blocking_threads as i64, &[]))
        .build();
    let s = sample.clone();
    meter
        .u64_observable_counter("tokio.tasks.spawned")
        .with_unit("{task}")
        .with_description("Tasks spawned on the runtime.")
        .with_callback(move |o| o.observe(s(44).unstable.spawned, &[]))
        .build();
}
