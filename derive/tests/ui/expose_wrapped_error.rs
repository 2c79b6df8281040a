use tower_failed_dependency::Failure;

#[derive(Debug, thiserror::Error, Failure)]
enum LedgerError {
    #[error("ledger query failed: {source}")]
    #[failure(internal, dependency = "ledger", expose)]
    Query { source: std::io::Error },
}

fn main() {}
