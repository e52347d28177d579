//! The typed error a configuration file produces: where (file, line, column, field path),
//! what (the value) and what would have been accepted.

use std::fmt;
use std::path::{Path, PathBuf};

/// What is wrong in a configuration file. See [`FileError`] for where.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FileErrorKind {
    /// The file could not be read.
    Io(String),
    /// The file is larger than Beacon reads (a guard against a wrong path or hostile input).
    TooLarge {
        /// The file's size in bytes.
        size: u64,
        /// The most Beacon reads.
        max: u64,
    },
    /// The text is not well-formed YAML.
    Yaml(String),
    /// Nesting deeper than Beacon reads (no valid configuration comes near it).
    TooDeep {
        /// The deepest nesting accepted.
        max: usize,
    },
    /// More nodes (after expanding aliases) than Beacon reads.
    TooManyNodes {
        /// The most nodes accepted.
        max: usize,
    },
    /// A `${…}` that is not a valid substitution reference (data model:
    /// `INVALID-SUBSTITUTION-REF`).
    Substitution {
        /// The reference as written.
        reference: String,
    },
    /// A value of the wrong type, an out-of-range number or an unknown enum value.
    InvalidValue {
        /// The value as found (after substitution).
        value: String,
        /// What is accepted.
        expected: String,
    },
    /// A key the schema does not define at this place.
    UnknownField {
        /// The key.
        field: String,
        /// The keys accepted here.
        expected: String,
    },
    /// A required key is missing.
    MissingField {
        /// The key.
        field: String,
    },
    /// A component (exporter, processor, sampler, propagator, detector, reader, aggregation…)
    /// that Beacon does not implement, whether the schema defines it or not.
    UnsupportedComponent {
        /// The component's name, as in the file.
        name: String,
        /// What Beacon accepts here.
        expected: String,
    },
    /// A setting the schema defines that Beacon cannot honour (with the reason).
    Unsupported {
        /// Why, and what to do instead.
        why: String,
    },
    /// `file_format` names a major version Beacon does not read.
    FileFormat {
        /// The value found.
        value: String,
    },
}

/// A configuration file that cannot be used: the file, the line and column, the field path
/// (`tracer_provider.processors[0].batch.exporter.otlp_http.endpoint`), and the
/// [`FileErrorKind`] with the value and what is accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct FileError {
    pub(crate) file: Option<PathBuf>,
    pub(crate) line: Option<usize>,
    pub(crate) column: Option<usize>,
    pub(crate) field: String,
    pub(crate) kind: Box<FileErrorKind>,
}

impl FileError {
    pub(crate) fn new(kind: FileErrorKind) -> Self {
        Self {
            file: None,
            line: None,
            column: None,
            field: String::new(),
            kind: Box::new(kind),
        }
    }

    pub(crate) fn at(mut self, mark: super::yaml::Mark, field: &str) -> Self {
        if self.line.is_none() {
            self.line = Some(mark.line);
            self.column = Some(mark.column);
            self.field = field.to_owned();
        }
        self
    }

    pub(crate) fn invalid(value: impl fmt::Display, expected: impl Into<String>) -> Self {
        Self::new(FileErrorKind::InvalidValue {
            value: value.to_string(),
            expected: expected.into(),
        })
    }

    pub(crate) fn unsupported(why: impl Into<String>) -> Self {
        Self::new(FileErrorKind::Unsupported { why: why.into() })
    }

    /// The file, when the configuration came from one (not from a string).
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The line (1-based) of the offending node, when known.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// The column (1-based) of the offending node, when known.
    pub fn column(&self) -> Option<usize> {
        self.column
    }

    /// The field path, such as `tracer_provider.processors[0].batch.exporter.otlp_http.endpoint`;
    /// empty for the document itself.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// What is wrong.
    pub fn kind(&self) -> &FileErrorKind {
        &self.kind
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("configuration file")?;
        match &self.file {
            Some(p) => write!(f, " {}", p.display())?,
            None => f.write_str(" (string)")?,
        }
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, ":{l}:{c}")?;
        }
        if !self.field.is_empty() {
            write!(f, " at {}", self.field)?;
        }
        f.write_str(": ")?;
        match &*self.kind {
            FileErrorKind::Io(e) => write!(f, "cannot be read: {e}"),
            FileErrorKind::TooLarge { size, max } => write!(
                f,
                "is {size} bytes; Beacon reads configuration files of at most {max} bytes"
            ),
            FileErrorKind::Yaml(e) => write!(f, "is not valid YAML: {e}"),
            FileErrorKind::TooDeep { max } => {
                write!(f, "nests deeper than {max} levels, which no configuration needs")
            }
            FileErrorKind::TooManyNodes { max } => write!(
                f,
                "holds more than {max} values (after expanding aliases), which no configuration needs"
            ),
            FileErrorKind::Substitution { reference } => write!(
                f,
                "invalid substitution reference {reference:?}: expected ${{NAME}}, ${{env:NAME}} \
                 or ${{NAME:-default}} where NAME is letters, digits and _ not starting with a \
                 digit (write $$ for a literal $)"
            ),
            FileErrorKind::InvalidValue { value, expected } => {
                write!(f, "invalid value {value:?}: expected {expected}")
            }
            FileErrorKind::UnknownField { field, expected } => {
                write!(f, "unknown key {field:?}: expected {expected}")
            }
            FileErrorKind::MissingField { field } => write!(f, "missing required key {field:?}"),
            FileErrorKind::UnsupportedComponent { name, expected } => write!(
                f,
                "{name:?} is not a component Beacon implements: expected {expected}"
            ),
            FileErrorKind::Unsupported { why } => f.write_str(why),
            FileErrorKind::FileFormat { value } => write!(
                f,
                "file_format {value:?} is not supported: expected \"1.0\" or \"1.1\" (major version 1)"
            ),
        }
    }
}

impl std::error::Error for FileError {}
