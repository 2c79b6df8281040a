use std::sync::Arc;

use http::HeaderName;
use tower_layer::Layer;

use super::Dependency;
#[cfg(feature = "checks")]
use crate::checks::{ChecksBuilder, Prerequisite};
use crate::outcome::Name;
use crate::policy::StatusPolicy;
use crate::requirements::Requirements;

/// Wraps a service so that it runs only when the required prerequisites
/// succeeded, answering with a problem otherwise. See the
/// [module docs](crate::dependency).
#[derive(Debug, Clone)]
pub struct DependencyLayer {
    requirements: Arc<Requirements>,
}

impl DependencyLayer {
    /// A layer with no requirements and the default policy. It still makes
    /// sure a [`Dependencies`](crate::Dependencies) record exists and renders
    /// failures that inner services report.
    pub fn new() -> Self {
        Self {
            requirements: Arc::new(Requirements::default()),
        }
    }

    /// Requires `name` to have succeeded. Requirements are examined in the
    /// order they are added; the first that is not met decides the answer.
    pub fn require(mut self, name: impl Into<Name>) -> Self {
        Arc::make_mut(&mut self.requirements).require(name.into());
        self
    }

    /// The policy that maps failures to statuses.
    pub fn policy(mut self, policy: StatusPolicy) -> Self {
        Arc::make_mut(&mut self.requirements).policy = policy;
        self
    }

    /// The request header whose id is echoed as `request_id` in problems
    /// (default `x-request-id`, which tower-http's `SetRequestIdLayer` sets).
    /// An id that is not 1 to 128 characters of letters, digits and `-_.:/+=@`
    /// is not echoed.
    pub fn request_id_header(mut self, header: HeaderName) -> Self {
        Arc::make_mut(&mut self.requirements).request_id_header = header;
        self
    }

    /// Adds a prerequisite that the layer evaluates itself, for every
    /// request, before the inner service: see [`checks`](crate::checks).
    ///
    /// The requirements added so far come first in the declaration order.
    #[cfg(feature = "checks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "checks")))]
    pub fn check<P: Prerequisite>(self, name: impl Into<Name>, check: P) -> ChecksBuilder {
        let requirements =
            Arc::try_unwrap(self.requirements).unwrap_or_else(|shared| (*shared).clone());
        ChecksBuilder::new(requirements).check(name, check)
    }
}

impl<S> Dependency<S> {
    /// A layer with no requirements yet; same as [`DependencyLayer::new`].
    pub fn layer() -> DependencyLayer {
        DependencyLayer::new()
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
        Dependency::new(inner, Arc::clone(&self.requirements))
    }
}
