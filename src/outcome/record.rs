//! The per-request record of prerequisite outcomes: [`Dependencies`].
//!
//! Earlier layers, checks and handlers record what happened to each named
//! prerequisite in the record kept in the request's extensions; a
//! [`DependencyLayer`](crate::DependencyLayer) reads it to decide whether the
//! request may go on.
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

use std::borrow::Cow;

use smallvec::SmallVec;

use super::failure::Failure;

/// The name of a prerequisite: a static string (no allocation) or an owned one.
pub type Name = Cow<'static, str>;

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
#[derive(Debug, Clone, Default)]
pub struct Dependencies {
    entries: SmallVec<[(Name, Outcome); Dependencies::INLINE]>,
    /// One bit for each name recorded ([`bit`]): a name whose bit is clear
    /// was never recorded, so recording it needs no search for an earlier
    /// outcome to replace.
    seen: u64,
}

impl Dependencies {
    /// How many outcomes a record keeps without allocating: recording up to
    /// this many (a layer's usual prerequisites) costs no allocation; more
    /// move to the heap.
    pub const INLINE: usize = 8;

    /// An empty record. Does not allocate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `name` succeeded.
    pub fn record_success(&mut self, name: impl Into<Name>) -> &mut Self {
        self.record(name.into(), Outcome::Succeeded)
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
        let bit = bit(&name);
        let earlier = if self.seen & bit == 0 {
            None
        } else {
            self.entries
                .iter_mut()
                .find(|(known, _)| same_name(known, &name))
        };
        match earlier {
            Some((_, slot)) => *slot = outcome,
            None => self.entries.push((name, outcome)),
        }
        self.seen |= bit;
        self
    }

    /// The names and outcomes, in recording order.
    pub(crate) fn entries(&self) -> &[(Name, Outcome)] {
        &self.entries
    }

    /// The outcome recorded for `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Outcome> {
        self.find_from(0, name).map(|(_, outcome)| outcome)
    }

    /// Finds `name`, looking at position `hint` first, and returns its
    /// position with its outcome. Requirements are usually recorded in the
    /// order they are required, so a caller walking them passes the position
    /// after the previous match and mostly hits at once.
    pub(crate) fn find_from(&self, hint: usize, name: &str) -> Option<(usize, &Outcome)> {
        if let Some((known, outcome)) = self.entries.get(hint) {
            if same_name(known, name) {
                return Some((hint, outcome));
            }
        }
        self.entries
            .iter()
            .position(|(known, _)| same_name(known, name))
            .map(|at| (at, &self.entries[at].1))
    }

    /// Every recorded outcome, in recording order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            inner: self.entries.iter(),
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
                    return Some((&self.entries[index].0, failure));
                }
                Some((_, Outcome::Skipped { because })) => at = because.as_ref(),
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

/// Name equality, with a shortcut for the common case of the same static
/// string on both sides.
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
}

/// The bit of `name` in [`Dependencies::seen`], from its length and its
/// first and last bytes: names of a record rarely share all three, so a
/// new name is almost always recorded without a search.
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
    inner: std::slice::Iter<'a, (Name, Outcome)>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a Outcome);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner
            .next()
            .map(|(name, outcome)| (name.as_ref(), outcome))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
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
    fn unknown_names_have_no_outcome() {
        assert!(Dependencies::new().get("auth").is_none());
        assert!(Dependencies::new().is_empty());
    }
}
