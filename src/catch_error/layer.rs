use std::sync::Arc;

use http::HeaderName;
use tower_layer::Layer;

use super::config::Config;
use super::CatchError;
use crate::outcome::Name;
use crate::policy::{StatusPolicy, X_REQUEST_ID};

/// Turns the errors of the service it wraps into the problem responses they
/// mean, naming a dependency. See the [module docs](crate::catch_error).
#[derive(Debug, Clone)]
pub struct CatchErrorLayer {
    config: Arc<Config>,
}

impl CatchErrorLayer {
    /// Errors are answered as failures of `dependency`, with the default
    /// policy.
    pub fn new(dependency: impl Into<Name>) -> Self {
        Self {
            config: Arc::new(Config {
                dependency: dependency.into(),
                policy: StatusPolicy::default(),
                request_id_header: X_REQUEST_ID.clone(),
            }),
        }
    }

    /// The policy that maps failures to statuses.
    pub fn policy(self, policy: StatusPolicy) -> Self {
        self.with(|config| config.policy = policy)
    }

    /// The request header whose id is echoed as `request_id` (default
    /// `x-request-id`).
    pub fn request_id_header(self, header: HeaderName) -> Self {
        self.with(|config| config.request_id_header = header)
    }

    fn with(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(Arc::make_mut(&mut self.config));
        self
    }
}

impl<S> CatchError<S> {
    /// A layer whose errors are failures of `dependency`; the same as
    /// [`CatchErrorLayer::new`].
    pub fn layer(dependency: impl Into<Name>) -> CatchErrorLayer {
        CatchErrorLayer::new(dependency)
    }
}

impl<S> Layer<S> for CatchErrorLayer {
    type Service = CatchError<S>;

    fn layer(&self, inner: S) -> CatchError<S> {
        CatchError::new(inner, Arc::clone(&self.config))
    }
}
