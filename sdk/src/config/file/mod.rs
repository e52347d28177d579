//! Declarative configuration: one YAML file in the OpenTelemetry configuration schema
//! (`opentelemetry-configuration`, `file_format` 1.0 and 1.1), selected with
//! `OTEL_CONFIG_FILE` or [`Builder::config_file`](crate::Builder::config_file) /
//! [`Builder::config_yaml`](crate::Builder::config_yaml).
//!
//! When a file is used, the other `OTEL_*` variables are ignored, as the specification
//! requires; reference them in the file with `${VAR}`, `${env:VAR}` or `${VAR:-default}`
//! (the rules are in the README, "Configuration file"). Settings the schema covers come from the file;
//! resource attributes given in code (`service_name`, `service_version`,
//! `resource_attribute`) are added on top, and processors, tail sampling and id generators
//! added in code still apply.
//!
//! Errors are [`FileError`]s with the file, line, column, field path, the value and what is
//! accepted; a component the schema defines but Beacon does not implement is an error naming
//! it.
//!
//! Beacon's own settings live under `instrumentation/development.rust.beacon`, and the HTTP
//! layers' under `instrumentation/development.general.http` and `….rust.beacon.http`
//! (carried to the layers by [`crate::config::http`]); the README lists every key.
//!
//! # Why the model is not public
//! The file is read into typed serde structs that mirror the schema (one per schema object,
//! `deny_unknown_fields` where the schema says `additionalProperties: false`, enums for
//! plugin positions), then mapped onto the same resolved configuration the builder produces.
//! Those structs stay private on purpose:
//! - the schema is still moving (`…/development` keys, renames between 1.0 and 1.1), and a
//!   public mirror would turn each schema release into a breaking change of Beacon's API;
//! - to configure in code there is already a typed equivalent of every key, the
//!   [`Builder`] (a program that generates files passes the text to
//!   [`Builder::config_yaml`](crate::Builder::config_yaml));
//! - what a pipeline ended up with is observable where it matters:
//!   [`Telemetry::describe`](crate::Telemetry::describe),
//!   [`Telemetry::warnings`](crate::Telemetry::warnings),
//!   [`Telemetry::http_options`](crate::Telemetry::http_options).
//!
//! # Example
//! ```
//! use beacon::config::FileErrorKind;
//!
//! let yaml = r#"
//! file_format: "1.1"
//! tracer_provider:
//!   processors:
//!     - simple:
//!         exporter:
//!           console:
//!   sampler:
//!     trace_id_ratio_based:
//!       ratio: ${RATIO}
//! "#;
//! let env = |name: &str| (name == "RATIO").then(|| "1.5".to_owned());
//! let err = beacon::builder().env_source(env).config_yaml(yaml).build().unwrap_err();
//! let file = err.file_error().expect("a file error");
//! assert_eq!(file.field(), "tracer_provider.sampler.trace_id_ratio_based.ratio");
//! assert_eq!(file.line(), Some(10)); // the string starts with a newline
//! assert!(matches!(file.kind(), FileErrorKind::InvalidValue { value, .. } if value == "1.5"));
//! ```

mod de;
mod error;
mod map;
mod model;
mod subst;
mod views;
mod yaml;

#[cfg(test)]
mod beacon_tests;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;

use opentelemetry::KeyValue;

pub use error::{FileError, FileErrorKind};
pub(crate) use map::AnySampler;
pub(crate) use views::Views;

use super::{Builder, Config, InitError};

/// The largest file read: 1 MiB (the schema's comprehensive example is about 40 KiB).
pub(crate) const MAX_FILE_SIZE: u64 = 1 << 20;

use super::vars::OTEL_CONFIG_FILE;

/// Where a configuration file comes from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    Path(PathBuf),
    Text(String),
}

/// What a file configures that the environment cannot: composed samplers, views.
#[derive(Debug, Default)]
pub(crate) struct Extras {
    pub(crate) sampler: Option<AnySampler>,
    pub(crate) views: Option<Views>,
    /// The console span processor's queue, when it differs from the OTLP one's.
    pub(crate) console_span_batch: Option<beacon_exporter::batch::BatchConfig>,
    /// The console log processor's queue, when it differs from the OTLP one's.
    pub(crate) console_log_batch: Option<beacon_exporter::batch::BatchConfig>,
}

/// The head sampler: the file's, or the one resolved from code and defaults.
pub(crate) fn sampler(config: &mut Config) -> AnySampler {
    config
        .file
        .sampler
        .take()
        .unwrap_or_else(|| AnySampler(Box::new(config.sampler.to_sdk())))
}

/// Resolves the builder: from the file when one is given (in code or by `OTEL_CONFIG_FILE`),
/// otherwise from the environment.
pub(crate) fn resolve(mut b: Builder) -> Result<Config, InitError> {
    let lookup: Arc<super::parse::Lookup> = match &b.env {
        Some(f) => Arc::clone(f),
        None => Arc::new(|name: &str| std::env::var(name).ok()),
    };
    let source = match b.config_file.take() {
        Some(s) => s,
        None => match lookup(OTEL_CONFIG_FILE).filter(|p| !p.trim().is_empty()) {
            Some(p) => Source::Path(PathBuf::from(p)),
            None => return Config::resolve(b),
        },
    };
    let file = match &source {
        Source::Path(p) => Some(p.clone()),
        Source::Text(_) => None,
    };
    let with_file = |mut e: FileError| {
        e.file.clone_from(&file);
        InitError::from(e)
    };
    let text = load(&source).map_err(with_file)?;
    let root = yaml::read(&text, &|name| lookup(name)).map_err(with_file)?;
    let model: model::Configuration = de::from_node(&root).map_err(with_file)?;
    check_format(&model.file_format.0).map_err(|e| with_file(locate(&root, e)))?;

    let mut code_attrs: Vec<KeyValue> = Vec::new();
    if let Some(n) = &b.service_name {
        code_attrs.push(KeyValue::new("service.name", n.clone()));
    }
    if let Some(v) = &b.service_version {
        code_attrs.push(KeyValue::new("service.version", v.clone()));
    }
    code_attrs.extend(b.resource.iter().cloned());
    // The other variables are ignored: the rest of the configuration resolves from code and
    // defaults only.
    b.env = Some(Arc::new(|_: &str| None));
    let mut config = Config::resolve(b)?;
    map::apply(&model, &mut config, &code_attrs).map_err(|e| with_file(locate(&root, e)))?;
    if let Some(p) = &file {
        let yaml = p
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
        if !yaml {
            config.warnings.push(format!(
                "configuration file {} does not end in .yaml or .yml, as the data model requires \
                 of configuration files; it was read as YAML",
                p.display()
            ));
        }
    }
    Ok(config)
}

fn load(source: &Source) -> Result<String, FileError> {
    match source {
        Source::Text(t) => {
            let size = t.len() as u64;
            if size > MAX_FILE_SIZE {
                return Err(FileError::new(FileErrorKind::TooLarge {
                    size,
                    max: MAX_FILE_SIZE,
                }));
            }
            Ok(t.clone())
        }
        Source::Path(p) => {
            use std::io::Read;
            let f = std::fs::File::open(p)
                .map_err(|e| FileError::new(FileErrorKind::Io(e.to_string())))?;
            let mut bytes = Vec::new();
            f.take(MAX_FILE_SIZE + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| FileError::new(FileErrorKind::Io(e.to_string())))?;
            if bytes.len() as u64 > MAX_FILE_SIZE {
                let size = std::fs::metadata(p).map_or(bytes.len() as u64, |m| m.len());
                return Err(FileError::new(FileErrorKind::TooLarge {
                    size,
                    max: MAX_FILE_SIZE,
                }));
            }
            String::from_utf8(bytes)
                .map_err(|e| FileError::new(FileErrorKind::Io(format!("not UTF-8 text ({e})"))))
        }
    }
}

/// `file_format` is `"major.minor"`; Beacon reads major version 1 (1.0 and 1.1; later minor
/// versions are additive, and keys Beacon does not know are reported where they appear).
fn check_format(v: &str) -> Result<(), FileError> {
    let major = v.split('.').next().unwrap_or_default();
    // Release candidates (`1.0-rc.3`) share the major version.
    let major = major.split('-').next().unwrap_or_default();
    if major == "1" {
        Ok(())
    } else {
        let mut e = FileError::new(FileErrorKind::FileFormat {
            value: v.to_owned(),
        });
        e.field = "file_format".to_owned();
        Err(e)
    }
}

/// Fills in the line and column of `e.field` from the tree.
fn locate(root: &yaml::Node, mut e: FileError) -> FileError {
    if e.line.is_some() {
        return e;
    }
    let mut node = root;
    let mut key_mark = root.mark;
    let mut rest = e.field.as_str();
    while !rest.is_empty() {
        let (segment, tail) = split_segment(rest);
        rest = tail;
        let next = match (&node.value, segment) {
            (yaml::Value::Map(entries), Seg::Key(k)) => entries
                .iter()
                .find(|(key, _, _)| key == k)
                .map(|(_, m, n)| {
                    key_mark = *m;
                    n
                }),
            (yaml::Value::Seq(items), Seg::Index(i)) => items.get(i).inspect(|n| key_mark = n.mark),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => break,
        }
    }
    // A scalar is pointed at itself; a section (mapping, sequence) or a null at its key.
    let mark = match node.value {
        yaml::Value::Map(_) | yaml::Value::Seq(_) | yaml::Value::Null => key_mark,
        _ => node.mark,
    };
    e.line = Some(mark.line);
    e.column = Some(mark.column);
    e
}

enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn split_segment(path: &str) -> (Seg<'_>, &str) {
    if let Some(rest) = path.strip_prefix('[') {
        let end = rest.find(']').unwrap_or(rest.len());
        let index = rest[..end].parse().unwrap_or(usize::MAX);
        let tail = rest.get(end + 1..).unwrap_or_default();
        return (Seg::Index(index), tail.strip_prefix('.').unwrap_or(tail));
    }
    // Keys may hold `/` but not `.` or `[` in this schema.
    let end = path.find(['.', '[']).unwrap_or(path.len());
    let tail = &path[end..];
    (
        Seg::Key(&path[..end]),
        tail.strip_prefix('.').unwrap_or(tail),
    )
}
