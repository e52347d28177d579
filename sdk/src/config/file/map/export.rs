//! Span and log processors and the OTLP and console exporters.

use super::*;

pub(super) enum Proc<'a> {
    Batch(&'a BatchProcessor<Exporter>),
    Simple(&'a Exporter),
}

pub(super) fn processors<'a>(
    provider: &str,
    signal: Signal,
    procs: impl Iterator<Item = Proc<'a>>,
    defaults: BatchConfig,
) -> R<(Destinations, BatchConfig, Option<BatchConfig>)> {
    let mut dest = Destinations::default();
    let mut otlp_batch: Option<BatchConfig> = None;
    let mut console_batch: Option<BatchConfig> = None;
    for (i, p) in procs.enumerate() {
        let (batch, exporter, f) = match p {
            Proc::Batch(b) => {
                let f = format!("{provider}.processors[{i}].batch");
                (batch_config(b, defaults, &f)?, &b.exporter, f)
            }
            Proc::Simple(e) => {
                // Beacon never exports on the application's thread: `simple` is a queue that
                // exports each item as soon as it is queued (a batch of one).
                let b = BatchConfig {
                    max_export_batch_size: 1,
                    ..defaults
                };
                (b, e, format!("{provider}.processors[{i}].simple"))
            }
        };
        match exporter {
            Exporter::Console(_) => console_batch = Some(batch),
            Exporter::OtlpHttp(_) | Exporter::OtlpGrpc(_) => otlp_batch = Some(batch),
        }
        let ef = format!("{f}.exporter");
        match exporter {
            Exporter::Console(_) => {
                if dest.console {
                    return Err(at(
                        ef,
                        FileError::unsupported("a second console exporter for the same signal"),
                    ));
                }
                dest.console = true;
            }
            Exporter::OtlpHttp(o) => {
                if dest.otlp.is_some() {
                    return Err(at(ef, FileError::unsupported("Beacon exports each signal to one OTLP destination; remove the second OTLP exporter")));
                }
                let o = o.clone().unwrap_or_default();
                dest.otlp = Some(otlp_http(&o, signal, &format!("{ef}.otlp_http"), false)?);
            }
            Exporter::OtlpGrpc(o) => {
                if dest.otlp.is_some() {
                    return Err(at(ef, FileError::unsupported("Beacon exports each signal to one OTLP destination; remove the second OTLP exporter")));
                }
                let o = o.clone().unwrap_or_default();
                dest.otlp = Some(otlp_grpc(&o, &format!("{ef}.otlp_grpc"), false)?);
            }
        }
    }
    let main = otlp_batch.or(console_batch).unwrap_or(defaults);
    let console = console_batch.filter(|c| *c != main);
    Ok((dest, main, console))
}

fn batch_config(b: &BatchProcessor<Exporter>, d: BatchConfig, f: &str) -> R<BatchConfig> {
    let count = |v: Option<u64>, default: usize, name: &str| -> R<usize> {
        match v {
            None => Ok(default),
            Some(0) => Err(at(
                format!("{f}.{name}"),
                FileError::invalid(0, "a number of at least 1"),
            )),
            Some(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        }
    };
    let c = BatchConfig {
        scheduled_delay: b
            .schedule_delay
            .map_or(d.scheduled_delay, Duration::from_millis),
        export_timeout: match b.export_timeout {
            None => d.export_timeout,
            Some(0) => NO_LIMIT,
            Some(ms) => Duration::from_millis(ms),
        },
        max_queue_size: count(b.max_queue_size, d.max_queue_size, "max_queue_size")?,
        max_export_batch_size: count(
            b.max_export_batch_size,
            d.max_export_batch_size,
            "max_export_batch_size",
        )?,
        max_retained: d.max_retained,
        max_queue_bytes: d.max_queue_bytes,
    };
    if c.max_export_batch_size > c.max_queue_size {
        return Err(at(
            format!("{f}.max_export_batch_size"),
            FileError::invalid(
                c.max_export_batch_size,
                format!(
                    "a batch size from 1 to max_queue_size ({})",
                    c.max_queue_size
                ),
            ),
        ));
    }
    Ok(c)
}

/// What a timeout of 0 ("no limit") becomes: a day, long past any export.
const NO_LIMIT: Duration = Duration::from_secs(24 * 3600);

struct Common<'a> {
    endpoint: Option<&'a str>,
    default_endpoint: String,
    headers: Option<&'a [NameStringValuePair]>,
    headers_list: Option<&'a str>,
    compression: Option<&'a str>,
    timeout: Option<u64>,
    tls: TlsPaths<'a>,
    max_request_size: Option<u64>,
    max_response_size: Option<u64>,
    metric_fields: bool,
}

struct TlsPaths<'a> {
    ca: Option<&'a str>,
    cert: Option<&'a str>,
    key: Option<&'a str>,
    ca_name: &'static str,
    cert_name: &'static str,
    key_name: &'static str,
}

fn tls_paths<'a>(ca: Option<&'a str>, cert: Option<&'a str>, key: Option<&'a str>) -> TlsPaths<'a> {
    TlsPaths {
        ca,
        cert,
        key,
        ca_name: "tls.ca_file",
        cert_name: "tls.cert_file",
        key_name: "tls.key_file",
    }
}

pub(crate) fn otlp_http(o: &OtlpHttp, signal: Signal, f: &str, metrics: bool) -> R<OtlpConfig> {
    if !metrics {
        reject_metric_fields(
            o.temporality_preference.is_some(),
            o.default_histogram_aggregation.is_some(),
            f,
        )?;
    }
    let protocol = match o.encoding {
        None | Some(OtlpHttpEncoding::Protobuf) => Protocol::HttpProtobuf,
        Some(OtlpHttpEncoding::Json) => Protocol::HttpJson,
    };
    common(
        protocol,
        &Common {
            endpoint: o.endpoint.as_deref(),
            default_endpoint: format!("http://localhost:4318/{}", signal.http_path()),
            headers: o.headers.as_deref(),
            headers_list: o.headers_list.as_deref(),
            compression: o.compression.as_deref(),
            timeout: o.timeout,
            tls: tls_paths(
                o.tls.as_ref().and_then(|t| t.ca_file.as_deref()),
                o.tls.as_ref().and_then(|t| t.cert_file.as_deref()),
                o.tls.as_ref().and_then(|t| t.key_file.as_deref()),
            ),
            max_request_size: o.max_request_size,
            max_response_size: o.max_response_size,
            metric_fields: metrics,
        },
        f,
    )
}

pub(crate) fn otlp_grpc(o: &OtlpGrpc, f: &str, metrics: bool) -> R<OtlpConfig> {
    if !metrics {
        reject_metric_fields(
            o.temporality_preference.is_some(),
            o.default_histogram_aggregation.is_some(),
            f,
        )?;
    }
    common(
        Protocol::Grpc,
        &Common {
            endpoint: o.endpoint.as_deref(),
            default_endpoint: "http://localhost:4317".to_owned(),
            headers: o.headers.as_deref(),
            headers_list: o.headers_list.as_deref(),
            compression: o.compression.as_deref(),
            timeout: o.timeout,
            tls: tls_paths(
                o.tls.as_ref().and_then(|t| t.ca_file.as_deref()),
                o.tls.as_ref().and_then(|t| t.cert_file.as_deref()),
                o.tls.as_ref().and_then(|t| t.key_file.as_deref()),
            ),
            max_request_size: o.max_request_size,
            max_response_size: o.max_response_size,
            metric_fields: metrics,
        },
        f,
    )
}

fn reject_metric_fields(temporality: bool, histogram: bool, f: &str) -> R<()> {
    for (set, name) in [
        (temporality, "temporality_preference"),
        (histogram, "default_histogram_aggregation"),
    ] {
        if set {
            return Err(at(
                format!("{f}.{name}"),
                FileError::new(crate::config::file::FileErrorKind::UnknownField {
                    field: name.to_owned(),
                    expected:
                        "the keys of a span or log exporter (this key is for metric exporters)"
                            .to_owned(),
                }),
            ));
        }
    }
    Ok(())
}

fn common(protocol: Protocol, c: &Common<'_>, f: &str) -> R<OtlpConfig> {
    let _ = c.metric_fields;
    const URL: &str =
        "an absolute http:// or https:// URL, such as http://localhost:4318/v1/traces";
    let raw = c.endpoint.unwrap_or(&c.default_endpoint);
    let endpoint: Uri = raw
        .parse()
        .map_err(|_| at(format!("{f}.endpoint"), FileError::invalid(raw, URL)))?;
    if !matches!(endpoint.scheme_str(), Some("http" | "https")) || endpoint.host().is_none() {
        return Err(at(format!("{f}.endpoint"), FileError::invalid(raw, URL)));
    }
    let mut headers = HeaderMap::new();
    if let Some(list) = c.headers_list {
        let pairs = crate::config::parse::key_values(list).map_err(|why| {
            at(
                format!("{f}.headers_list"),
                FileError::invalid(list, format!("comma-separated key=value pairs ({why})")),
            )
        })?;
        for (k, v) in pairs {
            insert(&mut headers, &k, &v, &format!("{f}.headers_list"))?;
        }
    }
    // `.headers` entries win over `.headers_list`; a null value is ignored.
    for (i, h) in c.headers.into_iter().flatten().enumerate() {
        if let Some(v) = &h.value {
            insert(&mut headers, &h.name, v, &format!("{f}.headers[{i}]"))?;
        }
    }
    let compression = match c.compression {
        None | Some("none") => Compression::None,
        Some("gzip") => Compression::Gzip,
        Some(other) => {
            return Err(at(
                format!("{f}.compression"),
                FileError::invalid(other, "gzip or none"),
            ))
        }
    };
    let timeout = match c.timeout {
        None => Duration::from_millis(10_000),
        Some(0) => NO_LIMIT,
        Some(ms) => Duration::from_millis(ms),
    };
    if c.max_request_size.is_some_and(|n| n != 67_108_864) {
        return Err(at(format!("{f}.max_request_size"), FileError::unsupported("Beacon's request limit is fixed at 67108864 bytes (64 MiB), the spec's default; remove the key")));
    }
    if c.max_response_size.is_some_and(|n| n != 4_194_304) {
        return Err(at(format!("{f}.max_response_size"), FileError::unsupported("Beacon's response limit is fixed at 4194304 bytes (4 MiB), the spec's default; remove the key")));
    }
    let pem = |path: Option<&str>, name: &str| -> R<Option<Vec<u8>>> {
        match path {
            None => Ok(None),
            Some(p) => std::fs::read(p).map(Some).map_err(|e| {
                at(
                    format!("{f}.{name}"),
                    FileError::invalid(p, format!("the path of a readable PEM file ({e})")),
                )
            }),
        }
    };
    let tls = TlsFiles {
        ca_certificate: pem(c.tls.ca, c.tls.ca_name)?,
        client_certificate: pem(c.tls.cert, c.tls.cert_name)?,
        client_key: pem(c.tls.key, c.tls.key_name)?,
        only_these_cas: false,
    };
    if tls.client_certificate.is_some() != tls.client_key.is_some() {
        return Err(at(
            format!(
                "{f}.{}",
                if tls.client_key.is_some() {
                    c.tls.key_name
                } else {
                    c.tls.cert_name
                }
            ),
            FileError::unsupported(format!(
                "mutual TLS needs both {} and {}; only one is set",
                c.tls.cert_name, c.tls.key_name
            )),
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

fn insert(headers: &mut HeaderMap, k: &str, v: &str, f: &str) -> R<()> {
    let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
        at(
            f,
            FileError::invalid(
                k,
                "a header name of letters, digits and `-` (RFC 9110 token)",
            ),
        )
    })?;
    let value = HeaderValue::from_str(v).map_err(|_| {
        at(
            f,
            FileError::invalid(v, "a header value of visible ASCII characters"),
        )
    })?;
    headers.insert(name, value);
    Ok(())
}
