//! Running one request's checks: concurrently where independent, each after
//! the prerequisites it waits for, bounded in time, and stopped as soon as
//! the answer is decided.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Extensions;
use tokio::time::Sleep;

use super::graph::Dep;
use super::prerequisite::{Erased, ErasedPrerequisite, Insert, RequestHead};
use super::span::CheckSpan;
use crate::outcome::Name;
use crate::{Dependencies, Failure, Outcome};

/// One check as the layer holds it.
pub(crate) struct Node {
    pub(crate) name: Name,
    pub(crate) deps: Vec<Dep>,
    pub(crate) timeout: Duration,
    pub(crate) check: Arc<dyn ErasedPrerequisite>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("name", &self.name)
            .field("deps", &self.deps)
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

enum State {
    Waiting,
    Running { future: Erased, span: CheckSpan },
    Done(Done),
}

/// How a check ended.
pub(crate) enum Done {
    Succeeded(Option<Insert>),
    Failed(Failure),
    Skipped(Name),
}

/// The outcome of the checks of one request.
pub(crate) struct Verdict {
    plan: Arc<Plan>,
    /// Every check with how it ended, in declaration order. Checks still
    /// running when a refusal was decided are dropped and listed as skipped
    /// because of the prerequisite that decided it.
    states: Vec<State>,
}

/// The future running one request's checks.
pub(crate) struct Run {
    plan: Arc<Plan>,
    head: RequestHead,
    states: Vec<State>,
    deadline: Deadline,
}

/// The overall deadline of one request's checks.
enum Deadline {
    None,
    Unarmed(Duration),
    Armed(Pin<Box<Sleep>>),
    Passed,
}

impl Run {
    pub(crate) fn new(plan: Arc<Plan>, head: RequestHead) -> Self {
        let states = plan.nodes.iter().map(|_| State::Waiting).collect();
        let deadline = plan.deadline.map_or(Deadline::None, Deadline::Unarmed);
        Self {
            plan,
            head,
            states,
            deadline,
        }
    }

    fn record(&self) -> Option<&Dependencies> {
        self.head.extensions.get::<Dependencies>()
    }

    /// The outcome of what a check waits for: `Ok(true)` succeeded,
    /// `Ok(false)` not yet known, `Err(root)` failed or skipped because of `root`.
    fn dep_state(&self, dep: &Dep) -> Result<bool, Name> {
        match dep {
            Dep::Check(i) => match &self.states[*i] {
                State::Done(Done::Succeeded(_)) => Ok(true),
                State::Done(Done::Failed(_)) => Err(self.plan.nodes[*i].name.clone()),
                State::Done(Done::Skipped(root)) => Err(root.clone()),
                _ => Ok(false),
            },
            Dep::Required(name) => match self.record().and_then(|r| r.get(name)) {
                Some(Outcome::Succeeded) => Ok(true),
                Some(Outcome::Skipped { because }) => Err(because.clone()),
                _ => Err(name.clone()),
            },
        }
    }

    /// Starts every waiting check whose prerequisites all succeeded, and
    /// skips every one whose prerequisite failed. Returns whether anything
    /// changed.
    fn start_or_skip(&mut self) -> bool {
        let mut changed = false;
        for i in 0..self.states.len() {
            if !matches!(self.states[i], State::Waiting) {
                continue;
            }
            match self.prerequisites_of(i) {
                Err(root) => self.states[i] = State::Done(Done::Skipped(root)),
                Ok(true) => self.states[i] = self.start(i),
                Ok(false) => continue,
            }
            changed = true;
        }
        changed
    }

    /// Where the prerequisites of check `i` stand: `Ok(true)` all
    /// succeeded, `Ok(false)` some not yet known, `Err(root)` one failed or
    /// was skipped because of `root` (the first such, in `after` order).
    fn prerequisites_of(&self, i: usize) -> Result<bool, Name> {
        let mut all_succeeded = true;
        for dep in &self.plan.nodes[i].deps {
            all_succeeded &= self.dep_state(dep)?;
        }
        Ok(all_succeeded)
    }

    /// Starts check `i`. Calling the user's check runs under `catch_unwind`:
    /// a check that panics before returning its future fails this check and
    /// nothing else. (Its timer is armed on the first poll, under the same
    /// guard: a runtime without a timer fails the check the same way.)
    fn start(&self, i: usize) -> State {
        let node = &self.plan.nodes[i];
        let head = self.head.clone();
        let span = CheckSpan::start(&node.name);
        let start = || node.check.run(head, node.timeout);
        match span.in_scope(|| catch_unwind(AssertUnwindSafe(start))) {
            Ok(future) => State::Running { future, span },
            Err(panic) => {
                let failure = Failure::internal().with_source(Panicked::from(panic));
                span.end("failed", Some(&failure));
                State::Done(Done::Failed(failure))
            }
        }
    }

    /// Polls every running check once. Returns whether any ended.
    fn poll_running(&mut self, cx: &mut Context<'_>) -> bool {
        let mut changed = false;
        for state in &mut self.states {
            let State::Running { future, span } = state else {
                continue;
            };
            let polled =
                span.in_scope(|| catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))));
            let done = match polled {
                Ok(Poll::Pending) => continue,
                Ok(Poll::Ready(Ok(insert))) => Done::Succeeded(insert),
                Ok(Poll::Ready(Err(failure))) => Done::Failed(failure),
                Err(panic) => Done::Failed(Failure::internal().with_source(Panicked::from(panic))),
            };
            end_span(std::mem::replace(state, State::Done(done)), state);
            changed = true;
        }
        changed
    }

    /// Ends every check still waiting or running with `failure`: the overall
    /// deadline passed, or its timer could not be armed.
    fn expire(&mut self, failure: &Failure) {
        for state in &mut self.states {
            if matches!(state, State::Waiting | State::Running { .. }) {
                let done = Done::Failed(failure.clone());
                end_span(std::mem::replace(state, State::Done(done)), state);
            }
        }
    }

    /// Polls the overall deadline, arming it on the first poll.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) {
        let Deadline::Armed(sleep) = &mut self.deadline else {
            let Deadline::Unarmed(after) = self.deadline else {
                return;
            };
            let arm = || Box::pin(tokio::time::sleep(after));
            match catch_unwind(AssertUnwindSafe(arm)) {
                Ok(sleep) => self.deadline = Deadline::Armed(sleep),
                Err(panic) => {
                    self.deadline = Deadline::Passed;
                    self.expire(&Failure::internal().with_source(Panicked::from(panic)));
                    return;
                }
            }
            return self.poll_deadline(cx);
        };
        if sleep.as_mut().poll(cx).is_ready() {
            self.deadline = Deadline::Passed;
            self.expire(&Failure::timeout().with_source(DeadlinePassed));
        }
    }

    /// Walks the declaration order: decided at the first prerequisite that is
    /// not met when all before it succeeded, or when all succeeded.
    fn decided(&self) -> Option<bool> {
        for step in &self.plan.order {
            let met = match step {
                Step::Required(name) => self.dep_state(&Dep::Required(name.clone())).is_ok(),
                Step::Check(i) => match &self.states[*i] {
                    State::Done(Done::Succeeded(_)) => true,
                    State::Done(_) => false,
                    _ => return None,
                },
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
        self.plan.order.iter().find_map(|step| match step {
            Step::Required(name) => self.dep_state(&Dep::Required(name.clone())).err(),
            Step::Check(i) => match &self.states[*i] {
                State::Done(Done::Failed(_)) => Some(self.plan.nodes[*i].name.clone()),
                State::Done(Done::Skipped(root)) => Some(root.clone()),
                _ => None,
            },
        })
    }

    /// Records every check that will not run: first those whose own
    /// prerequisites failed (because of their root cause), then those still
    /// running or waiting when the answer was decided (because of the
    /// prerequisite that decided it).
    fn skip_the_rest(&mut self) {
        loop {
            let mut changed = false;
            for i in 0..self.states.len() {
                if !matches!(self.states[i], State::Waiting) {
                    continue;
                }
                if let Err(root) = self.prerequisites_of(i) {
                    self.states[i] = State::Done(Done::Skipped(root));
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let Some(decisive) = self.decisive() else {
            return;
        };
        for state in &mut self.states {
            if matches!(state, State::Waiting | State::Running { .. }) {
                let done = Done::Skipped(decisive.clone());
                end_span(std::mem::replace(state, State::Done(done)), state);
            }
        }
    }

    fn verdict(&mut self, passed: bool) -> Verdict {
        if !passed {
            self.skip_the_rest();
        }
        Verdict {
            plan: Arc::clone(&self.plan),
            states: std::mem::take(&mut self.states),
        }
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
            let started = this.start_or_skip();
            let ended = this.poll_running(cx);
            if !started && !ended {
                return Poll::Pending;
            }
        }
    }
}

/// A check that panicked; the message is logged, never rendered.
#[derive(Debug, thiserror::Error)]
#[error("the check panicked: {0}")]
pub(crate) struct Panicked(String);

impl From<Box<dyn Any + Send>> for Panicked {
    fn from(payload: Box<dyn Any + Send>) -> Self {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        Self(message)
    }
}

/// The overall deadline for the checks passed.
#[derive(Debug, thiserror::Error)]
#[error("the deadline for all checks passed")]
pub(crate) struct DeadlinePassed;

/// Closes the span of a check that was running (`before`) now that it
/// ended as `after` says; a check that never started has no span.
fn end_span(before: State, after: &State) {
    let (State::Running { span, .. }, State::Done(done)) = (before, after) else {
        return;
    };
    match done {
        Done::Succeeded(_) => span.end("succeeded", None),
        Done::Failed(failure) => span.end("failed", Some(failure)),
        Done::Skipped(_) => span.end("dropped", None),
    }
}

impl Verdict {
    /// Records every check's outcome in the request's record, in declaration
    /// order, and inserts the values the checks produced.
    pub(crate) fn record_into(self, extensions: &mut Extensions) {
        for (node, state) in self.plan.nodes.iter().zip(self.states) {
            let State::Done(done) = state else {
                continue;
            };
            let outcome = match done {
                Done::Succeeded(insert) => {
                    if let Some(insert) = insert {
                        insert(extensions);
                    }
                    Outcome::Succeeded
                }
                Done::Failed(failure) => Outcome::Failed(failure),
                Done::Skipped(because) => Outcome::Skipped { because },
            };
            extensions
                .get_or_insert_with(Dependencies::new)
                .record(node.name.clone(), outcome);
        }
    }
}
