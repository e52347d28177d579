//! `http::HeaderMap` as an OpenTelemetry carrier, and the capture of chosen headers as span
//! attributes with secrets redacted.

use http::header::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::{Array, Key, KeyValue, StringValue, Value};

/// Reads propagation fields from request headers. Unlike `opentelemetry-http`'s extractor it
/// answers [`Extractor::get_all`], so a propagator can see a header sent twice (W3C Trace
/// Context treats two `traceparent` headers as none, and joins several `tracestate` headers).
#[derive(Debug, Clone, Copy)]
pub struct HeaderExtractor<'a>(pub &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .0
            .get_all(key)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!values.is_empty()).then_some(values)
    }
}

/// Writes propagation fields into request headers, replacing any already there.
#[derive(Debug)]
pub struct HeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // A propagator only writes names and values it has validated; anything else is skipped
        // rather than sent malformed.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// Headers whose values never leave the process, whatever the capture list says.
const ALWAYS_REDACTED: [&str; 4] = [
    "authorization",
    "cookie",
    "set-cookie",
    "proxy-authorization",
];

/// Further header names (and `*`-patterns) redacted unless replaced with
/// `sensitive_headers`: API keys and tokens under the names they usually travel.
pub(crate) const DEFAULT_SENSITIVE_HEADERS: [&str; 7] = [
    "x-api-key",
    "api-key",
    "x-auth-token",
    "x-amz-security-token",
    "*-token",
    "*-secret",
    "*-api-key",
];

/// Does `name` (lower case, as `HeaderName`s are) match `pattern`: an exact name, `*suffix`,
/// `prefix*`, or `*`? Compared without regard to case.
fn matches_pattern(name: &str, pattern: &str) -> bool {
    let pattern = pattern.trim();
    let lower = |s: &str| s.to_ascii_lowercase();
    match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
        (Some(""), _) => true,
        (Some(suffix), _) => name.ends_with(&lower(suffix)),
        (None, Some(prefix)) => name.starts_with(&lower(prefix)),
        (None, None) => name.eq_ignore_ascii_case(pattern),
    }
}

/// Header names and patterns whose captured values are recorded as `REDACTED`.
pub(crate) type SensitiveHeaders = std::sync::Arc<[std::borrow::Cow<'static, str>]>;

pub(crate) fn default_sensitive_headers() -> SensitiveHeaders {
    DEFAULT_SENSITIVE_HEADERS
        .iter()
        .map(|p| std::borrow::Cow::Borrowed(*p))
        .collect()
}

/// The text that replaces a secret.
pub(crate) const REDACTED: &str = "REDACTED";

/// A list of headers to record as `http.{request,response}.header.<name>` attributes.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeaderCapture {
    /// `(header name, attribute key, redact)`.
    headers: Vec<(HeaderName, Key, bool)>,
    /// The most bytes recorded per header, over all its values (`None`: the middleware's
    /// default).
    max_bytes: Option<usize>,
}

impl HeaderCapture {
    pub(crate) fn new<I, S>(prefix: &str, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let headers = names
            .into_iter()
            .filter_map(|name| {
                let name = HeaderName::from_bytes(name.as_ref().trim().as_bytes()).ok()?;
                let key = Key::new(format!("{prefix}{}", name.as_str()));
                Some((name, key, true))
            })
            .collect();
        Self {
            headers,
            max_bytes: None,
        }
        .redacting(&default_sensitive_headers())
    }

    /// The same capture, recording at most `max` bytes per header (its values together).
    pub(crate) fn limited(mut self, max: usize) -> Self {
        self.max_bytes = Some(max);
        self
    }

    /// The same capture, redacting the four credential headers and whatever `sensitive` names.
    pub(crate) fn redacting(mut self, sensitive: &[std::borrow::Cow<'static, str>]) -> Self {
        for (name, _, redact) in &mut self.headers {
            let name = name.as_str();
            *redact = ALWAYS_REDACTED.contains(&name)
                || sensitive.iter().any(|p| matches_pattern(name, p));
        }
        self
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// The attributes for the captured headers present in `map` (values as a string array,
    /// per the semantic conventions), each header's values cut to the byte limit together: a
    /// value is truncated, and the values after it are left out.
    pub(crate) fn attributes(&self, map: &HeaderMap) -> Vec<KeyValue> {
        let max = self
            .max_bytes
            .unwrap_or(crate::http::semconv::DEFAULT_MAX_ATTRIBUTE_BYTES);
        self.headers
            .iter()
            .filter_map(|(name, key, redact)| {
                let mut budget = max;
                let mut values: Vec<StringValue> = Vec::new();
                for v in map.get_all(name) {
                    if *redact {
                        let Some(left) = budget.checked_sub(REDACTED.len()) else {
                            break;
                        };
                        budget = left;
                        values.push(StringValue::from(REDACTED));
                        continue;
                    }
                    if budget == 0 {
                        break;
                    }
                    let text = String::from_utf8_lossy(v.as_bytes());
                    let cut = crate::http::semconv::truncate(&text, budget);
                    budget -= cut.len();
                    values.push(StringValue::from(cut.to_owned()));
                }
                (!values.is_empty())
                    .then(|| KeyValue::new(key.clone(), Value::Array(Array::String(values))))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_all_sees_every_value_of_a_repeated_header() {
        let mut map = HeaderMap::new();
        map.append("tracestate", HeaderValue::from_static("a=1"));
        map.append("tracestate", HeaderValue::from_static("b=2"));
        let ex = HeaderExtractor(&map);
        assert_eq!(ex.get_all("tracestate"), Some(vec!["a=1", "b=2"]));
        assert_eq!(ex.get_all("traceparent"), None);
    }

    #[test]
    fn secrets_are_redacted_even_when_listed() {
        let mut map = HeaderMap::new();
        map.insert("authorization", HeaderValue::from_static("Bearer s3cret"));
        map.insert("x-request-id", HeaderValue::from_static("abc"));
        let capture = HeaderCapture::new(
            "http.request.header.",
            ["Authorization", "X-Request-Id", "x-absent"],
        );
        let attrs = capture.attributes(&map);
        let text = format!("{attrs:?}");
        assert!(!text.contains("s3cret"), "{text}");
        assert_eq!(attrs.len(), 2);
        assert_eq!(attrs[0].key.as_str(), "http.request.header.authorization");
        assert_eq!(
            attrs[1].value,
            Value::Array(Array::String(vec!["abc".into()]))
        );
    }

    #[test]
    fn api_keys_and_token_or_secret_headers_are_redacted_by_default_and_configurably() {
        let mut map = HeaderMap::new();
        for name in [
            "x-api-key",
            "x-auth-token",
            "x-amz-security-token",
            "x-csrf-token",
            "x-client-secret",
            "x-goog-api-key",
        ] {
            map.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static("s3cret"),
            );
        }
        map.insert("x-request-id", HeaderValue::from_static("abc"));
        map.insert("x-tenant", HeaderValue::from_static("t1"));
        let names: Vec<&str> = map.keys().map(HeaderName::as_str).collect();
        let capture = HeaderCapture::new("h.", &names);
        let text = format!("{:?}", capture.attributes(&map));
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("abc") && text.contains("t1"), "{text}");
        // A replaced list: `x-tenant` now secret, `*-token` no longer (authorization stays).
        let custom =
            HeaderCapture::new("h.", &names).redacting(&[std::borrow::Cow::Borrowed("X-Tenant")]);
        let text = format!("{:?}", custom.attributes(&map));
        assert!(!text.contains("t1") && text.contains("s3cret"), "{text}");
        assert!(matches_pattern("x-upstream-token", "*-TOKEN"));
        assert!(matches_pattern("x-internal-id", "x-internal*"));
        assert!(!matches_pattern("tokenizer", "*-token"));
    }

    #[test]
    fn a_huge_or_repeated_header_is_cut_to_the_limit() {
        let mut map = HeaderMap::new();
        let big = "x".repeat(100_000);
        for _ in 0..50 {
            map.append("x-big", HeaderValue::from_str(&big).unwrap());
        }
        let capture = HeaderCapture::new("h.", ["x-big"]).limited(1000);
        let attrs = capture.attributes(&map);
        let Value::Array(Array::String(values)) = &attrs[0].value else {
            panic!("{attrs:?}");
        };
        let total: usize = values.iter().map(|v| v.as_str().len()).sum();
        assert_eq!((values.len(), total), (1, 1000));
    }
}
