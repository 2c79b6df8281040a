use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;

use super::graph::{self, Dep, GraphError};
use super::prerequisite::{ErasedPrerequisite, Prerequisite};
use super::run::{Node, Plan, Step};
use super::{Checked, CheckedLayer};
use crate::outcome::Name;
use crate::policy::StatusPolicy;
use crate::requirements::Requirements;

/// How long a check may run when no [`timeout`](ChecksBuilder::timeout) is set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Declares the checks of a layer: from
/// [`DependencyLayer::check`](crate::DependencyLayer::check), or empty from
/// [`Checked::layer`](super::Checked::layer).
/// [`build`](Self::build) validates the graph and gives the layer.
///
/// [`after`](Self::after) and [`timeout`](Self::timeout) apply to the check
/// declared last.
#[must_use = "a builder does nothing until it is built into a layer"]
pub struct ChecksBuilder {
    requirements: Requirements,
    order: Vec<Declared>,
    checks: Vec<Declaration>,
    deadline: Option<Duration>,
    /// A setting for the last check called before any check was declared.
    misplaced: Option<&'static str>,
}

/// One step of the declaration order, before validation.
enum Declared {
    Required(Name),
    /// A check, by its index among all checks.
    Check(usize),
}

/// One check as declared.
struct Declaration {
    name: Name,
    after: Vec<Name>,
    timeout: Duration,
    check: Arc<dyn ErasedPrerequisite>,
}

impl<S> Checked<S> {
    /// A layer with no checks or requirements yet, to declare them on; the
    /// same as starting from
    /// [`DependencyLayer::check`](crate::DependencyLayer::check).
    pub fn layer() -> ChecksBuilder {
        ChecksBuilder::new(Requirements::default())
    }
}

impl ChecksBuilder {
    /// The builder of a layer with `requirements` and no check yet; the
    /// requirements come first in the declaration order.
    pub(crate) fn new(requirements: Requirements) -> Self {
        let order = requirements
            .required
            .iter()
            .cloned()
            .map(Declared::Required);
        Self {
            order: order.collect(),
            requirements,
            checks: Vec::new(),
            deadline: None,
            misplaced: None,
        }
    }

    /// Adds a check: a prerequisite that the layer evaluates itself, for
    /// every request, before the inner service.
    pub fn check<P: Prerequisite>(mut self, name: impl Into<Name>, check: P) -> Self {
        self.order.push(Declared::Check(self.checks.len()));
        self.checks.push(Declaration {
            name: name.into(),
            after: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            check: Arc::new(check),
        });
        self
    }

    /// Runs the check declared last only after every one of `names`
    /// succeeded: checks of this layer or its requirements. When one of them
    /// fails, the check is not run and is recorded as skipped.
    pub fn after<I>(mut self, names: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Name>,
    {
        match self.checks.last_mut() {
            Some(last) => last.after.extend(names.into_iter().map(Into::into)),
            None => self.misplaced = Some("after"),
        }
        self
    }

    /// How long the check declared last may run (default
    /// [`DEFAULT_TIMEOUT`]). A check that takes longer fails as a
    /// [timeout](crate::FailureKind::Timeout), 504 by default.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        match self.checks.last_mut() {
            Some(last) => last.timeout = timeout,
            None => self.misplaced = Some("timeout"),
        }
        self
    }

    /// How long all the checks of one request may take together (no limit by
    /// default). When it passes, every check not yet ended fails as a
    /// timeout.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Requires `name` to have been recorded as succeeded by an outer layer;
    /// see [`DependencyLayer::require`](crate::DependencyLayer::require). Checks may run
    /// [`after`](Self::after) it.
    pub fn require(mut self, name: impl Into<Name>) -> Self {
        let name = name.into();
        if self.requirements.require(name.clone()) {
            self.order.push(Declared::Required(name));
        }
        self
    }

    /// The policy that maps failures to statuses; see
    /// [`DependencyLayer::policy`](crate::DependencyLayer::policy).
    pub fn policy(mut self, policy: StatusPolicy) -> Self {
        self.requirements.policy = policy;
        self
    }

    /// The request header whose id is echoed in problems; see
    /// [`DependencyLayer::request_id_header`](crate::DependencyLayer::request_id_header).
    pub fn request_id_header(mut self, header: HeaderName) -> Self {
        self.requirements.request_id_header = header;
        self
    }

    /// Validates the graph and builds the layer.
    ///
    /// # Errors
    ///
    /// A name declared twice, a check that runs after a name the layer does
    /// not know, checks that wait for each other in a cycle, or `after` or
    /// `timeout` called before any check was declared.
    pub fn build(self) -> Result<CheckedLayer, GraphError> {
        let Self {
            mut requirements,
            order,
            checks,
            deadline,
            misplaced,
        } = self;
        if let Some(setting) = misplaced {
            return Err(GraphError::NoCheckYet(setting));
        }
        let declared: Vec<(Name, Vec<Name>)> = checks
            .iter()
            .map(|check| (check.name.clone(), check.after.clone()))
            .collect();
        let deps = graph::resolve(&requirements.required, &declared)?;
        let nodes = checks
            .into_iter()
            .zip(deps)
            .map(|(check, deps)| {
                let (mut after, mut after_required) = (Vec::new(), Vec::new());
                for dep in deps {
                    match dep {
                        Dep::Check(index) => after.push(index),
                        Dep::Required(name) => after_required.push(name),
                    }
                }
                Node {
                    name: check.name,
                    after,
                    after_required,
                    timeout: check.timeout,
                    check: check.check,
                }
            })
            .collect::<Vec<_>>();
        // From here on the layer examines every name, requirement or check,
        // in declaration order.
        requirements.required = order
            .iter()
            .map(|step| match step {
                Declared::Required(name) => name.clone(),
                Declared::Check(i) => nodes[*i].name.clone(),
            })
            .collect();
        let order = order
            .into_iter()
            .map(|step| match step {
                Declared::Required(name) => Step::Required(name),
                Declared::Check(i) => Step::Check(i),
            })
            .collect();
        let plan = Plan {
            nodes,
            order,
            deadline,
        };
        Ok(CheckedLayer::new(requirements, plan))
    }
}

impl std::fmt::Debug for ChecksBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self
            .checks
            .iter()
            .map(|check| check.name.as_ref())
            .collect();
        f.debug_struct("ChecksBuilder")
            .field("required", &self.requirements.required)
            .field("checks", &names)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}
