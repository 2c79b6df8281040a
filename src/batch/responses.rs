//! The batch's answer on the wire: `{"responses": [...]}`, one member per
//! part, in request order.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::ser::{Serialize, Serializer};
#[cfg(test)]
use serde::ser::{SerializeMap, SerializeSeq};

use super::encoding::{answer_body, HeaderText};
use super::plan::Part;
use super::Dialect;
use crate::problem::json_string;

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

impl Responses<'_> {
    /// The body, written directly: the same bytes serde_json writes of it
    /// (compact, its escapes), the fixed punctuation and names spelled out,
    /// each string that needs no escape copied as it is, anything else
    /// (an escape, a part's JSON body, a header of several values) written
    /// by serde_json itself. Should any of that fail, the body is `{}`, as
    /// the crate's other JSON bodies are.
    pub(super) fn to_json(&self) -> Bytes {
        let estimate: usize = self
            .answers
            .iter()
            .map(|answer| 64 + answer.body.len() + 48 * answer.headers.len())
            .sum();
        let mut out = Vec::with_capacity(16 + estimate);
        match self.write(&mut out) {
            Ok(()) => Bytes::from(out),
            Err(_) => Bytes::from_static(b"{}"),
        }
    }

    fn write(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        out.extend_from_slice(b"{\"responses\":[");
        let mut buffer = [0; 64];
        for (i, (part, answer)) in self.parts.iter().zip(self.answers).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"id\":");
            json_string(out, &part.id);
            out.extend_from_slice(b",\"status\":");
            out.extend_from_slice(answer.status.as_str().as_bytes());
            out.extend_from_slice(b",\"headers\":{");
            let headers = &answer.headers;
            let mut each = headers.iter().peekable();
            let mut first = true;
            while let Some((name, value)) = each.next() {
                if !first {
                    out.push(b',');
                }
                first = false;
                let spelled = self.dialect.spelled(name);
                match spelled.text(&mut buffer) {
                    Some(text) => json_string(out, text),
                    None => serde_json::to_writer(&mut *out, &Written(spelled))?,
                }
                out.push(b':');
                let alone = each.peek().is_none_or(|(next, _)| *next != name);
                match value.to_str() {
                    Ok(text) if alone => json_string(out, text),
                    _ => serde_json::to_writer(&mut *out, &Written(Joined(headers.get_all(name))))?,
                }
                while each.next_if(|(next, _)| *next == name).is_some() {}
            }
            out.push(b'}');
            if !answer.body.is_empty() {
                out.extend_from_slice(b",\"body\":");
                let body = answer_body(headers, &answer.body, self.dialect);
                serde_json::to_writer(&mut *out, &body)?;
            }
            out.push(b'}');
        }
        out.extend_from_slice(b"]}");
        Ok(())
    }
}

#[cfg(test)]
impl Serialize for Responses<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("responses", &List(self))?;
        map.end()
    }
}

#[cfg(test)]
struct List<'a>(&'a Responses<'a>);

#[cfg(test)]
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

#[cfg(test)]
struct One<'a> {
    id: &'a str,
    answer: &'a Answer,
    dialect: Dialect,
}

#[cfg(test)]
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
#[cfg(test)]
struct Headers<'a>(&'a HeaderMap, Dialect);

#[cfg(test)]
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

    #[test]
    fn the_body_written_directly_is_the_one_serde_json_writes() {
        use super::super::target::Target;
        let part = |id: &str| Part {
            id: crate::Name::copied(id),
            method: http::Method::GET,
            target: Target::Path(http::uri::PathAndQuery::from_static("/")),
            headers: HeaderMap::new(),
            body: Bytes::new(),
            depends_on: Default::default(),
            rare: None,
        };
        let answer = |status: u16, headers: &[(&'static str, &[u8])], body: &'static [u8]| {
            let mut map = HeaderMap::new();
            for (name, value) in headers {
                map.append(
                    http::HeaderName::from_static(name),
                    HeaderValue::from_bytes(value).unwrap(),
                );
            }
            Answer {
                status: StatusCode::from_u16(status).unwrap(),
                headers: map,
                body: Bytes::from_static(body),
                root: None,
            }
        };
        let parts = [
            part("1"),
            part("a \"quoted\" \\ id\n"),
            part("caf\u{e9} \u{1f600}"),
            part("\u{7f}\u{1}"),
            part("5"),
        ];
        let long = "x".repeat(70);
        let mut answers = [
            answer(200, &[], b""),
            answer(
                404,
                &[
                    ("content-type", b"application/json"),
                    ("etag", b"\"v1\""),
                    ("x-raw", b"caf\xe9"),
                    ("x-tab", b"a\tb"),
                    ("set-cookie", b"a=1"),
                    ("set-cookie", b"b=2"),
                    ("www-authenticate", b"Bearer"),
                ],
                b"{\"b\": [1, 2.50], \"a\": \"\\u00e9\"}",
            ),
            answer(201, &[("content-type", b"text/plain")], b"line\n\"two\""),
            answer(
                500,
                &[("content-type", b"application/octet-stream")],
                b"\x00\xff",
            ),
            answer(999, &[("content-type", b"application/json")], b"not json"),
        ];
        answers[0].headers.insert(
            http::HeaderName::from_bytes(long.as_bytes()).unwrap(),
            HeaderValue::from_static("long"),
        );
        for dialect in [Dialect::Graph, Dialect::OData] {
            for len in 1..=parts.len() {
                let responses = Responses {
                    parts: &parts[..len],
                    answers: &answers[..len],
                    dialect,
                };
                assert_eq!(responses.to_json(), serde_json::to_vec(&responses).unwrap());
            }
        }
    }
}
