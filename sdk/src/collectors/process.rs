//! `process.*` metrics: sysinfo for memory, disk I/O and uptime; on Linux `/proc/self` for
//! the user/system CPU split, threads and file descriptors, which sysinfo does not give.

use std::sync::Arc;
use std::time::Instant;

use opentelemetry::metrics::Meter;
use opentelemetry::KeyValue;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use super::Shared;

/// Clock ticks per second in `/proc` times: the kernel's `USER_HZ`, 100 on every
/// architecture Linux exposes to user space.
const USER_HZ: f64 = 100.0;

#[derive(Default, Clone, Copy)]
struct Sample {
    user: f64,
    system: f64,
    threads: u64,
    fds: Option<u64>,
    rss: u64,
    virt: u64,
    read: u64,
    written: u64,
    uptime: f64,
    utilization: f64,
}

struct State {
    sys: System,
    pid: Option<Pid>,
    cpus: f64,
    last_cpu: Option<(Instant, f64)>,
    sample: Sample,
}

/// What `/proc/self/stat` says, read once per collection.
struct ProcStat {
    /// User and system CPU seconds.
    user: f64,
    system: f64,
    threads: u64,
    /// When the process started, in seconds since boot.
    started: f64,
}

fn proc_stat() -> Option<ProcStat> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces and parentheses: the fields start after the last ')'
    // (field 3 of the man page is index 0 here).
    let rest = text.get(text.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Option<f64> { Some(fields.get(i)?.parse::<f64>().ok()? / USER_HZ) };
    Some(ProcStat {
        user: ticks(11)?,
        system: ticks(12)?,
        threads: fields.get(17)?.parse().ok()?,
        started: ticks(19)?,
    })
}

/// `(read_bytes, write_bytes)` from `/proc/self/io`: bytes that reached the storage layer.
fn proc_io() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/self/io").ok()?;
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
    };
    Some((field("read_bytes:")?, field("write_bytes:")?))
}

/// Seconds since this process started: `/proc/uptime` minus the start time (`started`, in
/// seconds since boot, from [`proc_stat`]).
fn proc_uptime(started: f64) -> Option<f64> {
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some((uptime - started).max(0.0))
}

fn fd_count() -> Option<u64> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count() as u64)
}

impl State {
    fn refresh(&mut self) {
        let Some(pid) = self.pid else { return };
        self.sys.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            false,
            ProcessRefreshKind::nothing()
                .with_cpu()
                .with_memory()
                .with_disk_usage(),
        );
        let Some(p) = self.sys.process(pid) else {
            return;
        };
        let disk = p.disk_usage();
        let (read, written) =
            proc_io().unwrap_or((disk.total_read_bytes, disk.total_written_bytes));
        let stat = proc_stat();
        let (user, system, threads) = match &stat {
            Some(s) => (s.user, s.system, s.threads),
            None => (
                p.accumulated_cpu_time() as f64 / 1000.0,
                0.0,
                p.tasks().map_or(0, |t| t.len() as u64),
            ),
        };
        let now = Instant::now();
        let cpu = user + system;
        let uptime = stat
            .and_then(|s| proc_uptime(s.started))
            .unwrap_or(p.run_time() as f64);
        let utilization = match self.last_cpu {
            Some((at, before)) => {
                let wall = now.duration_since(at).as_secs_f64();
                if wall > 0.0 {
                    ((cpu - before) / (wall * self.cpus)).clamp(0.0, 1.0)
                } else {
                    self.sample.utilization
                }
            }
            // The first sample has no previous one to compare with (and sysinfo's own figure
            // is 0 until its second refresh): the average since the process started.
            None if uptime > 0.0 => (cpu / (uptime * self.cpus)).clamp(0.0, 1.0),
            None => 0.0,
        };
        self.last_cpu = Some((now, cpu));
        self.sample = Sample {
            user,
            system,
            threads,
            fds: fd_count(),
            rss: p.memory(),
            virt: p.virtual_memory(),
            read,
            written,
            uptime,
            utilization,
        };
    }
}

pub(super) fn register(meter: &Meter) {
    let shared = Arc::new(Shared::new(State {
        sys: System::new(),
        pid: sysinfo::get_current_pid().ok(),
        cpus: std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64),
        last_cpu: None,
        sample: Sample::default(),
    }));
    let sample = {
        let shared = Arc::clone(&shared);
        move |reader: u32| shared.fresh(reader, State::refresh).2.sample
    };

    let s = sample.clone();
    meter
        .f64_observable_counter("process.cpu.time")
        .with_unit("s")
        .with_description("Total CPU seconds broken down by different CPU modes.")
        .with_callback(move |o| {
            let v = s(0);
            o.observe(v.user, &[KeyValue::new("cpu.mode", "user")]);
            o.observe(v.system, &[KeyValue::new("cpu.mode", "system")]);
        })
        .build();
    let s = sample.clone();
    meter
        .f64_observable_gauge("process.cpu.utilization")
        .with_unit("1")
        .with_description("CPU time used since the last measurement over elapsed time and CPUs available to the process.")
        .with_callback(move |o| o.observe(s(1).utilization, &[]))
        .build();
    let s = sample.clone();
    meter
        .i64_observable_up_down_counter("process.memory.usage")
        .with_unit("By")
        .with_description("The amount of physical memory in use.")
        .with_callback(move |o| o.observe(s(2).rss as i64, &[]))
        .build();
    let s = sample.clone();
    meter
        .i64_observable_up_down_counter("process.memory.virtual")
        .with_unit("By")
        .with_description("The amount of committed virtual memory.")
        .with_callback(move |o| o.observe(s(3).virt as i64, &[]))
        .build();
    let s = sample.clone();
    meter
        .i64_observable_up_down_counter("process.thread.count")
        .with_unit("{thread}")
        .with_description("Process threads count.")
        .with_callback(move |o| o.observe(s(4).threads as i64, &[]))
        .build();
    if cfg!(target_os = "linux") {
        let s = sample.clone();
        meter
            .i64_observable_up_down_counter("process.unix.file_descriptor.count")
            .with_unit("{file_descriptor}")
            .with_description("Number of unix file descriptors in use by the process.")
            .with_callback(move |o| {
                if let Some(n) = s(5).fds {
                    o.observe(n as i64, &[]);
                }
            })
            .build();
    }
    let s = sample.clone();
    meter
        .f64_observable_gauge("process.uptime")
        .with_unit("s")
        .with_description("The time the process has been running.")
        .with_callback(move |o| o.observe(s(6).uptime, &[]))
        .build();
    let s = sample;
    meter
        .u64_observable_counter("process.disk.io")
        .with_unit("By")
        .with_description("Disk bytes transferred.")
        .with_callback(move |o| {
            let v = s(7);
            o.observe(v.read, &[KeyValue::new("disk.io.direction", "read")]);
            o.observe(v.written, &[KeyValue::new("disk.io.direction", "write")]);
        })
        .build();
}

#[cfg(test)]
mod tests {
    #[test]
    fn proc_stat_parses_this_process() {
        if cfg!(target_os = "linux") {
            let stat = super::proc_stat().expect("/proc/self/stat");
            assert!(stat.user >= 0.0 && stat.system >= 0.0);
            assert!(stat.threads >= 1);
            let uptime = super::proc_uptime(stat.started).expect("uptime");
            assert!((0.0..3_600.0).contains(&uptime), "{uptime}");
        }
    }
}
