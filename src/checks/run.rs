//! Running one request's checks: a lone check polled in place, a graph of
//! them on the crate's [`Schedule`] (concurrently where independent, each
//! after the prerequisites it waits for); bounded in time, and stopped as
//! soon as the answer is decided.

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
use crate::schedule::{Blocker, Earlier, Ended, Lone, Schedule, StepFuture, Steps};

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
        self.run(step)
    }

    fn succeeded(&self, output: &Checked) -> bool {
        output.is_ok()
    }
}

impl Checks {
    /// Starts the check `step`, inside its span and under its timeout.
    fn run(&self, step: usize) -> StepFuture<Checked> {
        let node = &self.plan.nodes[step];
        let span = CheckSpan::start(&node.name);
        node.check.run(self.head.clone(), node.timeout, span)
    }
}

/// Where one request's checks stand.
enum Progress {
    /// The layer's only check, polled in place.
    Lone(Lone<Checked>),
    /// A graph of checks. Boxed, so that a layer with one check does not
    /// carry (and move) the room of several.
    Graph(Box<Schedule<Checked>>),
}

impl Progress {
    fn new(checks: usize) -> Self {
        if checks == 1 {
            Self::Lone(Lone::new())
        } else {
            Self::Graph(Box::new(Schedule::new(checks, usize::MAX)))
        }
    }

    fn block(&mut self, step: usize, because: Name) {
        match self {
            Self::Lone(lone) => lone.block(because),
            Self::Graph(schedule) => schedule.block(step, because),
        }
    }

    fn ended(&self, step: usize) -> Option<&Ended<Checked>> {
        match self {
            Self::Lone(lone) => lone.ended(),
            Self::Graph(schedule) => schedule.ended(step),
        }
    }

    /// Starts what may start and polls what runs; whether anything changed.
    fn advance(&mut self, checks: &mut Checks, cx: &mut Context<'_>) -> bool {
        match self {
            Self::Lone(lone) => lone.advance(|| checks.run(0), cx),
            Self::Graph(schedule) => schedule.advance(checks, cx),
        }
    }

    /// Skips the checks whose own prerequisites failed. A lone check waits
    /// for none of the layer's.
    fn skip_blocked(&mut self, checks: &Checks) {
        if let Self::Graph(schedule) = self {
            schedule.skip_blocked(checks);
        }
    }

    fn end_unfinished(&mut self, ended: impl FnMut() -> Ended<Checked>) {
        match self {
            Self::Lone(lone) => lone.end_unfinished(ended),
            Self::Graph(schedule) => schedule.end_unfinished(ended),
        }
    }
}

/// The future running one request's checks.
pub(crate) struct Run {
    checks: Checks,
    progress: Progress,
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
    /// Whether every prerequisite of the layer, required or checked here,
    /// was met.
    passed: bool,
    /// How every check ended, in declaration order. Checks still running
    /// when a refusal was decided are dropped and listed as skipped because
    /// of the prerequisite that decided it.
    progress: Progress,
}

impl Run {
    pub(crate) fn new(plan: Arc<Plan>, head: RequestHead) -> Self {
        let mut progress = Progress::new(plan.nodes.len());
        // What outer layers recorded cannot change while the checks run: a
        // check waiting for a name that did not succeed never starts.
        let record = head.extensions.get::<Dependencies>();
        for (step, node) in plan.nodes.iter().enumerate() {
            if let Some(root) = node
                .after_required
                .iter()
                .find_map(|name| unmet(record, name))
            {
                progress.block(step, root);
            }
        }
        let deadline = plan.deadline.map_or(Deadline::None, Deadline::Unarmed);
        Self {
            checks: Checks { plan, head },
            progress,
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
                    self.progress
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
            self.progress
                .end_unfinished(|| Ended::Ran(Err(failure.clone())));
        }
    }

    /// Walks the declaration order: decided at the first prerequisite that is
    /// not met when all before it succeeded, or when all succeeded.
    fn decided(&self) -> Option<bool> {
        for step in &self.checks.plan.order {
            let met = match step {
                Step::Required(name) => unmet(self.record(), name).is_none(),
                Step::Check(i) => matches!(self.progress.ended(*i)?, Ended::Ran(Ok(_))),
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
            Step::Check(i) => match self.progress.ended(*i)? {
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
            self.progress.skip_blocked(&self.checks);
            if let Some(decisive) = self.decisive() {
                self.progress.end_unfinished(|| Ended::Skipped {
                    dependency: Blocker::Named(decisive.clone()),
                    root: Blocker::Named(decisive.clone()),
                });
            }
        }
        Verdict {
            plan: Arc::clone(&self.checks.plan),
            passed,
            // What is left behind is a lone check, waiting: no allocation.
            progress: std::mem::replace(&mut self.progress, Progress::Lone(Lone::new())),
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
            if !this.progress.advance(&mut this.checks, cx) {
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
    /// Whether every prerequisite of the layer was met: then its record
    /// holds every name the layer requires, succeeded.
    pub(crate) fn passed(&self) -> bool {
        self.passed
    }

    /// Records every check's outcome in the request's record, in declaration
    /// order, and inserts the values the checks produced.
    pub(crate) fn record_into(self, extensions: &mut Extensions) {
        let nodes = &self.plan.nodes;
        match self.progress {
            Progress::Lone(lone) => {
                if let (Some(node), Some(ended)) = (nodes.first(), lone.into_ended()) {
                    record(nodes, node, ended, extensions);
                }
            }
            Progress::Graph(schedule) => {
                for (node, ended) in nodes.iter().zip(schedule.into_ended()) {
                    if let Some(ended) = ended {
                        record(nodes, node, ended, extensions);
                    }
                }
            }
        }
    }
}

/// Records how the check `node` (one of `nodes`) ended, inserting the value
/// it produced.
fn record(nodes: &[Node], node: &Node, ended: Ended<Checked>, extensions: &mut Extensions) {
    let outcome = match ended {
        Ended::Ran(Ok(insert)) => {
            if let Some(insert) = insert {
                insert(extensions);
            }
            extensions
                .get_or_insert_with(Dependencies::new)
                .record_success(node.name.clone());
            return;
        }
        Ended::Ran(Err(failure)) => Outcome::Failed(failure),
        Ended::Panicked(panicked) => Outcome::Failed(Failure::internal().with_source(panicked)),
        Ended::Skipped { root, .. } => Outcome::Skipped {
            because: match root {
                Blocker::Named(name) => name,
                Blocker::Step(step) => nodes[step].name.clone(),
            },
        },
    };
    extensions
        .get_or_insert_with(Dependencies::new)
        .record(node.name.clone(), outcome);
}
