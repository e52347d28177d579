//! Options of Beacon's HTTP layers (`beacon_middleware::http::ServerLayer` and `ClientLayer`)
//! that can be set outside the code: today by the configuration file
//! (`instrumentation/development.general.http` and `….rust.beacon.http`).
//!
//! The SDK only carries them: [`Telemetry::http_options`](crate::Telemetry::http_options)
//! returns the pipeline's, and `beacon::try_init`/`init` installs them so that
//! `ServerLayer::new()` and `ClientLayer::new()` created afterwards start from them (as they
//! start from the global meter provider and propagator). Options the code then sets on a
//! layer win. Every field is `None` (the layer's default) unless the file sets it.
//!
//! # Example
//! ```
//! # #[cfg(feature = "config-file")] {
//! let yaml = r#"
//! file_format: "1.1"
//! instrumentation/development:
//!   general:
//!     http:
//!       server:
//!         request_captured_headers: [x-request-id]
//!   rust:
//!     beacon:
//!       http:
//!         server:
//!           excluded_paths: [/ping]
//!           trusted_proxies: [10.0.0.0/8]
//! "#;
//! let telemetry = beacon::builder().env_source(|_| None).config_yaml(yaml).build()?;
//! let server = &telemetry.http_options().server;
//! assert_eq!(server.request_captured_headers.as_deref(), Some(&["x-request-id".to_owned()][..]));
//! assert_eq!(server.excluded_paths.as_deref(), Some(&["/ping".to_owned()][..]));
//! assert_eq!(server.trusted_proxies.as_ref().map(Vec::len), Some(1));
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::net::IpAddr;
use std::sync::{Arc, RwLock};

/// The options of both HTTP layers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpOptions {
    /// `ServerLayer`'s.
    pub server: HttpServerOptions,
    /// `ClientLayer`'s.
    pub client: HttpClientOptions,
}

/// `ServerLayer` options; `None` leaves the layer's default. Each names the layer method it
/// stands for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpServerOptions {
    /// `capture_request_headers`.
    pub request_captured_headers: Option<Vec<String>>,
    /// `capture_response_headers`.
    pub response_captured_headers: Option<Vec<String>>,
    /// `exclude_paths` (replaces the default list).
    pub excluded_paths: Option<Vec<String>>,
    /// `max_attribute_bytes`.
    pub max_attribute_bytes: Option<usize>,
    /// `sensitive_headers` (replaces the default list).
    pub sensitive_headers: Option<Vec<String>>,
    /// `sensitive_query_keys` (replaces the default list).
    pub sensitive_query_keys: Option<Vec<String>>,
    /// `catch_panic`.
    pub catch_panic: Option<bool>,
    /// `trace_response`.
    pub trace_response: Option<bool>,
    /// `inbound_context`.
    pub inbound_context: Option<InboundContext>,
    /// `allow_baggage_keys`.
    pub allowed_baggage_keys: Option<Vec<String>>,
    /// `trusted_proxies`: networks as (address, prefix length).
    pub trusted_proxies: Option<Vec<IpNetwork>>,
}

/// `ClientLayer` options; `None` leaves the layer's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpClientOptions {
    /// `capture_request_headers`.
    pub request_captured_headers: Option<Vec<String>>,
    /// `capture_response_headers`.
    pub response_captured_headers: Option<Vec<String>>,
    /// `max_attribute_bytes`.
    pub max_attribute_bytes: Option<usize>,
    /// `sensitive_headers` (replaces the default list).
    pub sensitive_headers: Option<Vec<String>>,
    /// `sensitive_query_keys` (replaces the default list).
    pub sensitive_query_keys: Option<Vec<String>>,
    /// `propagate_to_hosts`.
    pub propagate_to_hosts: Option<Vec<String>>,
}

/// An IP network: an address and how many of its leading bits are fixed (`10.0.0.0/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    /// The address.
    pub addr: IpAddr,
    /// The prefix length: at most 32 for IPv4, 128 for IPv6.
    pub prefix: u8,
}

impl std::str::FromStr for IpNetwork {
    type Err = ();
    /// `10.0.0.0/8`, `fd00::/8`, or a single address (`192.0.2.1`, the whole length).
    fn from_str(s: &str) -> Result<Self, ()> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| ())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or(())?,
        };
        Ok(Self { addr, prefix })
    }
}

/// What the server layer does with the trace context a request carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum InboundContext {
    /// Continue the caller's trace: its span is the parent, its sampled flag decides (with the
    /// default parent-based samplers), its `tracestate` and `baggage` go on to the calls the
    /// handler makes. The default, for services called by your own.
    #[default]
    Trust,
    /// Start a new trace for every request, with a span link to the caller's span: the head
    /// sampler decides (a caller's `-01` cannot force recording), and neither its `tracestate`
    /// nor its baggage (bar the server layer's allowed keys) is passed on. For services
    /// reachable from outside — OpenTelemetry's "public endpoint".
    Link,
    /// Ignore the caller's context altogether (not even parsed): a new trace, no link.
    Ignore,
}

static INSTALLED: RwLock<Option<Arc<HttpOptions>>> = RwLock::new(None);

/// The options of the pipeline `try_init`/`init` installed, if one was; the HTTP layers'
/// `new()` starts from them.
#[must_use]
pub fn installed_http_options() -> Option<Arc<HttpOptions>> {
    INSTALLED.read().ok().and_then(|o| o.clone())
}

pub(crate) fn install(options: &Arc<HttpOptions>) {
    if let Ok(mut slot) = INSTALLED.write() {
        *slot = Some(Arc::clone(options));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_parse_with_and_without_a_prefix() {
        let n: IpNetwork = "10.0.0.0/8".parse().expect("v4");
        assert_eq!((n.addr.to_string(), n.prefix), ("10.0.0.0".to_owned(), 8));
        let one: IpNetwork = "192.0.2.1".parse().expect("one address");
        assert_eq!(one.prefix, 32);
        let v6: IpNetwork = "fd00::/8".parse().expect("v6");
        assert_eq!(v6.prefix, 8);
        for bad in [
            "10.0.0.0/33",
            "fd00::/129",
            "10.0.0/8",
            "x",
            "10.0.0.0/",
            "",
        ] {
            assert!(bad.parse::<IpNetwork>().is_err(), "{bad}");
        }
    }
}
