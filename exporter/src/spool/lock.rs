//! One process per spool directory: an exclusive advisory lock on a `LOCK` file inside it.
//!
//! The lock is `flock(2)` on Unix and `LockFileEx` on Windows (std's [`std::fs::File::try_lock`]),
//! so the operating system releases it when the process ends, however it ends — a `SIGKILL`
//! leaves no stale lock behind for the next start.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use super::SpoolError;

/// Held for as long as the spool is open; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock on `dir`, without waiting.
    pub(crate) fn acquire(dir: &Path) -> Result<Self, SpoolError> {
        let path = dir.join("LOCK");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|source| SpoolError::Io {
                dir: dir.to_path_buf(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(SpoolError::Locked {
                dir: PathBuf::from(dir),
            }),
            Err(std::fs::TryLockError::Error(source)) => Err(SpoolError::Io {
                dir: dir.to_path_buf(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_directory_named_until_the_first_lets_go() {
        let dir = super::super::tests::temp_dir("lock");
        let first = DirLock::acquire(&dir).expect("first");
        let err = DirLock::acquire(&dir).expect_err("second");
        assert!(matches!(err, SpoolError::Locked { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&dir.display().to_string()),
            "{err}"
        );
        drop(first);
        DirLock::acquire(&dir).expect("free again");
    }
}
