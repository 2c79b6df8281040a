//! [`DependsOn`]: the keyed requests a request depends on, from its
//! `Depends-On` header.

use http::header::GetAll;
use http::HeaderValue;

use super::key::{member, skip_space, IdempotencyKey, KeyError};

/// The keys a request names in `Depends-On` (an RFC 8941 sf-list of
/// sf-strings, `Depends-On: "k1", "k2"`), in order, each once.
///
/// Each member is read as an [`IdempotencyKey`] (quoted or bare); several
/// header lines are one list, as RFC 9110 §5.3 combines them. An empty list
/// is no list. At most a configured number of keys are read
/// ([`IdempotencyLayer::max_depends_on`](super::IdempotencyLayer::max_depends_on),
/// default [`DependsOn::DEFAULT_MAX`]).
///
/// ```
/// use tower_failed_dependency::idempotency::DependsOn;
///
/// let keys = DependsOn::parse([&br#""k1", k2 ,"k1""#[..]], 8).unwrap();
/// let names: Vec<&str> = keys.iter().map(|key| key.as_str()).collect();
/// assert_eq!(names, ["k1", "k2"]);
/// assert!(DependsOn::parse([&b"a, b, c"[..]], 2).is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DependsOn {
    keys: Vec<IdempotencyKey>,
}

/// Why a `Depends-On` header was refused (answered 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DependsOnError {
    /// More keys than the layer reads.
    #[error("more than {max} keys are named")]
    TooMany {
        /// The most keys read.
        max: usize,
    },
    /// A member is not a key.
    #[error("member {position} is not a key: {error}")]
    Key {
        /// Its position, from 1.
        position: usize,
        /// What is wrong with it.
        error: KeyError,
    },
}

impl DependsOn {
    /// The most keys read by default.
    pub const DEFAULT_MAX: usize = 8;

    /// Reads the header lines `values`, reading at most `max` keys.
    ///
    /// # Errors
    ///
    /// A member that is not a key (a trailing or doubled comma is an empty
    /// one), or more than `max` distinct keys.
    pub fn parse<'a>(
        values: impl IntoIterator<Item = &'a [u8]>,
        max: usize,
    ) -> Result<Self, DependsOnError> {
        let mut keys: Vec<IdempotencyKey> = Vec::new();
        let mut position = 0;
        for value in values {
            let mut at = skip_space(value, 0);
            if at == value.len() {
                continue;
            }
            loop {
                position += 1;
                let refused = |error| DependsOnError::Key { position, error };
                let key = member(value, &mut at).map_err(refused)?;
                if !keys.contains(&key) {
                    if keys.len() == max {
                        return Err(DependsOnError::TooMany { max });
                    }
                    keys.push(key);
                }
                at = skip_space(value, at);
                match value.get(at) {
                    None => break,
                    Some(b',') => at = skip_space(value, at + 1),
                    Some(_) => return Err(refused(KeyError::Malformed)),
                }
            }
        }
        Ok(Self { keys })
    }

    /// Reads a request's `Depends-On` lines.
    ///
    /// # Errors
    ///
    /// As [`parse`](Self::parse).
    pub fn from_header(
        values: GetAll<'_, HeaderValue>,
        max: usize,
    ) -> Result<Self, DependsOnError> {
        Self::parse(values.iter().map(HeaderValue::as_bytes), max)
    }

    /// The keys, in the order named.
    pub fn iter(&self) -> std::slice::Iter<'_, IdempotencyKey> {
        self.keys.iter()
    }

    /// Whether no key is named.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// How many keys are named.
    pub fn len(&self) -> usize {
        self.keys.len()
    }
}

impl<'a> IntoIterator for &'a DependsOn {
    type Item = &'a IdempotencyKey;
    type IntoIter = std::slice::Iter<'a, IdempotencyKey>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(values: &[&str], max: usize) -> Result<Vec<String>, DependsOnError> {
        DependsOn::parse(values.iter().map(|value| value.as_bytes()), max)
            .map(|keys| keys.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn lists_and_lines_combine() {
        assert_eq!(
            names(&[r#""k1", "k2""#, "k3"], 8).unwrap(),
            ["k1", "k2", "k3"]
        );
        assert_eq!(names(&["", "  "], 8).unwrap(), Vec::<String>::new());
        assert_eq!(names(&["a,a,a"], 1).unwrap(), ["a"]);
    }

    #[test]
    fn malformed_members_are_refused_with_their_position() {
        let refused = |value: &str| names(&[value], 8).unwrap_err();
        assert_eq!(
            refused("a,,b"),
            DependsOnError::Key {
                position: 2,
                error: KeyError::Empty
            }
        );
        assert_eq!(
            refused("a, "),
            DependsOnError::Key {
                position: 2,
                error: KeyError::Empty
            }
        );
        assert_eq!(
            refused(r#""a" "b""#),
            DependsOnError::Key {
                position: 1,
                error: KeyError::Malformed
            }
        );
        assert_eq!(
            names(&["a, b, c"], 2).unwrap_err(),
            DependsOnError::TooMany { max: 2 }
        );
    }
}
