//! `beacon-audit`: verify and query an audit log from the command line.
//!
//! ```text
//! beacon-audit verify PATH [--checkpoint FILE] [--public-key HEX]
//! beacon-audit query PATH [--correlation-id ID] [--actor ID] [--resource TYPE:ID]
//!                         [--event-type TYPE] [--since RFC3339] [--until RFC3339]
//!                         [--after SEQ] [--limit N]
//! ```
//! `verify` exits 0 when the log is intact, 1 naming the first bad sequence number when it is
//! not, 2 on any other error. `query` prints one JSON object per entry, in sequence order.
//! `PATH` is a SQLite file, or, when built with the `postgres` feature, a PostgreSQL URL
//! (`postgres://user@host/db`).

use std::process::ExitCode;

use beacon_audit::{AuditReader, Checkpoint, Error, Page, Query, Verification, VerifyingKey};

/// The log named on the command line.
enum Log {
    Sqlite(AuditReader),
    #[cfg(feature = "postgres")]
    Postgres(tokio::runtime::Runtime, beacon_audit::postgres::PgAuditLog),
}

impl Log {
    fn open(path: &str) -> Result<Self, String> {
        if path.starts_with("postgres://") || path.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                let log = rt
                    .block_on(beacon_audit::postgres::PgAuditLog::builder(path).connect())
                    .map_err(|e| e.to_string())?;
                return Ok(Log::Postgres(rt, log));
            }
            #[cfg(not(feature = "postgres"))]
            return Err(
                "this beacon-audit was built without the `postgres` feature \
                 (cargo run -p beacon-audit --features postgres -- …)"
                    .into(),
            );
        }
        AuditReader::open(path)
            .map(Log::Sqlite)
            .map_err(|e| e.to_string())
    }

    fn verify(&self, checkpoint: Option<&Checkpoint>) -> Result<Verification, Error> {
        match (self, checkpoint) {
            (Log::Sqlite(r), Some(cp)) => r.verify_against(cp),
            (Log::Sqlite(r), None) => r.verify(),
            #[cfg(feature = "postgres")]
            (Log::Postgres(rt, log), Some(cp)) => rt.block_on(log.verify_against(cp)),
            #[cfg(feature = "postgres")]
            (Log::Postgres(rt, log), None) => rt.block_on(log.verify()),
        }
    }

    fn query(&self, query: &Query) -> Result<Page, Error> {
        match self {
            Log::Sqlite(r) => r.query(query),
            #[cfg(feature = "postgres")]
            Log::Postgres(rt, log) => rt.block_on(log.query(query.clone())),
        }
    }
}

const USAGE: &str = "usage:
  beacon-audit verify PATH [--checkpoint FILE] [--public-key HEX]
  beacon-audit query PATH [--correlation-id ID] [--actor ID] [--resource TYPE:ID]
                          [--event-type TYPE] [--since RFC3339] [--until RFC3339]
                          [--after SEQ] [--limit N]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("beacon-audit: {message}");
            ExitCode::from(2)
        }
    }
}

/// `--name value` pairs after the path.
fn options(rest: &[String], known: &[&str]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        if !known.contains(&flag.as_str()) {
            return Err(format!("unknown option {flag:?}\n{USAGE}"));
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        out.push((flag.clone(), value.clone()));
    }
    Ok(out)
}

fn time(flag: &str, value: &str) -> Result<std::time::SystemTime, String> {
    beacon_audit::parse_time(value)
        .ok_or_else(|| format!("{flag} {value:?} is not an RFC 3339 time (2026-12-01T09:00:00Z)"))
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let (command, path, rest) = match args {
        [c, p, rest @ ..] if !p.starts_with("--") => (c.as_str(), p, rest),
        _ => return Err(USAGE.into()),
    };
    match command {
        "verify" => {
            let opts = options(rest, &["--checkpoint", "--public-key"])?;
            let reader = Log::open(path)?;
            let mut checkpoint = None;
            let mut key = None;
            for (flag, value) in opts {
                match flag.as_str() {
                    "--checkpoint" => {
                        checkpoint =
                            Some(Checkpoint::read(value.as_ref()).map_err(|e| e.to_string())?);
                    }
                    _ => key = Some(public_key(&value)?),
                }
            }
            if let (Some(cp), Some(key)) = (&checkpoint, &key) {
                cp.verify_signature(key).map_err(|e| e.to_string())?;
            } else if key.is_some() {
                return Err("--public-key needs --checkpoint".into());
            }
            let report = reader
                .verify(checkpoint.as_ref())
                .map_err(|e| e.to_string())?;
            match report.tampering {
                None => {
                    let head = report.head.map_or_else(
                        || "empty".to_owned(),
                        |h| format!("head {} {}", h.sequence, h.hash),
                    );
                    println!("intact: {} entries, {head}", report.entries);
                    Ok(ExitCode::SUCCESS)
                }
                Some(t) => {
                    println!(
                        "TAMPERED: first bad sequence number {} ({})",
                        t.sequence, t.kind
                    );
                    Ok(ExitCode::from(1))
                }
            }
        }
        "query" => {
            let opts = options(
                rest,
                &[
                    "--correlation-id",
                    "--actor",
                    "--resource",
                    "--event-type",
                    "--since",
                    "--until",
                    "--after",
                    "--limit",
                ],
            )?;
            let mut query = Query::new().limit(beacon_audit::MAX_PAGE_SIZE);
            let mut limit = u64::MAX;
            for (flag, value) in opts {
                query = match flag.as_str() {
                    "--correlation-id" => query.correlation_id(value),
                    "--actor" => query.actor(value),
                    "--event-type" => query.event_type(value),
                    "--resource" => {
                        let (kind, id) = value
                            .split_once(':')
                            .ok_or_else(|| format!("--resource {value:?} is not TYPE:ID"))?;
                        query.resource(kind, id)
                    }
                    "--since" => query.since(time(&flag, &value)?),
                    "--until" => query.until(time(&flag, &value)?),
                    "--after" => query.after(
                        value
                            .parse()
                            .map_err(|_| format!("--after {value:?} is not a sequence number"))?,
                    ),
                    _ => {
                        limit = value
                            .parse()
                            .map_err(|_| format!("--limit {value:?} is not a number"))?;
                        query
                    }
                };
            }
            let reader = Log::open(path)?;
            let mut printed = 0u64;
            loop {
                let page = reader.query(&query).map_err(|e| e.to_string())?;
                for entry in &page.entries {
                    if printed == limit {
                        return Ok(ExitCode::SUCCESS);
                    }
                    let line = serde_json::to_string(entry).map_err(|e| e.to_string())?;
                    println!("{line}");
                    printed += 1;
                }
                match page.next {
                    Some(next) => query = query.after(next),
                    None => return Ok(ExitCode::SUCCESS),
                }
            }
        }
        _ => Err(format!("unknown command {command:?}\n{USAGE}")),
    }
}

fn public_key(hex: &str) -> Result<VerifyingKey, String> {
    let bytes = beacon_audit::Hash::from_hex(hex)
        .ok_or_else(|| "--public-key is not 64 hex digits".to_owned())?;
    VerifyingKey::from_bytes(&bytes.0).map_err(|e| format!("--public-key: {e}"))
}
