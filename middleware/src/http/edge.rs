//! What the server layer believes of a request's own claims: which peers may say who the client
//! is (`Forwarded`, `X-Forwarded-For`, `X-Forwarded-Proto`).

use std::net::IpAddr;

use ipnet::IpNet;

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
    fn only_listed_networks_are_trusted_and_ipv4_mapped_peers_match() {
        let proxies = TrustedProxies::new(["10.0.0.0/8".parse().unwrap()]);
        assert!(proxies.trusts(Some("10.1.2.3".parse().unwrap())));
        assert!(proxies.trusts(Some("::ffff:10.1.2.3".parse().unwrap())));
        assert!(!proxies.trusts(Some("192.0.2.1".parse().unwrap())));
        assert!(!proxies.trusts(None));
        assert!(!TrustedProxies::default().trusts(Some("10.1.2.3".parse().unwrap())));
    }
}
