//! Checkpoints: the head of the chain (sequence, hash) written to a file, optionally signed with
//! Ed25519, so that cutting entries off the end of the log is detectable.
//!
//! The file holds one JSON object: `{"sequence":…,"hash":"…","written_at":"…","signature":"…"}`
//! (`signature` only when signed, as 128 hex digits). The signature is Ed25519 over
//! [`Checkpoint::message`]: `beacon-audit/checkpoint/v1\n` (27 ASCII bytes) ‖ `sequence`
//! (8 bytes, big-endian) ‖ `written_at` (8 bytes, big-endian microseconds) ‖ `hash` (32 bytes).
//!
//! # Example
//! ```
//! use beacon_audit::{Checkpoint, Hash, SigningKey};
//!
//! let key = SigningKey::from_bytes(&[7; 32]);
//! let cp = Checkpoint::new(3, Hash([1; 32])).signed(&key);
//! assert!(cp.verify_signature(&key.verifying_key()).is_ok());
//! let other = SigningKey::from_bytes(&[8; 32]);
//! assert!(cp.verify_signature(&other.verifying_key()).is_err());
//! ```

use std::io::Write;
use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

use crate::{Error, Hash};

const TAG: &[u8] = b"beacon-audit/checkpoint/v1\n";

/// The head of the chain at some moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The last sequence number then.
    pub sequence: u64,
    /// That entry's hash.
    pub hash: Hash,
    /// When the checkpoint was taken (UTC microseconds).
    pub written_at_us: i64,
    /// Ed25519 signature over [`Checkpoint::message`], when signed.
    pub signature: Option<[u8; 64]>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct File {
    sequence: u64,
    hash: String,
    written_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<String>,
}

impl Checkpoint {
    /// An unsigned checkpoint of head (`sequence`, `hash`), taken now.
    pub fn new(sequence: u64, hash: Hash) -> Self {
        Self {
            sequence,
            hash,
            written_at_us: crate::time::now_micros(),
            signature: None,
        }
    }

    /// The signed bytes: `beacon-audit/checkpoint/v1\n` ‖ sequence (u64 BE) ‖ written_at
    /// (i64 BE microseconds) ‖ hash (32 bytes).
    pub fn message(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(TAG.len() + 48);
        m.extend_from_slice(TAG);
        m.extend_from_slice(&self.sequence.to_be_bytes());
        m.extend_from_slice(&self.written_at_us.to_be_bytes());
        m.extend_from_slice(&self.hash.0);
        m
    }

    /// This checkpoint, signed with `key`.
    #[must_use]
    pub fn signed(mut self, key: &SigningKey) -> Self {
        self.signature = Some(key.sign(&self.message()).to_bytes());
        self
    }

    /// Checks the signature against `key`.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] when the checkpoint is unsigned or the signature does not match.
    pub fn verify_signature(&self, key: &VerifyingKey) -> Result<(), Error> {
        let sig = self
            .signature
            .ok_or_else(|| Error::Checkpoint("the checkpoint is not signed".into()))?;
        key.verify(&self.message(), &Signature::from_bytes(&sig))
            .map_err(|_| {
                Error::Checkpoint(format!(
                    "the signature of checkpoint {} does not match the key",
                    self.sequence
                ))
            })
    }

    /// Writes the checkpoint to `path` atomically (a temporary file, synced, then renamed).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be written.
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        let file = File {
            sequence: self.sequence,
            hash: self.hash.to_hex(),
            written_at: crate::time::format_rfc3339(self.written_at_us),
            signature: self.signature.map(|s| hex(&s)),
        };
        let mut text = serde_json::to_string(&file)
            .map_err(|e| Error::Checkpoint(format!("cannot encode: {e}")))?;
        text.push('\n');
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        let io = |e| Error::io(path, e);
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(io)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The rename is durable once the directory is synced.
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    /// Reads a checkpoint file.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be read, [`Error::Checkpoint`] when it is malformed.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let bad = |what: &str| Error::Checkpoint(format!("{}: {what}", path.display()));
        let file: File = serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
        let hash = Hash::from_hex(&file.hash).ok_or_else(|| bad("hash is not 64 hex digits"))?;
        let written_at_us = crate::time::parse_rfc3339(&file.written_at)
            .ok_or_else(|| bad("written_at is not an RFC 3339 time"))?;
        let signature = match file.signature {
            None => None,
            Some(s) => Some(
                unhex(&s)
                    .and_then(|v| <[u8; 64]>::try_from(v).ok())
                    .ok_or_else(|| bad("signature is not 128 hex digits"))?,
            ),
        };
        Ok(Self {
            sequence: file.sequence,
            hash,
            written_at_us,
            signature,
        })
    }
}

/// Signs `cp` with `key` (when given) and writes it to `path` (when given), saying so with an
/// `audit.checkpoint` event; a failed write is also a warning event.
pub(crate) fn save(
    mut cp: Checkpoint,
    path: Option<&Path>,
    key: Option<&SigningKey>,
) -> Result<Checkpoint, Error> {
    if let Some(key) = key {
        cp = cp.signed(key);
    }
    if let Some(path) = path {
        if let Err(e) = cp.write(path) {
            tracing::warn!(target: crate::TARGET, error = %e, "audit checkpoint not written");
            return Err(e);
        }
        tracing::event!(
            name: "audit.checkpoint",
            target: crate::TARGET,
            tracing::Level::INFO,
            event.name = "audit.checkpoint",
            audit.sequence = cp.sequence,
            audit.hash = %cp.hash,
            "audit checkpoint written"
        );
    }
    Ok(cp)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|p| {
            let hi = char::from(p[0]).to_digit(16)?;
            let lo = char::from(p[1]).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_checkpoint_reads_back_with_its_signature() {
        let dir = std::env::temp_dir().join(format!("beacon-audit-cp-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| e.to_string())
            .unwrap_or(());
        let path = dir.join("head.json");
        let key = SigningKey::from_bytes(&[3; 32]);
        let cp = Checkpoint::new(9, Hash([5; 32])).signed(&key);
        assert!(cp.write(&path).is_ok());
        let back = Checkpoint::read(&path);
        assert_eq!(back.as_ref().ok(), Some(&cp));
        assert!(cp.verify_signature(&key.verifying_key()).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_changed_sequence_breaks_the_signature() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let mut cp = Checkpoint::new(9, Hash([5; 32])).signed(&key);
        cp.sequence = 8;
        assert!(cp.verify_signature(&key.verifying_key()).is_err());
    }
}
