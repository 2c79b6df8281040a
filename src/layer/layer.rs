use std::sync::Arc;

use http::HeaderName;
use tower_layer::Layer;

use super::Dependency;
use crate::outcome::Name;
use crate::request_id::X_REQUEST_ID;
use crate::StatusPolicy;

/// Wraps a service so that it runs only when the required prerequisites
/// succeeded, answering with a problem otherwise. See the
/// [module docs](crate::layer).
#[derive(Debug, Clone)]
pub struct DependencyLayer {
    config: Arc<Config>,
}

/// What a layer and every service it builds share.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) required: Vec<Name>,
    pub(crate) policy: StatusPolicy,
    pub(crate) request_id_header: HeaderName,
}

impl DependencyLayer {
    /// A layer with no requirements and the default policy. It still makes
    /// sure a [`Dependencies`](crate::Dependencies) record exists and renders
    /// failures that inner services report.
    pub fn new() -> Self {
        Self {
            config: Arc::new(Config {
                required: Vec::new(),
                policy: StatusPolicy::default(),
                request_id_header: X_REQUEST_ID.clone(),
            }),
        }
    }

    /// Requires `name` to have succeeded. Requirements are examined in the
    /// order they are added; the first that is not met decides the answer.
    pub fn require(mut self, name: impl Into<Name>) -> Self {
        let name = name.into();
        let required = &mut Arc::make_mut(&mut self.config).required;
        if !required.contains(&name) {
            required.push(name);
        }
        self
    }

    /// The policy that maps failures to statuses.
    pub fn policy(mut self, policy: StatusPolicy) -> Self {
        Arc::make_mut(&mut self.config).policy = policy;
        self
    }

    /// The request header whose id is echoed as `request_id` in problems
    /// (default `x-request-id`, which tower-http's `SetRequestIdLayer` sets).
    /// An id that is not 1 to 128 characters of letters, digits and `-_.:/+=@`
    /// is not echoed.
    pub fn request_id_header(mut self, header: HeaderName) -> Self {
        Arc::make_mut(&mut self.config).request_id_header = header;
        self
    }
}

impl DependencyLayer {
    /// The configuration, for a builder that extends it.
    #[cfg(feature = "checks")]
    pub(crate) fn into_config(self) -> Config {
        Arc::try_unwrap(self.config).unwrap_or_else(|shared| (*shared).clone())
    }
}

impl Default for DependencyLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for DependencyLayer {
    type Service = Dependency<S>;

    fn layer(&self, inner: S) -> Dependency<S> {
        Dependency::new(inner, Arc::clone(&self.config))
    }
}
