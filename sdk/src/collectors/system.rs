//! `system.*` metrics: sysinfo for memory, disks, network and filesystems; on Linux
//! `/proc/stat` for CPU time per mode, which sysinfo does not give.

use std::sync::Arc;

use opentelemetry::metrics::Meter;
use opentelemetry::KeyValue;
use sysinfo::{DiskRefreshKind, Disks, MemoryRefreshKind, Networks, RefreshKind, System};

use super::Shared;

/// `/proc/stat` columns, in order, and the `cpu.mode` each belongs to.
const MODES: [&str; 8] = [
    "user",
    "nice",
    "system",
    "idle",
    "iowait",
    "interrupt",
    "interrupt",
    "steal",
];
const USER_HZ: f64 = 100.0;

#[derive(Clone, Default)]
struct Sample {
    /// Seconds per mode (user, nice, system, idle, iowait, interrupt, steal).
    cpu: Vec<(&'static str, f64)>,
    cpu_utilization: Vec<(&'static str, f64)>,
    memory_total: u64,
    memory_used: u64,
    memory_free: u64,
    disks: Vec<(String, String, u64, u64, u64, u64)>,
    networks: Vec<(String, u64, u64)>,
}

struct State {
    sys: System,
    disks: Disks,
    networks: Networks,
    last_cpu: Vec<(&'static str, f64)>,
    sample: Sample,
}

/// CPU seconds per mode from the aggregate `cpu` line of `/proc/stat`.
fn proc_cpu() -> Vec<(&'static str, f64)> {
    let Ok(text) = std::fs::read_to_string("/proc/stat") else {
        return Vec::new();
    };
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else {
        return Vec::new();
    };
    let mut out: Vec<(&'static str, f64)> = Vec::new();
    for (mode, value) in MODES.iter().zip(line.split_whitespace().skip(1)) {
        let seconds = value.parse::<f64>().unwrap_or(0.0) / USER_HZ;
        match out.iter_mut().find(|(m, _)| m == mode) {
            Some((_, total)) => *total += seconds,
            None => out.push((mode, seconds)),
        }
    }
    out
}

impl State {
    fn refresh(&mut self) {
        self.sys
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        self.disks.refresh_specifics(
            true,
            DiskRefreshKind::nothing().with_storage().with_io_usage(),
        );
        self.networks.refresh(true);
        let cpu = proc_cpu();
        let total_delta: f64 = cpu
            .iter()
            .zip(&self.last_cpu)
            .map(|((_, now), (_, before))| now - before)
            .sum();
        let cpu_utilization = if total_delta > 0.0 && self.last_cpu.len() == cpu.len() {
            cpu.iter()
                .zip(&self.last_cpu)
                .map(|((mode, now), (_, before))| (*mode, (now - before) / total_delta))
                .collect()
        } else {
            Vec::new()
        };
        self.last_cpu.clone_from(&cpu);
        self.sample = Sample {
            cpu,
            cpu_utilization,
            memory_total: self.sys.total_memory(),
            memory_used: self.sys.used_memory(),
            memory_free: self.sys.free_memory(),
            disks: self
                .disks
                .list()
                .iter()
                .map(|d| {
                    let usage = d.usage();
                    (
                        d.name().to_string_lossy().into_owned(),
                        d.mount_point().to_string_lossy().into_owned(),
                        d.total_space().saturating_sub(d.available_space()),
                        d.available_space(),
                        usage.total_read_bytes,
                        usage.total_written_bytes,
                    )
                })
                .collect(),
            networks: self
                .networks
                .iter()
                .map(|(name, data)| {
                    (
                        name.clone(),
                        data.total_received(),
                        data.total_transmitted(),
                    )
                })
                .collect(),
        };
    }
}

pub(super) fn register(meter: &Meter) {
    let shared = Arc::new(Shared::new(State {
        sys: System::new_with_specifics(RefreshKind::nothing()),
        disks: Disks::new_with_refreshed_list_specifics(DiskRefreshKind::nothing()),
        networks: Networks::new_with_refreshed_list(),
        last_cpu: Vec::new(),
        sample: Sample::default(),
    }));
    let sample = {
        let shared = Arc::clone(&shared);
        move |reader: u32| shared.fresh(reader, State::refresh).2.sample.clone()
    };
    let s = sample.clone();
    meter
        .f64_observable_counter("system.cpu.time")
        .with_unit("s")
        .with_description("Seconds each logical CPU spent on each mode, summed over CPUs.")
        .with_callback(move |o| {
            for (mode, seconds) in s(0).cpu {
                o.observe(seconds, &[KeyValue::new("cpu.mode", mode)]);
            }
        })
        .build();
    let s = sample.clone();
    meter
        .f64_observable_gauge("system.cpu.utilization")
        .with_unit("1")
        .with_description("Share of CPU time in each mode since the previous collection.")
        .with_callback(move |o| {
            for (mode, share) in s(1).cpu_utilization {
                o.observe(share, &[KeyValue::new("cpu.mode", mode)]);
            }
        })
        .build();
    let s = sample.clone();
    meter
        .i64_observable_up_down_counter("system.memory.usage")
        .with_unit("By")
        .with_description("Reports memory in use by state.")
        .with_callback(move |o| {
            let v = s(2);
            o.observe(
                v.memory_used as i64,
                &[KeyValue::new("system.memory.state", "used")],
            );
            o.observe(
                v.memory_free as i64,
                &[KeyValue::new("system.memory.state", "free")],
            );
        })
        .build();
    let s = sample.clone();
    meter
        .f64_observable_gauge("system.memory.utilization")
        .with_unit("1")
        .with_description("Share of memory in each state.")
        .with_callback(move |o| {
            let v = s(3);
            if v.memory_total > 0 {
                let total = v.memory_total as f64;
                o.observe(
                    v.memory_used as f64 / total,
                    &[KeyValue::new("system.memory.state", "used")],
                );
                o.observe(
                    v.memory_free as f64 / total,
                    &[KeyValue::new("system.memory.state", "free")],
                );
            }
        })
        .build();
    let s = sample.clone();
    meter
        .u64_observable_counter("system.disk.io")
        .with_unit("By")
        .with_description("Disk bytes transferred.")
        .with_callback(move |o| {
            for (device, _, _, _, read, written) in s(4).disks {
                o.observe(
                    read,
                    &[
                        KeyValue::new("system.device", device.clone()),
                        KeyValue::new("disk.io.direction", "read"),
                    ],
                );
                o.observe(
                    written,
                    &[
                        KeyValue::new("system.device", device),
                        KeyValue::new("disk.io.direction", "write"),
                    ],
                );
            }
        })
        .build();
    let s = sample.clone();
    meter
        .i64_observable_up_down_counter("system.filesystem.usage")
        .with_unit("By")
        .with_description("Reports a filesystem's space in use and free.")
        .with_callback(move |o| {
            for (device, mount, used, free, _, _) in s(5).disks {
                let at = |state: &'static str| {
                    [
                        KeyValue::new("system.device", device.clone()),
                        KeyValue::new("system.filesystem.mountpoint", mount.clone()),
                        KeyValue::new("system.filesystem.state", state),
                    ]
                };
                o.observe(used as i64, &at("used"));
                o.observe(free as i64, &at("free"));
            }
        })
        .build();
    let s = sample;
    meter
        .u64_observable_counter("system.network.io")
        .with_unit("By")
        .with_description("Network bytes transferred.")
        .with_callback(move |o| {
            for (name, received, transmitted) in s(6).networks {
                o.observe(
                    received,
                    &[
                        KeyValue::new("network.interface.name", name.clone()),
                        KeyValue::new("network.io.direction", "receive"),
                    ],
                );
                o.observe(
                    transmitted,
                    &[
                        KeyValue::new("network.interface.name", name),
                        KeyValue::new("network.io.direction", "transmit"),
                    ],
                );
            }
        })
        .build();
}
