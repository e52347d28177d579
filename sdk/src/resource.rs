//! Resource detection: who is sending the telemetry.
//!
//! Precedence, lowest first: detected attributes (`host.name`, `os.type`, `process.*`,
//! `telemetry.sdk.*`, `service.instance.id`), then `OTEL_RESOURCE_ATTRIBUTES`, then
//! `OTEL_SERVICE_NAME`, then the builder.

use opentelemetry::KeyValue;
use opentelemetry_sdk::resource::{ResourceDetector, TelemetryResourceDetector};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
use opentelemetry_sdk::Resource;

use crate::config::parse::{key_values, Env};
use crate::config::vars::{OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME};
use crate::config::Builder;

pub(crate) fn detect(b: &Builder, env: &Env<'_>) -> Resource {
    let mut attrs: Vec<KeyValue> = Vec::with_capacity(16);
    let telemetry = TelemetryResourceDetector.detect();
    attrs.extend(
        telemetry
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
    );
    attrs.push(KeyValue::new("telemetry.distro.name", "beacon"));
    attrs.push(KeyValue::new(
        "telemetry.distro.version",
        env!("CARGO_PKG_VERSION"),
    ));
    let exe = executable_name();
    attrs.push(KeyValue::new(
        "service.name",
        default_service_name(exe.as_deref()),
    ));
    attrs.push(KeyValue::new("service.instance.id", instance_id()));
    if let Some(host) = host_name() {
        attrs.push(KeyValue::new("host.name", host));
    }
    attrs.push(KeyValue::new("os.type", os_type()));
    attrs.push(KeyValue::new("process.pid", i64::from(std::process::id())));
    if let Some(exe) = exe {
        attrs.push(KeyValue::new("process.executable.name", exe));
    }
    attrs.push(KeyValue::new("process.runtime.name", "rustc"));
    attrs.push(KeyValue::new(
        "process.runtime.version",
        env!("BEACON_RUSTC_VERSION"),
    ));

    if let Some(raw) = env.get(OTEL_RESOURCE_ATTRIBUTES) {
        match key_values(&raw) {
            Ok(pairs) => attrs.extend(pairs.into_iter().map(|(k, v)| KeyValue::new(k, v))),
            Err(why) => env.warn(format!(
                "{OTEL_RESOURCE_ATTRIBUTES} discarded, as the spec requires for a value that does not decode: {why}"
            )),
        }
    }
    if let Some(name) = env.get(OTEL_SERVICE_NAME) {
        attrs.push(KeyValue::new("service.name", name));
    }
    if let Some(name) = &b.service_name {
        attrs.push(KeyValue::new("service.name", name.clone()));
    }
    if let Some(version) = &b.service_version {
        attrs.push(KeyValue::new("service.version", version.clone()));
    }
    attrs.extend(b.resource.iter().cloned());
    // Later attributes win over earlier ones with the same key.
    Resource::builder_empty().with_attributes(attrs).build()
}

/// The executable's file name, when the platform tells it.
pub(crate) fn executable_name() -> Option<String> {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| !n.is_empty())
}

/// `service.name` when none is configured: `unknown_service:<executable>`, or
/// `unknown_service` alone when the executable's name is not known.
pub(crate) fn default_service_name(exe: Option<&str>) -> String {
    match exe {
        Some(exe) => format!("unknown_service:{exe}"),
        None => "unknown_service".to_owned(),
    }
}

/// A random UUID (version 4), new for every process.
pub(crate) fn instance_id() -> String {
    let mut b = RandomIdGenerator::default().new_trace_id().to_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

pub(crate) fn host_name() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .or_else(|| std::env::var("COMPUTERNAME").ok().filter(|s| !s.is_empty()))
}

/// `os.type` per semantic conventions (`linux`, `darwin`, `windows`, `freebsd`…).
pub(crate) fn os_type() -> &'static str {
    os_type_of(std::env::consts::OS)
}

/// The `os.type` well-known value for a Rust target OS (`std::env::consts::OS`); a target
/// the conventions do not list keeps its own name, as they allow.
fn os_type_of(os: &'static str) -> &'static str {
    match os {
        "macos" | "ios" | "tvos" | "watchos" | "visionos" => "darwin",
        "dragonfly" => "dragonflybsd",
        // illumos is a SunOS.
        "solaris" | "illumos" => "solaris",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// semantic-conventions `docs/resource/service.md` (`service.name`): "If `service.name` is
    /// not specified, SDKs MUST fallback to `unknown_service:` concatenated with
    /// `process.executable.name`, e.g. `unknown_service:bash`. If `process.executable.name` is
    /// not available, the value MUST be set to `unknown_service`."
    #[test]
    fn the_default_service_name_has_no_placeholder_executable() {
        assert_eq!(default_service_name(Some("shop")), "unknown_service:shop");
        assert_eq!(default_service_name(None), "unknown_service");
    }

    /// semantic-conventions `docs/registry/attributes/os.md`: "`os.type` has the following list
    /// of well-known values. If one of them applies, then the respective value MUST be used"
    /// — `dragonflybsd` for DragonFly BSD (Rust calls it `dragonfly`), `darwin` for Apple's.
    #[test]
    fn os_type_uses_the_well_known_values() {
        assert_eq!(os_type_of("dragonfly"), "dragonflybsd");
        assert_eq!(os_type_of("macos"), "darwin");
        assert_eq!(os_type_of("ios"), "darwin");
        assert_eq!(os_type_of("illumos"), "solaris");
        for same in [
            "linux", "windows", "freebsd", "netbsd", "openbsd", "aix", "solaris",
        ] {
            assert_eq!(os_type_of(same), same);
        }
    }

    #[test]
    fn instance_id_is_a_v4_uuid() {
        let id = instance_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(id, instance_id());
    }
}
