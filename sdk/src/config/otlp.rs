//! Resolving one signal's OTLP destination from the builder and the environment.

use std::time::Duration;

use beacon_exporter::otlp::{redact_url, Compression, OtlpConfig, Protocol, Signal, TlsFiles};
use http::{HeaderMap, HeaderName, HeaderValue, Uri};

use super::parse::{key_values, Env};
use super::vars::*;
use super::InitError;

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
    code: &OtlpOverrides,
    env: &Env<'_>,
) -> Result<OtlpConfig, InitError> {
    let v = vars(signal);

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
    let endpoint = if let Some(base) = &code.endpoint {
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
