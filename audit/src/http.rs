//! Request metadata for audit entries in axum services (feature `axum`).
//!
//! [`AuditLayer`] works out each request's [`ClientInfo`] — the peer address from axum's
//! `ConnectInfo<SocketAddr>`, or, only when the peer is a configured trusted proxy, the client
//! address that proxy put in the configured header (`X-Forwarded-For` by default: the rightmost
//! address that is not itself a trusted proxy) — and the `User-Agent`, and stores it in the
//! request's extensions. The [`AuditContext`] extractor hands a handler that, plus the [`Actor`]
//! the application's authentication put in the request extensions.
//!
//! # Example
//! ```
//! use std::net::SocketAddr;
//! use axum::extract::ConnectInfo;
//! use beacon_audit::http::{AuditContext, AuditLayer};
//! use beacon_audit::Actor;
//! use tower::{Service, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! async fn handler(audit: AuditContext) -> String {
//!     let _entry = audit.entry("order.cancelled", beacon_audit::Resource::new("order", "7"), "cancel");
//!     format!("{} from {:?}", audit.actor().map_or("?", |a| a.id.as_str()), audit.client().ip)
//! }
//! let app = axum::Router::new()
//!     .route("/", axum::routing::post(handler))
//!     .layer(AuditLayer::builder().trusted_proxy("10.0.0.1".parse().unwrap()).build());
//! let mut req = http::Request::post("/")
//!     .header("x-forwarded-for", "198.51.100.7")
//!     .body(axum::body::Body::empty())
//!     .unwrap();
//! req.extensions_mut().insert(ConnectInfo("10.0.0.1:4000".parse::<SocketAddr>().unwrap()));
//! req.extensions_mut().insert(Actor::user("alice"));
//! let res = app.oneshot(req).await.unwrap();
//! let body = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
//! assert_eq!(&body[..], b"alice from Some(\"198.51.100.7\")");
//! # }
//! ```

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{ConnectInfo, FromRequestParts};
use http::header::{HeaderName, USER_AGENT};
use http::request::Parts;
use http::{HeaderMap, Request};

use crate::{Actor, ClientInfo, NewEntry, Resource};

/// A network of trusted proxies: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    fn contains(&self, ip: IpAddr) -> bool {
        fn masked(bits: u128, width: u8, prefix: u8) -> u128 {
            let prefix = prefix.min(width);
            if prefix == 0 {
                0
            } else {
                bits >> (width - prefix)
            }
        }
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                masked(u32::from(a).into(), 32, self.prefix)
                    == masked(u32::from(b).into(), 32, self.prefix)
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                masked(a.into(), 128, self.prefix) == masked(b.into(), 128, self.prefix)
            }
            _ => false,
        }
    }
}

#[derive(Debug)]
struct Config {
    proxies: Vec<Net>,
    header: HeaderName,
}

impl Config {
    fn trusted(&self, ip: IpAddr) -> bool {
        self.proxies.iter().any(|n| n.contains(ip))
    }

    fn client(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> ClientInfo {
        let ip = match peer {
            Some(peer) if self.trusted(peer) => self.forwarded(headers).or(Some(peer)),
            other => other,
        };
        ClientInfo {
            ip: ip.map(|ip| ip.to_string()),
            user_agent: headers
                .get(USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        }
    }

    /// The client address in the proxy header: the rightmost that is not a trusted proxy (each
    /// proxy appends the address it saw), or the leftmost when all are proxies.
    fn forwarded(&self, headers: &HeaderMap) -> Option<IpAddr> {
        let mut hops: Vec<IpAddr> = Vec::new();
        for value in headers.get_all(&self.header) {
            for part in value.to_str().ok()?.split(',') {
                hops.push(parse_hop(part.trim())?);
            }
        }
        hops.iter()
            .rev()
            .find(|ip| !self.trusted(**ip))
            .or_else(|| hops.first())
            .copied()
    }
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:443`, `2001:db8::1`, `[2001:db8::1]:443`.
fn parse_hop(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// Adds each request's [`ClientInfo`] to its extensions.
#[derive(Debug, Clone)]
pub struct AuditLayer {
    config: Arc<Config>,
}

/// Configures an [`AuditLayer`].
#[derive(Debug)]
pub struct AuditLayerBuilder {
    proxies: Vec<Net>,
    header: HeaderName,
}

impl AuditLayerBuilder {
    /// Trusts the proxy at `addr`: requests from it take the client address from the header.
    #[must_use]
    pub fn trusted_proxy(self, addr: IpAddr) -> Self {
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        self.trusted_network(addr, prefix)
    }

    /// Trusts every proxy in `addr/prefix` (for example `10.0.0.0/8`).
    #[must_use]
    pub fn trusted_network(mut self, addr: IpAddr, prefix: u8) -> Self {
        self.proxies.push(Net {
            addr: addr.to_canonical(),
            prefix,
        });
        self
    }

    /// The header trusted proxies put the client address in (default `X-Forwarded-For`; a
    /// comma-separated list of addresses, as `X-Forwarded-For` and `X-Real-IP` carry).
    #[must_use]
    pub fn client_ip_header(mut self, header: HeaderName) -> Self {
        self.header = header;
        self
    }

    /// The layer.
    pub fn build(self) -> AuditLayer {
        AuditLayer {
            config: Arc::new(Config {
                proxies: self.proxies,
                header: self.header,
            }),
        }
    }
}

impl AuditLayer {
    /// A layer that trusts no proxy (the client is the peer) until told otherwise.
    pub fn builder() -> AuditLayerBuilder {
        AuditLayerBuilder {
            proxies: Vec::new(),
            header: HeaderName::from_static("x-forwarded-for"),
        }
    }
}

impl Default for AuditLayer {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl<S> tower_layer::Layer<S> for AuditLayer {
    type Service = AuditService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuditService {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The service [`AuditLayer`] makes.
#[derive(Debug, Clone)]
pub struct AuditService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> AuditService<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }
    /// Unwraps the service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

fn peer<B>(req: &Request<B>) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_canonical())
}

impl<S, B> tower_service::Service<Request<B>> for AuditService<S>
where
    S: tower_service::Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let client = self.config.client(req.headers(), peer(&req));
        req.extensions_mut().insert(client);
        self.inner.call(req)
    }
}

/// What a handler needs for an audit entry: the client (from [`AuditLayer`], or the bare peer
/// address when the layer is not installed) and the actor the application's authentication put
/// in the request extensions.
#[derive(Debug, Clone)]
pub struct AuditContext {
    client: ClientInfo,
    actor: Option<Actor>,
}

impl AuditContext {
    /// The client's IP address and user agent.
    pub fn client(&self) -> &ClientInfo {
        &self.client
    }

    /// The authenticated actor, if the application set one (an [`Actor`] request extension).
    pub fn actor(&self) -> Option<&Actor> {
        self.actor.as_ref()
    }

    /// An entry with this request's actor and client filled in; without an authenticated actor
    /// the actor is the user `anonymous`.
    pub fn entry(
        &self,
        event_type: impl Into<String>,
        resource: Resource,
        action: impl Into<String>,
    ) -> NewEntry {
        let actor = self
            .actor
            .clone()
            .unwrap_or_else(|| Actor::user("anonymous"));
        NewEntry::new(event_type, actor, resource, action).client(self.client.clone())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuditContext {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let client = parts
            .extensions
            .get::<ClientInfo>()
            .cloned()
            .unwrap_or_else(|| {
                let peer = parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| c.0.ip().to_canonical());
                Config {
                    proxies: Vec::new(),
                    header: HeaderName::from_static("x-forwarded-for"),
                }
                .client(&parts.headers, peer)
            });
        Ok(Self {
            client,
            actor: parts.extensions.get::<Actor>().cloned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(proxies: &[(&str, u8)]) -> Config {
        Config {
            proxies: proxies
                .iter()
                .map(|(a, p)| Net {
                    addr: a.parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
                    prefix: *p,
                })
                .collect(),
            header: HeaderName::from_static("x-forwarded-for"),
        }
    }

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = xff.parse() {
            h.insert("x-forwarded-for", v);
        }
        h
    }

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn the_header_counts_only_when_the_peer_is_a_trusted_proxy() {
        let c = config(&[("10.0.0.0", 8)]);
        let h = headers("198.51.100.7");
        assert_eq!(
            c.client(&h, ip("10.1.2.3")).ip.as_deref(),
            Some("198.51.100.7")
        );
        // Spoofed by a client connecting directly: ignored.
        assert_eq!(
            c.client(&h, ip("203.0.113.5")).ip.as_deref(),
            Some("203.0.113.5")
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let c = config(&[("10.0.0.0", 8)]);
        let h = headers("6.6.6.6, 198.51.100.7:443, 10.0.0.2");
        assert_eq!(
            c.client(&h, ip("10.0.0.1")).ip.as_deref(),
            Some("198.51.100.7")
        );
        let garbage = headers("not-an-ip");
        assert_eq!(
            c.client(&garbage, ip("10.0.0.1")).ip.as_deref(),
            Some("10.0.0.1")
        );
    }

    #[test]
    fn ipv6_networks_and_mapped_v4_peers_match() {
        let c = config(&[("2001:db8::", 32), ("192.0.2.1", 32)]);
        let h = headers("[2001:db9::1]:8080");
        assert_eq!(
            c.client(&h, ip("2001:db8::5")).ip.as_deref(),
            Some("2001:db9::1")
        );
        let mapped = ip("::ffff:192.0.2.1").map(|i| i.to_canonical());
        assert_eq!(c.client(&h, mapped).ip.as_deref(), Some("2001:db9::1"));
        assert!(!c.trusted(IpAddr::from([192, 0, 2, 2])));
    }
}
