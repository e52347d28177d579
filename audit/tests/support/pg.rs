//! A throwaway PostgreSQL server on loopback, in a temporary data directory.

use std::path::PathBuf;
use std::process::Command;

use super::TempDir;

pub struct PgServer {
    _dir: TempDir,
    data: PathBuf,
    bin: PathBuf,
    run_as: Option<&'static str>,
    pub port: u16,
}

/// `BEACON_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin` with `initdb`.
fn bin_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BEACON_PG_BIN").map(PathBuf::from) {
        return p.join("initdb").is_file().then_some(p);
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|b| b.join("initdb").is_file())
        .collect();
    dirs.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl PgServer {
    /// Starts a server, or `None` (after saying so) when PostgreSQL is not installed outside CI.
    pub fn start() -> Option<Self> {
        let Some(bin) = bin_dir() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "PostgreSQL is required in CI (Debian package postgresql, or set BEACON_PG_BIN)"
            );
            eprintln!(
                "SKIPPED: no PostgreSQL server binaries (install postgresql or set BEACON_PG_BIN)"
            );
            return None;
        };
        let dir = TempDir::new("pg");
        // PostgreSQL refuses to run as root: use its own account then.
        let run_as = is_root().then_some("postgres");
        if let Some(user) = run_as {
            let ok = Command::new("chown")
                .arg(format!("{user}:{user}"))
                .arg(&dir.0)
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown of the PostgreSQL temp dir failed");
        }
        let data = dir.0.join("data");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = Self {
            _dir: dir,
            data,
            bin,
            run_as,
            port,
        };
        let data = server.data.to_str().unwrap().to_owned();
        server.run(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        let socket_dir = server.data.parent().unwrap().to_str().unwrap().to_owned();
        let options =
            format!("-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off");
        let log = format!("{data}/server.log");
        server.run(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-w", "-o", &options, "start"],
        );
        Some(server)
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self.command(program).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A connection string for `database`, as user `user`.
    pub fn url(&self, database: &str, user: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user={user} dbname={database}",
            self.port
        )
    }

    /// Runs SQL with `psql` against `database`; returns (success, stderr).
    pub fn psql(&self, database: &str, sql: &str) -> (bool, String) {
        let out = self
            .command("psql")
            .args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
            ])
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-d", database, "-c", sql])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Creates database `name`.
    pub fn create_database(&self, name: &str) {
        let (ok, err) = self.psql("postgres", &format!("CREATE DATABASE {name}"));
        assert!(ok, "{err}");
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.data.to_str().unwrap_or_default().to_owned();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
    }
}
