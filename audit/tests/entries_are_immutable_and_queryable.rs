//! The seed's cases: entries are stored once, with a log-set timestamp and no `updated_at`,
//! keep their client metadata, and are found by correlation id, event type, actor and resource.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod support;

use std::time::{Duration, SystemTime};

use beacon_audit::{Actor, AuditLog, Error, NewEntry, Query, Resource};
use support::TempDir;

#[tokio::test]
async fn an_appended_entry_is_stored_with_sequence_timestamp_and_hash_and_reads_back_unchanged() {
    let dir = TempDir::new("immutable");
    let log = AuditLog::open(dir.path("audit.db")).unwrap();
    let before = SystemTime::now() - Duration::from_millis(1);
    let stored = log
        .append(
            NewEntry::new(
                "checkpoint.approved",
                Actor::user("alice"),
                Resource::new("checkpoint", "42"),
                "approve",
            )
            .details(serde_json::json!({"comment": "ok"})),
        )
        .await
        .unwrap();
    assert_eq!(stored.sequence(), 1);
    assert!(stored.inserted_at() >= before && stored.inserted_at() <= SystemTime::now());
    assert!(stored.hash_matches());
    assert_eq!(stored.prev_hash(), beacon_audit::Hash::GENESIS);

    // Read back: the same entry, and its JSON has the timestamp and no updated_at.
    let page = log.query(Query::new()).await.unwrap();
    assert_eq!(page.entries, vec![stored.clone()]);
    let json = serde_json::to_value(&stored).unwrap();
    assert!(json.get("inserted_at").and_then(|v| v.as_str()).is_some());
    assert!(json.get("updated_at").is_none());
    assert_eq!(json["details"]["comment"], "ok");

    // The second entry chains to the first.
    let second = log.append(support::entry(2)).await.unwrap();
    assert_eq!(second.sequence(), 2);
    assert_eq!(second.prev_hash(), stored.hash());
    assert!(second.inserted_at_micros() >= stored.inserted_at_micros());
}

#[tokio::test]
async fn a_correlation_query_returns_both_entries_of_the_operation_in_order() {
    let dir = TempDir::new("correlation");
    let log = AuditLog::open(dir.path("audit.db")).unwrap();
    let submit = NewEntry::new(
        "checkpoint.submitted",
        Actor::user("bob"),
        Resource::new("checkpoint", "7"),
        "submit",
    )
    .correlation_id("op-1");
    let other = support::entry(9);
    let approve = NewEntry::new(
        "checkpoint.approved",
        Actor::user("alice"),
        Resource::new("checkpoint", "7"),
        "approve",
    )
    .correlation_id("op-1");
    log.append(submit).await.unwrap();
    log.append(other).await.unwrap();
    log.append(approve).await.unwrap();
    let story = log
        .query(Query::new().correlation_id("op-1"))
        .await
        .unwrap();
    let seen: Vec<_> = story
        .entries
        .iter()
        .map(|e| (e.sequence(), e.action()))
        .collect();
    assert_eq!(seen, [(1, "submit"), (3, "approve")]);
    assert_eq!(story.next, None);
}

#[tokio::test]
async fn client_ip_and_user_agent_are_kept() {
    let dir = TempDir::new("client");
    let log = AuditLog::open(dir.path("audit.db")).unwrap();
    log.append(
        support::entry(1)
            .client_ip("203.0.113.9")
            .user_agent("Mozilla/5.0 (X11)"),
    )
    .await
    .unwrap();
    let e = &log.query(Query::new()).await.unwrap().entries[0];
    assert_eq!(e.client().ip.as_deref(), Some("203.0.113.9"));
    assert_eq!(e.client().user_agent.as_deref(), Some("Mozilla/5.0 (X11)"));
}

#[tokio::test]
async fn queries_by_event_type_actor_resource_and_time_select_only_matching_entries() {
    let dir = TempDir::new("queries");
    let log = AuditLog::open(dir.path("audit.db")).unwrap();
    for i in 1..=9 {
        log.append(support::entry(i)).await.unwrap();
    }
    let login = log
        .append(NewEntry::new(
            "user.login",
            Actor::api("key-1"),
            Resource::new("session", "s1"),
            "login",
        ))
        .await
        .unwrap();

    let by_type = log
        .query(Query::new().event_type("user.login"))
        .await
        .unwrap();
    assert_eq!(by_type.entries, vec![login.clone()]);

    let by_actor = log.query(Query::new().actor("user-1")).await.unwrap();
    let seqs: Vec<_> = by_actor.entries.iter().map(|e| e.sequence()).collect();
    assert_eq!(seqs, [1, 4, 7]);

    let by_resource = log
        .query(Query::new().resource("order", "5"))
        .await
        .unwrap();
    assert_eq!(by_resource.entries.len(), 1);
    assert_eq!(by_resource.entries[0].sequence(), 5);
    assert!(log
        .query(Query::new().resource("session", "5"))
        .await
        .unwrap()
        .entries
        .is_empty());

    let since = log
        .query(Query::new().since(login.inserted_at()))
        .await
        .unwrap();
    assert_eq!(since.entries.last(), Some(&login));
    assert!(since
        .entries
        .iter()
        .all(|e| e.inserted_at() >= login.inserted_at()));
    let until = log
        .query(Query::new().until(login.inserted_at()))
        .await
        .unwrap();
    assert!(until
        .entries
        .iter()
        .all(|e| e.sequence() < login.sequence()));
}

#[tokio::test]
async fn pages_follow_each_other_in_sequence_order_without_overlap() {
    let dir = TempDir::new("pages");
    let log = AuditLog::open(dir.path("audit.db")).unwrap();
    for i in 1..=7 {
        log.append(support::entry(i)).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut q = Query::new().limit(3);
    loop {
        let page = log.query(q.clone()).await.unwrap();
        assert!(page.entries.len() <= 3);
        seen.extend(page.entries.iter().map(|e| e.sequence()));
        match page.next {
            Some(n) => q = q.after(n),
            None => break,
        }
    }
    assert_eq!(seen, [1, 2, 3, 4, 5, 6, 7]);
}

#[tokio::test]
async fn oversized_details_and_empty_fields_are_typed_errors_and_nothing_is_stored() {
    let dir = TempDir::new("limits");
    let log = AuditLog::builder(dir.path("audit.db"))
        .max_details_bytes(32)
        .open()
        .unwrap();
    let big = support::entry(1).details(serde_json::json!({"blob": "x".repeat(64)}));
    match log.append(big).await {
        Err(Error::DetailsTooLarge { size, limit }) => {
            assert_eq!(limit, 32);
            assert!(size > 64);
        }
        other => panic!("expected DetailsTooLarge, got {other:?}"),
    }
    let empty = NewEntry::new("", Actor::user("a"), Resource::new("r", "1"), "x");
    assert!(matches!(
        log.append(empty).await,
        Err(Error::EmptyField("event_type"))
    ));
    assert!(log.query(Query::new()).await.unwrap().entries.is_empty());
}

#[test]
fn append_blocking_works_without_a_runtime() {
    let dir = TempDir::new("blocking");
    let log = AuditLog::open(dir.path("audit.db")).unwrap();
    let a = log.append_blocking(support::entry(1)).unwrap();
    let b = log.append_blocking(support::entry(2)).unwrap();
    assert_eq!((a.sequence(), b.sequence()), (1, 2));
    let reader = beacon_audit::AuditReader::open(dir.path("audit.db")).unwrap();
    assert_eq!(reader.get(2).unwrap(), Some(b));
    assert!(reader.verify().unwrap().is_intact());
}

#[test]
fn reopening_continues_the_same_chain() {
    let dir = TempDir::new("reopen");
    let path = dir.path("audit.db");
    let first = AuditLog::open(&path)
        .unwrap()
        .append_blocking(support::entry(1))
        .unwrap();
    let log = AuditLog::open(&path).unwrap();
    let second = log.append_blocking(support::entry(2)).unwrap();
    assert_eq!(second.sequence(), 2);
    assert_eq!(second.prev_hash(), first.hash());
}

#[test]
fn a_newer_schema_or_a_foreign_file_is_a_typed_error() {
    let dir = TempDir::new("schema");
    let path = dir.path("audit.db");
    drop(AuditLog::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    assert!(matches!(
        AuditLog::open(&path),
        Err(Error::SchemaTooNew {
            found: 99,
            supported: 1
        })
    ));
    assert!(matches!(
        beacon_audit::AuditReader::open(&path),
        Err(Error::SchemaTooNew { found: 99, .. })
    ));

    let other = dir.path("other.db");
    let conn = rusqlite::Connection::open(&other).unwrap();
    conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
    drop(conn);
    assert!(matches!(
        beacon_audit::AuditReader::open(&other),
        Err(Error::NotAnAuditLog(_))
    ));
}
