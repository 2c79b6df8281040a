//! [`IdempotencyKey`]: the value of an `Idempotency-Key` header, and of each
//! member of `Depends-On`.

use std::fmt;

use http::header::GetAll;
use http::HeaderValue;

/// An idempotency key: 1 to [`MAX_LEN`](Self::MAX_LEN) characters of
/// printable ASCII.
///
/// The header is an RFC 8941 sf-string (`Idempotency-Key: "8e03978e"`), but
/// most clients send the key bare (`Idempotency-Key: 8e03978e`), which is
/// not one. Both are read, as the same key: a quoted string (space and
/// printable ASCII, `\"` and `\\` escaped), or a bare run of visible ASCII
/// without `"` or `,`. Refused: an empty key, a control or non-ASCII byte,
/// more than 255 characters, several keys (a `,` outside quotes, or the
/// header sent twice), and anything after a closing quote.
///
/// ```
/// use tower_failed_dependency::idempotency::{IdempotencyKey, KeyError};
///
/// let quoted = IdempotencyKey::parse(br#""8e03978e-40d5""#).unwrap();
/// let bare = IdempotencyKey::parse(b"8e03978e-40d5").unwrap();
/// assert_eq!(quoted, bare);
/// assert_eq!(bare.as_str(), "8e03978e-40d5");
/// assert_eq!(IdempotencyKey::parse(b"a, b"), Err(KeyError::Several));
/// assert_eq!(IdempotencyKey::parse(br#""""#), Err(KeyError::Empty));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(Box<str>);

/// Why a key was refused (answered 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key is empty.
    #[error("the key is empty")]
    Empty,
    /// The key is longer than 255 characters.
    #[error("the key is longer than {} characters", IdempotencyKey::MAX_LEN)]
    TooLong,
    /// The key holds a byte that is neither printable ASCII nor a valid
    /// escape, or a quoted string is not closed or is followed by more.
    #[error("the key is neither a quoted string nor a bare run of visible ASCII")]
    Malformed,
    /// More than one key was sent.
    #[error("more than one key was sent")]
    Several,
}

impl IdempotencyKey {
    /// The longest key, in characters (Stripe's bound).
    pub const MAX_LEN: usize = 255;

    /// Reads one header value (surrounding spaces and tabs ignored).
    ///
    /// # Errors
    ///
    /// See [`KeyError`].
    pub fn parse(value: &[u8]) -> Result<Self, KeyError> {
        let mut at = skip_space(value, 0);
        if at == value.len() {
            return Err(KeyError::Empty);
        }
        let key = member(value, &mut at)?;
        at = skip_space(value, at);
        match value.get(at) {
            None => Ok(key),
            Some(b',') => Err(KeyError::Several),
            Some(_) => Err(KeyError::Malformed),
        }
    }

    /// The key of a request whose `Idempotency-Key` lines are `values`:
    /// none when there is no line.
    ///
    /// # Errors
    ///
    /// [`KeyError::Several`] when there is more than one line, and the
    /// errors of [`parse`](Self::parse).
    pub fn from_header(values: GetAll<'_, HeaderValue>) -> Result<Option<Self>, KeyError> {
        let mut lines = values.iter();
        let Some(first) = lines.next() else {
            return Ok(None);
        };
        if lines.next().is_some() {
            return Err(KeyError::Several);
        }
        Self::parse(first.as_bytes()).map(Some)
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({:?})", self.0)
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for IdempotencyKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The index of the first byte at or after `at` that is not a space or tab.
pub(super) fn skip_space(value: &[u8], mut at: usize) -> usize {
    while matches!(value.get(at), Some(b' ' | b'\t')) {
        at += 1;
    }
    at
}

/// One key starting at `*at`, quoted or bare; `*at` is left after it.
pub(super) fn member(value: &[u8], at: &mut usize) -> Result<IdempotencyKey, KeyError> {
    let mut key = String::new();
    if value.get(*at) == Some(&b'"') {
        *at += 1;
        loop {
            match value.get(*at) {
                None => return Err(KeyError::Malformed),
                Some(b'"') => {
                    *at += 1;
                    break;
                }
                Some(b'\\') => match value.get(*at + 1) {
                    Some(&escaped @ (b'"' | b'\\')) => {
                        key.push(char::from(escaped));
                        *at += 2;
                    }
                    _ => return Err(KeyError::Malformed),
                },
                Some(&byte @ 0x20..=0x7e) => {
                    key.push(char::from(byte));
                    *at += 1;
                }
                Some(_) => return Err(KeyError::Malformed),
            }
            if key.len() > IdempotencyKey::MAX_LEN {
                return Err(KeyError::TooLong);
            }
        }
    } else {
        while let Some(&byte) = value.get(*at) {
            match byte {
                b' ' | b'\t' | b',' => break,
                b'"' => return Err(KeyError::Malformed),
                0x21..=0x7e => key.push(char::from(byte)),
                _ => return Err(KeyError::Malformed),
            }
            *at += 1;
            if key.len() > IdempotencyKey::MAX_LEN {
                return Err(KeyError::TooLong);
            }
        }
    }
    if key.is_empty() {
        return Err(KeyError::Empty);
    }
    Ok(IdempotencyKey(key.into_boxed_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_and_bare_spellings_are_one_key() {
        let cases: [&[u8]; 4] = [b"abc-1", b"\"abc-1\"", b"  abc-1\t", b" \"abc-1\" "];
        for case in cases {
            assert_eq!(IdempotencyKey::parse(case).unwrap().as_str(), "abc-1");
        }
        let escaped = IdempotencyKey::parse(br#""a \"b\" \\c""#).unwrap();
        assert_eq!(escaped.as_str(), r#"a "b" \c"#);
    }

    #[test]
    fn what_is_refused() {
        let cases: [(&[u8], KeyError); 10] = [
            (b"", KeyError::Empty),
            (b"  ", KeyError::Empty),
            (b"\"\"", KeyError::Empty),
            (b"a b", KeyError::Malformed),
            (b"\"abc", KeyError::Malformed),
            (b"\"a\";p=1", KeyError::Malformed),
            (b"a\x01", KeyError::Malformed),
            (b"caf\xc3\xa9", KeyError::Malformed),
            (b"\"a\", \"b\"", KeyError::Several),
            (b"a,b", KeyError::Several),
        ];
        for (value, error) in cases {
            assert_eq!(
                IdempotencyKey::parse(value),
                Err(error),
                "{}",
                String::from_utf8_lossy(value)
            );
        }
    }

    #[test]
    fn the_length_is_bounded() {
        let longest = "k".repeat(IdempotencyKey::MAX_LEN);
        assert!(IdempotencyKey::parse(longest.as_bytes()).is_ok());
        let quoted = format!("\"{longest}\"");
        assert!(IdempotencyKey::parse(quoted.as_bytes()).is_ok());
        let over = "k".repeat(IdempotencyKey::MAX_LEN + 1);
        assert_eq!(
            IdempotencyKey::parse(over.as_bytes()),
            Err(KeyError::TooLong)
        );
        let quoted = format!("\"{over}\"");
        assert_eq!(
            IdempotencyKey::parse(quoted.as_bytes()),
            Err(KeyError::TooLong)
        );
    }

    #[test]
    fn two_header_lines_are_several_keys() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(
            IdempotencyKey::from_header(headers.get_all("idempotency-key")),
            Ok(None)
        );
        headers.append("idempotency-key", HeaderValue::from_static("a"));
        headers.append("idempotency-key", HeaderValue::from_static("b"));
        assert_eq!(
            IdempotencyKey::from_header(headers.get_all("idempotency-key")),
            Err(KeyError::Several)
        );
    }
}
