//! Serializing a problem to JSON in a body of exactly its size.
//!
//! A problem the crate renders is written member by member by
//! [`object_to_json`]: its names and most of its values are text that needs
//! no escaping, so a string is checked for the few bytes JSON escapes in one
//! vectorizable pass and copied whole; only a string that holds one goes
//! through `serde_json`'s escaping. Anything else (`serde_json::Value`s,
//! arrays, a `Problem` the policy's hook edited) is written by `serde_json`.

use std::cell::RefCell;

use bytes::Bytes;
use http::StatusCode;
use serde::ser::SerializeMap;
use serde::Serialize;

/// A scratch buffer larger than this is not kept for the next problem.
const SCRATCH_KEPT: usize = 16 * 1024;

thread_local! {
    // Serializing into a reused buffer and copying the result out gives a
    // body allocated once at its exact size: a `Vec` whose length equals its
    // capacity becomes `Bytes` without a realloc or a shared header.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Serializes `value` as JSON into a buffer of exactly its length.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Bytes {
    in_scratch(|buffer| serde_json::to_writer(buffer, value))
}

/// Writes the JSON object `write` fills in, into a buffer of exactly its
/// length.
///
/// Should `write` fail (a value's `Serialize` refusing), the body is an
/// empty object: still a valid problem, and nothing half-written reaches the
/// client.
pub(crate) fn object_to_json(
    write: impl FnOnce(&mut JsonObject<'_>) -> Result<(), serde_json::Error>,
) -> Bytes {
    in_scratch(|buffer| {
        let mut object = JsonObject::begin(buffer);
        write(&mut object)?;
        object.end();
        Ok(())
    })
}

fn in_scratch(write: impl FnOnce(&mut Vec<u8>) -> Result<(), serde_json::Error>) -> Bytes {
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut buffer) => {
            buffer.clear();
            let bytes = written(&mut buffer, write);
            if buffer.capacity() > SCRATCH_KEPT {
                *buffer = Vec::new();
            }
            bytes
        }
        Err(_) => written(&mut Vec::new(), write),
    })
}

fn written(
    buffer: &mut Vec<u8>,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), serde_json::Error>,
) -> Bytes {
    match write(buffer) {
        Ok(()) => Bytes::copy_from_slice(buffer),
        // The crate serializes only string-keyed maps of strings, numbers and
        // `serde_json::Value`s, which cannot fail. Were it ever to, an empty
        // object is still a valid problem (every member is optional).
        Err(_) => Bytes::from_static(b"{}"),
    }
}

/// The name of a member: one of the crate's own, spelled for the wire when
/// the crate is compiled ([`key!`]), or any other, escaped as it is written.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Key<'a> {
    Own {
        name: &'static str,
        /// `,"name":`.
        wire: &'static str,
    },
    Other(&'a str),
}

impl<'a> Key<'a> {
    /// One of the crate's own names; made by [`key!`], which checks at
    /// compile time that it needs no escaping.
    pub(crate) const fn own(name: &'static str, wire: &'static str) -> Self {
        assert!(
            needs_no_escape(name),
            "a member name the crate writes as it is"
        );
        Key::Own { name, wire }
    }

    /// The name as it reads.
    pub(crate) fn name(self) -> &'a str {
        match self {
            Key::Own { name, .. } => name,
            Key::Other(name) => name,
        }
    }
}

impl<'a> From<&'a str> for Key<'a> {
    fn from(name: &'a str) -> Self {
        Key::Other(name)
    }
}

/// One of the crate's own member names, as a [`Key`] spelled for the wire at
/// compile time.
macro_rules! key {
    ($name:literal) => {
        const { $crate::problem::Key::own($name, concat!(",\"", $name, "\":")) }
    };
}
pub(crate) use key;

/// Text to write as (part of) a JSON string: known to need no escaping (the
/// crate's own, checked at compile time by [`piece!`], or from the status
/// tables), or any other, checked as it is written.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Piece<'a> {
    Plain(&'a str),
    Other(&'a str),
}

impl<'a> Piece<'a> {
    /// The crate's own text; made by [`piece!`], which checks at compile time
    /// that it needs no escaping.
    pub(crate) const fn own(text: &'a str) -> Self {
        assert!(needs_no_escape(text), "text the crate writes as it is");
        Piece::Plain(text)
    }

    /// Text from the static tables of status codes and reason phrases
    /// (`StatusCode::as_str`, [`reason_phrase`](super::reason_phrase)),
    /// which a test checks need no escaping.
    pub(crate) fn of_table(text: &'a str) -> Self {
        Piece::Plain(text)
    }

    fn text(self) -> &'a str {
        match self {
            Piece::Plain(text) => text,
            Piece::Other(text) => text,
        }
    }
}

impl<'a> From<&'a str> for Piece<'a> {
    fn from(text: &'a str) -> Self {
        Piece::Other(text)
    }
}

/// The crate's own text, as a [`Piece`] checked at compile time.
macro_rules! piece {
    ($text:expr) => {
        const { $crate::problem::Piece::own($text) }
    };
}
pub(crate) use piece;

/// The members of a JSON object, written in the order they are given: by
/// [`JsonObject`] straight into a body, or by [`SerdeMap`] into any serde
/// map. Names are not checked for duplicates: the caller writes each once.
pub(crate) trait Members {
    type Error;

    /// `"name":"value"`.
    fn text<'v>(&mut self, key: Key<'_>, value: impl Into<Piece<'v>>) -> Result<(), Self::Error>;

    /// `"name":"…"`, the string being `pieces` one after the other.
    fn joined(&mut self, key: Key<'_>, pieces: &[Piece<'_>]) -> Result<(), Self::Error>;

    /// `"name":` and the status as a number.
    fn status(&mut self, key: Key<'_>, status: StatusCode) -> Result<(), Self::Error>;

    /// `"name":true` or `"name":false`.
    fn flag(&mut self, key: Key<'_>, value: bool) -> Result<(), Self::Error>;

    /// `"name":` and `value` as serde writes it.
    fn value<T: Serialize + ?Sized>(&mut self, key: Key<'_>, value: &T) -> Result<(), Self::Error>;
}

/// A JSON object being written into a buffer.
///
/// Every member is written with the comma that separates it from the one
/// before; the first member's comma becomes the object's `{` when it ends.
pub(crate) struct JsonObject<'a> {
    buffer: &'a mut Vec<u8>,
    start: usize,
}

impl<'a> JsonObject<'a> {
    fn begin(buffer: &'a mut Vec<u8>) -> Self {
        let start = buffer.len();
        Self { buffer, start }
    }

    fn end(self) {
        match self.buffer.get_mut(self.start) {
            Some(comma) => *comma = b'{',
            None => self.buffer.push(b'{'),
        }
        self.buffer.push(b'}');
    }

    // Inlined, so that writing one of the crate's own names is one copy.
    #[inline]
    fn name(&mut self, key: Key<'_>) {
        match key {
            Key::Own { wire, .. } => self.buffer.extend_from_slice(wire.as_bytes()),
            Key::Other(name) => self.other_name(name),
        }
    }

    #[inline(never)]
    fn other_name(&mut self, name: &str) {
        self.buffer.push(b',');
        json_string(self.buffer, name);
        self.buffer.push(b':');
    }
}

impl Members for JsonObject<'_> {
    type Error = serde_json::Error;

    fn text<'v>(&mut self, key: Key<'_>, value: impl Into<Piece<'v>>) -> Result<(), Self::Error> {
        self.name(key);
        match value.into() {
            Piece::Plain(text) => quoted(self.buffer, text),
            Piece::Other(text) => json_string(self.buffer, text),
        }
        Ok(())
    }

    fn joined(&mut self, key: Key<'_>, pieces: &[Piece<'_>]) -> Result<(), Self::Error> {
        self.name(key);
        let checked = |piece: &Piece<'_>| match piece {
            Piece::Plain(_) => true,
            Piece::Other(text) => plain(text),
        };
        if pieces.iter().all(checked) {
            self.buffer.push(b'"');
            for piece in pieces {
                self.buffer.extend_from_slice(piece.text().as_bytes());
            }
            self.buffer.push(b'"');
        } else {
            json_string(self.buffer, &concat(pieces));
        }
        Ok(())
    }

    fn status(&mut self, key: Key<'_>, status: StatusCode) -> Result<(), Self::Error> {
        self.name(key);
        self.buffer.extend_from_slice(status.as_str().as_bytes());
        Ok(())
    }

    fn flag(&mut self, key: Key<'_>, value: bool) -> Result<(), Self::Error> {
        self.name(key);
        let literal: &[u8] = if value { b"true" } else { b"false" };
        self.buffer.extend_from_slice(literal);
        Ok(())
    }

    fn value<T: Serialize + ?Sized>(&mut self, key: Key<'_>, value: &T) -> Result<(), Self::Error> {
        self.name(key);
        serde_json::to_writer(&mut *self.buffer, value)
    }
}

/// The members of a serde map being serialized.
pub(crate) struct SerdeMap<M>(pub(crate) M);

impl<M: SerializeMap> Members for SerdeMap<M> {
    type Error = M::Error;

    fn text<'v>(&mut self, key: Key<'_>, value: impl Into<Piece<'v>>) -> Result<(), Self::Error> {
        self.0.serialize_entry(key.name(), value.into().text())
    }

    fn joined(&mut self, key: Key<'_>, pieces: &[Piece<'_>]) -> Result<(), Self::Error> {
        self.0.serialize_entry(key.name(), &concat(pieces))
    }

    fn status(&mut self, key: Key<'_>, status: StatusCode) -> Result<(), Self::Error> {
        self.0.serialize_entry(key.name(), &status.as_u16())
    }

    fn flag(&mut self, key: Key<'_>, value: bool) -> Result<(), Self::Error> {
        self.0.serialize_entry(key.name(), &value)
    }

    fn value<T: Serialize + ?Sized>(&mut self, key: Key<'_>, value: &T) -> Result<(), Self::Error> {
        self.0.serialize_entry(key.name(), value)
    }
}

fn concat(pieces: &[Piece<'_>]) -> String {
    pieces.iter().map(|piece| piece.text()).collect()
}

/// Writes `text` as a JSON string: copied as it is between quotes when
/// nothing in it is escaped (the usual case), else as serde_json writes it.
#[inline]
pub(crate) fn json_string(buffer: &mut Vec<u8>, text: &str) {
    if plain(text) {
        quoted(buffer, text);
    } else {
        // A `str` is always serializable, and a `Vec` always takes it.
        let _ = serde_json::to_writer(&mut *buffer, text);
    }
}

/// Writes `text`, which needs no escaping, as a JSON string.
fn quoted(buffer: &mut Vec<u8>, text: &str) {
    buffer.reserve(text.len() + 2);
    buffer.push(b'"');
    buffer.extend_from_slice(text.as_bytes());
    buffer.push(b'"');
}

/// Whether `text` holds none of the bytes a JSON string escapes (`"`, `\`
/// and the controls below U+0020; every other character, non-ASCII
/// included, is written as it is).
///
/// Problem text is short and almost never escaped, so it is read eight bytes
/// at a time rather than byte by byte: a string of 4 to 7 bytes is read as
/// two overlapping halves of one word, a longer one word by word with its
/// last word overlapping the one before.
fn plain(text: &str) -> bool {
    let bytes = text.as_bytes();
    let len = bytes.len();
    let last = match len {
        0 => return true,
        1..=3 => u64::from_le_bytes([
            bytes[0],
            bytes[len / 2],
            bytes[len - 1],
            b' ',
            b' ',
            b' ',
            b' ',
            b' ',
        ]),
        4..=7 => u64::from(half_at(bytes, 0)) | u64::from(half_at(bytes, len - 4)) << 32,
        _ => {
            let words = bytes.chunks_exact(8);
            let found = words.fold(0, |found, word| found | escapes(word_of(word)));
            if found != 0 {
                return false;
            }
            word_of(&bytes[len - 8..])
        }
    };
    escapes(last) == 0
}

/// The high bit of each byte of `word` that JSON escapes (and perhaps of
/// the bytes above one that is, which does not matter to a yes or no).
fn escapes(word: u64) -> u64 {
    const ONES: u64 = u64::MAX / 0xff;
    // A byte is zero where `word` holds `byte`.
    let zero_where = |byte: u8| {
        let x = word ^ (ONES * u64::from(byte));
        x.wrapping_sub(ONES) & !x
    };
    let below_space = word.wrapping_sub(ONES * 0x20) & !word;
    (below_space | zero_where(b'"') | zero_where(b'\\')) & (ONES * 0x80)
}

/// [`plain`], byte by byte, for names checked at compile time.
const fn needs_no_escape(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let b = bytes[at];
        if b < 0x20 || b == b'"' || b == b'\\' {
            return false;
        }
        at += 1;
    }
    true
}

// The callers read only what is there. Were a word or half missing, it
// would read as zero bytes, which are escaped: the text would go through
// serde_json, never out unescaped.

fn word_of(bytes: &[u8]) -> u64 {
    bytes
        .first_chunk()
        .map_or(0, |word| u64::from_le_bytes(*word))
}

fn half_at(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..)
        .and_then(<[u8]>::first_chunk)
        .map_or(0, |half| u32::from_le_bytes(*half))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn json_body_is_exactly_sized() {
        let bytes = to_json(&serde_json::json!({"title": "x".repeat(300)}));
        assert_eq!(bytes.len(), 312);
        assert_eq!(&bytes[..10], b"{\"title\":\"");
    }

    #[test]
    fn a_large_scratch_buffer_is_not_kept() {
        let big = "y".repeat(SCRATCH_KEPT * 2);
        assert_eq!(to_json(&big).len(), big.len() + 2);
        SCRATCH.with(|s| assert!(s.borrow().capacity() <= SCRATCH_KEPT));
    }

    #[test]
    fn an_object_is_written_member_by_member_and_escaped_where_needed() {
        let bytes = object_to_json(|object| {
            object.text(key!("title"), "Failed Dependency")?;
            object.status(key!("status"), StatusCode::FAILED_DEPENDENCY)?;
            object.joined(
                key!("detail"),
                &[
                    piece!("The prerequisite '"),
                    Piece::Other("a\"b"),
                    piece!("' was refused"),
                ],
            )?;
            object.text("quote\"d".into(), "tab\there, \\ and \u{1} and é")?;
            object.flag("retryable".into(), false)?;
            object.value(key!("skipped"), &["x", "y"])
        });
        let parsed: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            parsed,
            json!({
                "title": "Failed Dependency",
                "status": 424,
                "detail": "The prerequisite 'a\"b' was refused",
                "quote\"d": "tab\there, \\ and \u{1} and é",
                "retryable": false,
                "skipped": ["x", "y"],
            })
        );
        // What needs no escaping is written as it is.
        assert!(bytes.starts_with(br#"{"title":"Failed Dependency","status":424,"#));
    }

    #[test]
    fn an_empty_object_and_every_byte_below_a_space() {
        assert_eq!(&object_to_json(|_| Ok(()))[..], b"{}");
        let controls: String = (0u8..0x20).map(char::from).collect();
        let bytes = object_to_json(|object| object.text("c".into(), controls.as_str()));
        let parsed: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(parsed["c"], controls.as_str());
    }

    #[test]
    fn the_status_tables_need_no_escaping() {
        for code in 100..1000 {
            let status = StatusCode::from_u16(code).unwrap();
            assert!(needs_no_escape(status.as_str()), "{code}");
            if let Some(phrase) = super::super::reason_phrase(status) {
                assert!(needs_no_escape(phrase), "{phrase}");
            }
        }
    }

    #[test]
    fn plain_text_is_told_from_text_to_escape_at_every_length_and_place() {
        let escaped = |text: &str| !needs_no_escape(text);
        // Bytes on either side of the escaped ones, multi-byte characters
        // and the escaped bytes themselves, at every place of every length
        // the word-wise reading treats differently.
        let fillers = ["a", " ", "!", "#", "[", "]", "\u{7f}", "é", "€"];
        let specials = ["\u{0}", "\u{1f}", "\"", "\\", "\n"];
        for len in 0..40 {
            for filler in fillers {
                let text = filler.repeat(len);
                assert_eq!(plain(&text), !escaped(&text), "{text:?}");
                for at in 0..len {
                    for special in specials {
                        let mut text: Vec<&str> = vec![filler; len];
                        text[at] = special;
                        let text = text.concat();
                        assert!(!plain(&text), "{text:?}");
                        assert!(!needs_no_escape(&text), "{text:?}");
                    }
                }
            }
        }
    }
}
