use tower_failed_dependency::Failure;

#[derive(Debug, thiserror::Error, Failure)]
#[failure(dependency = "inventory")]
enum StockError {
    #[error("Sold out.")]
    #[failure(rejected(409), code = "OUT_OF_STOCK")]
    SoldOut,
    #[error("Reserved by another order.")]
    #[failure(rejected(423), code = "OUT_OF_STOCK")]
    Reserved,
}

fn main() {}
