use tower_failed_dependency::Failure;

#[derive(Debug, thiserror::Error, Failure)]
enum PaymentError {
    #[error("The card was declined.")]
    #[failure(rejected(402), dependency = "payment", status = 402)]
    Declined,
}

fn main() {}
