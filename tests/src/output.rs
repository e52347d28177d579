//! What a backend process prints, collected line by line, with a wait that the lines wake.

use std::io::{BufRead as _, BufReader, Read};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A child process's collected output. Clones share it.
#[derive(Clone, Default)]
pub struct Output {
    shared: Arc<(Mutex<String>, Condvar)>,
}

impl Output {
    /// Collects `stream` (a child's stdout or stderr) on a thread of its own.
    pub fn pump(&self, stream: impl Read + Send + 'static) {
        let shared = Arc::clone(&self.shared);
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { return };
                let (lock, arrived) = &*shared;
                if let Ok(mut text) = lock.lock() {
                    text.push_str(&line);
                    text.push('\n');
                }
                arrived.notify_all();
            }
        });
    }

    /// Everything collected so far.
    pub fn text(&self) -> String {
        self.shared.0.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Waits until `done` holds for the output; woken by each line. `who` names the process in
    /// the error.
    ///
    /// # Errors
    /// When `timeout` passes first; the message ends with the last 4,000 characters printed.
    pub fn wait_for(
        &self,
        who: &str,
        timeout: Duration,
        done: impl Fn(&str) -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let (lock, arrived) = &*self.shared;
        let mut text = lock.lock().map_err(|e| e.to_string())?;
        loop {
            if done(&text) {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let skip = text.chars().count().saturating_sub(4000);
                let tail: String = text.chars().skip(skip).collect();
                return Err(format!(
                    "{who} did not show it within {timeout:?}; its output ends with:\n{tail}"
                ));
            }
            text = arrived
                .wait_timeout(text, left)
                .map_err(|e| e.to_string())?
                .0;
        }
    }
}
