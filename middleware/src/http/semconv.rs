//! The HTTP semantic conventions' rules for names and values: method normalisation, protocol
//! versions, host and port, and the redaction of secrets in URLs.

use std::borrow::Cow;

use http::{HeaderMap, Method, Uri, Version};

use crate::headers::REDACTED;

const X_FORWARDED_PROTO: http::HeaderName = http::HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_FOR: http::HeaderName = http::HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_HOST: http::HeaderName = http::HeaderName::from_static("x-forwarded-host");

/// The value of `directive` (`host`, `proto`) in the first `Forwarded` element that has it —
/// what the proxy nearest the client saw (RFC 7239 §5); quotes removed.
fn forwarded_directive<'a>(headers: &'a HeaderMap, directive: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|element| {
            element.split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case(directive)
                    .then(|| v.trim().trim_matches('"'))
            })
        })
        .filter(|v| !v.is_empty())
}

/// The first value of a comma-separated `X-Forwarded-*` header.
fn first_forwarded<'a>(headers: &'a HeaderMap, name: &http::HeaderName) -> Option<&'a str> {
    headers
        .get(name)?
        .to_str()
        .ok()?
        .split(',')
        .next()
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Histogram boundaries the conventions advise for `http.*.request.duration` (seconds).
pub(crate) const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Query keys whose values are replaced by `REDACTED` by default: the conventions' list
/// (signed-URL credentials) plus the names secrets usually travel under (OAuth's `code`, API
/// keys, GitLab's `private_token`, …).
pub(crate) const DEFAULT_SENSITIVE_QUERY_KEYS: [&str; 25] = [
    "AWSAccessKeyId",
    "Signature",
    "sig",
    "X-Goog-Signature",
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "api_key",
    "apikey",
    "key",
    "password",
    "passwd",
    "secret",
    "client_secret",
    "session",
    "auth",
    "auth_token",
    "private_token",
    "api-key",
    "x-api-key",
    "code",
];

/// The most bytes of one request-derived attribute value (`url.path`, `url.query`, `url.full`,
/// `user_agent.original`, a captured header, …) by default: a caller decides how long they are,
/// and each is held in memory until its span is exported.
pub(crate) const DEFAULT_MAX_ATTRIBUTE_BYTES: usize = 4096;

/// `s` cut to at most `max` bytes, at a character boundary.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// [`truncate`] for an owned or borrowed value.
pub(crate) fn truncate_cow(s: Cow<'_, str>, max: usize) -> Cow<'_, str> {
    match s {
        Cow::Borrowed(b) => Cow::Borrowed(truncate(b, max)),
        Cow::Owned(mut o) => {
            let end = truncate(&o, max).len();
            o.truncate(end);
            Cow::Owned(o)
        }
    }
}

/// The HTTP methods recorded as themselves; any other is `_OTHER`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum KnownMethods {
    /// RFC 9110's, `PATCH` and `QUERY`.
    #[default]
    Standard,
    /// Exactly these (a full override, as the conventions require), interned.
    Only(std::sync::Arc<[&'static str]>),
}

impl KnownMethods {
    /// From `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS` (read once per process), or the
    /// standard list when it is unset or empty.
    pub(crate) fn from_env() -> Self {
        static FROM_ENV: std::sync::OnceLock<KnownMethods> = std::sync::OnceLock::new();
        FROM_ENV
            .get_or_init(|| {
                match std::env::var(beacon::config::vars::OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS) {
                    Ok(list) if !list.trim().is_empty() => Self::only(list.split(',')),
                    _ => Self::Standard,
                }
            })
            .clone()
    }

    /// Exactly `names` (trimmed, case-sensitive; empty names are skipped). The names are
    /// interned for the life of the process: each distinct name costs its length once, however
    /// many layers are built with it.
    pub(crate) fn only<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        static INTERNED: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
        let mut interned = INTERNED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut list: Vec<&'static str> = Vec::new();
        for name in names {
            let name = name.as_ref().trim();
            if name.is_empty() || list.contains(&name) {
                continue;
            }
            let stored = match interned.iter().find(|n| **n == name) {
                Some(n) => *n,
                None => {
                    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
                    interned.push(leaked);
                    leaked
                }
            };
            list.push(stored);
        }
        Self::Only(list.into())
    }
}

/// `http.request.method`, and the original when it had to be normalised.
///
/// Known methods are RFC 9110's, `PATCH` and `QUERY` unless `known` lists others, matched
/// case-sensitively as the conventions say; anything else is `_OTHER`.
pub(crate) fn method<'a>(
    known: &KnownMethods,
    method: &'a Method,
) -> (&'static str, Option<&'a str>) {
    if let KnownMethods::Only(list) = known {
        return match list.iter().find(|n| **n == method.as_str()) {
            Some(n) => (n, None),
            None => ("_OTHER", Some(method.as_str())),
        };
    }
    let known = match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ if method.as_str() == "QUERY" => "QUERY",
        _ => return ("_OTHER", Some(method.as_str())),
    };
    (known, None)
}

/// The `{method}` part of a span name: `HTTP` stands for `_OTHER`.
pub(crate) fn span_method(normalised: &'static str) -> &'static str {
    if normalised == "_OTHER" {
        "HTTP"
    } else {
        normalised
    }
}

/// `network.protocol.version`.
pub(crate) fn protocol_version(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_11 => "1.1",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "_OTHER",
    }
}

/// `url.scheme` as the server sees it: the request URI's, a trusted proxy's
/// `X-Forwarded-Proto` of `http` or `https` (when `trust_forwarded`), or `http`.
pub(crate) fn server_scheme(uri: &Uri, headers: &HeaderMap, trust_forwarded: bool) -> &'static str {
    match uri.scheme_str() {
        Some("https") => return "https",
        Some("http") => return "http",
        _ => {}
    }
    if !trust_forwarded {
        return "http";
    }
    // `Forwarded: proto=` first, then `X-Forwarded-Proto` (the conventions' order).
    match forwarded_directive(headers, "proto")
        .or_else(|| first_forwarded(headers, &X_FORWARDED_PROTO))
    {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    }
}

/// A server's `server.address` and `server.port`, by the conventions' order: the request
/// target in absolute form (an HTTP/1 URI with an authority), then — only from a trusted proxy
/// (`trust_forwarded`) — `Forwarded: host=` and `X-Forwarded-Host`, then `:authority` (an
/// HTTP/2 or HTTP/3 URI's authority) or `Host` ([`host_and_port`]).
pub(crate) fn server_host_and_port<'a>(
    uri: &'a Uri,
    version: http::Version,
    headers: &'a HeaderMap,
    trust_forwarded: bool,
) -> Option<(&'a str, Option<u16>)> {
    let absolute_form = uri.authority().is_some()
        && matches!(
            version,
            http::Version::HTTP_09 | http::Version::HTTP_10 | http::Version::HTTP_11
        );
    if trust_forwarded && !absolute_form {
        let forwarded = forwarded_directive(headers, "host")
            .or_else(|| first_forwarded(headers, &X_FORWARDED_HOST));
        if let Some(found) = forwarded.and_then(split_host_port) {
            return Some(found);
        }
    }
    host_and_port(uri, headers)
}

/// `host[:port]` or `[v6]:port` split; `None` for an empty host.
fn split_host_port(text: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = match text.strip_prefix('[') {
        Some(rest) => {
            let (host, after) = rest.split_once(']')?;
            (host, after.strip_prefix(':'))
        }
        None => match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        },
    };
    if host.is_empty() {
        return None;
    }
    Some((host, port.and_then(|p| p.parse().ok())))
}

/// `server.address` and `server.port` from the request URI's authority (HTTP/2 `:authority`)
/// or the `Host` header. The port is given only when it is explicit; IPv6 brackets are removed.
pub(crate) fn host_and_port<'a>(
    uri: &'a Uri,
    headers: &'a HeaderMap,
) -> Option<(&'a str, Option<u16>)> {
    let text = match uri.authority() {
        Some(authority) => authority.as_str().rsplit('@').next().unwrap_or(""),
        None => headers.get(http::header::HOST)?.to_str().ok()?.trim(),
    };
    split_host_port(text)
}

/// The client's address as the trusted proxies tell it: the `for=` entries of `Forwarded`
/// (or, without it, the `X-Forwarded-For` list) walked from the right — each proxy appends the
/// address it received from — skipping the addresses `trusted` accepts; the first that it does
/// not is the client. A caller can prepend anything, so the leftmost entry is used only when
/// every other one is a trusted proxy.
pub(crate) fn forwarded_client(
    headers: &HeaderMap,
    trusted: impl Fn(std::net::IpAddr) -> bool,
) -> Option<&str> {
    let mut entries: Vec<&str> = Vec::new();
    let forwarded: Vec<&str> = headers
        .get_all(http::header::FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !forwarded.is_empty() {
        for element in forwarded.iter().flat_map(|v| v.split(',')) {
            let value = element.split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                k.trim().eq_ignore_ascii_case("for").then_some(v)
            });
            let Some(v) = value else { continue };
            let v = v.trim().trim_matches('"');
            // `for="[2001:db8::1]:4711"` → `2001:db8::1`; `for=192.0.2.60:80` → `192.0.2.60`.
            let v = match v.strip_prefix('[') {
                Some(rest) => rest.split(']').next().unwrap_or(rest),
                None => v.split(':').next().unwrap_or(v),
            };
            entries.push(v);
        }
    } else {
        entries.extend(
            headers
                .get_all(X_FORWARDED_FOR)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim),
        );
    }
    let first = entries.first().copied();
    entries
        .into_iter()
        .rev()
        .find(|e| !e.parse().is_ok_and(&trusted))
        .or(first)
        .filter(|v| !v.is_empty())
}

/// `query` with the values of `sensitive` keys replaced by `REDACTED`. Keys are compared
/// without regard to case and after percent-decoding (`tok%65n` is `token`, as the server
/// reading it decodes it; `+` is a space, as in forms). Borrows when nothing needs replacing.
pub(crate) fn redact_query<'a>(query: &'a str, sensitive: &[Cow<'static, str>]) -> Cow<'a, str> {
    let is_sensitive = |pair: &str| {
        let key = pair.split_once('=').map_or(pair, |(k, _)| k);
        let decoded: Cow<'_, str> = if key.contains(['%', '+']) {
            let spaced = key.replace('+', " ");
            Cow::Owned(
                percent_encoding::percent_decode_str(&spaced)
                    .decode_utf8_lossy()
                    .into_owned(),
            )
        } else {
            Cow::Borrowed(key)
        };
        let decoded = decoded.trim();
        sensitive.iter().any(|s| s.eq_ignore_ascii_case(decoded))
    };
    if !query
        .split('&')
        .any(|pair| pair.contains('=') && is_sensitive(pair))
    {
        return Cow::Borrowed(query);
    }
    let mut out = String::with_capacity(query.len());
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((key, _)) if is_sensitive(pair) => {
                out.push_str(key);
                out.push('=');
                out.push_str(REDACTED);
            }
            _ => out.push_str(pair),
        }
    }
    Cow::Owned(out)
}

/// `url.full` for a client request: credentials become `REDACTED:REDACTED` and sensitive query
/// values `REDACTED`, as the conventions require.
pub(crate) fn full_url(
    uri: &Uri,
    sensitive: &[Cow<'static, str>],
    scrub: Option<&super::PathScrubber>,
) -> String {
    let mut out = String::new();
    if let Some(scheme) = uri.scheme_str() {
        out.push_str(scheme);
        out.push_str("://");
    }
    if let Some(authority) = uri.authority() {
        if authority.as_str().contains('@') {
            out.push_str(REDACTED);
            out.push(':');
            out.push_str(REDACTED);
            out.push('@');
        }
        out.push_str(authority.host());
        if let Some(port) = authority.port_u16() {
            out.push(':');
            out.push_str(&port.to_string());
        }
    }
    out.push_str(&super::scrubbed(scrub, uri.path()));
    if let Some(query) = uri.query() {
        out.push('?');
        out.push_str(&redact_query(query, sensitive));
    }
    out
}

/// The default port of a scheme, for a client's `server.port`.
pub(crate) fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// Longest `rpc.method_original` recorded: the path is the caller's, so it is bounded.
pub(crate) const MAX_METHOD_ORIGINAL: usize = 256;

/// The `Content-Length` of a message, when given and valid.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// The type name of an error, for `error.type` when there is no status code.
pub(crate) fn error_type<E>() -> &'static str {
    std::any::type_name::<E>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<Cow<'static, str>> {
        DEFAULT_SENSITIVE_QUERY_KEYS
            .iter()
            .map(|k| Cow::Borrowed(*k))
            .collect()
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("abcdef", 3), "abc");
        // `é` is two bytes: cut before it, not through it.
        assert_eq!(truncate("aé", 2), "a");
        assert_eq!(truncate_cow(Cow::Owned("aéb".into()), 3), "aé");
    }

    #[test]
    fn methods_are_normalised_per_the_conventions() {
        let std = KnownMethods::Standard;
        assert_eq!(method(&std, &Method::GET), ("GET", None));
        assert_eq!(
            method(&std, &Method::from_bytes(b"QUERY").unwrap()),
            ("QUERY", None)
        );
        // Case-sensitive: `get` is not `GET`.
        assert_eq!(
            method(&std, &Method::from_bytes(b"get").unwrap()),
            ("_OTHER", Some("get"))
        );
        assert_eq!(
            method(&std, &Method::from_bytes(b"PURGE").unwrap()),
            ("_OTHER", Some("PURGE"))
        );
        assert_eq!(span_method("_OTHER"), "HTTP");
    }

    /// HTTP semantic conventions (v1.44), `http.request.method` note [1]: the instrumentation
    /// "MUST provide a way to override the list of known HTTP methods ... (this list MUST be a
    /// full override of the default known method, it is not a list of known methods in
    /// addition to the defaults)."
    #[test]
    fn an_override_is_the_whole_list() {
        let only = KnownMethods::only([" PURGE", "GET", "", "GET"]);
        assert_eq!(
            method(&only, &Method::from_bytes(b"PURGE").unwrap()),
            ("PURGE", None)
        );
        assert_eq!(method(&only, &Method::GET), ("GET", None));
        assert_eq!(method(&only, &Method::POST), ("_OTHER", Some("POST")));
        // Interned once: a second list with the same name shares it.
        let again = KnownMethods::only(["PURGE"]);
        let (a, _) = method(&only, &Method::from_bytes(b"PURGE").unwrap());
        let (b, _) = method(&again, &Method::from_bytes(b"PURGE").unwrap());
        assert!(std::ptr::eq(a, b));
    }

    #[test]
    fn secrets_in_queries_are_redacted_and_the_rest_kept() {
        let k = keys();
        assert!(matches!(
            redact_query("page=2&sort=asc", &k),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            redact_query("page=2&TOKEN=abc&x", &k),
            "page=2&TOKEN=REDACTED&x"
        );
        assert_eq!(
            redact_query("X-Amz-Signature=zz&sig=1&a=b", &k),
            "X-Amz-Signature=REDACTED&sig=REDACTED&a=b"
        );
        // A key without a value carries no secret.
        assert_eq!(redact_query("token", &k), "token");
        // Spelled so that a byte-wise comparison misses it, decoded as the server will.
        assert_eq!(
            redact_query("tok%65n=a&%41PI_KEY=b&private%5Ftoken=c&x+api-key=d&code=e", &k),
            "tok%65n=REDACTED&%41PI_KEY=REDACTED&private%5Ftoken=REDACTED&x+api-key=d&code=REDACTED"
        );
        for key in [
            "code",
            "api-key",
            "x-api-key",
            "private_token",
            "auth_token",
        ] {
            assert_eq!(
                redact_query(&format!("{key}=v"), &k),
                format!("{key}=REDACTED")
            );
        }
    }

    #[test]
    fn full_url_hides_credentials_and_secret_query_values() {
        let uri: Uri = "https://alice:pw@api.example.com:8443/v1/x?token=t&q=1"
            .parse()
            .unwrap();
        assert_eq!(
            full_url(&uri, &keys(), None),
            "https://REDACTED:REDACTED@api.example.com:8443/v1/x?token=REDACTED&q=1"
        );
    }

    #[test]
    fn host_and_port_from_the_host_header() {
        let uri: Uri = "/x".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("host", "example.com:8080".parse().unwrap());
        assert_eq!(host_and_port(&uri, &h), Some(("example.com", Some(8080))));
        h.insert("host", "example.com".parse().unwrap());
        assert_eq!(host_and_port(&uri, &h), Some(("example.com", None)));
        h.insert("host", "[::1]:9000".parse().unwrap());
        assert_eq!(host_and_port(&uri, &h), Some(("::1", Some(9000))));
        let abs: Uri = "http://user@svc.local:81/x".parse().unwrap();
        assert_eq!(host_and_port(&abs, &h), Some(("svc.local", Some(81))));
    }

    #[test]
    fn client_address_from_forwarding_headers() {
        let none = |_: std::net::IpAddr| false;
        let proxies = |ip: std::net::IpAddr| ip.to_string().starts_with("10.");
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.7, 10.0.0.1".parse().unwrap());
        // The rightmost entry that is not a trusted proxy: what our proxy saw.
        assert_eq!(forwarded_client(&h, none), Some("10.0.0.1"));
        assert_eq!(forwarded_client(&h, proxies), Some("203.0.113.7"));
        // A caller-prepended entry does not win.
        h.insert(
            "x-forwarded-for",
            "1.1.1.1, 203.0.113.7, 10.0.0.1".parse().unwrap(),
        );
        assert_eq!(forwarded_client(&h, proxies), Some("203.0.113.7"));
        h.insert(
            "forwarded",
            "for=\"[2001:db8::1]:4711\";proto=https".parse().unwrap(),
        );
        assert_eq!(forwarded_client(&h, proxies), Some("2001:db8::1"));
        h.insert(
            "forwarded",
            "for=192.0.2.60:80, for=10.9.9.9".parse().unwrap(),
        );
        assert_eq!(forwarded_client(&h, proxies), Some("192.0.2.60"));
        // All trusted: the leftmost.
        h.insert("forwarded", "for=10.1.1.1, for=10.9.9.9".parse().unwrap());
        assert_eq!(forwarded_client(&h, proxies), Some("10.1.1.1"));
    }

    #[test]
    fn hostile_input_never_panics_and_stays_bounded() {
        let mut gen = beacon_test::HostileStrings::new(8);
        let k = keys();
        for _ in 0..20_000 {
            let text = gen.next_string(12);
            let redacted = redact_query(&text, &k);
            // Each sensitive value becomes REDACTED: at most 8 extra bytes per pair.
            assert!(redacted.len() <= text.len() + 8 * (text.matches('&').count() + 1));
            let mut headers = HeaderMap::new();
            if let Ok(v) = http::HeaderValue::from_str(&text) {
                headers.insert(http::header::HOST, v.clone());
                headers.insert(http::header::FORWARDED, v.clone());
                headers.insert(X_FORWARDED_FOR, v);
            }
            let uri = Uri::from_static("/");
            if let Some((host, _)) = host_and_port(&uri, &headers) {
                assert!(host.len() <= text.len());
            }
            if let Some(client) = forwarded_client(&headers, |_| false) {
                assert!(client.len() <= text.len());
            }
            if let Ok(uri) = text.parse::<Uri>() {
                assert!(full_url(&uri, &k, None).len() <= text.len() + 64);
                let _ = host_and_port(&uri, &HeaderMap::new());
            }
            let capture = crate::headers::HeaderCapture::new("http.request.header.", [&text]);
            let _ = capture.attributes(&headers);
        }
    }
}
