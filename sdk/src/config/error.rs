//! The error `init()` returns.

use std::fmt;

/// Why Beacon could not be set up. The message names what was wrong and how to fix it.
///
/// `Debug` prints the same message as `Display`, so that `fn main() -> Result<(), Box<dyn
/// Error>>` returning it shows the sentence, not the struct.
pub struct InitError {
    kind: ErrorKind,
}

impl fmt::Debug for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[derive(Debug)]
pub(crate) enum ErrorKind {
    /// An environment variable (or the equivalent builder value) that cannot be used.
    InvalidValue {
        variable: &'static str,
        value: String,
        expected: String,
    },
    /// A variable whose value may hold credentials (OTLP headers): the value is never printed.
    InvalidSecret {
        variable: &'static str,
        expected: String,
    },
    /// Another configuration problem, described in full.
    Config(String),
    /// A global (subscriber, providers) was already installed.
    AlreadyInitialized(String),
    /// An exporter could not be built.
    Exporter(beacon_exporter::ExporterError),
    /// A configuration file (`OTEL_CONFIG_FILE`) that cannot be used.
    #[cfg(feature = "config-file")]
    File(Box<super::file::FileError>),
}

impl InitError {
    pub(crate) fn invalid(
        variable: &'static str,
        value: &str,
        expected: impl Into<String>,
    ) -> Self {
        Self {
            kind: ErrorKind::InvalidValue {
                variable,
                value: value.to_owned(),
                expected: expected.into(),
            },
        }
    }

    /// Like [`InitError::invalid`], for a value that may hold credentials: it is not kept, so
    /// it cannot be printed; `expected` must not quote it either.
    pub(crate) fn invalid_secret(variable: &'static str, expected: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::InvalidSecret {
                variable,
                expected: expected.into(),
            },
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Config(message.into()),
        }
    }

    pub(crate) fn already_initialized(what: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::AlreadyInitialized(what.into()),
        }
    }

    /// The environment variable at fault, when one is.
    pub fn variable(&self) -> Option<&'static str> {
        match &self.kind {
            ErrorKind::InvalidValue { variable, .. }
            | ErrorKind::InvalidSecret { variable, .. } => Some(variable),
            _ => None,
        }
    }

    /// The configuration file error, when the configuration came from a file.
    #[cfg(feature = "config-file")]
    pub fn file_error(&self) -> Option<&super::file::FileError> {
        match &self.kind {
            ErrorKind::File(e) => Some(e),
            _ => None,
        }
    }

    /// True when the error is that a global subscriber or provider was already installed.
    pub fn is_already_initialized(&self) -> bool {
        matches!(self.kind, ErrorKind::AlreadyInitialized(_))
    }
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::InvalidValue {
                variable,
                value,
                expected,
            } => write!(f, "invalid {variable}={value:?}: expected {expected}"),
            ErrorKind::InvalidSecret { variable, expected } => {
                write!(
                    f,
                    "invalid {variable} (value not shown): expected {expected}"
                )
            }
            ErrorKind::Config(message) => f.write_str(message),
            ErrorKind::AlreadyInitialized(what) => write!(
                f,
                "{what} was already installed; call beacon::init() once, early in main, or use \
                 beacon::builder().build() and install the returned dispatch yourself"
            ),
            ErrorKind::Exporter(err) => write!(f, "{err}"),
            #[cfg(feature = "config-file")]
            ErrorKind::File(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Exporter(err) => Some(err),
            #[cfg(feature = "config-file")]
            ErrorKind::File(err) => Some(err.as_ref()),
            _ => None,
        }
    }
}

impl From<beacon_exporter::ExporterError> for InitError {
    fn from(err: beacon_exporter::ExporterError) -> Self {
        Self {
            kind: ErrorKind::Exporter(err),
        }
    }
}

#[cfg(feature = "config-file")]
impl From<super::file::FileError> for InitError {
    fn from(err: super::file::FileError) -> Self {
        Self {
            kind: ErrorKind::File(Box::new(err)),
        }
    }
}
