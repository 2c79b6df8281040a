//! The users API of the `chains` example as a server process, for the
//! multi-instance test (`tests/chains.rs`): two of them share one Redis.
//!
//! Serves on 127.0.0.1 (port `PORT`, or any free one), keeps answers in
//! Redis at `REDIS_URL` (in memory without it), prints `listening on
//! <addr>` once it accepts connections, and serves until killed.

#[path = "../tests/apps/chains.rs"]
mod app;

use std::io::Write;
use std::time::Duration;

use tower_failed_dependency::idempotency::IdempotencyLayer;
use tower_failed_dependency::store::RedisStore;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let layer = IdempotencyLayer::new().store_timeout(Duration::from_millis(500));
    let layer = match std::env::var("REDIS_URL") {
        Ok(url) => layer.store(RedisStore::new(&url)?),
        Err(_) => layer,
    };
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(0);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {addr}")?;
    stdout.flush()?;
    app::serve_on(listener, layer).await.0?;
    Ok(())
}
