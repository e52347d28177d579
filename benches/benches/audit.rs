//! The audit log's appends per second — every entry synced on its own, group commit with the
//! default 2 ms window and with no window — against plain `rusqlite` inserts of the same rows
//! without the hash chain; `verify` over 100,000 entries; and indexed queries over them.
//!
//! Each append iteration is a burst of 64 concurrent appends (64 tasks on a tokio runtime), so
//! group commit has company to share a sync with; throughput is in entries per second. All
//! SQLite databases are in WAL mode with `synchronous = FULL`, in the system temp directory.
//!
//! `cargo bench -p beacon-benches --bench audit`

use std::path::PathBuf;
use std::time::Duration;

use beacon_audit::{Actor, AuditLog, AuditReader, NewEntry, Query, Resource};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const BURST: u32 = 64;

fn entry(i: u32) -> NewEntry {
    NewEntry::new(
        "order.updated",
        Actor::user(format!("user-{}", i % 50)),
        Resource::new("order", i.to_string()),
        "update",
    )
    .details(serde_json::json!({"i": i, "status": "paid"}))
    .correlation_id(format!("corr-{}", i / 4))
    .client_ip("192.0.2.10")
    .user_agent("bench/1")
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("beacon-audit-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    path
}

fn burst(rt: &tokio::runtime::Runtime, log: &AuditLog, base: u32) {
    rt.block_on(async {
        let tasks: Vec<_> = (0..BURST)
            .map(|i| tokio::spawn(log.append(entry(base + i))))
            .collect();
        for t in tasks {
            t.await.expect("task").expect("append");
        }
    });
}

fn appends(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("audit_append");
    g.throughput(Throughput::Elements(u64::from(BURST)));
    let configs: [(&str, Duration, usize); 3] = [
        ("per_entry_sync", Duration::ZERO, 1),
        ("group_commit_2ms", Duration::from_millis(2), 1024),
        ("group_commit_no_window", Duration::ZERO, 1024),
    ];
    for (name, window, batch) in configs {
        let log = AuditLog::builder(temp(&format!("{name}.db")))
            .group_commit_window(window)
            .max_batch(batch)
            .open()
            .expect("open");
        let mut n = 0u32;
        g.bench_function(name, |b| {
            b.iter(|| {
                burst(&rt, &log, n);
                n = n.wrapping_add(BURST);
            });
        });
    }

    // The same rows with plain rusqlite: no chain, no hash, no writer thread.
    for (name, per_row) in [
        ("plain_rusqlite_commit_per_row", true),
        ("plain_rusqlite_one_commit", false),
    ] {
        let mut conn = rusqlite::Connection::open(temp(&format!("{name}.db"))).expect("open");
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .expect("wal");
        conn.pragma_update(None, "synchronous", "FULL")
            .expect("sync");
        conn.execute_batch(
            "CREATE TABLE entries (sequence INTEGER PRIMARY KEY, inserted_at_us INTEGER NOT NULL,
             event_type TEXT NOT NULL, actor_type TEXT NOT NULL, actor_id TEXT NOT NULL,
             resource_type TEXT NOT NULL, resource_id TEXT NOT NULL, action TEXT NOT NULL,
             details TEXT NOT NULL, correlation_id TEXT, client_ip TEXT, user_agent TEXT)",
        )
        .expect("schema");
        let mut n = 0u32;
        let insert = "INSERT INTO entries (inserted_at_us, event_type, actor_type, actor_id,
            resource_type, resource_id, action, details, correlation_id, client_ip, user_agent)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
        let row = |tx: &rusqlite::Transaction<'_>, i: u32| {
            tx.prepare_cached(insert)
                .expect("prepare")
                .execute(rusqlite::params![
                    i64::from(i),
                    "order.updated",
                    "user",
                    format!("user-{}", i % 50),
                    "order",
                    i.to_string(),
                    "update",
                    serde_json::json!({"i": i, "status": "paid"}).to_string(),
                    format!("corr-{}", i / 4),
                    "192.0.2.10",
                    "bench/1",
                ])
                .expect("insert");
        };
        g.bench_function(BenchmarkId::new(name, BURST), |b| {
            b.iter(|| {
                if per_row {
                    for i in 0..BURST {
                        let tx = conn.transaction().expect("tx");
                        row(&tx, n + i);
                        tx.commit().expect("commit");
                    }
                } else {
                    let tx = conn.transaction().expect("tx");
                    for i in 0..BURST {
                        row(&tx, n + i);
                    }
                    tx.commit().expect("commit");
                }
                n = n.wrapping_add(BURST);
            });
        });
    }
    g.finish();
}

const VERIFY_ENTRIES: u32 = 100_000;

fn verify(c: &mut Criterion) {
    let path = temp("verify.db");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    {
        let log = AuditLog::builder(&path)
            .group_commit_window(Duration::ZERO)
            .open()
            .expect("open");
        rt.block_on(async {
            for chunk in 0..VERIFY_ENTRIES / 1000 {
                let tasks: Vec<_> = (0..1000)
                    .map(|i| tokio::spawn(log.append(entry(chunk * 1000 + i))))
                    .collect();
                for t in tasks {
                    t.await.expect("task").expect("append");
                }
            }
        });
    }
    let reader = AuditReader::open(&path).expect("reader");
    let mut g = c.benchmark_group("audit_verify");
    g.sample_size(10);
    g.throughput(Throughput::Elements(u64::from(VERIFY_ENTRIES)));
    g.bench_function("verify_100k", |b| {
        b.iter(|| {
            let report = reader.verify().expect("verify");
            assert!(report.is_intact());
        });
    });
    g.finish();

    // Indexed queries over the same 100,000 entries.
    let mut g = c.benchmark_group("audit_query_100k");
    g.bench_function("correlation_id", |b| {
        b.iter(|| {
            let page = reader
                .query(&Query::new().correlation_id("corr-12345"))
                .expect("query");
            assert_eq!(page.entries.len(), 4);
        });
    });
    g.bench_function("actor_first_page_of_100", |b| {
        b.iter(|| {
            let page = reader.query(&Query::new().actor("user-7")).expect("query");
            assert_eq!(page.entries.len(), 100);
        });
    });
    g.finish();
}

criterion_group!(benches, appends, verify);
criterion_main!(benches);
