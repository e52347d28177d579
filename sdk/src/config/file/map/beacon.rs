//! `instrumentation/development`: Beacon's own settings (`rust.beacon`) and the HTTP layers'
//! options (`general.http`, `rust.beacon.http`). A value in the file wins over the code's; a
//! key that is absent (or null, as an unset `${VAR}` makes it) leaves the code's.

use super::*;
use crate::config::http::{HttpClientOptions, HttpOptions, HttpServerOptions, IpNetwork};

const F: &str = "instrumentation/development.rust.beacon";

pub(super) fn beacon(model: &Configuration, config: &mut Config) -> R<()> {
    let instrumentation = model.instrumentation.as_ref();
    let general = instrumentation
        .and_then(|i| i.general.as_ref())
        .and_then(|g| g.http.as_ref());
    let beacon = instrumentation
        .and_then(|i| i.rust.as_ref())
        .and_then(|r| r.beacon.as_ref());
    config.http = std::sync::Arc::new(http(general, beacon.and_then(|b| b.http.as_ref()))?);
    let Some(b) = beacon else { return Ok(()) };
    if let Some(f) = &b.filter {
        config.filter = f.clone();
    }
    if let Some(on) = b.console_logs {
        config.console_logs = on;
    }
    if let Some(ms) = b.shutdown_timeout {
        config.shutdown_timeout = Duration::from_millis(ms);
    }
    if let Some(on) = b.self_telemetry {
        config.self_telemetry = on;
    }
    if let Some(t) = &b.tail_sampling {
        config.tail_sampling = Some(tail_sampling(t)?);
    }
    #[cfg(feature = "system-metrics")]
    if let Some(c) = &b.collectors {
        let mut collectors = config.collectors.clone();
        collectors.process = c.process.unwrap_or(collectors.process);
        collectors.system = c.system.unwrap_or(collectors.system);
        collectors.runtime = c.runtime.unwrap_or(collectors.runtime);
        config.collectors = collectors;
    }
    if let Some(s) = &b.export_spool {
        spool(s, config)?;
    }
    if let Some(h) = &b.hub {
        hub(h, config)?;
    }
    Ok(())
}

fn spool(s: &ExportSpool, config: &mut Config) -> R<()> {
    let f = format!("{F}.export_spool");
    // As with the variables, the directory turns the spool on; without one, `max_bytes`
    // applies to the code's spool, if there is one.
    let Some(dir) = s.directory.as_deref().filter(|d| !d.trim().is_empty()) else {
        if let (Some(max), Some(spool)) = (s.max_bytes, config.spool.take()) {
            config.spool = Some(spool.with_max_bytes(max));
        }
        return Ok(());
    };
    // As BEACON_EXPORT_SPOOL_DIR: relative to a working directory that differs between a
    // shell, systemd and a container, a spool would silently move and lose what it holds.
    if !std::path::Path::new(dir).is_absolute() {
        return Err(at(
            format!("{f}.directory"),
            FileError::invalid(
                dir,
                "an absolute directory path, such as /var/spool/my-service",
            ),
        ));
    }
    let mut spool = beacon_exporter::spool::SpoolConfig::new(dir);
    if let Some(max) = s.max_bytes {
        if max == 0 {
            return Err(at(
                format!("{f}.max_bytes"),
                FileError::invalid(0, "a number of bytes of at least 1"),
            ));
        }
        spool = spool.with_max_bytes(max);
    }
    config.spool = Some(spool);
    Ok(())
}

#[cfg(feature = "hub")]
fn hub(h: &HubSettings, config: &mut Config) -> R<()> {
    if !h.enabled.unwrap_or(true) || config.hub.is_some() {
        // Off, or the code gave its own hub (which it may be holding to query).
        return Ok(());
    }
    let mut c = beacon_hub::HubConfig::builder();
    let f = format!("{F}.hub");
    let positive = |v: Option<usize>, name: &str| -> R<Option<usize>> {
        match v {
            Some(0) => Err(at(
                format!("{f}.{name}"),
                FileError::invalid(0, "a number of at least 1"),
            )),
            other => Ok(other),
        }
    };
    if let Some(n) = positive(h.max_traces, "max_traces")? {
        c = c.max_traces(n);
    }
    if let Some(n) = positive(h.max_spans, "max_spans")? {
        c = c.max_spans(n);
    }
    if let Some(n) = positive(h.max_logs, "max_logs")? {
        c = c.max_logs(n);
    }
    if let Some(n) = positive(h.max_events, "max_events")? {
        c = c.max_events(n);
    }
    if let Some(n) = positive(h.max_series, "max_series")? {
        c = c.max_series(n);
    }
    if let Some(n) = positive(h.max_points_per_series, "max_points_per_series")? {
        c = c.max_points_per_series(n);
    }
    if let Some(n) = positive(h.memory_limit, "memory_limit")? {
        c = c.memory_limit(n);
    }
    if let Some(ms) = h.metric_window {
        if ms == 0 {
            return Err(at(
                format!("{f}.metric_window"),
                FileError::invalid(0, "a positive number of milliseconds"),
            ));
        }
        c = c.metric_window(Duration::from_millis(ms));
    }
    config.hub = Some(beacon_hub::Hub::with_config(c.build()));
    Ok(())
}

#[cfg(not(feature = "hub"))]
fn hub(h: &HubSettings, _: &mut Config) -> R<()> {
    if h.enabled == Some(false) {
        return Ok(());
    }
    Err(at(
        format!("{F}.hub"),
        FileError::unsupported(
            "the live hub needs Beacon's `hub` feature, which this binary was built without",
        ),
    ))
}

fn http(general: Option<&GeneralHttp>, beacon: Option<&BeaconHttp>) -> R<HttpOptions> {
    let gs = general.and_then(|g| g.server.as_ref());
    let gc = general.and_then(|g| g.client.as_ref());
    let bs = beacon.and_then(|b| b.server.as_ref());
    let bc = beacon.and_then(|b| b.client.as_ref());
    let headers = |v: Option<&Vec<String>>, f: &str| -> R<Option<Vec<String>>> {
        if let Some(list) = v {
            for (i, name) in list.iter().enumerate() {
                if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    return Err(at(
                        format!("{f}[{i}]"),
                        FileError::invalid(
                            name,
                            "a header name of letters, digits and `-` (RFC 9110 token)",
                        ),
                    ));
                }
            }
        }
        Ok(v.cloned())
    };
    const G: &str = "instrumentation/development.general.http";
    let mut server = HttpServerOptions {
        request_captured_headers: headers(
            gs.and_then(|s| s.request_captured_headers.as_ref()),
            &format!("{G}.server.request_captured_headers"),
        )?,
        response_captured_headers: headers(
            gs.and_then(|s| s.response_captured_headers.as_ref()),
            &format!("{G}.server.response_captured_headers"),
        )?,
        ..HttpServerOptions::default()
    };
    if let Some(s) = bs {
        let f = format!("{F}.http.server");
        server.excluded_paths = s.excluded_paths.clone();
        server.max_attribute_bytes = s.max_attribute_bytes;
        server.sensitive_headers = s.sensitive_headers.clone();
        server.sensitive_query_keys = s.sensitive_query_keys.clone();
        server.catch_panic = s.catch_panic;
        server.trace_response = s.trace_response;
        server.inbound_context = s.inbound_context.map(|m| match m {
            InboundContext::Trust => crate::config::http::InboundContext::Trust,
            InboundContext::Link => crate::config::http::InboundContext::Link,
            InboundContext::Ignore => crate::config::http::InboundContext::Ignore,
        });
        server.allowed_baggage_keys = s.allowed_baggage_keys.clone();
        if let Some(list) = &s.trusted_proxies {
            let mut nets = Vec::with_capacity(list.len());
            for (i, p) in list.iter().enumerate() {
                nets.push(p.parse::<IpNetwork>().map_err(|()| {
                    at(
                        format!("{f}.trusted_proxies[{i}]"),
                        FileError::invalid(
                            p,
                            "an IP address or network, such as 10.0.0.0/8 or fd00::/8",
                        ),
                    )
                })?);
            }
            server.trusted_proxies = Some(nets);
        }
        if let Some(paths) = &s.excluded_paths {
            if let Some((i, p)) = paths.iter().enumerate().find(|(_, p)| !p.starts_with('/')) {
                return Err(at(
                    format!("{f}.excluded_paths[{i}]"),
                    FileError::invalid(p, "a path starting with `/`, matched exactly"),
                ));
            }
        }
    }
    let mut client = HttpClientOptions {
        request_captured_headers: headers(
            gc.and_then(|c| c.request_captured_headers.as_ref()),
            &format!("{G}.client.request_captured_headers"),
        )?,
        response_captured_headers: headers(
            gc.and_then(|c| c.response_captured_headers.as_ref()),
            &format!("{G}.client.response_captured_headers"),
        )?,
        ..HttpClientOptions::default()
    };
    if let Some(c) = bc {
        client.max_attribute_bytes = c.max_attribute_bytes;
        client.sensitive_headers = c.sensitive_headers.clone();
        client.sensitive_query_keys = c.sensitive_query_keys.clone();
        client.propagate_to_hosts = c.propagate_to_hosts.clone();
    }
    Ok(HttpOptions { server, client })
}

fn tail_sampling(t: &TailSampling) -> R<crate::sampling::TailSamplingConfig> {
    let f = format!("{F}.tail_sampling");
    let mut c = crate::sampling::TailSamplingConfig::default();
    if let Some(r) = t.ratio {
        if !(0.0..=1.0).contains(&r) {
            return Err(at(
                format!("{f}.ratio"),
                FileError::invalid(r, "a share from 0 to 1"),
            ));
        }
        c = c.ratio(r);
    }
    if let Some(ms) = t.latency_threshold {
        c = c.latency_threshold(Duration::from_millis(ms));
    }
    for (i, kv) in t.keep_attributes.iter().flatten().enumerate() {
        let Some(v) = &kv.value else {
            return Err(at(
                format!("{f}.keep_attributes[{i}].value"),
                FileError::invalid("null", "the attribute value to keep"),
            ));
        };
        c = c.keep_attribute(kv.name.clone(), v.clone());
    }
    if let Some(n) = t.max_traces {
        c = c.max_traces(n);
    }
    if let Some(n) = t.max_spans {
        c = c.max_spans(n);
    }
    if let Some(ms) = t.decision_wait {
        c = c.decision_wait(Duration::from_millis(ms));
    }
    Ok(c)
}
