//! A TCP proxy in front of a collector that can be made to stall: connections are accepted and
//! read, but nothing reaches the collector and nothing comes back — a collector that is up but
//! hangs. Ending the stall resets the stalled connections, as a collector restart or a load
//! balancer would, so clients reconnect and get through.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// The proxy; dropping it stops accepting.
#[derive(Debug)]
pub struct StallProxy {
    port: u16,
    stalled: Arc<AtomicBool>,
    held: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<AtomicBool>,
}

impl StallProxy {
    /// Listens on a free loopback port and forwards to `upstream` (a loopback port).
    ///
    /// # Errors
    /// When no port can be bound.
    pub fn start(upstream: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let stalled = Arc::new(AtomicBool::new(false));
        let held = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, h, st) = (Arc::clone(&stalled), Arc::clone(&held), Arc::clone(&stop));
        thread::spawn(move || {
            for client in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                if s.load(Ordering::SeqCst) {
                    hold(client, &h);
                } else if let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) {
                    forward(client, server, Arc::clone(&s), Arc::clone(&h));
                }
            }
        });
        Ok(Self {
            port,
            stalled,
            held,
            stop,
        })
    }

    /// The port clients should use.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Starts stalling: from now on nothing passes in either direction.
    pub fn stall(&self) {
        self.stalled.store(true, Ordering::SeqCst);
    }

    /// Ends the stall: the stalled connections are reset; new ones are forwarded.
    pub fn resume(&self) {
        self.stalled.store(false, Ordering::SeqCst);
        let held: Vec<TcpStream> =
            std::mem::take(&mut *self.held.lock().unwrap_or_else(|p| p.into_inner()));
        for stream in held {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for StallProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the stop flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        self.resume();
    }
}

/// Reads and discards what `client` sends until the stall ends.
fn hold(client: TcpStream, held: &Arc<Mutex<Vec<TcpStream>>>) {
    if let Ok(copy) = client.try_clone() {
        held.lock().unwrap_or_else(|p| p.into_inner()).push(copy);
    }
    thread::spawn(move || {
        let mut client = client;
        let mut buf = [0_u8; 16 * 1024];
        while matches!(client.read(&mut buf), Ok(n) if n > 0) {}
    });
}

/// Copies both ways; once a stall begins, the connection is held instead.
fn forward(
    client: TcpStream,
    server: TcpStream,
    stalled: Arc<AtomicBool>,
    held: Arc<Mutex<Vec<TcpStream>>>,
) {
    for (from, to) in [
        (client.try_clone(), server.try_clone()),
        (server.try_clone(), client.try_clone()),
    ] {
        let (Ok(mut from), Ok(mut to)) = (from, to) else {
            return;
        };
        let (stalled, held) = (Arc::clone(&stalled), Arc::clone(&held));
        thread::spawn(move || {
            let mut buf = [0_u8; 16 * 1024];
            loop {
                let n = match from.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if stalled.load(Ordering::SeqCst) {
                    // Swallow it, and make sure this connection is reset when the stall ends.
                    if let Ok(copy) = from.try_clone() {
                        held.lock().unwrap_or_else(|p| p.into_inner()).push(copy);
                    }
                    continue;
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(Shutdown::Write);
        });
    }
}
