use std::sync::Arc;

use tower_layer::Layer;

use super::run::Plan;
use super::Checked;
use crate::requirements::Requirements;

/// A [`DependencyLayer`](crate::DependencyLayer) with checks that it runs
/// itself, built by [`ChecksBuilder::build`](super::ChecksBuilder::build).
/// See the [module docs](super).
#[derive(Debug, Clone)]
pub struct CheckedLayer {
    requirements: Arc<Requirements>,
    plan: Arc<Plan>,
}

impl CheckedLayer {
    pub(super) fn new(requirements: Requirements, plan: Plan) -> Self {
        Self {
            requirements: Arc::new(requirements),
            plan: Arc::new(plan),
        }
    }
}

impl<S> Layer<S> for CheckedLayer {
    type Service = Checked<S>;

    fn layer(&self, inner: S) -> Checked<S> {
        Checked::new(
            inner,
            Arc::clone(&self.requirements),
            Arc::clone(&self.plan),
        )
    }
}
