//! `BEACON_EXPORT_SPOOL_DIR` and `BEACON_EXPORT_SPOOL_MAX_BYTES`.

use beacon_exporter::spool::SpoolConfig;

use super::parse::Env;
use super::vars::{BEACON_EXPORT_SPOOL_DIR, BEACON_EXPORT_SPOOL_MAX_BYTES};
use super::InitError;

/// The builder's spool wins; otherwise the variables (a directory turns it on).
pub(crate) fn resolve(
    builder: Option<SpoolConfig>,
    env: &Env<'_>,
) -> Result<Option<SpoolConfig>, InitError> {
    if builder.is_some() {
        return Ok(builder);
    }
    let Some(dir) = env
        .get(BEACON_EXPORT_SPOOL_DIR)
        .filter(|d| !d.trim().is_empty())
    else {
        return Ok(None);
    };
    // Relative to what? A service's working directory changes between a shell, systemd and a
    // container; a spool that silently moved would lose everything in it.
    if !std::path::Path::new(&dir).is_absolute() {
        return Err(InitError::invalid(
            BEACON_EXPORT_SPOOL_DIR,
            &dir,
            "an absolute directory path, such as /var/spool/my-service",
        ));
    }
    let mut config = SpoolConfig::new(dir);
    if let Some(max) = env.count_exact(BEACON_EXPORT_SPOOL_MAX_BYTES)? {
        config = config.with_max_bytes(max as u64);
    }
    Ok(Some(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(
        vars: &'static [(&'static str, &'static str)],
    ) -> Result<Option<SpoolConfig>, InitError> {
        let lookup = move |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        resolve(None, &Env::new(&lookup))
    }

    #[test]
    fn the_directory_turns_the_spool_on_and_the_cap_defaults_to_256_mib() {
        assert_eq!(with(&[]).expect("ok"), None);
        assert_eq!(with(&[(BEACON_EXPORT_SPOOL_DIR, " ")]).expect("ok"), None);
        let on = with(&[(BEACON_EXPORT_SPOOL_DIR, "/var/spool/beacon")])
            .expect("ok")
            .expect("on");
        assert_eq!(on.dir, std::path::PathBuf::from("/var/spool/beacon"));
        assert_eq!(on.max_bytes, 256 * 1024 * 1024);
        let capped = with(&[
            (BEACON_EXPORT_SPOOL_DIR, "/s"),
            (BEACON_EXPORT_SPOOL_MAX_BYTES, "1048576"),
        ])
        .expect("ok")
        .expect("on");
        assert_eq!(capped.max_bytes, 1_048_576);
        let err = with(&[
            (BEACON_EXPORT_SPOOL_DIR, "/s"),
            (BEACON_EXPORT_SPOOL_MAX_BYTES, "1GB"),
        ])
        .expect_err("not a number");
        assert_eq!(err.variable(), Some(BEACON_EXPORT_SPOOL_MAX_BYTES));
        let err = with(&[(BEACON_EXPORT_SPOOL_DIR, "spool")]).expect_err("relative");
        assert_eq!(err.variable(), Some(BEACON_EXPORT_SPOOL_DIR));
    }

    #[test]
    fn an_unusable_directory_is_one_warning_and_the_pipeline_still_builds() {
        // A regular file where the directory should be: the spool cannot be created.
        let file = std::env::temp_dir().join(format!("beacon-spool-file-{}", std::process::id()));
        std::fs::write(&file, b"not a directory").expect("file");
        let telemetry = crate::builder()
            .env_source(|_| None)
            .otlp_endpoint("http://127.0.0.1:9")
            .metrics_exporter(crate::config::Exporter::None)
            .export_spool(SpoolConfig::new(file.join("spool")))
            .build()
            .expect("builds without the spool");
        let stats = telemetry.stats();
        assert_eq!((stats.traces.spooled, stats.logs.recovered), (0, 0));
        drop(telemetry);
        let _ = std::fs::remove_file(&file);
    }

    #[test]
    fn a_directory_in_use_is_an_error_naming_it() {
        let dir = std::env::temp_dir().join(format!("beacon-spool-inuse-{}", std::process::id()));
        let build = || {
            crate::builder()
                .env_source(|_| None)
                .otlp_endpoint("http://127.0.0.1:9")
                .metrics_exporter(crate::config::Exporter::None)
                .logs_exporter(crate::config::Exporter::None)
                .export_spool(SpoolConfig::new(&dir))
                .build()
        };
        let first = build().expect("first");
        let err = build().expect_err("the spool is taken");
        assert!(
            err.to_string().contains(&dir.display().to_string()),
            "{err}"
        );
        drop(first);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
