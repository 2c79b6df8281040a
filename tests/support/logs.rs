//! The events a test's code logs, captured as plain-text lines.
//!
//! One subscriber for the whole test binary, set once as the global default,
//! writes each event to a buffer of the thread that logged it, if that
//! thread is capturing. A subscriber set per test with `set_default` would
//! race with the other tests of the binary, which run on other threads and
//! make tracing cache whether a call site is enabled.

use std::cell::RefCell;
use std::future::Future;
use std::io::Write;
use std::sync::Once;

thread_local! {
    /// What this thread logged since it began capturing; `None` when it is
    /// not capturing.
    static CAPTURED: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

/// Writes to the capturing thread's buffer, and nowhere for other threads.
struct ThisThread;

impl Write for ThisThread {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        CAPTURED.with(|captured| {
            if let Some(buffer) = captured.borrow_mut().as_mut() {
                buffer.extend_from_slice(bytes);
            }
        });
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `f` on this thread, capturing every event at `level` and above that
/// it logs as a line; returns what `f` gave and the lines. Use a
/// current-thread runtime, so that everything `f` runs logs here.
pub async fn capture_at<T>(level: tracing::Level, f: impl Future<Output = T>) -> (T, Vec<String>) {
    static GLOBAL: Once = Once::new();
    GLOBAL.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(|| ThisThread)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
    });
    CAPTURED.with(|captured| *captured.borrow_mut() = Some(Vec::new()));
    let out = f.await;
    let bytes = CAPTURED
        .with(|captured| captured.borrow_mut().take())
        .unwrap_or_default();
    let text = String::from_utf8(bytes).unwrap();
    // A line reads `<time> <LEVEL> <spans and target>: <message and fields>`.
    let lines = text
        .lines()
        .filter(|line| {
            line.split_whitespace()
                .nth(1)
                .and_then(|word| word.parse::<tracing::Level>().ok())
                .is_some_and(|logged| logged <= level)
        })
        .map(str::to_owned)
        .collect();
    (out, lines)
}
