use std::sync::Arc;

use http::HeaderName;
use tower_layer::Layer;

use super::config::Config;
use super::ErrorsAsProblems;
use crate::policy::{StatusPolicy, X_REQUEST_ID};

/// Turns every error response of the service it wraps that is not a problem
/// into one. See the [module docs](crate::errors_as_problems).
#[derive(Debug, Clone)]
pub struct ErrorsAsProblemsLayer {
    config: Arc<Config>,
}

impl ErrorsAsProblemsLayer {
    /// A layer with the default policy.
    pub fn new() -> Self {
        Self {
            config: Arc::new(Config {
                policy: StatusPolicy::default(),
                request_id_header: X_REQUEST_ID.clone(),
            }),
        }
    }

    /// The policy that writes the problems: its hook, its trace id member and
    /// its rule for server details apply.
    pub fn policy(mut self, policy: StatusPolicy) -> Self {
        Arc::make_mut(&mut self.config).policy = policy;
        self
    }

    /// The request header whose id is echoed as `request_id` (default
    /// `x-request-id`).
    pub fn request_id_header(mut self, header: HeaderName) -> Self {
        Arc::make_mut(&mut self.config).request_id_header = header;
        self
    }
}

impl Default for ErrorsAsProblemsLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> ErrorsAsProblems<S> {
    /// A layer with the default policy; the same as
    /// [`ErrorsAsProblemsLayer::new`].
    pub fn layer() -> ErrorsAsProblemsLayer {
        ErrorsAsProblemsLayer::new()
    }
}

impl<S> Layer<S> for ErrorsAsProblemsLayer {
    type Service = ErrorsAsProblems<S>;

    fn layer(&self, inner: S) -> ErrorsAsProblems<S> {
        ErrorsAsProblems::new(inner, Arc::clone(&self.config))
    }
}
