//! Audit log: an approval workflow whose every step writes an audit entry, all under one
//! correlation id, each step in its own trace.
//!
//! ```text
//! cargo run -p beacon-examples --example audit_log               # a new log in a temp file
//! cargo run -p beacon-examples --example audit_log -- audit.db   # or this file
//! cargo run -p beacon-audit -- query audit.db --correlation-id <id printed>
//! cargo run -p beacon-audit -- verify audit.db
//! ```

use beacon_audit::{Actor, AuditLog, NewEntry, Query, Resource};
use tracing::Instrument as _;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = match std::env::args_os().nth(1) {
        Some(p) => std::path::PathBuf::from(p),
        None => {
            std::env::temp_dir().join(format!("beacon-audit-example-{}.db", std::process::id()))
        }
    };
    let mut builder = beacon::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        builder = builder.service_name("audit_log");
    }
    let otlp_set = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_LOGS_EXPORTER",
        "OTEL_TRACES_EXPORTER",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some());
    // With a collector configured the entries' log records (and the step traces) go there, with
    // readable log lines here too; without one, every signal is printed here.
    builder = if otlp_set {
        builder.console_logs(true)
    } else {
        builder.console()
    };
    let telemetry = builder.try_init()?;
    let log = AuditLog::builder(&path)
        .checkpoint_file(path.with_extension("checkpoint.json"))
        .open()?;
    println!("audit log: {}", path.display());

    let correlation = format!("approval-{}", std::process::id());
    let checkpoint = Resource::new("checkpoint", "release-42");
    let steps = [
        ("checkpoint.submitted", Actor::user("bob"), "submit"),
        ("checkpoint.reviewed", Actor::user("alice"), "review"),
        ("checkpoint.approved", Actor::user("alice"), "approve"),
        ("checkpoint.applied", Actor::system("deployer"), "apply"),
    ];
    for (event_type, actor, action) in steps {
        // Each step is its own trace; the correlation id ties the steps together, and each
        // entry's details name the trace it happened in.
        let span = tracing::info_span!(parent: None, "approval.step", step = action);
        let entry = async {
            let trace_id = beacon_audit::current_trace_id();
            log.append(
                NewEntry::new(event_type, actor, checkpoint.clone(), action)
                    .correlation_id(&correlation)
                    .details(serde_json::json!({ "trace_id": trace_id }))
                    .client_ip("192.0.2.10")
                    .user_agent("audit_log example"),
            )
            .await
        }
        .instrument(span)
        .await?;
        println!(
            "  #{} {} by {} (trace {})",
            entry.sequence(),
            entry.event_type(),
            entry.actor().id,
            entry.details()["trace_id"].as_str().unwrap_or("none")
        );
    }

    println!("the story of {correlation}:");
    let story = log.query(Query::new().correlation_id(&correlation)).await?;
    for entry in &story.entries {
        println!("{}", serde_json::to_string(entry)?);
    }
    let report = log.verify().await?;
    match report.tampering {
        None => println!("verify: intact, {} entries", report.entries),
        Some(t) => println!("verify: TAMPERED at {t}"),
    }
    drop(log);
    drop(telemetry);
    Ok(())
}
