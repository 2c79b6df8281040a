use tower_failed_dependency::Failure;

#[derive(Debug, thiserror::Error, Failure)]
enum SearchError {
    #[error("the search service is down")]
    #[failure(unavailable(424), dependency = "search")]
    Down,
}

fn main() {}
