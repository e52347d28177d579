//! Many tasks appending at once still produce one linear chain without gaps, and a process
//! killed with SIGKILL in the middle of appends leaves a log that verifies and holds every
//! append that had returned.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use beacon_audit::{AuditLog, AuditReader, Query};
use support::TempDir;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_appenders_keep_one_gap_free_chain() {
    let dir = TempDir::new("concurrent");
    let log = AuditLog::open(dir.path("audit.db")).unwrap();
    let mut tasks = Vec::new();
    for t in 0..50u32 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..10 {
                seqs.push(
                    log.append(support::entry(t * 100 + i))
                        .await
                        .unwrap()
                        .sequence(),
                );
            }
            seqs
        }));
    }
    let mut all = BTreeSet::new();
    for t in tasks {
        for s in t.await.unwrap() {
            assert!(all.insert(s), "sequence {s} returned twice");
        }
    }
    assert_eq!(all, (1..=500).collect::<BTreeSet<u64>>());
    let report = log.verify().await.unwrap();
    assert!(report.is_intact(), "{:?}", report.tampering);
    assert_eq!(report.entries, 500);
    assert_eq!(report.head.map(|h| h.sequence), Some(500));
}

const CHILD_ENV: &str = "BEACON_AUDIT_SIGKILL_CHILD_DB";

/// The child of the SIGKILL test: appends until killed, printing each returned sequence.
#[test]
#[ignore = "the child process of a_sigkilled_appender_loses_no_returned_entry; it spawns it"]
fn child_appends_until_killed() {
    let path = std::env::var(CHILD_ENV).expect("run only by the SIGKILL test");
    let log = AuditLog::open(path).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async move {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        // Eight appenders at once, so the kill lands in the middle of group commits.
        for t in 0..8u32 {
            let log = log.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                for i in 0.. {
                    let e = log.append(support::entry(t * 1_000_000 + i)).await.unwrap();
                    if tx.send(e.sequence()).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let mut out = std::io::stdout().lock();
        while let Some(seq) = rx.recv().await {
            writeln!(out, "appended {seq}").unwrap();
            out.flush().unwrap();
        }
    });
}

#[test]
fn a_sigkilled_appender_loses_no_returned_entry() {
    let dir = TempDir::new("sigkill");
    let db = dir.path("audit.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "child_appends_until_killed",
            "--nocapture",
        ])
        .env(CHILD_ENV, &db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut returned = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while returned.len() < 300 {
        let line = lines
            .next()
            .expect("the child stopped before 300 appends")
            .unwrap();
        if let Some(seq) = line.strip_prefix("appended ") {
            returned.push(seq.parse::<u64>().unwrap());
        }
    }
    // `Child::kill` is SIGKILL on Unix: no destructor, no final checkpoint, no flush.
    child.kill().unwrap();
    child.wait().unwrap();
    // Lines the child printed before it died are returned appends too.
    for line in lines.map_while(Result::ok) {
        if let Some(seq) = line.strip_prefix("appended ") {
            returned.push(seq.parse().unwrap());
        }
    }

    let reader = AuditReader::open(&db).unwrap();
    let report = reader.verify().unwrap();
    assert!(report.is_intact(), "{:?}", report.tampering);
    let head = report.head.unwrap().sequence;
    for seq in &returned {
        assert!(
            *seq <= head,
            "append {seq} returned but the log ends at {head}"
        );
        let e = reader
            .get(*seq)
            .unwrap()
            .expect("a returned append is in the log");
        assert!(e.hash_matches());
    }
    let stored = reader
        .query(&Query::new().limit(beacon_audit::MAX_PAGE_SIZE))
        .unwrap();
    assert!(stored.entries.len() as u64 >= returned.len() as u64);
}

#[tokio::test(flavor = "current_thread")]
async fn a_pending_append_leaves_the_callers_runtime_free() {
    let dir = TempDir::new("nonblocking");
    // A long group-commit window keeps the append pending while the runtime does other work.
    let log = AuditLog::builder(dir.path("audit.db"))
        .group_commit_window(std::time::Duration::from_millis(500))
        .open()
        .unwrap();
    let append = tokio::spawn(log.append(support::entry(1)));
    // On this single-threaded runtime, another task runs to completion meanwhile.
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move { tx.send(42).unwrap() });
    assert_eq!(rx.await.unwrap(), 42);
    assert!(!append.is_finished());
    let stored = append.await.unwrap().unwrap();
    assert_eq!(stored.sequence(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_logs_open_on_one_file_still_make_one_chain() {
    // Two writers (two connections, as two processes would have) on one SQLite file: each
    // commit reads the head inside its write transaction, so they interleave, never fork.
    let dir = TempDir::new("two-writers");
    let a = AuditLog::open(dir.path("audit.db")).unwrap();
    let b = AuditLog::open(dir.path("audit.db")).unwrap();
    let mut tasks = Vec::new();
    for i in 0..100u32 {
        let log = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(log.append(support::entry(i))));
    }
    let mut seqs = BTreeSet::new();
    for t in tasks {
        assert!(seqs.insert(t.await.unwrap().unwrap().sequence()));
    }
    assert_eq!(seqs, (1..=100).collect::<BTreeSet<u64>>());
    let report = a.verify().await.unwrap();
    assert!(report.is_intact(), "{:?}", report.tampering);
    assert_eq!(report.entries, 100);
}
