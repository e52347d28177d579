//! URLs as they may be printed: without credentials (userinfo) or query string.
//!
//! Endpoints can carry secrets — `https://user:token@collector/…`, `…?api_key=…` — and every
//! message Beacon prints about an endpoint (errors, warnings, `Debug`, the startup summary) goes
//! through [`redact_url`].

/// What replaces the userinfo and the query of a printed URL.
pub const REDACTED: &str = "REDACTED";

/// `text` with any userinfo replaced by `REDACTED:REDACTED`, the query by `REDACTED` and the
/// fragment dropped. Works on text that is not a valid URL too (it is what error messages about
/// an unparsable endpoint print).
///
/// ```
/// use beacon_exporter::otlp::redact_url;
/// assert_eq!(
///     redact_url("https://me:s3cret@collector:4318/v1/traces?token=abc#x"),
///     "https://REDACTED:REDACTED@collector:4318/v1/traces?REDACTED"
/// );
/// assert_eq!(redact_url("http://localhost:4318/"), "http://localhost:4318/");
/// ```
pub fn redact_url(text: &str) -> String {
    let (scheme, rest) = match text.find("://") {
        Some(i) => text.split_at(i + 3),
        None => ("", text),
    };
    // Without a fragment: it is never sent, and could hold anything.
    let rest = rest.split('#').next().unwrap_or("");
    let (before_query, query) = match rest.split_once('?') {
        Some((b, _)) => (b, true),
        None => (rest, false),
    };
    let authority_end = before_query.find('/').unwrap_or(before_query.len());
    let (authority, path) = before_query.split_at(authority_end);
    let mut out = String::with_capacity(text.len());
    out.push_str(scheme);
    match authority.rfind('@') {
        Some(at) => {
            out.push_str("REDACTED:REDACTED");
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    out.push_str(path);
    if query {
        out.push('?');
        out.push_str(REDACTED);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_query_and_fragment_never_survive() {
        for (input, want) in [
            ("http://u@h:1/p", "http://REDACTED:REDACTED@h:1/p"),
            ("http://u:p@h", "http://REDACTED:REDACTED@h"),
            ("http://h/p?k=v&x=y", "http://h/p?REDACTED"),
            ("http://h?k=v", "http://h?REDACTED"),
            ("http://h/p#frag", "http://h/p"),
            ("not a url?secret=1", "not a url?REDACTED"),
            ("u:p@h/x", "REDACTED:REDACTED@h/x"),
            ("http://h/a@b", "http://h/a@b"),
            ("", ""),
        ] {
            assert_eq!(redact_url(input), want, "{input}");
        }
    }
}
