//! The batch's answer on the wire: `{"responses": [...]}`, one member per
//! part, in request order.

use base64::Engine;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

use super::plan::{is_json, Part};

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
            })?;
        }
        seq.end()
    }
}

struct One<'a> {
    id: &'a str,
    answer: &'a Answer,
}

impl Serialize for One<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let answer = self.answer;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", self.id)?;
        map.serialize_entry("status", &answer.status.as_u16())?;
        map.serialize_entry("headers", &Headers(&answer.headers))?;
        if !answer.body.is_empty() {
            map.serialize_entry("body", &embed(&answer.headers, &answer.body))?;
        }
        map.end()
    }
}

struct Headers<'a>(&'a HeaderMap);

impl Serialize for Headers<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.keys_len()))?;
        for name in self.0.keys() {
            let joined = self
                .0
                .get_all(name)
                .iter()
                .map(|value| String::from_utf8_lossy(value.as_bytes()))
                .collect::<Vec<_>>()
                .join(", ");
            map.serialize_entry(name.as_str(), &joined)?;
        }
        map.end()
    }
}

/// A part's body in the batch response: JSON embedded as JSON, UTF-8 text as
/// a string, anything else as a base64 string.
fn embed(headers: &HeaderMap, body: &Bytes) -> Value {
    if headers.get(CONTENT_TYPE).is_some_and(is_json) {
        if let Ok(value) = serde_json::from_slice(body) {
            return value;
        }
    }
    match std::str::from_utf8(body) {
        Ok(text) => Value::String(text.to_owned()),
        Err(_) => Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
    }
}
