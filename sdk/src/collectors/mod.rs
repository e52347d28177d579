//! Process, system and tokio runtime metrics, in OpenTelemetry semantic-convention form,
//! reported through observable instruments on Beacon's meter provider (so they reach OTLP and a
//! scrape alike).
//!
//! Collection is lazy: nothing runs on the application's threads. The instruments' callbacks
//! run on the metric reader's thread at each export interval; each group refreshes its source
//! (sysinfo, `/proc`, tokio's runtime metrics) once per collection and only for what it
//! reports.
//!
//! | group | default | metrics |
//! |---|---|---|
//! | process | on | `process.cpu.time` (s, `cpu.mode` = user/system), `process.cpu.utilization` (1), `process.memory.usage`, `process.memory.virtual` (By), `process.thread.count`, `process.unix.file_descriptor.count` (Linux), `process.uptime` (s), `process.disk.io` (By, `disk.io.direction`) |
//! | system | off (a sidecar usually reports the host) | `system.cpu.time` (s), `system.cpu.utilization` (1) per `cpu.mode` (Linux), `system.memory.usage` (By) and `system.memory.utilization` (1) per `system.memory.state`, `system.disk.io`, `system.network.io` (By, per direction and device), `system.filesystem.usage` (By, per device, mount point and state) |
//! | runtime | on, when `init()` runs inside a tokio runtime (or one is given) | see below |
//!
//! Tokio runtime metrics:
//!
//! | metric | type | unit | attributes |
//! |---|---|---|---|
//! | `tokio.workers` | up-down counter | `{thread}` | |
//! | `tokio.tasks.alive` | up-down counter | `{task}` | |
//! | `tokio.global_queue.depth` | up-down counter | `{task}` | |
//! | `tokio.worker.busy_time` | counter | `s` | `tokio.worker` (index) |
//! | `tokio.worker.park.count` | counter | `{park}` | `tokio.worker` |
//! | `tokio.worker.busy_ratio` | gauge | `1` | busy time over wall time and workers, since the previous collection |
//!
//! With the feature `tokio-unstable-metrics` and a build with `RUSTFLAGS="--cfg tokio_unstable"`
//! (what tokio requires for these), also:
//!
//! | metric | type | unit | attributes |
//! |---|---|---|---|
//! | `tokio.worker.steal.count` | counter | `{task}` | `tokio.worker` |
//! | `tokio.worker.poll.count` | counter | `{poll}` | `tokio.worker` |
//! | `tokio.worker.local_queue.depth` | up-down counter | `{task}` | `tokio.worker` |
//! | `tokio.blocking_threads` | up-down counter | `{thread}` | |
//! | `tokio.tasks.spawned` | counter | `{task}` | |

mod process;
mod runtime;
mod system;

use std::sync::{Mutex, MutexGuard};

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::metrics::SdkMeterProvider;

/// Which collectors [`crate::Builder::collectors`] registers.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Collectors {
    /// This process's CPU, memory, threads, file descriptors, uptime and disk I/O.
    pub process: bool,
    /// The host's CPU, memory, disks, network and filesystems.
    pub system: bool,
    /// The tokio runtime's workers, tasks, queue and busy time; needs a runtime handle.
    pub runtime: bool,
    /// The runtime to observe; by default the one `build()`/`init()` was called in, if any.
    pub runtime_handle: Option<tokio::runtime::Handle>,
}

impl Default for Collectors {
    fn default() -> Self {
        Self {
            process: true,
            system: false,
            runtime: true,
            runtime_handle: None,
        }
    }
}

impl Collectors {
    /// No collectors at all.
    pub fn none() -> Self {
        Self {
            process: false,
            system: false,
            runtime: false,
            runtime_handle: None,
        }
    }

    /// Turns the process group on or off.
    #[must_use]
    pub fn process(mut self, on: bool) -> Self {
        self.process = on;
        self
    }

    /// Turns the system group on or off.
    #[must_use]
    pub fn system(mut self, on: bool) -> Self {
        self.system = on;
        self
    }

    /// Turns the runtime group on or off.
    #[must_use]
    pub fn runtime(mut self, on: bool) -> Self {
        self.runtime = on;
        self
    }

    /// Observes this runtime rather than the one current at build time.
    #[must_use]
    pub fn runtime_handle(mut self, handle: tokio::runtime::Handle) -> Self {
        self.runtime_handle = Some(handle);
        self
    }
}

/// Registers `collectors` on `provider`: what [`crate::Builder::collectors`] does for Beacon's own
/// provider, for a meter provider of your own.
pub fn register(provider: &SdkMeterProvider, collectors: &Collectors) {
    let meter = provider.meter_with_scope(
        InstrumentationScope::builder("beacon.collectors")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build(),
    );
    if collectors.process {
        process::register(&meter);
    }
    if collectors.system {
        system::register(&meter);
    }
    if collectors.runtime {
        let handle = collectors
            .runtime_handle
            .clone()
            .or_else(|| tokio::runtime::Handle::try_current().ok());
        if let Some(handle) = handle {
            runtime::register(&meter, handle);
        }
    }
}

/// State a group's callbacks share, refreshed once per collection. Each instrument reads the
/// sample once per collection, so an instrument asking a second time means a new collection
/// has begun: that read refreshes. No clock involved, so back-to-back collections (a flush
/// right after an export) are still fresh.
struct Shared<T> {
    state: Mutex<(u64, bool, T)>,
}

impl<T> Shared<T> {
    fn new(state: T) -> Self {
        Self {
            state: Mutex::new((0, false, state)),
        }
    }

    /// The state for instrument number `reader` (< 64), refreshed with `refresh` when this
    /// reader has already seen the current sample.
    fn fresh(&self, reader: u32, refresh: impl FnOnce(&mut T)) -> MutexGuard<'_, (u64, bool, T)> {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let bit = 1_u64 << (reader % 64);
        if !guard.1 || guard.0 & bit != 0 {
            refresh(&mut guard.2);
            guard.0 = 0;
            guard.1 = true;
        }
        guard.0 |= bit;
        guard
    }
}
