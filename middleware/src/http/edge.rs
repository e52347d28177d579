//! What the layers believe of a request's own claims, and what they pass on: which peers may
//! say who the client is (`Forwarded`, `X-Forwarded-For`, `X-Forwarded-Proto`), whether a
//! caller's trace context (its sampled flag, `tracestate`, `baggage`) is continued, and which
//! hosts receive the context of outgoing calls.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::trace::TraceContextExt as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// What [`ServerLayer`](super::ServerLayer) does with the trace context a request carries
/// (defined in the SDK, so that a configuration file can choose it).
pub use beacon::config::http::InboundContext;

/// The inbound policy of a server layer.
#[derive(Clone, Debug, Default)]
pub(crate) struct Inbound {
    pub(crate) mode: InboundContext,
    /// Baggage keys kept (any case); `None`: all of them when trusted, none otherwise.
    pub(crate) baggage_keys: Option<Arc<[Cow<'static, str>]>>,
}

impl Inbound {
    fn keeps(&self, key: &str) -> bool {
        match &self.baggage_keys {
            Some(keys) => keys.iter().any(|k| k.eq_ignore_ascii_case(key)),
            None => self.mode == InboundContext::Trust,
        }
    }

    /// Applies the caller's context `cx` to the server span as the policy says.
    pub(crate) fn adopt(&self, span: &tracing::Span, cx: opentelemetry::Context) {
        let baggage = cx.baggage();
        let filtered = (self.baggage_keys.is_some() || self.mode != InboundContext::Trust)
            && !baggage.is_empty();
        let kept = filtered.then(|| {
            baggage
                .iter()
                .filter(|(k, _)| self.keeps(k.as_str()))
                .map(|(k, (v, m))| (k.clone(), (v.clone(), m.clone())))
                .collect::<opentelemetry::baggage::Baggage>()
        });
        match self.mode {
            InboundContext::Trust => {
                let cx = match kept {
                    Some(kept) => cx.with_baggage(kept),
                    None => cx,
                };
                // A rejected parent changes nothing: the span stays a root.
                let _ = span.set_parent(cx);
            }
            // `Link`, `Ignore`, and any later mode: the caller's context is not continued.
            _ => {
                if self.mode == InboundContext::Link {
                    let caller = cx.span().span_context().clone();
                    if caller.is_valid() {
                        span.add_link(caller);
                    }
                }
                if let Some(kept) = kept.filter(|b| !b.is_empty()) {
                    let _ = span.set_parent(opentelemetry::Context::new().with_baggage(kept));
                }
            }
        }
    }
}

/// The hosts that receive the context of outgoing calls: exact names or addresses, or
/// `*.example.com` for its subdomains. `None`: every host.
#[derive(Clone, Debug, Default)]
pub(crate) struct PropagateTo(Option<Arc<[Cow<'static, str>]>>);

impl PropagateTo {
    pub(crate) fn new(hosts: impl IntoIterator<Item = Cow<'static, str>>) -> Self {
        Self(Some(hosts.into_iter().collect()))
    }

    pub(crate) fn allows(&self, host: Option<&str>) -> bool {
        let Some(list) = &self.0 else {
            return true;
        };
        let Some(host) = host else {
            return false;
        };
        list.iter().any(|pattern| match pattern.strip_prefix("*.") {
            Some(domain) => host
                .strip_suffix(domain)
                .is_some_and(|sub| sub.ends_with('.') && sub.len() > 1),
            None => pattern.eq_ignore_ascii_case(host),
        })
    }
}

/// The proxies whose forwarding headers are believed. Empty (the default): none are, and
/// `client.address` is the peer's address.
#[derive(Clone, Debug, Default)]
pub(crate) struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub(crate) fn new(nets: impl IntoIterator<Item = IpNet>) -> Self {
        Self(nets.into_iter().collect())
    }

    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Whether the forwarding headers of a request from `peer` are believed.
    pub(crate) fn trusts(&self, peer: Option<IpAddr>) -> bool {
        !self.0.is_empty() && peer.is_some_and(|ip| self.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_goes_only_to_listed_hosts() {
        let all = PropagateTo::default();
        assert!(all.allows(Some("anything.example")) && all.allows(None));
        let list = PropagateTo::new(["api.internal".into(), "*.svc.cluster.local".into()]);
        assert!(list.allows(Some("api.internal")));
        assert!(list.allows(Some("orders.shop.svc.cluster.local")));
        assert!(!list.allows(Some("svc.cluster.local")));
        assert!(!list.allows(Some("evilsvc.cluster.local")));
        assert!(!list.allows(Some("api.stripe.com")));
        assert!(!list.allows(None));
    }

    #[test]
    fn only_listed_networks_are_trusted_and_ipv4_mapped_peers_match() {
        let proxies = TrustedProxies::new(["10.0.0.0/8".parse().unwrap()]);
        assert!(proxies.trusts(Some("10.1.2.3".parse().unwrap())));
        assert!(proxies.trusts(Some("::ffff:10.1.2.3".parse().unwrap())));
        assert!(!proxies.trusts(Some("192.0.2.1".parse().unwrap())));
        assert!(!proxies.trusts(None));
        assert!(!TrustedProxies::default().trusts(Some("10.1.2.3".parse().unwrap())));
    }
}
