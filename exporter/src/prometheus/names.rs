//! OpenTelemetry → Prometheus names, per the compatibility spec
//! (`specification/compatibility/prometheus_and_openmetrics.md`, as `prometheus/otlptranslator`
//! implements it with `UnderscoreEscapingWithSuffixes`, the default).

use std::borrow::Cow;

use super::Naming;

/// The Prometheus shape a metric takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A monotonic cumulative sum: `_total` samples.
    Counter,
    /// A gauge, or a non-monotonic sum.
    Gauge,
    /// An explicit-bucket histogram: `_bucket`, `_sum`, `_count`.
    Histogram,
}

impl Kind {
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A metric family's Prometheus name (without the `_total` of counter samples) and the unit
/// word it ends with, if any (OpenMetrics `# UNIT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FamilyName {
    pub(crate) name: String,
    pub(crate) unit: Option<String>,
}

/// Maps an instrument's name and unit to its family name: invalid characters become `_`
/// (repeats collapsed), the unit becomes a suffix unless the name already ends with it, a gauge
/// with unit `1` ends in `_ratio`, and a counter's `_total` is left to its samples. With
/// [`Naming::Prometheus`], a gauge counting `{things}` is named by their plural instead of
/// ending in `_count` (see [`plural_count`]).
pub(crate) fn family(name: &str, unit: &str, kind: Kind, naming: Naming) -> FamilyName {
    let mut out = sanitize_metric(name);
    if kind == Kind::Gauge && naming == Naming::Prometheus {
        if let Some(plural) = plural_count(&out, unit) {
            out = plural;
        }
    }
    if kind == Kind::Counter {
        if let Some(stripped) = out.strip_suffix("_total") {
            out.truncate(stripped.len());
        }
    }
    let mut unit_word = unit_suffix(unit);
    if unit_word.is_none() && unit.trim() == "1" && kind == Kind::Gauge {
        unit_word = Some("ratio".to_owned());
    }
    if let Some(word) = &unit_word {
        let suffix = format!("_{word}");
        if !out.ends_with(&suffix) && out != *word {
            out.push_str(&suffix);
        }
    }
    FamilyName {
        name: out,
        unit: unit_word,
    }
}

/// The Prometheus name of a gauge that counts things, for a sanitised name ending in `_count`
/// whose unit is one annotation naming the thing counted: `process_thread_count` in
/// `{thread}` → `process_threads`, `system_cpu_logical_count` in `{cpu}` →
/// `system_cpu_logical_cpus`. `None` leaves the name as it is.
///
/// Why: the semantic conventions name such instruments `….count` (an UpDownCounter, so a
/// Prometheus gauge), but in Prometheus `_count` belongs to histograms and summaries — a gauge
/// `x_count` reads as the count of a histogram `x`, and `promtool check metrics` rejects it
/// ("non-histogram and non-summary metrics should not have \"_count\" suffix"). Prometheus
/// names a current number of things by their plural (`go_threads`, `process_open_fds`); the
/// unit annotation says what the things are, so the name can follow that rule mechanically.
fn plural_count(name: &str, unit: &str) -> Option<String> {
    let base = name.strip_suffix("_count")?;
    let noun = unit.trim().strip_prefix('{')?.strip_suffix('}')?;
    if noun.is_empty()
        || !noun
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
    {
        return None;
    }
    let noun = sanitize_metric(noun);
    let plural = plural(&noun);
    if base == plural || base.ends_with(&format!("_{plural}")) {
        return Some(base.to_owned());
    }
    let stem = if base == noun {
        ""
    } else {
        match base.strip_suffix(noun.as_str()) {
            Some(stem) if stem.ends_with('_') => stem,
            _ => return Some(format!("{base}_{plural}")),
        }
    };
    Some(format!("{stem}{plural}"))
}

/// The English plural of a lower-case noun (the last word of `snake_case`).
fn plural(noun: &str) -> String {
    let bytes = noun.as_bytes();
    let ends = |s: &str| noun.ends_with(s);
    if ends("s") || ends("x") || ends("z") || ends("ch") || ends("sh") {
        format!("{noun}es")
    } else if ends("y")
        && bytes.len() >= 2
        && !matches!(bytes[bytes.len() - 2], b'a' | b'e' | b'i' | b'o' | b'u')
    {
        format!("{}ies", &noun[..noun.len() - 1])
    } else {
        format!("{noun}s")
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, invalid characters replaced by `_`, repeated `_` collapsed.
pub(crate) fn sanitize_metric(name: &str) -> String {
    sanitize(name, |c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// A label name: `[a-zA-Z_][a-zA-Z0-9_]*`, invalid characters replaced by `_` and runs of `_`
/// collapsed to one (the compatibility spec's "Metric Attributes" rule); a leading digit gets a
/// `key_` prefix and a leading `_` a `key` prefix, which also keeps attributes out of
/// Prometheus's own `__` labels. Valid names are borrowed, so the common case allocates
/// nothing.
pub(crate) fn label(key: &str) -> Cow<'_, str> {
    let valid = key.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !key.contains("__");
    if valid {
        return Cow::Borrowed(key);
    }
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    if out.is_empty() || out.starts_with('_') {
        out.insert_str(0, "key");
    } else if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "key_");
    }
    Cow::Owned(out)
}

fn sanitize(name: &str, valid: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = if valid(c) { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    if out.is_empty() {
        out.push('_');
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// The unit word for a UCUM unit: `s` → `seconds`, `By` → `bytes`, `m/s` →
/// `meters_per_second`; annotations (`{request}`) and `1` give none.
fn unit_suffix(unit: &str) -> Option<String> {
    let unit = strip_annotations(unit);
    let unit = unit.trim();
    if unit.is_empty() || unit == "1" {
        return None;
    }
    let word = match unit.split_once('/') {
        Some((num, den)) => {
            let num = num.trim();
            let den = den.trim();
            let num = if num.is_empty() || num == "1" {
                String::new()
            } else {
                main_unit(num)
            };
            let den = per_unit(den);
            match (num.is_empty(), den.is_empty()) {
                (true, true) => return None,
                (true, false) => format!("per_{den}"),
                (false, true) => num,
                (false, false) => format!("{num}_per_{den}"),
            }
        }
        None => main_unit(unit),
    };
    let word = sanitize(&word, |c| c.is_ascii_alphanumeric() || c == '_');
    let word = word.trim_matches('_').to_owned();
    (!word.is_empty()).then_some(word)
}

fn strip_annotations(unit: &str) -> Cow<'_, str> {
    if !unit.contains('{') {
        return Cow::Borrowed(unit);
    }
    let mut out = String::with_capacity(unit.len());
    let mut depth = 0usize;
    for c in unit.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    Cow::Owned(out)
}

fn main_unit(unit: &str) -> String {
    let word = match unit {
        // Time
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        // Bytes
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tebibytes",
        // UCUM's kilo is `k`; `KBy` is not UCUM but is what other SDKs' tables list, so both.
        "kBy" | "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        // SI
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        // Misc
        "Cel" => "celsius",
        "Hz" => "hertz",
        "%" => "percent",
        other => other,
    };
    word.to_owned()
}

fn per_unit(unit: &str) -> String {
    let word = match unit {
        "s" => "second",
        "m" | "min" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        other => other,
    };
    word.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str, unit: &str, kind: Kind) -> String {
        family(n, unit, kind, Naming::Compatibility).name
    }

    fn prometheus_name(n: &str, unit: &str, kind: Kind) -> String {
        family(n, unit, kind, Naming::Prometheus).name
    }

    #[test]
    fn gauges_counting_things_are_named_by_their_plural() {
        let g = Kind::Gauge;
        assert_eq!(
            prometheus_name("process.thread.count", "{thread}", g),
            "process_threads"
        );
        assert_eq!(
            prometheus_name("process.unix.file_descriptor.count", "{file_descriptor}", g),
            "process_unix_file_descriptors"
        );
        assert_eq!(
            prometheus_name("system.process.count", "{process}", g),
            "system_processes"
        );
        assert_eq!(
            prometheus_name("queue.entry.count", "{entry}", g),
            "queue_entries"
        );
        assert_eq!(
            prometheus_name("db.pool.key.count", "{key}", g),
            "db_pool_keys"
        );
        assert_eq!(prometheus_name("box.count", "{box}", g), "boxes");
        assert_eq!(
            prometheus_name("system.cpu.logical.count", "{cpu}", g),
            "system_cpu_logical_cpus"
        );
        // Only a gauge with a `{thing}` unit: the spec's name otherwise.
        assert_eq!(prometheus_name("jobs.count", "", g), "jobs_count");
        assert_eq!(
            prometheus_name("jobs.count", "{job}/s", g),
            "jobs_count_per_second"
        );
        assert_eq!(
            prometheus_name("job.count", "{job}", Kind::Counter),
            "job_count"
        );
        assert_eq!(prometheus_name("jobs.count", "{job}", g), "jobs");
        assert_eq!(
            prometheus_name("rethread.count", "{thread}", g),
            "rethread_threads"
        );
        // The compatibility spec's names, as the Collector's Prometheus exporter gives them.
        assert_eq!(
            name("process.thread.count", "{thread}", g),
            "process_thread_count"
        );
    }

    #[test]
    fn the_spec_examples() {
        assert_eq!(
            name("http.server.request.duration", "s", Kind::Histogram),
            "http_server_request_duration_seconds"
        );
        assert_eq!(name("foo.bar", "By", Kind::Counter), "foo_bar_bytes");
        assert_eq!(name("speed", "m/s", Kind::Gauge), "speed_meters_per_second");
        assert_eq!(name("rate", "1/s", Kind::Gauge), "rate_per_second");
        assert_eq!(
            name("http.server.active_requests", "{request}", Kind::Gauge),
            "http_server_active_requests"
        );
        assert_eq!(
            name("process.cpu.utilization", "1", Kind::Gauge),
            "process_cpu_utilization_ratio"
        );
        assert_eq!(
            name("function.calls", "{call}", Kind::Counter),
            "function_calls"
        );
        assert_eq!(name("requests_total", "", Kind::Counter), "requests");
        assert_eq!(name("cpu.temp", "Cel", Kind::Gauge), "cpu_temp_celsius");
    }

    #[test]
    fn a_unit_already_in_the_name_is_not_repeated() {
        assert_eq!(name("busy_ratio", "1", Kind::Gauge), "busy_ratio");
        assert_eq!(name("uptime_seconds", "s", Kind::Gauge), "uptime_seconds");
        assert_eq!(name("ratio", "1", Kind::Gauge), "ratio");
    }

    #[test]
    fn a_counter_with_unit_one_gets_no_ratio() {
        assert_eq!(name("events", "1", Kind::Counter), "events");
        assert_eq!(name("events", "1", Kind::Histogram), "events");
    }

    #[test]
    fn invalid_characters_become_single_underscores() {
        assert_eq!(sanitize_metric("a..b--c"), "a_b_c");
        assert_eq!(sanitize_metric("9lives"), "_9lives");
        assert_eq!(sanitize_metric("ünïcode.name"), "_n_code_name");
        assert_eq!(sanitize_metric(""), "_");
        assert_eq!(sanitize_metric("ns:metric"), "ns:metric");
    }

    #[test]
    fn label_names() {
        assert!(matches!(label("http_route"), Cow::Borrowed("http_route")));
        assert_eq!(label("http.route"), "http_route");
        assert_eq!(label("9front"), "key_9front");
        assert_eq!(label("__name__"), "key_name_");
        assert_eq!(label("_private"), "key_private");
        assert_eq!(label("a:b"), "a_b");
        assert_eq!(label(""), "key");
    }

    /// `specification/compatibility/prometheus_and_openmetrics.md`, "Metric Attributes":
    /// "Metrics from OpenTelemetry with unsupported Attribute names MUST replace invalid
    /// characters with the `_` character. Multiple consecutive `_` characters MUST be replaced
    /// with a single `_` character."
    #[test]
    fn label_names_collapse_runs_of_underscores() {
        assert_eq!(label("a..b"), "a_b");
        assert_eq!(label("a.-_b"), "a_b");
        assert_eq!(label("a__b"), "a_b");
        assert_eq!(
            label("http.request.header.x-forwarded--for"),
            "http_request_header_x_forwarded_for"
        );
        assert!(matches!(label("a_b_c"), Cow::Borrowed("a_b_c")));
    }

    /// `specification/compatibility/prometheus_and_openmetrics.md`, "OTLP Metric points to
    /// Prometheus" / "Metric Metadata": "The Unit of an OTLP metric point SHOULD be converted
    /// to the equivalent unit in Prometheus when possible. This includes: Converting from
    /// abbreviations to full words (e.g. "ms" to "milliseconds")." The words are the names of
    /// the UCUM units (`TiBy` is a tebibyte, UCUM's kilo prefix is `k`).
    #[test]
    fn units_become_their_full_names() {
        let table = [
            ("d", "days"),
            ("h", "hours"),
            ("min", "minutes"),
            ("s", "seconds"),
            ("ms", "milliseconds"),
            ("us", "microseconds"),
            ("ns", "nanoseconds"),
            ("By", "bytes"),
            ("KiBy", "kibibytes"),
            ("MiBy", "mebibytes"),
            ("GiBy", "gibibytes"),
            ("TiBy", "tebibytes"),
            ("kBy", "kilobytes"),
            ("KBy", "kilobytes"),
            ("MBy", "megabytes"),
            ("GBy", "gigabytes"),
            ("TBy", "terabytes"),
            ("m", "meters"),
            ("V", "volts"),
            ("A", "amperes"),
            ("J", "joules"),
            ("W", "watts"),
            ("g", "grams"),
            ("Cel", "celsius"),
            ("Hz", "hertz"),
            ("%", "percent"),
            ("By/s", "bytes_per_second"),
            ("kBy/min", "kilobytes_per_minute"),
            ("{request}/min", "per_minute"),
        ];
        for (unit, word) in table {
            assert_eq!(unit_suffix(unit).as_deref(), Some(word), "{unit}");
        }
        assert_eq!(
            name("system.memory.limit", "TiBy", Kind::Gauge),
            "system_memory_limit_tebibytes"
        );
    }

    #[test]
    fn unit_annotations_are_dropped() {
        assert_eq!(unit_suffix("{packet}"), None);
        assert_eq!(unit_suffix("By{compressed}"), Some("bytes".into()));
        assert_eq!(unit_suffix("{request}/s"), Some("per_second".into()));
        assert_eq!(unit_suffix("1"), None);
        assert_eq!(unit_suffix(""), None);
        assert_eq!(unit_suffix("widgets"), Some("widgets".into()));
    }
}
