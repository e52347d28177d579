//! The PostgreSQL log, against a real server started on loopback: entries chain and query as
//! with SQLite, the database refuses UPDATE, DELETE and TRUNCATE, an append-only role cannot
//! change rows even with the triggers gone, `verify` finds tampering done with `psql`, and
//! several processes appending at once make one gap-free chain.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use beacon_audit::postgres::PgAuditLog;
use beacon_audit::{Query, TamperKind, Tampering};
use support::pg::PgServer;

/// Runs the `beacon-audit` binary; returns its exit code and stdout.
fn cli(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_beacon-audit"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn pg_url(server: &PgServer, db: &str) -> String {
    format!("postgres://postgres@127.0.0.1:{}/{db}", server.port)
}

async fn log_of(server: &PgServer, db: &str, n: u32) -> PgAuditLog {
    server.create_database(db);
    let log = PgAuditLog::builder(server.url(db, "postgres"))
        .connect()
        .await
        .unwrap();
    for i in 1..=n {
        log.append(support::entry(i)).await.unwrap();
    }
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_chain_query_and_are_refused_changes_by_the_database() {
    let Some(server) = PgServer::start() else {
        return;
    };
    let log = log_of(&server, "basics", 6).await;
    let report = log.verify().await.unwrap();
    assert!(report.is_intact());
    assert_eq!(report.head.map(|h| h.sequence), Some(6));

    let by_actor = log.query(Query::new().actor("user-1")).await.unwrap();
    let seqs: Vec<_> = by_actor.entries.iter().map(|e| e.sequence()).collect();
    assert_eq!(seqs, [1, 4]);
    let by_corr = log
        .query(Query::new().correlation_id("corr-5"))
        .await
        .unwrap();
    assert_eq!(by_corr.entries.len(), 1);
    assert!(by_corr.entries[0].hash_matches());
    let by_resource = log
        .query(
            Query::new()
                .resource("order", "2")
                .event_type("order.updated"),
        )
        .await
        .unwrap();
    assert_eq!(by_resource.entries[0].sequence(), 2);
    let paged = log.query(Query::new().limit(4)).await.unwrap();
    assert_eq!((paged.entries.len(), paged.next), (4, Some(4)));
    let rest = log.query(Query::new().after(4)).await.unwrap();
    assert_eq!(rest.entries.len(), 2);
    let since = log
        .query(Query::new().since(rest.entries[1].inserted_at()))
        .await
        .unwrap();
    assert_eq!(since.entries.last().map(|e| e.sequence()), Some(6));

    // The CLI reads the same log by URL.
    let (code, out) = cli(&["verify", &pg_url(&server, "basics")]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("intact: 6 entries"), "{out}");
    let (code, out) = cli(&["query", &pg_url(&server, "basics"), "--actor", "user-1"]);
    assert_eq!(code, Some(0));
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["sequence"], 4);

    for sql in [
        "UPDATE audit_entries SET actor_id = 'mallory' WHERE sequence = 2",
        "DELETE FROM audit_entries WHERE sequence = 2",
        "TRUNCATE audit_entries",
    ] {
        let (ok, err) = server.psql("basics", sql);
        assert!(
            !ok && err.contains("audit entries are immutable"),
            "{sql}: {err}"
        );
    }

    // An append-only role cannot change rows even after the owner drops the triggers.
    let (ok, err) = server.psql("basics", "CREATE ROLE app LOGIN");
    assert!(ok, "{err}");
    log.grant_append_only("app").await.unwrap();
    let (ok, err) = server.psql("basics", "ALTER TABLE audit_entries DISABLE TRIGGER USER");
    assert!(ok, "{err}");
    let (app, conn) = tokio_postgres::connect(&server.url("basics", "app"), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let update = app
        .execute(
            "UPDATE audit_entries SET action = 'x' WHERE sequence = 1",
            &[],
        )
        .await;
    assert!(update.unwrap_err().to_string().contains("db error"));
    let rows = app
        .query("SELECT count(*) FROM audit_entries", &[])
        .await
        .unwrap();
    assert_eq!(rows[0].get::<_, i64>(0), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_tampering_done_with_psql() {
    let Some(server) = PgServer::start() else {
        return;
    };
    let cases: [(&str, &str, Tampering); 3] = [
        (
            "modified",
            "UPDATE audit_entries SET details = '{\"i\":99}' WHERE sequence = 3",
            Tampering {
                sequence: 3,
                kind: TamperKind::Modified,
            },
        ),
        (
            "deleted",
            "DELETE FROM audit_entries WHERE sequence = 3",
            Tampering {
                sequence: 3,
                kind: TamperKind::Deleted,
            },
        ),
        (
            "swapped",
            "UPDATE audit_entries SET sequence = -3 WHERE sequence = 3; \
             UPDATE audit_entries SET sequence = 3 WHERE sequence = 4; \
             UPDATE audit_entries SET sequence = 4 WHERE sequence = -3;",
            Tampering {
                sequence: 3,
                kind: TamperKind::Reordered,
            },
        ),
    ];
    for (db, sql, expected) in cases {
        let log = log_of(&server, db, 5).await;
        let (ok, err) = server.psql(
            db,
            &format!("ALTER TABLE audit_entries DISABLE TRIGGER USER; {sql}"),
        );
        assert!(ok, "{db}: {err}");
        assert_eq!(
            log.verify().await.unwrap().tampering,
            Some(expected),
            "{db}"
        );
    }

    // Truncation shows against a checkpoint kept elsewhere: the one `checkpoint()` returns, and
    // the signed file it writes (no automatic checkpoint is due: only `checkpoint()` writes it).
    server.create_database("truncated");
    let dir = support::TempDir::new("pg-checkpoint");
    let key = beacon_audit::SigningKey::from_bytes(&[5; 32]);
    let log = PgAuditLog::builder(server.url("truncated", "postgres"))
        .checkpoint_file(dir.path("head.json"))
        .checkpoint_every(1000)
        .signing_key(key.clone())
        .connect()
        .await
        .unwrap();
    for i in 1..=5 {
        log.append(support::entry(i)).await.unwrap();
    }
    let cp = log.checkpoint().await.unwrap();
    assert_eq!(cp.sequence, 5);
    assert!(log.verify().await.unwrap().is_intact());
    let on_disk = beacon_audit::Checkpoint::read(&dir.path("head.json")).unwrap();
    on_disk.verify_signature(&key.verifying_key()).unwrap();
    assert_eq!((on_disk.sequence, on_disk.hash), (cp.sequence, cp.hash));
    let (ok, err) = server.psql(
        "truncated",
        "ALTER TABLE audit_entries DISABLE TRIGGER USER; DELETE FROM audit_entries WHERE sequence > 3",
    );
    assert!(ok, "{err}");
    let truncated = Some(Tampering {
        sequence: 4,
        kind: TamperKind::Truncated,
    });
    assert_eq!(log.verify_against(&cp).await.unwrap().tampering, truncated);
    assert_eq!(log.verify().await.unwrap().tampering, truncated);
}

const CHILD_ENV: &str = "BEACON_AUDIT_PG_CHILD_URL";
const PER_CHILD: u32 = 40;

/// A child of the multi-process test: appends from 4 tasks, printing each returned sequence.
#[test]
#[ignore = "the child process of several_processes_appending_at_once_make_one_gap_free_chain"]
fn pg_child_appends() {
    let url = std::env::var(CHILD_ENV).expect("run only by the multi-process test");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let seqs = rt.block_on(async move {
        let log = PgAuditLog::builder(url).connect().await.unwrap();
        let tasks: Vec<_> = (0..PER_CHILD)
            .map(|i| tokio::spawn(log.append(support::entry(i))))
            .collect();
        let mut seqs = Vec::new();
        for t in tasks {
            seqs.push(t.await.unwrap().unwrap().sequence());
        }
        seqs
    });
    let mut out = std::io::stdout().lock();
    for s in seqs {
        writeln!(out, "appended {s}").unwrap();
    }
    out.flush().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_processes_appending_at_once_make_one_gap_free_chain() {
    let Some(server) = PgServer::start() else {
        return;
    };
    server.create_database("shared");
    // Create the schema first, so the children race on appends, not on migration.
    let log = PgAuditLog::builder(server.url("shared", "postgres"))
        .connect()
        .await
        .unwrap();
    let children: Vec<_> = (0..3)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--ignored", "--exact", "pg_child_appends", "--nocapture"])
                .env(CHILD_ENV, server.url("shared", "postgres"))
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut all = BTreeSet::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        for line in BufReader::new(&out.stdout[..]).lines() {
            if let Some(s) = line.unwrap().strip_prefix("appended ") {
                assert!(
                    all.insert(s.parse::<u64>().unwrap()),
                    "a sequence returned twice"
                );
            }
        }
    }
    let total = u64::from(3 * PER_CHILD);
    assert_eq!(all, (1..=total).collect::<BTreeSet<_>>());
    let report = log.verify().await.unwrap();
    assert!(report.is_intact(), "{:?}", report.tampering);
    assert_eq!(report.entries, total);
}
