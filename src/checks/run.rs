//! Running one request's checks on the crate's [`Schedule`]: concurrently
//! where independent, each after the prerequisites it waits for, bounded in
//! time, and stopped as soon as the answer is decided.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Extensions;
use tokio::time::Sleep;

use super::prerequisite::{Checked, ErasedPrerequisite, RequestHead};
use super::span::CheckSpan;
use crate::outcome::{Dependencies, Failure, Name, Outcome, Panicked};
use crate::schedule::{Blocker, Earlier, Ended, Schedule, StepFuture, Steps};

/// One check as the layer holds it.
pub(crate) struct Node {
    pub(crate) name: Name,
    /// The checks of the layer it runs after, by index.
    pub(crate) after: Vec<usize>,
    /// The names recorded by outer layers it runs after.
    pub(crate) after_required: Vec<Name>,
    pub(crate) timeout: Duration,
    pub(crate) check: Arc<dyn ErasedPrerequisite>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("name", &self.name)
            .field("after", &self.after)
            .field("after_required", &self.after_required)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// One step of the declaration order: a requirement read from the record,
/// or a check run here.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    Required(Name),
    Check(usize),
}

/// Every check of a layer, validated, with the declaration order.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) nodes: Vec<Node>,
    pub(crate) order: Vec<Step>,
    pub(crate) deadline: Option<Duration>,
}

/// One request's checks, as the schedule runs them.
struct Checks {
    plan: Arc<Plan>,
    head: RequestHead,
}

impl Steps for Checks {
    type Output = Checked;

    fn dependencies(&self, step: usize) -> &[usize] {
        &self.plan.nodes[step].after
    }

    fn start(&mut self, step: usize, _: Earlier<'_, Checked>) -> StepFuture<Checked> {
        let node = &self.plan.nodes[step];
        let span = CheckSpan::start(&node.name);
        node.check.run(self.head.clone(), node.timeout, span)
    }

    fn succeeded(&self, output: &Checked) -> bool {
        output.is_ok()
    }
}

/// The future running one request's checks.
pub(crate) struct Run {
    checks: Checks,
    schedule: Schedule<Checked>,
    deadline: Deadline,
}

/// The overall deadline of one request's checks.
enum Deadline {
    None,
    Unarmed(Duration),
    Armed(Pin<Box<Sleep>>),
    Passed,
}

/// The outcome of the checks of one request.
pub(crate) struct Verdict {
    plan: Arc<Plan>,
    /// How every check ended, in declaration order. Checks still running
    /// when a refusal was decided are dropped and listed as skipped because
    /// of the prerequisite that decided it.
    schedule: Schedule<Checked>,
}

impl Run {
    pub(crate) fn new(plan: Arc<Plan>, head: RequestHead) -> Self {
        let mut schedule = Schedule::new(plan.nodes.len(), usize::MAX);
        // What outer layers recorded cannot change while the checks run: a
        // check waiting for a name that did not succeed never starts.
        let record = head.extensions.get::<Dependencies>();
        for (step, node) in plan.nodes.iter().enumerate() {
            if let Some(root) = node
                .after_required
                .iter()
                .find_map(|name| unmet(record, name))
            {
                schedule.block(step, root);
            }
        }
        let deadline = plan.deadline.map_or(Deadline::None, Deadline::Unarmed);
        Self {
            checks: Checks { plan, head },
            schedule,
            deadline,
        }
    }

    /// The name of a node or of a prerequisite outside the checks.
    fn name(&self, blocker: &Blocker) -> Name {
        match blocker {
            Blocker::Step(step) => self.checks.plan.nodes[*step].name.clone(),
            Blocker::Named(name) => name.clone(),
        }
    }

    fn record(&self) -> Option<&Dependencies> {
        self.checks.head.extensions.get::<Dependencies>()
    }

    /// Polls the overall deadline, arming it on the first poll. When it
    /// passes (or its timer cannot be armed), every check not yet ended
    /// fails.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) {
        if let Deadline::Unarmed(after) = self.deadline {
            let arm = || Box::pin(tokio::time::sleep(after));
            match catch_unwind(AssertUnwindSafe(arm)) {
                Ok(sleep) => self.deadline = Deadline::Armed(sleep),
                Err(payload) => {
                    self.deadline = Deadline::Passed;
                    let failure = Failure::internal().with_source(Panicked::from(payload));
                    self.schedule
                        .end_unfinished(|| Ended::Ran(Err(failure.clone())));
                    return;
                }
            }
        }
        let Deadline::Armed(sleep) = &mut self.deadline else {
            return;
        };
        if sleep.as_mut().poll(cx).is_ready() {
            self.deadline = Deadline::Passed;
            let failure = Failure::timeout().with_source(DeadlinePassed);
            self.schedule
                .end_unfinished(|| Ended::Ran(Err(failure.clone())));
        }
    }

    /// Walks the declaration order: decided at the first prerequisite that is
    /// not met when all before it succeeded, or when all succeeded.
    fn decided(&self) -> Option<bool> {
        for step in &self.checks.plan.order {
            let met = match step {
                Step::Required(name) => unmet(self.record(), name).is_none(),
                Step::Check(i) => matches!(self.schedule.ended(*i)?, Ended::Ran(Ok(_))),
            };
            if !met {
                return Some(false);
            }
        }
        Some(true)
    }

    /// The prerequisite that decided a refusal: the first unmet step of the
    /// declaration order, or the root cause of its skip.
    fn decisive(&self) -> Option<Name> {
        self.checks.plan.order.iter().find_map(|step| match step {
            Step::Required(name) => unmet(self.record(), name),
            Step::Check(i) => match self.schedule.ended(*i)? {
                Ended::Ran(Ok(_)) => None,
                Ended::Ran(Err(_)) | Ended::Panicked(_) => Some(self.name(&Blocker::Step(*i))),
                Ended::Skipped { root, .. } => Some(self.name(root)),
            },
        })
    }

    /// Records every check that will not run: first those whose own
    /// prerequisites failed (because of their root cause), then those still
    /// running or waiting when the answer was decided (because of the
    /// prerequisite that decided it).
    fn verdict(&mut self, passed: bool) -> Verdict {
        if !passed {
            self.schedule.skip_blocked(&self.checks);
            if let Some(decisive) = self.decisive() {
                self.schedule.end_unfinished(|| Ended::Skipped {
                    dependency: Blocker::Named(decisive.clone()),
                    root: Blocker::Named(decisive.clone()),
                });
            }
        }
        Verdict {
            plan: Arc::clone(&self.checks.plan),
            schedule: std::mem::replace(&mut self.schedule, Schedule::empty()),
        }
    }
}

/// `None` when `name` succeeded in the record; otherwise the name of the
/// failure behind it: its own, or the one it was skipped because of.
fn unmet(record: Option<&Dependencies>, name: &Name) -> Option<Name> {
    match record.and_then(|record| record.get(name)) {
        Some(Outcome::Succeeded) => None,
        Some(Outcome::Skipped { because }) => Some(because.clone()),
        _ => Some(name.clone()),
    }
}

impl Future for Run {
    type Output = Verdict;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Verdict> {
        let this = &mut *self;
        this.poll_deadline(cx);
        loop {
            if let Some(passed) = this.decided() {
                return Poll::Ready(this.verdict(passed));
            }
            if !this.schedule.advance(&mut this.checks, cx) {
                return Poll::Pending;
            }
        }
    }
}

/// The overall deadline for the checks passed.
#[derive(Debug, thiserror::Error)]
#[error("the deadline for all checks passed")]
struct DeadlinePassed;

impl Verdict {
    /// Records every check's outcome in the request's record, in declaration
    /// order, and inserts the values the checks produced.
    pub(crate) fn record_into(self, extensions: &mut Extensions) {
        for (node, ended) in self.plan.nodes.iter().zip(self.schedule.into_ended()) {
            let Some(ended) = ended else {
                continue;
            };
            let outcome = match ended {
                Ended::Ran(Ok(insert)) => {
                    if let Some(insert) = insert {
                        insert(extensions);
                    }
                    extensions
                        .get_or_insert_with(Dependencies::new)
                        .record_success(node.name.clone());
                    continue;
                }
                Ended::Ran(Err(failure)) => Outcome::Failed(failure),
                Ended::Panicked(panicked) => {
                    Outcome::Failed(Failure::internal().with_source(panicked))
                }
                Ended::Skipped { root, .. } => Outcome::Skipped {
                    because: match root {
                        Blocker::Named(name) => name,
                        Blocker::Step(step) => self.plan.nodes[step].name.clone(),
                    },
                },
            };
            extensions
                .get_or_insert_with(Dependencies::new)
                .record(node.name.clone(), outcome);
        }
    }
}
