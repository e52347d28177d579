//! Helpers for Beacon's end-to-end tests: real backends started as child processes, whose
//! output the tests wait on (never sleeping), and the queries of the Grafana dashboards in
//! `deploy/` made runnable by Prometheus ([`dashboards`]).

pub mod dashboards;
pub mod deploy;
pub mod output;
pub mod prometheus;
pub mod rotel;
pub mod stall;

/// Whether we run in CI, where a missing backend is a failure, never a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A free loopback port (bound, then released for the backend to take).
///
/// # Errors
/// When no port can be bound.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
