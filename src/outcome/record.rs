//! The per-request record of prerequisite outcomes: [`Dependencies`].
//!
//! Earlier layers, checks and handlers record what happened to each named
//! prerequisite in the record kept in the request's extensions; a
//! [`DependencyLayer`](crate::DependencyLayer) reads it to decide whether the
//! request may go on.
//!
//! Record into the extensions' own record, made there when the request has
//! none (`get_or_insert_with`, as below), rather than building one beside
//! the request and inserting it: the record is 256 bytes, and an inserted
//! one is copied twice on its way into its box (about 150 instructions).
//!
//! ```
//! use http::{Request, StatusCode};
//! use tower_failed_dependency::{Dependencies, Failure, Outcome};
//!
//! let mut request = Request::new(());
//! let record = request
//!     .extensions_mut()
//!     .get_or_insert_with(Dependencies::new);
//! record.record_success("auth");
//! record.record_failure("inventory", Failure::rejected(StatusCode::CONFLICT));
//! record.record_skipped("payment", "inventory");
//!
//! let record = request.extensions().get::<Dependencies>().unwrap();
//! assert!(matches!(record.get("auth"), Some(Outcome::Succeeded)));
//! let (name, failure) = record.root_cause().unwrap();
//! assert_eq!(name, "inventory");
//! assert_eq!(failure.dependency_status(), Some(StatusCode::CONFLICT));
//! ```

use smallvec::SmallVec;

use super::failure::Failure;
use super::name::{same_name, Name};

/// What happened to one prerequisite.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Outcome {
    /// The prerequisite succeeded.
    Succeeded,
    /// The prerequisite was attempted and failed.
    Failed(Failure),
    /// The prerequisite was not attempted because another one failed.
    Skipped {
        /// The prerequisite whose failure caused the skip.
        because: Name,
    },
}

/// The outcome every success reads: a record keeps no outcome of its own
/// for a success, only its name.
static SUCCEEDED: Outcome = Outcome::Succeeded;

impl Outcome {
    /// Whether the prerequisite succeeded.
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Succeeded)
    }
}

/// The record of named prerequisite outcomes for one request, in the order
/// they were recorded.
///
/// Recording a name again replaces its outcome and keeps its place.
/// The record lives in the request's extensions; to record from a handler
/// that only sees a clone, return a
/// [`DependencyError`](crate::DependencyError) instead.
///
/// The record is built for the request that passes: it keeps its first
/// [`INLINE`](Self::INLINE) names in place (no allocation), a success is its
/// name and nothing else, and only a failure or a skip keeps an
/// [`Outcome`], in a list of its own beside the names.
#[derive(Debug, Clone, Default)]
pub struct Dependencies {
    entries: SmallVec<[Entry; Dependencies::INLINE]>,
    /// The outcomes that are not successes, which entries point into; the
    /// first in place, so that a refused request's record allocates nothing.
    others: SmallVec<[Outcome; 1]>,
    /// One bit for each name recorded ([`bit`]): a name whose bit is clear
    /// was never recorded, so recording it needs no search for an earlier
    /// outcome to replace.
    seen: u64,
}

/// One recorded name, and where its outcome is.
#[derive(Debug, Clone)]
struct Entry {
    name: Name,
    /// [`SUCCESS`], or the outcome's index in [`Dependencies::others`].
    outcome: usize,
}

/// [`Entry::outcome`] of a success (no list is that long).
const SUCCESS: usize = usize::MAX;

impl Entry {
    fn succeeded(&self) -> bool {
        self.outcome == SUCCESS
    }
}

impl Dependencies {
    /// How many outcomes a record keeps without allocating: recording up to
    /// this many successes (a layer's usual prerequisites) costs no
    /// allocation, and neither does the first failure or skip; more move to
    /// the heap.
    pub const INLINE: usize = 8;

    /// An empty record. Does not allocate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `name` succeeded.
    #[inline]
    pub fn record_success(&mut self, name: impl Into<Name>) -> &mut Self {
        let name = name.into();
        match self.earlier(&name) {
            Some(at) => self.entries[at].outcome = SUCCESS,
            None => self.entries.push(Entry {
                name,
                outcome: SUCCESS,
            }),
        }
        self
    }

    /// Records that `name` was attempted and failed.
    pub fn record_failure(&mut self, name: impl Into<Name>, failure: Failure) -> &mut Self {
        self.record(name.into(), Outcome::Failed(failure))
    }

    /// Records that `name` was not attempted because `because` failed.
    pub fn record_skipped(&mut self, name: impl Into<Name>, because: impl Into<Name>) -> &mut Self {
        self.record(
            name.into(),
            Outcome::Skipped {
                because: because.into(),
            },
        )
    }

    /// Records any outcome for `name`.
    pub fn record(&mut self, name: impl Into<Name>, outcome: Outcome) -> &mut Self {
        let name = name.into();
        match self.earlier(&name) {
            Some(at) => {
                let slot = self.entries[at].outcome;
                match self.others.get_mut(slot) {
                    // A failure or skip recorded again takes the place of
                    // the earlier one; a success needs none.
                    Some(kept) if !outcome.is_success() => *kept = outcome,
                    _ => self.entries[at].outcome = self.keep(outcome),
                }
            }
            None => {
                let outcome = self.keep(outcome);
                self.entries.push(Entry { name, outcome });
            }
        }
        self
    }

    /// Where `name` was recorded before, if it was; notes it as recorded.
    #[inline]
    fn earlier(&mut self, name: &str) -> Option<usize> {
        let bit = bit(name);
        let seen = self.seen & bit != 0;
        self.seen |= bit;
        if !seen {
            return None;
        }
        self.entries
            .iter()
            .position(|known| same_name(&known.name, name))
    }

    /// Where `outcome` is kept: nowhere for a success, else at the end of
    /// [`Dependencies::others`].
    fn keep(&mut self, outcome: Outcome) -> usize {
        if outcome.is_success() {
            return SUCCESS;
        }
        self.others.push(outcome);
        self.others.len() - 1
    }

    fn outcome(&self, entry: &Entry) -> &Outcome {
        self.others.get(entry.outcome).unwrap_or(&SUCCEEDED)
    }

    /// The outcome recorded for `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Outcome> {
        self.find_from(0, name).map(|(_, outcome)| outcome)
    }

    /// How many of `names` are, from the start, the names recorded first
    /// and in the same order, each a success: the walk a layer makes over its
    /// requirements, which are usually recorded in the order they are
    /// required.
    #[inline]
    pub(crate) fn succeeded_in_step(&self, names: &[Name]) -> usize {
        names
            .iter()
            .zip(&self.entries)
            .take_while(|(name, known)| known.succeeded() && same_name(&known.name, name))
            .count()
    }

    /// Finds `name`, looking at position `hint` first, and returns its
    /// position with its outcome. Requirements are usually recorded in the
    /// order they are required, so a caller walking them passes the position
    /// after the previous match and mostly hits at once.
    pub(crate) fn find_from(&self, hint: usize, name: &str) -> Option<(usize, &Outcome)> {
        if let Some(known) = self.entries.get(hint) {
            if same_name(&known.name, name) {
                return Some((hint, self.outcome(known)));
            }
        }
        self.entries
            .iter()
            .position(|known| same_name(&known.name, name))
            .map(|at| (at, self.outcome(&self.entries[at])))
    }

    /// Every recorded outcome, in recording order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            entries: self.entries.iter(),
            record: self,
        }
    }

    /// The first failure recorded: the root cause of anything skipped.
    pub fn root_cause(&self) -> Option<(&str, &Failure)> {
        self.iter().find_map(|(name, outcome)| match outcome {
            Outcome::Failed(failure) => Some((name, failure)),
            _ => None,
        })
    }

    /// The failure that caused `name` to be skipped: the `because` chain is
    /// followed to the failure it ends in. When the chain is broken (it names
    /// something never recorded, or loops), the first failure recorded.
    pub fn cause_of(&self, name: &str) -> Option<(&str, &Failure)> {
        let mut at = name;
        for _ in 0..=self.entries.len() {
            match self.find_from(0, at) {
                Some((index, Outcome::Failed(failure))) => {
                    return Some((&self.entries[index].name, failure));
                }
                Some((_, Outcome::Skipped { because })) => at = because,
                _ => break,
            }
        }
        self.root_cause()
    }

    /// The names recorded as skipped, in recording order.
    pub fn skipped(&self) -> impl Iterator<Item = &str> + Clone + '_ {
        self.iter().filter_map(|(name, outcome)| match outcome {
            Outcome::Skipped { .. } => Some(name),
            _ => None,
        })
    }

    /// How many outcomes are recorded.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The bit of `name` in [`Dependencies::seen`], from its length and its
/// first and last bytes: names of a record rarely share all three, so a
/// new name is almost always recorded without a search.
#[inline]
fn bit(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let (first, last) = match bytes {
        [] => (0, 0),
        [first, .., last] => (*first, *last),
        [only] => (*only, *only),
    };
    let mix = bytes.len() ^ (usize::from(first) << 2) ^ (usize::from(last) << 4);
    1 << (mix % 64)
}

impl<'a> IntoIterator for &'a Dependencies {
    type Item = (&'a str, &'a Outcome);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// An iterator over a [`Dependencies`] record, from [`Dependencies::iter`].
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    entries: std::slice::Iter<'a, Entry>,
    record: &'a Dependencies,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a Outcome);

    fn next(&mut self) -> Option<Self::Item> {
        let record = self.record;
        self.entries
            .next()
            .map(|entry| (entry.name.as_str(), record.outcome(entry)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    #[test]
    fn keeps_recording_order_and_replaces_in_place() {
        let mut record = Dependencies::new();
        record
            .record_success("auth")
            .record_failure("lock", Failure::rejected(StatusCode::LOCKED))
            .record_success(String::from("inventory"));
        record.record_success("lock");
        let names: Vec<_> = record.iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["auth", "lock", "inventory"]);
        assert!(record.get("lock").unwrap().is_success());
        assert!(record.root_cause().is_none());
    }

    #[test]
    fn root_cause_is_the_first_failure_recorded() {
        let mut record = Dependencies::new();
        record
            .record_failure("first", Failure::rejected(StatusCode::FORBIDDEN))
            .record_skipped("dependent", "first")
            .record_failure("second", Failure::timeout());
        let (name, failure) = record.root_cause().unwrap();
        assert_eq!(name, "first");
        assert_eq!(
            failure.kind(),
            crate::outcome::FailureKind::Rejected(StatusCode::FORBIDDEN)
        );
        assert_eq!(record.skipped().collect::<Vec<_>>(), ["dependent"]);
    }

    #[test]
    fn the_cause_of_a_skip_follows_its_chain_to_the_failure() {
        let mut record = Dependencies::new();
        record
            .record_failure("analytics", Failure::unavailable())
            .record_failure("auth", Failure::rejected(StatusCode::FORBIDDEN))
            .record_skipped("inventory", "auth")
            .record_skipped("payment", "inventory")
            .record_skipped("loop", "loop");
        let (name, failure) = record.cause_of("payment").unwrap();
        assert_eq!(name, "auth");
        assert_eq!(failure.dependency_status(), Some(StatusCode::FORBIDDEN));
        assert_eq!(record.cause_of("loop").unwrap().0, "analytics");
        assert_eq!(record.cause_of("auth").unwrap().0, "auth");
    }

    #[test]
    fn lookups_find_names_wherever_they_were_recorded() {
        let mut record = Dependencies::new();
        record
            .record_success("a")
            .record_success(String::from("b"))
            .record_failure("c", Failure::timeout());
        assert_eq!(record.find_from(1, "b").map(|(at, _)| at), Some(1));
        assert_eq!(record.find_from(0, "c").map(|(at, _)| at), Some(2));
        assert_eq!(record.find_from(7, "a").map(|(at, _)| at), Some(0));
        assert!(record.find_from(0, "bb").is_none());
        assert!(record.get(&String::from("c")).is_some());
    }

    #[test]
    fn a_name_recorded_again_is_replaced_whatever_shares_its_bit() {
        // Some of these names share a bit: then the search decides. An
        // owned spelling is the same name as the static one.
        let mut record = Dependencies::new();
        let names = ["ab", "a", "b", "ba", "abab", "axb", ""];
        for name in names {
            record.record_failure(name, Failure::timeout());
        }
        for name in names {
            record.record_success(String::from(name));
        }
        assert_eq!(record.len(), names.len());
        assert!(record.iter().all(|(_, outcome)| outcome.is_success()));
        let recorded: Vec<_> = record.iter().map(|(name, _)| name).collect();
        assert_eq!(recorded, names);
    }

    #[test]
    fn a_record_of_eight_successes_is_small_and_keeps_no_outcome() {
        let mut record = Dependencies::new();
        for name in ["a", "b", "c", "d", "e", "f", "g", "h"] {
            record.record_success(name);
        }
        assert!(!record.entries.spilled());
        assert!(record.others.is_empty());
        assert!(std::mem::size_of::<Dependencies>() <= 256);
    }

    #[test]
    fn an_outcome_recorded_again_takes_the_place_of_the_last() {
        let mut record = Dependencies::new();
        record
            .record_failure("lock", Failure::timeout())
            .record_skipped("lock", "auth");
        assert!(
            matches!(record.get("lock"), Some(Outcome::Skipped { because }) if because == "auth")
        );
        record.record_success("lock");
        assert!(record.get("lock").unwrap().is_success());
        record.record_failure("lock", Failure::unavailable());
        assert_eq!(
            record
                .root_cause()
                .map(|(name, failure)| (name, failure.kind())),
            Some(("lock", crate::FailureKind::Unavailable))
        );
        assert_eq!(record.len(), 1);
    }

    #[test]
    fn unknown_names_have_no_outcome() {
        assert!(Dependencies::new().get("auth").is_none());
        assert!(Dependencies::new().is_empty());
    }
}
