use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;
use tower_layer::Layer;

use super::config::Config;
use super::{Batch, Dialect};
use crate::policy::{StatusPolicy, X_REQUEST_ID};

/// Answers `POST` on the batch path by running its parts through the inner
/// service. See the [module docs](crate::batch).
#[derive(Debug, Clone)]
pub struct BatchLayer {
    config: Arc<Config>,
}

impl BatchLayer {
    /// A batch endpoint at `/$batch` with the default limits and policy.
    pub fn new() -> Self {
        Self {
            config: Arc::new(Config {
                path: "/$batch".to_owned(),
                max_parts: 20,
                max_body: 1024 * 1024,
                max_id_len: 128,
                part_body_limit: 1024 * 1024,
                concurrency: 4,
                body_timeout: Duration::from_secs(30),
                part_timeout: Duration::from_secs(30),
                copy_headers: vec![
                    http::header::AUTHORIZATION,
                    http::header::COOKIE,
                    X_REQUEST_ID.clone(),
                ],
                dialect: Dialect::Graph,
                policy: StatusPolicy::default(),
                request_id_header: X_REQUEST_ID.clone(),
            }),
        }
    }

    fn with(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(Arc::make_mut(&mut self.config));
        self
    }

    /// The path the batch endpoint answers on (default `/$batch`).
    pub fn path(self, path: impl Into<String>) -> Self {
        self.with(|config| config.path = path.into())
    }

    /// The most parts a batch may have (default 20).
    pub fn max_parts(self, max: usize) -> Self {
        self.with(|config| config.max_parts = max)
    }

    /// The largest batch body read, in bytes (default 1 MiB); larger is 413.
    pub fn max_body(self, bytes: usize) -> Self {
        self.with(|config| config.max_body = bytes)
    }

    /// The longest part id, in bytes (default 128); a longer one refuses the
    /// batch with a 400 naming the part by its position. Graph and OData ids
    /// are short; the bound keeps an id echoed in other parts' answers
    /// (`root_cause`, `dependency`) from making the answer much larger than
    /// the batch.
    pub fn max_id_len(self, bytes: usize) -> Self {
        self.with(|config| config.max_id_len = bytes)
    }

    /// How long the whole batch body may take to arrive (default 30 s); a
    /// body still arriving then is answered 408, and nothing runs. A body
    /// whose reading fails with a timeout (tower-http's `TimeoutBody` in
    /// front of the layer, an `io::Error` of kind `TimedOut`) is a 408 too;
    /// any other read error is a 400.
    pub fn body_timeout(self, timeout: Duration) -> Self {
        self.with(|config| config.body_timeout = timeout)
    }

    /// How long one part may take (default 30 s): waiting for the inner
    /// service to be ready, its answer and reading its body. A part over the
    /// bound answers 504 and the parts that depend on it 424.
    pub fn part_timeout(self, timeout: Duration) -> Self {
        self.with(|config| config.part_timeout = timeout)
    }

    /// The largest answer read from one part, in bytes (default 1 MiB); a
    /// larger one makes that part a 500.
    pub fn max_part_answer(self, bytes: usize) -> Self {
        self.with(|config| config.part_body_limit = bytes)
    }

    /// How many parts run at once (default 4, at least 1).
    pub fn concurrency(self, parts: usize) -> Self {
        self.with(|config| config.concurrency = parts.max(1))
    }

    /// The headers of the outer request copied onto each part that does not
    /// set them (default `authorization`, `cookie`, `x-request-id`).
    pub fn copy_headers(self, headers: impl IntoIterator<Item = HeaderName>) -> Self {
        self.with(|config| config.copy_headers = headers.into_iter().collect())
    }

    /// How the parts' answers spell header names and encode binary bodies
    /// (default [`Dialect::Graph`]; see [`Dialect`] for which clients need
    /// which).
    pub fn dialect(self, dialect: Dialect) -> Self {
        self.with(|config| config.dialect = dialect)
    }

    /// The policy that writes the batch's problems: a refused batch, a part
    /// not run because of a failed dependency (a 424 whatever the policy
    /// maps refusals to), a part that failed.
    pub fn policy(self, policy: StatusPolicy) -> Self {
        self.with(|config| config.policy = policy)
    }

    /// The request header of the outer request whose id is echoed as
    /// `request_id` in the batch's problems (default `x-request-id`).
    pub fn request_id_header(self, header: HeaderName) -> Self {
        self.with(|config| config.request_id_header = header)
    }
}

impl Default for BatchLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Batch<S> {
    /// A batch endpoint at `/$batch` with the default limits; the same as
    /// [`BatchLayer::new`].
    pub fn layer() -> BatchLayer {
        BatchLayer::new()
    }
}

impl<S> Layer<S> for BatchLayer {
    type Service = Batch<S>;

    fn layer(&self, inner: S) -> Batch<S> {
        Batch::new(inner, Arc::clone(&self.config))
    }
}
