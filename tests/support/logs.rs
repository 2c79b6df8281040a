//! The events a test's code logs, captured as plain-text lines.

use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// A buffer the subscriber writes to.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `f` with a subscriber, for this thread, that writes every event at
/// `level` and above as a line; returns what `f` gave and the lines. Use a
/// current-thread runtime, so that everything `f` runs logs here.
pub async fn capture_at<T>(level: tracing::Level, f: impl Future<Output = T>) -> (T, Vec<String>) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    let out = f.await;
    drop(guard);
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    (out, text.lines().map(str::to_owned).collect())
}
