//! Running a graph of steps: every step whose dependencies all succeeded
//! starts, at most a given number at a time; a step whose dependency did not
//! succeed never starts and is skipped, naming that dependency and the root
//! cause of the chain; a step that panics ends as panicked, and the others
//! go on. Used by the checks a layer runs itself and by the parts of a batch.
//!
//! The steps run within the task that polls the schedule: no step is
//! spawned, and nothing runs once the schedule is dropped.

// The checks and the batch each use part of the schedule; a build with only
// one of them leaves the other's part unused.
#![cfg_attr(not(all(feature = "checks", feature = "batch")), allow(dead_code))]

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use smallvec::SmallVec;

use crate::outcome::{Name, Panicked};

/// A running step: the user's own async code (a check, a call of the inner
/// service), boxed once because each step of one graph has its own type.
pub(crate) type StepFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The steps of a graph, as the schedule sees them.
pub(crate) trait Steps {
    /// What a step that runs to its end gives.
    type Output;

    /// The steps `step` waits for: earlier or later ones, never itself.
    fn dependencies(&self, step: usize) -> &[usize];

    /// Starts `step`, whose dependencies all succeeded; `earlier` holds
    /// what they gave. A panic here ends the step as panicked.
    fn start(
        &mut self,
        step: usize,
        earlier: Earlier<'_, Self::Output>,
    ) -> StepFuture<Self::Output>;

    /// Whether a step that gave `output` succeeded, so that its dependents
    /// may start.
    fn succeeded(&self, output: &Self::Output) -> bool;
}

/// What stopped a step from running: another step, or a name outside the
/// graph (a prerequisite an outer layer recorded, or a decision of the
/// caller's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Blocker {
    Step(usize),
    Named(Name),
}

/// How a step ended.
#[derive(Debug)]
pub(crate) enum Ended<T> {
    /// It ran to its end.
    Ran(T),
    /// It panicked; the message is kept for the logs.
    Panicked(Panicked),
    /// It did not run, or was dropped, because `dependency` did not succeed;
    /// `root` is the first step of that chain that failed.
    Skipped { dependency: Blocker, root: Blocker },
}

/// What the steps that ran to their end gave, as a starting step sees them.
pub(crate) struct Earlier<'a, T> {
    states: &'a [State<T>],
}

impl<T> Earlier<'_, T> {
    /// What `step` gave, if it ran to its end.
    pub(crate) fn output(&self, step: usize) -> Option<&T> {
        match self.states.get(step) {
            Some(State::Done(Ended::Ran(output))) => Some(output),
            _ => None,
        }
    }
}

enum State<T> {
    Waiting,
    Running(StepFuture<T>),
    Done(Ended<T>),
}

/// How many steps a schedule keeps without allocating.
const INLINE: usize = 4;

/// Where every step of one graph stands.
pub(crate) struct Schedule<T> {
    /// Up to [`INLINE`] steps (a layer's usual checks) without an
    /// allocation.
    states: SmallVec<[State<T>; INLINE]>,
    /// How many steps may run at once.
    limit: usize,
    running: usize,
}

impl<T> Schedule<T> {
    /// `len` steps, all waiting, of which at most `limit` (at least 1) run
    /// at once.
    pub(crate) fn new(len: usize, limit: usize) -> Self {
        let mut states = SmallVec::new();
        states.resize_with(len, || State::Waiting);
        Self {
            states,
            limit: limit.max(1),
            running: 0,
        }
    }

    /// Ends `step` before it starts, because of `because` outside the graph.
    pub(crate) fn block(&mut self, step: usize, because: Name) {
        self.end(
            step,
            Ended::Skipped {
                dependency: Blocker::Named(because.clone()),
                root: Blocker::Named(because),
            },
        );
    }

    /// How `step` ended, once it has.
    pub(crate) fn ended(&self, step: usize) -> Option<&Ended<T>> {
        match &self.states[step] {
            State::Done(ended) => Some(ended),
            State::Waiting | State::Running(_) => None,
        }
    }

    /// Whether every step has ended.
    pub(crate) fn is_settled(&self) -> bool {
        self.states
            .iter()
            .all(|state| matches!(state, State::Done(_)))
    }

    /// One round, in step order: a waiting step whose dependency did not
    /// succeed is skipped, one whose dependencies did is started (within the
    /// limit), and a running step is polled once. A step's dependencies are
    /// usually earlier steps, so one round settles what they allow: a chain
    /// whose steps answer at once runs to its end in one round. Returns
    /// whether anything changed; when nothing did, every running step has
    /// registered `cx`.
    pub(crate) fn advance<S>(&mut self, steps: &mut S, cx: &mut Context<'_>) -> bool
    where
        S: Steps<Output = T>,
    {
        let mut changed = false;
        for step in 0..self.states.len() {
            if matches!(self.states[step], State::Waiting) {
                changed |= self.skip_or_start(steps, step);
            }
            if let State::Running(future) = &mut self.states[step] {
                if let Some(end) = poll(future, cx) {
                    self.end(step, end);
                    changed = true;
                }
            }
        }
        changed
    }

    /// Skips every waiting step whose dependency did not succeed, until no
    /// more can be skipped. Returns whether any was.
    pub(crate) fn skip_blocked<S>(&mut self, steps: &S) -> bool
    where
        S: Steps<Output = T>,
    {
        let mut any = false;
        loop {
            let mut changed = false;
            for step in 0..self.states.len() {
                if !matches!(self.states[step], State::Waiting) {
                    continue;
                }
                if let Some(ended) = self.blocked(steps, step) {
                    self.end(step, ended);
                    changed = true;
                }
            }
            if !changed {
                return any;
            }
            any = true;
        }
    }

    /// Ends every step still waiting or running as `ended` says; a running
    /// one is dropped.
    pub(crate) fn end_unfinished(&mut self, mut ended: impl FnMut() -> Ended<T>) {
        for step in 0..self.states.len() {
            if !matches!(self.states[step], State::Done(_)) {
                self.end(step, ended());
            }
        }
    }

    /// Every step's end, in step order; `None` for one still unfinished.
    pub(crate) fn into_ended(self) -> impl Iterator<Item = Option<Ended<T>>> {
        self.states.into_iter().map(|state| match state {
            State::Done(ended) => Some(ended),
            State::Waiting | State::Running(_) => None,
        })
    }

    /// The end of waiting `step` when one of its dependencies did not
    /// succeed: the first such, in the order the step lists them.
    fn blocked<S>(&self, steps: &S, step: usize) -> Option<Ended<T>>
    where
        S: Steps<Output = T>,
    {
        steps
            .dependencies(step)
            .iter()
            .find_map(|&dependency| match &self.states[dependency] {
                State::Done(Ended::Ran(output)) if steps.succeeded(output) => None,
                State::Done(Ended::Skipped { root, .. }) => Some(Ended::Skipped {
                    dependency: Blocker::Step(dependency),
                    root: root.clone(),
                }),
                State::Done(_) => Some(Ended::Skipped {
                    dependency: Blocker::Step(dependency),
                    root: Blocker::Step(dependency),
                }),
                State::Waiting | State::Running(_) => None,
            })
    }

    /// Skips waiting `step` when one of its dependencies did not succeed,
    /// or starts it when all did and the limit allows. Returns whether it
    /// did either.
    fn skip_or_start<S>(&mut self, steps: &mut S, step: usize) -> bool
    where
        S: Steps<Output = T>,
    {
        if let Some(ended) = self.blocked(steps, step) {
            self.end(step, ended);
            return true;
        }
        if self.running >= self.limit {
            return false;
        }
        let ready = steps.dependencies(step).iter().all(|&dependency| {
            matches!(&self.states[dependency], State::Done(Ended::Ran(output)) if steps.succeeded(output))
        });
        if !ready {
            return false;
        }
        let earlier = Earlier {
            states: &self.states,
        };
        let state = start(|| steps.start(step, earlier));
        if matches!(state, State::Running(_)) {
            self.running += 1;
        }
        self.states[step] = state;
        true
    }

    /// Ends `step`; a running step's future is dropped here.
    fn end(&mut self, step: usize, ended: Ended<T>) {
        if matches!(self.states[step], State::Running(_)) {
            self.running -= 1;
        }
        // Assigned in place: the state before is dropped where it is, not
        // moved out first.
        self.states[step] = State::Done(ended);
    }
}

/// A graph of one step, polled in place: what a [`Schedule`] of one step
/// does, without a list of states, a limit or a count of running steps.
pub(crate) struct Lone<T> {
    state: State<T>,
}

impl<T> Lone<T> {
    /// The step, waiting.
    pub(crate) fn new() -> Self {
        Self {
            state: State::Waiting,
        }
    }

    /// Ends the step before it starts, because of `because` outside the
    /// graph.
    pub(crate) fn block(&mut self, because: Name) {
        self.state = State::Done(Ended::Skipped {
            dependency: Blocker::Named(because.clone()),
            root: Blocker::Named(because),
        });
    }

    /// How the step ended, once it has.
    pub(crate) fn ended(&self) -> Option<&Ended<T>> {
        match &self.state {
            State::Done(ended) => Some(ended),
            State::Waiting | State::Running(_) => None,
        }
    }

    /// Starts the step with `begin` if it is waiting, and polls it. Returns
    /// whether it ended here; when it is still running, it has registered
    /// `cx`.
    pub(crate) fn advance(
        &mut self,
        begin: impl FnOnce() -> StepFuture<T>,
        cx: &mut Context<'_>,
    ) -> bool {
        let waiting = matches!(self.state, State::Waiting);
        if waiting {
            self.state = start(begin);
        }
        let State::Running(future) = &mut self.state else {
            // Ended as it started, or earlier.
            return waiting;
        };
        match poll(future, cx) {
            Some(ended) => {
                self.state = State::Done(ended);
                true
            }
            None => false,
        }
    }

    /// Ends the step as `ended` says unless it has ended; a running step is
    /// dropped.
    pub(crate) fn end_unfinished(&mut self, ended: impl FnOnce() -> Ended<T>) {
        if !matches!(self.state, State::Done(_)) {
            self.state = State::Done(ended());
        }
    }

    /// The step's end; `None` while unfinished.
    pub(crate) fn into_ended(self) -> Option<Ended<T>> {
        match self.state {
            State::Done(ended) => Some(ended),
            State::Waiting | State::Running(_) => None,
        }
    }
}

/// A step started by `begin`; a panic of `begin` ends it as panicked.
fn start<T>(begin: impl FnOnce() -> StepFuture<T>) -> State<T> {
    match catch_unwind(AssertUnwindSafe(begin)) {
        Ok(future) => State::Running(future),
        Err(payload) => State::Done(Ended::Panicked(Panicked::from(payload))),
    }
}

/// Polls a running step once: its end, if it came (a panic ends it as
/// panicked).
fn poll<T>(future: &mut StepFuture<T>, cx: &mut Context<'_>) -> Option<Ended<T>> {
    match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
        Ok(Poll::Pending) => None,
        Ok(Poll::Ready(output)) => Some(Ended::Ran(output)),
        Err(payload) => Some(Ended::Panicked(Panicked::from(payload))),
    }
}

#[cfg(test)]
mod tests {
    use std::future::{pending, ready};
    use std::task::Waker;

    use super::*;

    /// Steps that answer their own number, fail when it is odd, never
    /// answer when listed in `stuck`, and panic when listed in `panics`.
    struct Numbers {
        deps: Vec<Vec<usize>>,
        stuck: Vec<usize>,
        panics: Vec<usize>,
        started: Vec<usize>,
    }

    impl Steps for Numbers {
        type Output = usize;

        fn dependencies(&self, step: usize) -> &[usize] {
            &self.deps[step]
        }

        fn start(&mut self, step: usize, _: Earlier<'_, usize>) -> StepFuture<usize> {
            self.started.push(step);
            if self.panics.contains(&step) {
                panic!("step {step} panicked");
            }
            if self.stuck.contains(&step) {
                return Box::pin(pending());
            }
            Box::pin(ready(step))
        }

        fn succeeded(&self, output: &usize) -> bool {
            output % 2 == 0
        }
    }

    fn numbers(deps: &[&[usize]]) -> Numbers {
        Numbers {
            deps: deps.iter().map(|d| d.to_vec()).collect(),
            stuck: Vec::new(),
            panics: Vec::new(),
            started: Vec::new(),
        }
    }

    fn run(steps: &mut Numbers, limit: usize) -> Schedule<usize> {
        let mut schedule = Schedule::new(steps.deps.len(), limit);
        let mut cx = Context::from_waker(Waker::noop());
        while schedule.advance(steps, &mut cx) {}
        schedule
    }

    #[test]
    fn dependents_of_a_failure_are_skipped_naming_the_root() {
        // 0 succeeds, 1 fails, 2 after 1, 3 after 2, 4 after 0.
        let mut steps = numbers(&[&[], &[], &[1], &[2], &[0]]);
        let schedule = run(&mut steps, 8);
        assert!(schedule.is_settled());
        assert!(matches!(schedule.ended(4), Some(Ended::Ran(4))));
        assert!(matches!(
            schedule.ended(3),
            Some(Ended::Skipped {
                dependency: Blocker::Step(2),
                root: Blocker::Step(1)
            })
        ));
        assert_eq!(steps.started, [0, 1, 4]);
    }

    #[test]
    fn at_most_the_limit_runs_at_once_and_a_panic_ends_one_step() {
        let mut steps = numbers(&[&[], &[], &[], &[0]]);
        steps.stuck = vec![0, 1];
        steps.panics = vec![2];
        let mut schedule = run(&mut steps, 2);
        assert_eq!(steps.started, [0, 1], "two at a time");
        assert!(!schedule.is_settled());
        schedule.end_unfinished(|| Ended::Skipped {
            dependency: Blocker::Named("deadline".into()),
            root: Blocker::Named("deadline".into()),
        });
        assert!(schedule.is_settled());

        let mut steps = numbers(&[&[], &[0]]);
        steps.panics = vec![0];
        let schedule = run(&mut steps, 1);
        assert!(matches!(schedule.ended(0), Some(Ended::Panicked(_))));
        assert!(matches!(schedule.ended(1), Some(Ended::Skipped { .. })));
    }

    #[test]
    fn a_lone_step_ends_as_a_schedule_of_one_would() {
        let mut cx = Context::from_waker(Waker::noop());
        let mut lone = Lone::new();
        assert!(lone.advance(|| Box::pin(ready(7)), &mut cx));
        assert!(matches!(lone.ended(), Some(Ended::Ran(7))));
        assert!(matches!(lone.into_ended(), Some(Ended::Ran(7))));

        let mut lone = Lone::<usize>::new();
        assert!(lone.advance(|| panic!("the check panicked as it started"), &mut cx));
        assert!(matches!(lone.ended(), Some(Ended::Panicked(_))));

        let mut lone = Lone::<usize>::new();
        assert!(lone.advance(|| Box::pin(async { panic!("the check panicked") }), &mut cx));
        assert!(matches!(lone.ended(), Some(Ended::Panicked(_))));

        // Pending: started once, polled, not started again; then dropped
        // as the answer is decided.
        let mut lone = Lone::<usize>::new();
        let mut starts = 0;
        for _ in 0..3 {
            let begin = || {
                starts += 1;
                Box::pin(pending()) as StepFuture<usize>
            };
            assert!(!lone.advance(begin, &mut cx));
        }
        assert_eq!(starts, 1);
        assert!(lone.ended().is_none());
        lone.end_unfinished(|| Ended::Skipped {
            dependency: Blocker::Named("deadline".into()),
            root: Blocker::Named("deadline".into()),
        });
        assert!(matches!(lone.ended(), Some(Ended::Skipped { .. })));

        let mut lone = Lone::<usize>::new();
        lone.block("auth".into());
        assert!(!lone.advance(|| unreachable!("a blocked step never starts"), &mut cx));
        assert!(matches!(
            lone.into_ended(),
            Some(Ended::Skipped { root: Blocker::Named(name), .. }) if name == "auth"
        ));
    }

    #[test]
    fn a_blocked_step_never_starts() {
        let mut steps = numbers(&[&[], &[0]]);
        let mut schedule = Schedule::new(2, 4);
        schedule.block(0, "auth".into());
        let mut cx = Context::from_waker(Waker::noop());
        while schedule.advance(&mut steps, &mut cx) {}
        assert!(steps.started.is_empty());
        assert!(matches!(
            schedule.ended(1),
            Some(Ended::Skipped { root: Blocker::Named(name), .. }) if name == "auth"
        ));
    }
}
