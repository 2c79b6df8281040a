//! The name of a prerequisite: [`Name`].
//!
//! A name is what a [`Dependencies`](crate::Dependencies) record, a
//! requirement and a problem's `dependency` member say. Most names are
//! literals, which a `Name` keeps as a borrowed `&'static str`: building,
//! cloning and comparing one costs no allocation, and two copies of the
//! same literal compare by address. A name made at run time (a batch part's
//! id, a name read from configuration) is shared behind one reference
//! count, so cloning it does not copy its text either.
//!
//! ```
//! use tower_failed_dependency::Name;
//!
//! let auth = Name::from("auth");
//! assert_eq!(auth, "auth");
//! assert_eq!(auth.len(), 4); // a `Name` is a `str` where one is read
//!
//! let part = Name::from(format!("part-{}", 7));
//! assert_eq!(part.as_str(), "part-7");
//! assert_eq!(Name::from_static("part-7"), part);
//! ```

use std::borrow::{Borrow, Cow};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use arcstr::ArcStr;

/// The name of a prerequisite: a static string (kept as it is) or an owned
/// one (shared behind a reference count).
///
/// Sixteen bytes either way, so that a record of names stays small; it
/// dereferences to `str`, and converts from `&'static str`, `String`,
/// `Box<str>` and `Cow<'static, str>`. Equality, ordering and hashing are
/// those of the text.
///
/// ```
/// use std::collections::HashSet;
/// use tower_failed_dependency::Name;
///
/// let names: HashSet<Name> = ["auth", "inventory"].into_iter().map(Name::from).collect();
/// assert!(names.contains("auth")); // looked up by `&str`
/// assert_eq!(Name::from(String::from("inventory")).to_string(), "inventory");
/// ```
#[derive(Clone)]
pub struct Name(Repr);

#[derive(Clone)]
enum Repr {
    Static(&'static str),
    // `ArcStr`, not `Arc<str>`: its thin pointer keeps the name at 16
    // bytes, and its count and text share one allocation.
    Shared(ArcStr),
}

impl Name {
    /// A name for a static string; usable in `const` items.
    ///
    /// ```
    /// use tower_failed_dependency::Name;
    ///
    /// const AUTH: Name = Name::from_static("auth");
    /// assert_eq!(AUTH, "auth");
    /// ```
    pub const fn from_static(name: &'static str) -> Self {
        Self(Repr::Static(name))
    }

    /// A name for text that is not static: the text is copied, once, into
    /// one allocation that holds it with its reference count.
    ///
    /// ```
    /// use tower_failed_dependency::Name;
    ///
    /// let id = String::from("part-7");
    /// let name = Name::copied(&id);
    /// assert_eq!(name, "part-7");
    /// assert_eq!(name.clone(), name); // a clone shares the text
    /// ```
    pub fn copied(name: &str) -> Self {
        Self(Repr::Shared(ArcStr::from(name)))
    }

    /// The name as a string slice.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(name) => name,
            Repr::Shared(name) => name,
        }
    }

    /// Whether `self` and `other` are the same name. Two names made from the
    /// same static string compare by address, without reading their text.
    pub(crate) fn same_as(&self, other: &str) -> bool {
        same_name(self.as_str(), other)
    }
}

/// Name equality, with a shortcut for the common case of the same static
/// string on both sides.
#[inline]
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
}

impl Default for Name {
    /// The empty name.
    fn default() -> Self {
        Self::from_static("")
    }
}

impl Deref for Name {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&'static str> for Name {
    fn from(name: &'static str) -> Self {
        Self::from_static(name)
    }
}

impl From<String> for Name {
    fn from(name: String) -> Self {
        Self::copied(&name)
    }
}

impl From<Box<str>> for Name {
    fn from(name: Box<str>) -> Self {
        Self::copied(&name)
    }
}

impl From<Cow<'static, str>> for Name {
    fn from(name: Cow<'static, str>) -> Self {
        match name {
            Cow::Borrowed(name) => Self::from_static(name),
            Cow::Owned(name) => Self::from(name),
        }
    }
}

impl From<&Name> for Name {
    fn from(name: &Name) -> Self {
        name.clone()
    }
}

impl From<Name> for String {
    fn from(name: Name) -> Self {
        match name.0 {
            Repr::Static(name) => name.to_owned(),
            Repr::Shared(name) => name.to_string(),
        }
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.same_as(other)
    }
}

impl Eq for Name {}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.same_as(other)
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.same_as(other)
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        self.same_as(other)
    }
}

impl PartialEq<Name> for str {
    fn eq(&self, other: &Name) -> bool {
        other.same_as(self)
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        other.same_as(self)
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_sixteen_bytes_whatever_it_holds() {
        assert_eq!(std::mem::size_of::<Name>(), 16);
    }

    #[test]
    fn static_and_owned_spellings_are_the_same_name() {
        let owned = Name::from(String::from("auth"));
        assert_eq!(owned, Name::from("auth"));
        assert_eq!(owned.clone(), owned);
        assert_eq!(Name::from(Box::<str>::from("auth")), owned);
        assert_eq!(Name::from(Cow::Owned(String::from("auth"))), owned);
        assert_eq!(String::from(owned.clone()), "auth");
        assert_ne!(owned, Name::from("aut"));
        let mut sorted = [Name::from(String::from("b")), Name::from("a")];
        sorted.sort();
        assert_eq!(sorted, ["a", "b"]);
        assert_eq!(format!("{owned} {owned:?}"), "auth \"auth\"");
        assert!(Name::default().is_empty());
    }
}
