use std::sync::Arc;

use tower_layer::Layer;

use super::run::Plan;
use super::Checked;
use crate::layer::Config;

/// A [`DependencyLayer`](crate::DependencyLayer) with checks that it runs
/// itself, built by [`ChecksBuilder::build`](super::ChecksBuilder::build).
/// See the [module docs](super).
#[derive(Debug, Clone)]
pub struct CheckedLayer {
    config: Arc<Config>,
    plan: Arc<Plan>,
}

impl CheckedLayer {
    pub(super) fn new(config: Config, plan: Plan) -> Self {
        Self {
            config: Arc::new(config),
            plan: Arc::new(plan),
        }
    }
}

impl<S> Layer<S> for CheckedLayer {
    type Service = Checked<S>;

    fn layer(&self, inner: S) -> Checked<S> {
        Checked::new(inner, Arc::clone(&self.config), Arc::clone(&self.plan))
    }
}
