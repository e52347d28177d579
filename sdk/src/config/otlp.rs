//! Resolving one signal's OTLP destination from the builder and the environment.

use std::time::Duration;

use beacon_exporter::otlp::{redact_url, Compression, OtlpConfig, Protocol, Signal, TlsFiles};
use http::{HeaderMap, HeaderName, HeaderValue, Uri};

use super::parse::{key_values, Env};
use super::vars::*;
use super::InitError;

/// OTLP settings of one signal given in code ([`Builder::otlp_signal`](super::Builder::otlp_signal)),
/// the code equivalents of `OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_*`: each wins over the
/// general settings (code or environment) and over its variables. An endpoint given here is
/// used as it is, as the per-signal variables are (no `v1/<signal>` is appended).
///
/// ```
/// use beacon::config::{OtlpSignal, Protocol, Signal};
/// let telemetry = beacon::builder()
///     .env_source(|_| None)
///     .otlp_endpoint("http://collector:4318")
///     .otlp_signal(
///         Signal::Logs,
///         OtlpSignal::new()
///             .endpoint("http://logs.internal:4317")
///             .protocol(Protocol::Grpc),
///     )
///     .build()?;
/// let logs = telemetry.describe().into_iter().find(|l| l.starts_with("logs")).unwrap();
/// assert!(logs.contains("http://logs.internal:4317"), "{logs}");
/// # Ok::<(), beacon::config::InitError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct OtlpSignal {
    pub(crate) overrides: OtlpOverrides,
}

impl OtlpSignal {
    /// No setting of its own: everything as for the other signals.
    pub fn new() -> Self {
        Self::default()
    }

    /// This signal's endpoint, used as it is (`OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT`).
    #[must_use]
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.overrides.endpoint = Some(endpoint.into());
        self
    }

    /// This signal's protocol (`OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL`).
    #[must_use]
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.overrides.protocol = Some(protocol);
        self
    }

    /// A header for this signal's exports, added to (and winning over) the general ones
    /// (`OTEL_EXPORTER_OTLP_<SIGNAL>_HEADERS`).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.overrides.headers.push((name.into(), value.into()));
        self
    }

    /// This signal's compression (`OTEL_EXPORTER_OTLP_<SIGNAL>_COMPRESSION`).
    #[must_use]
    pub fn compression(mut self, compression: Compression) -> Self {
        self.overrides.compression = Some(compression);
        self
    }

    /// This signal's request timeout; zero means no limit (`OTEL_EXPORTER_OTLP_<SIGNAL>_TIMEOUT`).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.overrides.timeout = Some(timeout);
        self
    }

    /// This signal's TLS material (`OTEL_EXPORTER_OTLP_<SIGNAL>_CERTIFICATE`,
    /// `…_CLIENT_CERTIFICATE`, `…_CLIENT_KEY`), as PEM bytes.
    #[must_use]
    pub fn tls(mut self, tls: TlsFiles) -> Self {
        self.overrides.tls = Some(tls);
        self
    }
}

/// OTLP settings given in code; each wins over its environment variables.
#[derive(Debug, Clone, Default)]
pub(crate) struct OtlpOverrides {
    pub(crate) endpoint: Option<String>,
    pub(crate) protocol: Option<Protocol>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) compression: Option<Compression>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) tls: Option<TlsFiles>,
}

struct SignalVars {
    endpoint: &'static str,
    protocol: &'static str,
    headers: &'static str,
    compression: &'static str,
    timeout: &'static str,
    certificate: &'static str,
    client_certificate: &'static str,
    client_key: &'static str,
}

fn vars(signal: Signal) -> SignalVars {
    match signal {
        Signal::Traces => SignalVars {
            endpoint: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
            protocol: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
            headers: OTEL_EXPORTER_OTLP_TRACES_HEADERS,
            compression: OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
            timeout: OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
            certificate: OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE,
            client_certificate: OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE,
            client_key: OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY,
        },
        Signal::Metrics => SignalVars {
            endpoint: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
            protocol: OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
            headers: OTEL_EXPORTER_OTLP_METRICS_HEADERS,
            compression: OTEL_EXPORTER_OTLP_METRICS_COMPRESSION,
            timeout: OTEL_EXPORTER_OTLP_METRICS_TIMEOUT,
            certificate: OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE,
            client_certificate: OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE,
            client_key: OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY,
        },
        Signal::Logs => SignalVars {
            endpoint: OTEL_EXPORTER_OTLP_LOGS_ENDPOINT,
            protocol: OTEL_EXPORTER_OTLP_LOGS_PROTOCOL,
            headers: OTEL_EXPORTER_OTLP_LOGS_HEADERS,
            compression: OTEL_EXPORTER_OTLP_LOGS_COMPRESSION,
            timeout: OTEL_EXPORTER_OTLP_LOGS_TIMEOUT,
            certificate: OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE,
            client_certificate: OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE,
            client_key: OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY,
        },
    }
}

const PROTOCOLS: &str = "one of grpc, http/protobuf, http/json";
const COMPRESSIONS: &str = "gzip or none";

/// Resolves the destination of `signal`: code first, then the signal's variable, then the
/// general one, then the spec's default.
pub(crate) fn resolve(
    signal: Signal,
    general: &OtlpOverrides,
    own: Option<&OtlpOverrides>,
    env: &Env<'_>,
) -> Result<OtlpConfig, InitError> {
    let v = vars(signal);
    // This signal's code settings over the general ones; the endpoint is handled apart, since
    // one of this signal's is used as it is.
    let merged;
    let code = match own {
        None => general,
        Some(o) => {
            merged = OtlpOverrides {
                endpoint: general.endpoint.clone(),
                protocol: o.protocol.or(general.protocol),
                headers: general.headers.iter().chain(&o.headers).cloned().collect(),
                compression: o.compression.or(general.compression),
                timeout: o.timeout.or(general.timeout),
                tls: o.tls.clone().or_else(|| general.tls.clone()),
            };
            &merged
        }
    };
    let own_endpoint = own.and_then(|o| o.endpoint.as_deref());

    let protocol = match code.protocol {
        Some(p) => p,
        None => match env.first(&[v.protocol, OTEL_EXPORTER_OTLP_PROTOCOL]) {
            Some((name, value)) => env.or_default(
                value
                    .to_ascii_lowercase()
                    .parse()
                    .map_err(|()| InitError::invalid(name, &value, PROTOCOLS)),
                Protocol::HttpProtobuf,
                "the default, http/protobuf",
            )?,
            None => Protocol::HttpProtobuf,
        },
    };

    // Per-signal endpoints are used as-is; the base endpoint gets `v1/<signal>` for HTTP.
    let default_endpoint = || -> Result<Uri, InitError> {
        let uri: Uri = protocol
            .default_endpoint()
            .parse()
            .map_err(|_| InitError::config("internal: default endpoint is not a URI"))?;
        Ok(with_signal_path(uri, protocol, signal))
    };
    // An invalid variable is ignored as if unset (outside strict mode): the next one applies.
    let from_env = |name: &'static str| -> Result<Option<Uri>, InitError> {
        let Some(value) = env.get(name) else {
            return Ok(None);
        };
        match endpoint_uri(name, &value) {
            Ok(uri) => Ok(Some(uri)),
            Err(e) => env.reject(e, "the next endpoint setting").map(|()| None),
        }
    };
    let endpoint = if let Some(own) = own_endpoint {
        endpoint_uri("endpoint (builder, this signal)", own)?
    } else if let Some(base) = &code.endpoint {
        let uri = endpoint_uri("endpoint (builder)", base)?;
        with_signal_path(uri, protocol, signal)
    } else if let Some(uri) = from_env(v.endpoint)? {
        uri
    } else if let Some(uri) = from_env(OTEL_EXPORTER_OTLP_ENDPOINT)? {
        with_signal_path(uri, protocol, signal)
    } else {
        default_endpoint()?
    };

    let mut headers = HeaderMap::new();
    if let Some((name, value)) = env.first(&[v.headers, OTEL_EXPORTER_OTLP_HEADERS]) {
        let pairs = env.or_default(
            key_values(&value).map_err(|why| {
                InitError::invalid_secret(name, format!("comma-separated key=value pairs ({why})"))
            }),
            Vec::new(),
            "no headers from it",
        )?;
        for (k, val) in pairs {
            if let Err(e) = insert_header(&mut headers, name, &k, &val) {
                env.reject(e, "the other headers")?;
            }
        }
    }
    for (k, val) in &code.headers {
        insert_header(&mut headers, "header (builder)", k, val)?;
    }

    let compression = match code.compression {
        Some(c) => c,
        None => match env.first(&[v.compression, OTEL_EXPORTER_OTLP_COMPRESSION]) {
            Some((name, value)) => env.or_default(
                value
                    .to_ascii_lowercase()
                    .parse()
                    .map_err(|()| InitError::invalid(name, &value, COMPRESSIONS)),
                Compression::None,
                "the default, none",
            )?,
            None => Compression::None,
        },
    };

    let timeout = match code.timeout {
        Some(t) => t,
        None => match env.first(&[v.timeout, OTEL_EXPORTER_OTLP_TIMEOUT]) {
            Some((name, value)) => env.or_default(
                super::parse::millis(name, &value),
                Duration::from_millis(10_000),
                "the default, 10000",
            )?,
            None => Duration::from_millis(10_000),
        },
    };

    let tls = match &code.tls {
        Some(t) => t.clone(),
        None => TlsFiles {
            ca_certificate: pem_file(env, &[v.certificate, OTEL_EXPORTER_OTLP_CERTIFICATE])?,
            client_certificate: pem_file(
                env,
                &[v.client_certificate, OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE],
            )?,
            client_key: pem_file(env, &[v.client_key, OTEL_EXPORTER_OTLP_CLIENT_KEY])?,
            only_these_cas: false,
        },
    };
    if tls.client_certificate.is_some() != tls.client_key.is_some() {
        return Err(InitError::config(format!(
            "mutual TLS needs both {OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE} and {OTEL_EXPORTER_OTLP_CLIENT_KEY} \
             (or their per-signal forms); only one is set"
        )));
    }

    if endpoint.scheme_str() == Some("http")
        && !is_loopback(endpoint.host())
        && (!headers.is_empty() || tls.client_certificate.is_some())
    {
        let what = if headers.is_empty() {
            "client certificate is not used (TLS is off)"
        } else {
            "headers (API keys, tokens) travel unencrypted"
        };
        env.warn(format!(
            "OTLP {} go over plain http to {}, which is not this machine: the configured {what}; \
             use an https endpoint",
            signal.as_str(),
            redact_url(&endpoint.to_string()),
        ));
    }

    Ok(OtlpConfig {
        protocol,
        endpoint,
        headers,
        compression,
        timeout,
        tls,
    })
}

/// `localhost`, `127.0.0.0/8` or `::1`: traffic that never leaves the machine.
fn is_loopback(host: Option<&str>) -> bool {
    let Some(host) = host else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Reads the PEM file the first set variable of `names` points to.
fn pem_file(env: &Env<'_>, names: &[&'static str]) -> Result<Option<Vec<u8>>, InitError> {
    let Some((name, path)) = env.first(names) else {
        return Ok(None);
    };
    let read = std::fs::read(&path).map(Some).map_err(|e| {
        InitError::invalid(
            name,
            &path,
            format!("the path of a readable PEM file ({e})"),
        )
    });
    env.or_default(read, None, "no file")
}

fn endpoint_uri(name: &'static str, value: &str) -> Result<Uri, InitError> {
    const EXPECTED: &str = "an absolute http:// or https:// URL, such as http://localhost:4317";
    // The message shows the value without userinfo or query, which may hold credentials.
    let invalid = || InitError::invalid(name, &redact_url(value), EXPECTED);
    let uri: Uri = value.parse().map_err(|_| invalid())?;
    match uri.scheme_str() {
        Some("http") | Some("https") if uri.host().is_some() => Ok(uri),
        _ => Err(invalid()),
    }
}

/// Joins `v1/<signal>` onto the base endpoint's path (keeping its query, if any, after it).
fn with_signal_path(base: Uri, protocol: Protocol, signal: Signal) -> Uri {
    if protocol == Protocol::Grpc {
        return base;
    }
    let path = base.path().trim_end_matches('/');
    let joined = match base.query() {
        Some(query) => format!("{path}/{}?{query}", signal.http_path()),
        None => format!("{path}/{}", signal.http_path()),
    };
    let mut parts = base.clone().into_parts();
    match joined.parse() {
        Ok(path_and_query) => parts.path_and_query = Some(path_and_query),
        // Appending a fixed ASCII path to a valid path and query keeps it valid.
        Err(_) => return base,
    }
    Uri::from_parts(parts).unwrap_or(base)
}

/// Adds one OTLP header, marked sensitive. Errors name the header, never its value.
fn insert_header(
    headers: &mut HeaderMap,
    source: &'static str,
    key: &str,
    value: &str,
) -> Result<(), InitError> {
    let name = HeaderName::from_bytes(key.as_bytes()).map_err(|_| {
        InitError::invalid_secret(
            source,
            "header names of letters, digits and `-` (RFC 9110 token)",
        )
    })?;
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        InitError::invalid_secret(
            source,
            format!(
                "the value of header `{name}` to be visible ASCII characters (percent-encode the rest)"
            ),
        )
    })?;
    value.set_sensitive(true);
    headers.insert(name, value);
    Ok(())
}
