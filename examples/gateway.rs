//! A gateway in front of real upstreams on 127.0.0.1: every way an upstream
//! can fail, and the status the client gets for it.
//!
//! ```text
//! cargo run --example gateway
//! ```

#[path = "../tests/apps/gateway.rs"]
mod gateway;
#[path = "support/scenarios.rs"]
mod scenarios;

use scenarios::BoxError;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = gateway::start().await?;
    println!("The gateway is listening on http://{addr}\n");
    let surprises = scenarios::run(addr, 1, scenarios::gateway()).await?;
    if surprises > 0 {
        return Err(format!("{surprises} answers differed from what the example expects").into());
    }
    println!("Every answer was the one expected.");
    Ok(())
}
