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

/// The text that replaces a secret.
pub(crate) const REDACTED: &str = "REDACTED";

/// A list of headers to record as `http.{request,response}.header.<name>` attributes.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeaderCapture {
    /// `(header name, attribute key, redact)`.
    headers: Vec<(HeaderName, Key, bool)>,
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
                let redact = ALWAYS_REDACTED.contains(&name.as_str());
                let key = Key::new(format!("{prefix}{}", name.as_str()));
                Some((name, key, redact))
            })
            .collect();
        Self { headers }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// The attributes for the captured headers present in `map` (values as a string array,
    /// per the semantic conventions).
    pub(crate) fn attributes(&self, map: &HeaderMap) -> Vec<KeyValue> {
        self.headers
            .iter()
            .filter_map(|(name, key, redact)| {
                let values: Vec<StringValue> = map
                    .get_all(name)
                    .iter()
                    .map(|v| {
                        if *redact {
                            StringValue::from(REDACTED)
                        } else {
                            StringValue::from(String::from_utf8_lossy(v.as_bytes()).into_owned())
                        }
                    })
                    .collect();
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
}
