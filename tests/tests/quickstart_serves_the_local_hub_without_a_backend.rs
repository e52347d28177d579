//! With no backend configured, the quickstart keeps its telemetry in the in-process hub,
//! serves the hub's API on loopback, prints the address, and finds its own traces there.

use std::path::PathBuf;
use std::process::{Command, Stdio};

fn quickstart() -> PathBuf {
    if let Some(p) = std::env::var_os("BEACON_QUICKSTART_BIN") {
        return PathBuf::from(p);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--example", "quickstart", "-p", "beacon-examples"])
        .current_dir(&root)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the quickstart failed");
    root.join("target/debug/examples/quickstart")
}

#[test]
fn no_backend_means_the_local_hub_with_its_api_on_loopback() {
    let out = Command::new(quickstart())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        // Not a terminal: it reports and exits instead of serving until Ctrl-C.
        .stdin(Stdio::null())
        .output()
        .expect("quickstart runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "quickstart failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let api = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Live hub API: http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no loopback hub address printed:\n{stdout}"));
    let port: String = api.chars().take_while(char::is_ascii_digit).collect();
    assert!(port.parse::<u16>().is_ok_and(|p| p > 0), "{api}");
    assert!(
        stdout.contains(&format!(
            "Live hub: 3 traces of service quickstart at http://127.0.0.1:{port}/api/traces"
        )),
        "the three customer visits are read back from the hub's API:\n{stdout}"
    );
    assert!(
        stdout.contains(r#"{"kind":"hub","name":"hub","status":"up""#),
        "/health/telemetry lists the hub:\n{stdout}"
    );
    assert!(stdout.contains("0 lost"), "{stdout}");
}
