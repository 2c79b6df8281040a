use tower_failed_dependency::Failure;

#[derive(Debug, thiserror::Error, Failure)]
enum OrderError {
    #[error("Only {left} left.")]
    #[failure(rejected(409), code = "OUT_OF_STOCK")]
    OutOfStock { left: u32 },
}

fn main() {}
