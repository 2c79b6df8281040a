//! A users API behind `BatchLayer` on 127.0.0.1, driven with the project's
//! batch vector over real HTTP: the create fails with 409, its two
//! dependents answer 424 naming it, the independent part answers 200.
//!
//! ```text
//! cargo run --example batch
//! ```

#[path = "../tests/apps/users.rs"]
mod users;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // One line per panic: the users API has a route that panics on purpose.
    std::panic::set_hook(Box::new(|panic| eprintln!("   [server log] {panic}")));
    let addr = users::serve().await?;
    println!("The users API with its batch endpoint is listening on http://{addr}\n");
    if !users::show_vector(addr).await? {
        return Err("the batch answered differently from what the vector says".into());
    }
    println!("\nEvery part answered what the vector says.");
    Ok(())
}
