use tower_failed_dependency::Failure;

#[derive(Debug, thiserror::Error, Failure)]
enum InventoryError {
    #[error("the inventory service is down")]
    #[failure(rejected(503), dependency = "inventory")]
    Down,
}

fn main() {}
