//! Chains across requests: a users API with `Idempotency-Key` and
//! `Depends-On`, served on 127.0.0.1, and a client that shows a create and
//! its replayed retry, a refused create and the dependent `PATCH` that
//! answers 424 naming it, a key reused with another body (422) and a
//! concurrent duplicate (409).
//!
//! Answers are kept in memory, or in Redis when `REDIS_URL` is set (as when
//! the API runs as several processes):
//!
//! ```text
//! cargo run --example chains
//! REDIS_URL=redis://127.0.0.1:6379/ cargo run --example chains
//! ```

#[path = "../tests/apps/chains.rs"]
mod app;
#[path = "support/chains_demo.rs"]
mod demo;

use tower_failed_dependency::idempotency::IdempotencyLayer;
use tower_failed_dependency::store::RedisStore;

#[tokio::main]
async fn main() -> Result<(), demo::BoxError> {
    let layer = match std::env::var("REDIS_URL") {
        Ok(url) => {
            println!("Answers are kept in Redis at {url}");
            IdempotencyLayer::new().store(RedisStore::new(&url)?)
        }
        Err(_) => {
            println!("Answers are kept in memory (set REDIS_URL to keep them in Redis)");
            IdempotencyLayer::new()
        }
    };
    let addr = app::serve(layer).await?;
    println!("The users API is listening on http://{addr}\n");
    let (surprises, _) = demo::run(addr, 1).await?;
    if surprises > 0 {
        return Err(format!("{surprises} answers differed from what the demo expects").into());
    }
    println!("Every answer was the one expected.");
    Ok(())
}
