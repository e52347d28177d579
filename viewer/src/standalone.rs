//! The standalone binary's settings: where to listen and whether a key is required.
//!
//! ```
//! use beacon_viewer::standalone::{Settings, StartError};
//!
//! let local = Settings::from_args(Vec::<String>::new(), |_| None)?;
//! assert_eq!(local.listen.to_string(), "127.0.0.1:4318");
//! let exposed = Settings::from_args(["--listen".to_owned(), "0.0.0.0:4318".to_owned()], |_| None);
//! assert!(matches!(exposed, Err(StartError::KeyRequired(_))));
//! # Ok::<(), StartError>(())
//! ```

use std::net::SocketAddr;

use crate::ViewerConfig;

/// The listen address variable (`host:port`), used when `--listen` is not given.
pub const BEACON_VIEWER_ADDR: &str = "BEACON_VIEWER_ADDR";
/// The API key variable, used when `--api-key` is not given.
pub const BEACON_VIEWER_API_KEY: &str = "BEACON_VIEWER_API_KEY";
/// Loopback on the OTLP/HTTP port, so OTLP senders' default endpoint reaches the hub.
pub const DEFAULT_ADDR: &str = "127.0.0.1:4318";

/// Why the binary cannot start.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StartError {
    /// An address that does not parse.
    #[error("listen address {0:?} is not host:port with an IP host (for example 127.0.0.1:4318 or 0.0.0.0:4318)")]
    Address(String),
    /// A non-loopback address without a key.
    #[error("listening on {0} exposes telemetry beyond this machine: set an API key with --api-key or BEACON_VIEWER_API_KEY")]
    KeyRequired(SocketAddr),
    /// An option the binary does not know, or one missing its value.
    #[error("{0}\nusage: beacon-viewer [--listen HOST:PORT] [--api-key KEY]")]
    Usage(String),
}

/// Where the standalone hub listens and how it serves.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The listen address.
    pub listen: SocketAddr,
    /// The router's settings.
    pub viewer: ViewerConfig,
}

impl Settings {
    /// Reads `--listen ADDR` / `--api-key KEY` from `args` (without the program name), then
    /// falls back to `env` ([`BEACON_VIEWER_ADDR`], [`BEACON_VIEWER_API_KEY`]), then to
    /// [`DEFAULT_ADDR`] with no key.
    ///
    /// # Errors
    /// A [`StartError`] for an unknown option, an unparsable address, or a non-loopback
    /// address without an API key.
    pub fn from_args(
        args: impl IntoIterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, StartError> {
        let mut listen = None;
        let mut key = None;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                None => (arg.clone(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| StartError::Usage(format!("{name} needs a value")))
            };
            match name.as_str() {
                "--listen" => listen = Some(value()?),
                "--api-key" => key = Some(value()?),
                other => return Err(StartError::Usage(format!("unknown option {other:?}"))),
            }
        }
        let listen = listen
            .or_else(|| env(BEACON_VIEWER_ADDR).filter(|s| !s.is_empty()))
            .unwrap_or_else(|| DEFAULT_ADDR.to_owned());
        let addr: SocketAddr = listen
            .parse()
            .map_err(|_| StartError::Address(listen.clone()))?;
        let key = key.or_else(|| env(BEACON_VIEWER_API_KEY).filter(|s| !s.is_empty()));
        if !addr.ip().is_loopback() && key.is_none() {
            return Err(StartError::KeyRequired(addr));
        }
        let mut viewer = ViewerConfig::default();
        if let Some(key) = key {
            viewer = viewer.with_api_key(key);
        }
        Ok(Self {
            listen: addr,
            viewer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn loopback_by_default_and_a_key_elsewhere() {
        let s = Settings::from_args(args(&[]), |_| None).unwrap();
        assert_eq!(s.listen.to_string(), DEFAULT_ADDR);
        assert!(s.viewer.api_key().is_none());

        let e = Settings::from_args(args(&["--listen", "0.0.0.0:9000"]), |_| None).unwrap_err();
        assert!(matches!(e, StartError::KeyRequired(_)), "{e}");

        let s = Settings::from_args(args(&["--listen=0.0.0.0:9000"]), |k| {
            (k == BEACON_VIEWER_API_KEY).then(|| "secret".to_owned())
        })
        .unwrap();
        assert_eq!(s.viewer.api_key(), Some("secret"));
    }

    #[test]
    fn the_flag_wins_over_the_variable() {
        let s = Settings::from_args(args(&["--listen", "127.0.0.1:7000"]), |k| {
            (k == BEACON_VIEWER_ADDR).then(|| "127.0.0.1:8000".to_owned())
        })
        .unwrap();
        assert_eq!(s.listen.port(), 7000);
        let s = Settings::from_args(args(&[]), |k| {
            (k == BEACON_VIEWER_ADDR).then(|| "[::1]:8000".to_owned())
        })
        .unwrap();
        assert_eq!(s.listen.port(), 8000);
        assert!(matches!(
            Settings::from_args(args(&["--listen", "localhost"]), |_| None),
            Err(StartError::Address(_))
        ));
        assert!(matches!(
            Settings::from_args(args(&["--port"]), |_| None),
            Err(StartError::Usage(_))
        ));
    }
}
