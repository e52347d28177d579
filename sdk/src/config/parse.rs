//! Reading typed values out of `OTEL_*` strings.

use std::cell::RefCell;
use std::time::Duration;

use percent_encoding::percent_decode_str;

use super::InitError;

/// Where configuration strings come from: the process environment, or a map in tests.
pub(crate) type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Typed access to environment variables. Warnings (for values the spec says to ignore with a
/// warning) are collected and logged once the subscriber is up.
pub(crate) struct Env<'a> {
    lookup: &'a Lookup,
    pub(crate) warnings: RefCell<Vec<String>>,
    /// Whether an invalid `OTEL_*` value is an error (Beacon's strict mode) rather than, as the
    /// spec says, a warning and the default.
    strict: bool,
}

impl<'a> Env<'a> {
    pub(crate) fn new(lookup: &'a Lookup) -> Self {
        Self {
            lookup,
            warnings: RefCell::new(Vec::new()),
            strict: false,
        }
    }

    /// In strict mode every invalid value is an error.
    pub(crate) fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Keeps `message` to log at start, once (a variable read for each signal warns once).
    pub(crate) fn warn(&self, message: String) {
        let mut warnings = self.warnings.borrow_mut();
        if !warnings.contains(&message) {
            warnings.push(message);
        }
    }

    /// An invalid value, as the configuration spec (`configuration/common.md`) says to treat
    /// it: a warning naming the variable, the value and what is used instead (`instead`), and
    /// `Ok(())` so the caller uses that; in strict mode the error itself.
    ///
    /// # Errors
    /// `err`, in strict mode.
    pub(crate) fn reject(&self, err: InitError, instead: &str) -> Result<(), InitError> {
        if self.strict {
            return Err(err);
        }
        self.warn(format!(
            "{err}; ignoring it and using {instead} (set BEACON_CONFIG_STRICT=true to make this an error)"
        ));
        Ok(())
    }

    /// `result`'s value, or — for an invalid value, outside strict mode — `fallback`, with the
    /// warning of [`Env::reject`].
    ///
    /// # Errors
    /// The error of `result`, in strict mode.
    pub(crate) fn or_default<T>(
        &self,
        result: Result<T, InitError>,
        fallback: T,
        instead: &str,
    ) -> Result<T, InitError> {
        match result {
            Ok(v) => Ok(v),
            Err(e) => self.reject(e, instead).map(|()| fallback),
        }
    }

    /// The value, trimmed; an empty value counts as unset (spec: "empty means unset").
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// The first of `names` that is set, with its name.
    pub(crate) fn first(&self, names: &[&'static str]) -> Option<(&'static str, String)> {
        names
            .iter()
            .find_map(|name| self.get(name).map(|v| (*name, v)))
    }

    /// A boolean per spec: only a case-insensitive `true` is true; any other value is false,
    /// with a warning.
    pub(crate) fn bool(&self, name: &'static str) -> bool {
        match self.get(name) {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                self.warn(format!(
                    "{name}={v:?} is not `true` or `false`; treating it as false"
                ));
                false
            }
        }
    }

    /// A non-negative whole number of milliseconds.
    pub(crate) fn millis(&self, name: &'static str) -> Result<Option<Duration>, InitError> {
        let parsed = self.get(name).map(|v| millis(name, &v)).transpose();
        self.or_default(parsed, None, "the default")
    }

    /// A non-negative whole number; an invalid one is an error whatever the mode (for Beacon's
    /// own settings where a silent default would lose data, such as the spool's cap).
    pub(crate) fn count_exact(&self, name: &'static str) -> Result<Option<usize>, InitError> {
        self.get(name)
            .map(|v| {
                v.parse::<usize>().map_err(|_| {
                    InitError::invalid(name, &v, "a non-negative whole number, such as 128")
                })
            })
            .transpose()
    }

    /// A non-negative whole number.
    pub(crate) fn count(&self, name: &'static str) -> Result<Option<usize>, InitError> {
        let parsed = self
            .get(name)
            .map(|v| {
                v.parse::<usize>().map_err(|_| {
                    InitError::invalid(name, &v, "a non-negative whole number, such as 128")
                })
            })
            .transpose();
        self.or_default(parsed, None, "the default")
    }
}

pub(crate) fn millis(name: &'static str, v: &str) -> Result<Duration, InitError> {
    v.parse::<u64>().map(Duration::from_millis).map_err(|_| {
        InitError::invalid(
            name,
            v,
            "a non-negative whole number of milliseconds, such as 10000",
        )
    })
}

/// Parses `k1=v1,k2=v2` with percent-encoded keys and values (the W3C baggage octet rules the
/// OTel spec uses for `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_EXPORTER_OTLP_HEADERS`). Empty
/// members (`a=1,,b=2`) are skipped. The error says which member (by its 1-based position) is
/// wrong and why, and never quotes the text: header values are credentials.
pub(crate) fn key_values(input: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (index, member) in input.split(',').enumerate() {
        let n = index + 1;
        let member = member.trim();
        if member.is_empty() {
            continue;
        }
        let Some((key, value)) = member.split_once('=') else {
            return Err(format!("member {n} has no `=`; write key=value"));
        };
        let key = decode(key.trim()).map_err(|e| format!("the key of member {n}: {e}"))?;
        if key.is_empty() {
            return Err(format!("member {n} has an empty key"));
        }
        let value = decode(value.trim()).map_err(|e| format!("the value of member {n}: {e}"))?;
        out.push((key, value));
    }
    Ok(out)
}

fn decode(s: &str) -> Result<String, String> {
    // Reject malformed escapes (`%zz`, a lone `%`) instead of passing them through.
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let ok = bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
            if !ok {
                return Err("a `%` not followed by two hex digits".into());
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| "percent-decodes to invalid UTF-8".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_decode_percent_escapes() {
        let kv = key_values("a=1, b = x%2Cy ,c=%3D").expect("valid");
        assert_eq!(
            kv,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x,y".into()),
                ("c".into(), "=".into())
            ]
        );
    }

    #[test]
    fn key_values_reject_bad_members() {
        assert_eq!(
            key_values("a=1,api-key%3Dsecret").unwrap_err(),
            "member 2 has no `=`; write key=value"
        );
        assert!(key_values("a").unwrap_err().contains("no `=`"));
        assert!(key_values("=1").unwrap_err().contains("empty key"));
        assert!(key_values("a=%zz").unwrap_err().contains("two hex digits"));
        assert!(key_values("a=%").unwrap_err().contains("two hex digits"));
        assert!(key_values("a=%ff").unwrap_err().contains("UTF-8"));
    }

    #[test]
    fn key_values_skip_empty_members() {
        assert_eq!(key_values("a=1,,b=2,").expect("valid").len(), 2);
        assert!(key_values("").expect("valid").is_empty());
    }
}
