//! The batch's answer on the wire: `{"responses": [...]}`, one member per
//! part, in request order.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::encoding::{answer_body, HeaderText};
use super::plan::Part;
use super::Dialect;

/// One part's answer, as it goes into the batch response.
#[derive(Debug)]
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
    /// For a part not run: the first failed part of its chain.
    pub(super) root: Option<usize>,
}

/// The batch response body: `{"responses": [...]}` in request order.
pub(super) struct Responses<'a> {
    pub(super) parts: &'a [Part],
    pub(super) answers: &'a [Answer],
    pub(super) dialect: Dialect,
}

impl Serialize for Responses<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("responses", &List(self))?;
        map.end()
    }
}

struct List<'a>(&'a Responses<'a>);

impl Serialize for List<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.parts.len()))?;
        for (part, answer) in self.0.parts.iter().zip(self.0.answers) {
            seq.serialize_element(&One {
                id: &part.id,
                answer,
                dialect: self.0.dialect,
            })?;
        }
        seq.end()
    }
}

struct One<'a> {
    id: &'a str,
    answer: &'a Answer,
    dialect: Dialect,
}

impl Serialize for One<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let answer = self.answer;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", self.id)?;
        map.serialize_entry("status", &answer.status.as_u16())?;
        map.serialize_entry("headers", &Headers(&answer.headers, self.dialect))?;
        if !answer.body.is_empty() {
            let body = answer_body(&answer.headers, &answer.body, self.dialect);
            map.serialize_entry("body", &body)?;
        }
        map.end()
    }
}

/// A part's headers: one member per name, in the dialect's spelling, its
/// values joined with `, ` and every byte kept.
struct Headers<'a>(&'a HeaderMap, Dialect);

impl Serialize for Headers<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Self(headers, dialect) = self;
        let mut map = serializer.serialize_map(Some(headers.keys_len()))?;
        let mut buffer = [0; 64];
        // A name's values come one after another, each with the name: it
        // is looked up again only when it has more than one.
        let mut each = headers.iter().peekable();
        while let Some((name, value)) = each.next() {
            // Most names are spelled in the buffer, and most headers have
            // one value of visible ASCII, which is its own text: both are
            // written as strings, without a formatter in between.
            let spelled = dialect.spelled(name);
            match spelled.text(&mut buffer) {
                Some(text) => map.serialize_key(text)?,
                None => map.serialize_key(&Written(spelled))?,
            }
            let alone = each.peek().is_none_or(|(next, _)| *next != name);
            match value.to_str() {
                Ok(text) if alone => map.serialize_value(text)?,
                _ => map.serialize_value(&Written(Joined(headers.get_all(name))))?,
            }
            while each.next_if(|(next, _)| *next == name).is_some() {}
        }
        map.end()
    }
}

/// A header's values joined with `, `, each as [`HeaderText`].
struct Joined<'a>(http::header::GetAll<'a, HeaderValue>);

impl std::fmt::Display for Joined<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, value) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}", HeaderText(value))?;
        }
        Ok(())
    }
}

/// Text written straight into the JSON string, escaped as it goes.
struct Written<T>(T);

impl<T: std::fmt::Display> Serialize for Written<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A part's headers written through the formatter, as they all were
    /// before the common ones were written as strings.
    struct Formatted<'a>(&'a HeaderMap, Dialect);

    impl Serialize for Formatted<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let Self(headers, dialect) = self;
            let mut map = serializer.serialize_map(Some(headers.keys_len()))?;
            for name in headers.keys() {
                map.serialize_entry(
                    &Written(dialect.spelled(name)),
                    &Written(Joined(headers.get_all(name))),
                )?;
            }
            map.end()
        }
    }

    #[test]
    fn headers_written_as_strings_read_as_the_formatted_ones() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("content-type", &b"application/json"[..]),
            ("etag", b"\"v1\""),
            ("x-raw", b"caf\xe9"),
            ("x-tab", b"a\tb"),
            ("set-cookie", b"a=1"),
            ("set-cookie", b"b=2"),
        ] {
            headers.append(
                http::HeaderName::from_static(name),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        let long = "x".repeat(70);
        headers.insert(
            http::HeaderName::from_bytes(long.as_bytes()).unwrap(),
            HeaderValue::from_static("long"),
        );
        for dialect in [Dialect::Graph, Dialect::OData] {
            assert_eq!(
                serde_json::to_string(&Headers(&headers, dialect)).unwrap(),
                serde_json::to_string(&Formatted(&headers, dialect)).unwrap()
            );
        }
    }
}
