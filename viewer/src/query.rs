//! Parsing the API's query strings into the hub's typed queries.

use std::time::Duration;

use beacon_hub::model::{StatusCode, TraceId};
use beacon_hub::query::{LogQuery, SeriesQuery, TraceQuery};
use beacon_hub::stream::{Filter, Signal};
use percent_encoding::percent_decode_str;

/// A query parameter that could not be used; the API answers 400 with this message.
#[derive(Debug, thiserror::Error)]
#[error("query parameter {name}: {reason}")]
pub struct BadParam {
    name: String,
    reason: String,
}

fn bad(name: &str, reason: impl Into<String>) -> BadParam {
    BadParam {
        name: name.to_owned(),
        reason: reason.into(),
    }
}

/// `key=value` pairs of a query string, decoded (`+` is a space), in order; repeated keys
/// stay repeated.
pub(crate) fn pairs(query: Option<&str>) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        percent_decode_str(&s).decode_utf8_lossy().into_owned()
    };
    query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// A duration: a number with a unit (`ns`, `us`, `ms`, `s`, `m`, `h`), or a bare number of
/// milliseconds.
pub(crate) fn duration(name: &str, v: &str) -> Result<Duration, BadParam> {
    let v = v.trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: f64 = num.parse().map_err(|_| {
        bad(
            name,
            format!("{v:?} is not a duration like 250ms, 1.5s or 2m"),
        )
    })?;
    let secs = match unit {
        "ns" => n / 1e9,
        "us" | "µs" => n / 1e6,
        "" | "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        other => {
            return Err(bad(
                name,
                format!("unknown unit {other:?} (use ns, us, ms, s, m or h)"),
            ))
        }
    };
    Duration::try_from_secs_f64(secs).map_err(|e| bad(name, e.to_string()))
}

fn number<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, BadParam> {
    v.parse()
        .map_err(|_| bad(name, format!("{v:?} is not a non-negative integer")))
}

/// A severity: a number 1–24 or a name (`trace`, `debug`, `info`, `warn`, `error`, `fatal`).
pub(crate) fn severity(name: &str, v: &str) -> Result<u8, BadParam> {
    match v.to_ascii_lowercase().as_str() {
        "trace" => Ok(1),
        "debug" => Ok(5),
        "info" => Ok(9),
        "warn" | "warning" => Ok(13),
        "error" => Ok(17),
        "fatal" => Ok(21),
        n => match n.parse::<u8>() {
            Ok(n) if n <= 24 => Ok(n),
            _ => Err(bad(
                name,
                format!("{v:?} is not 0-24 nor trace/debug/info/warn/error/fatal"),
            )),
        },
    }
}

fn attribute(name: &str, v: &str) -> Result<(String, String), BadParam> {
    v.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| bad(name, format!("{v:?} is not key=value")))
}

fn trace_id(name: &str, v: &str) -> Result<TraceId, BadParam> {
    v.parse()
        .map_err(|e: beacon_hub::model::ParseIdError| bad(name, e.to_string()))
}

/// Unix nanoseconds now.
pub(crate) fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Shared time parameters: `start`/`end` in Unix nanoseconds, or `since` (a duration back
/// from now).
fn time(
    name: &str,
    v: &str,
    start: &mut Option<u64>,
    end: &mut Option<u64>,
) -> Result<bool, BadParam> {
    match name {
        "start" => *start = Some(number(name, v)?),
        "end" => *end = Some(number(name, v)?),
        "since" => {
            let back = u64::try_from(duration(name, v)?.as_nanos()).unwrap_or(u64::MAX);
            *start = Some(now_nanos().saturating_sub(back));
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn unknown(name: &str, allowed: &str) -> BadParam {
    bad(name, format!("unknown parameter (known: {allowed})"))
}

pub(crate) fn traces(q: Option<&str>) -> Result<TraceQuery, BadParam> {
    let mut out = TraceQuery::default();
    for (k, v) in pairs(q) {
        match k.as_str() {
            "service" => out.service = Some(v),
            "span_name" | "name" => out.span_name = Some(v),
            "attr" => out.attributes.push(attribute(&k, &v)?),
            "min_duration" => out.min_duration = Some(duration(&k, &v)?),
            "status" => out.status = Some(v.parse::<StatusCode>().map_err(|e| bad(&k, e))?),
            "limit" => out.limit = Some(number(&k, &v)?),
            other => {
                if !time(other, &v, &mut out.start, &mut out.end)? {
                    return Err(unknown(
                        other,
                        "service, span_name, attr, min_duration, status, start, end, since, limit",
                    ));
                }
            }
        }
    }
    Ok(out)
}

pub(crate) fn logs(q: Option<&str>) -> Result<LogQuery, BadParam> {
    let mut out = LogQuery::default();
    for (k, v) in pairs(q) {
        match k.as_str() {
            "service" => out.service = Some(v),
            "min_severity" | "severity" => out.min_severity = Some(severity(&k, &v)?),
            "text" | "q" => out.text = Some(v),
            "trace_id" => out.trace_id = Some(trace_id(&k, &v)?),
            "name" | "event_name" => out.event_name = Some(v),
            "attr" => out.attributes.push(attribute(&k, &v)?),
            "limit" => out.limit = Some(number(&k, &v)?),
            other => {
                if !time(other, &v, &mut out.start, &mut out.end)? {
                    return Err(unknown(other, "service, min_severity, text, trace_id, name, attr, start, end, since, limit"));
                }
            }
        }
    }
    Ok(out)
}

/// `None` when no `name` is given (list the names), else the series query.
pub(crate) fn metrics(q: Option<&str>) -> Result<(Option<String>, Option<SeriesQuery>), BadParam> {
    let mut service = None;
    let mut out = SeriesQuery::default();
    let mut named = false;
    for (k, v) in pairs(q) {
        match k.as_str() {
            "name" => {
                out.name = v;
                named = true;
            }
            "service" => service = Some(v),
            "attr" => out.attributes.push(attribute(&k, &v)?),
            other => {
                if !time(other, &v, &mut out.start, &mut out.end)? {
                    return Err(unknown(other, "name, service, attr, start, end, since"));
                }
            }
        }
    }
    out.service.clone_from(&service);
    Ok((service, named.then_some(out)))
}

pub(crate) fn filter(q: Option<&str>) -> Result<Filter, BadParam> {
    let mut out = Filter::default();
    for (k, v) in pairs(q) {
        match k.as_str() {
            "signal" => out
                .signals
                .push(v.parse::<Signal>().map_err(|e| bad(&k, e))?),
            "service" => out.service = Some(v),
            "name" => out.name = Some(v),
            "trace_id" => out.trace_id = Some(trace_id(&k, &v)?),
            "attr" => out.attributes.push(attribute(&k, &v)?),
            "min_severity" | "severity" => out.min_severity = Some(severity(&k, &v)?),
            other => {
                return Err(unknown(
                    other,
                    "signal, service, name, trace_id, attr, min_severity",
                ))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_queries_parse_repeated_attributes_and_units() {
        let q = traces(Some("service=checkout&attr=http.route%3D%2Forders&attr=order.id=7&min_duration=1.5s&status=error&limit=5")).unwrap();
        assert_eq!(q.service.as_deref(), Some("checkout"));
        assert_eq!(
            q.attributes,
            vec![
                ("http.route".into(), "/orders".into()),
                ("order.id".into(), "7".into())
            ]
        );
        assert_eq!(q.min_duration, Some(Duration::from_millis(1500)));
        assert_eq!(q.status, Some(StatusCode::Error));
        assert_eq!(q.limit, Some(5));
    }

    #[test]
    fn bad_parameters_say_what_is_wrong() {
        let e = traces(Some("min_duration=fast")).unwrap_err().to_string();
        assert!(e.contains("min_duration") && e.contains("250ms"), "{e}");
        let e = logs(Some("min_severity=loud")).unwrap_err().to_string();
        assert!(e.contains("min_severity"), "{e}");
        let e = filter(Some("colour=red")).unwrap_err().to_string();
        assert!(e.contains("unknown parameter"), "{e}");
        assert_eq!(
            logs(Some("severity=warn+")).map(|q| q.min_severity).ok(),
            None
        );
        assert_eq!(logs(Some("severity=warn")).unwrap().min_severity, Some(13));
    }
}
