//! The XML form of a problem (RFC 9457, Appendix B): a `problem` element in
//! the namespace `urn:ietf:rfc:7807` with one element per member. An array
//! becomes one `i` element per item, an object one element per member (its
//! name made a valid XML name, see [`derived_name`]), `null` an empty element.
//!
//! The JSON a problem was rendered to is streamed into XML, member order
//! kept, without building a tree of it first.

pub(crate) mod names;

use std::fmt;

use bytes::Bytes;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, Event};
use quick_xml::Writer;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use self::names::{derived_name, text};

/// The namespace of the XML form.
pub(crate) const NAMESPACE: &str = "urn:ietf:rfc:7807";

/// The XML form of a problem's JSON body, or `None` when `json` is not one
/// JSON object.
pub(crate) fn from_json(json: &[u8]) -> Option<Bytes> {
    let mut writer = Writer::new(Vec::with_capacity(json.len() + json.len() / 2 + 80));
    let declaration = BytesDecl::new("1.0", Some("UTF-8"), None);
    writer.write_event(Event::Decl(declaration)).ok()?;
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    Problem(&mut writer).deserialize(&mut deserializer).ok()?;
    deserializer.end().ok()?;
    Some(Bytes::from(writer.into_inner()))
}

type Out = Writer<Vec<u8>>;

/// Writes an event; writing into a `Vec` cannot fail, but the error type
/// of the JSON reader carries it should it ever.
fn write<'a, E: de::Error>(writer: &mut Out, event: impl Into<Event<'a>>) -> Result<(), E> {
    writer
        .write_event(event)
        .map_err(|_| E::custom("the XML could not be written"))
}

/// The root: a JSON object becomes the `problem` element.
struct Problem<'w>(&'w mut Out);

impl<'de> DeserializeSeed<'de> for Problem<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Problem<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a problem object")
    }

    fn visit_map<A: MapAccess<'de>>(self, members: A) -> Result<(), A::Error> {
        let start = BytesStart::new("problem").with_attributes([("xmlns", NAMESPACE)]);
        write(self.0, Event::Start(start))?;
        write_members(self.0, members)?;
        write(self.0, Event::End(BytesEnd::new("problem")))
    }
}

/// Each member of an object as an element named after it.
fn write_members<'de, A: MapAccess<'de>>(writer: &mut Out, mut members: A) -> Result<(), A::Error> {
    while let Some(name) = members.next_key::<String>()? {
        let name = derived_name(&name);
        members.next_value_seed(Element {
            writer: &mut *writer,
            name: &name,
        })?;
    }
    Ok(())
}

/// Any JSON value, as an element called `name`.
struct Element<'w, 'n> {
    writer: &'w mut Out,
    name: &'n str,
}

impl Element<'_, '_> {
    fn text<E: de::Error>(self, content: &str) -> Result<(), E> {
        write(self.writer, Event::Start(BytesStart::new(self.name)))?;
        write(self.writer, Event::Text(text(content)))?;
        write(self.writer, Event::End(BytesEnd::new(self.name)))
    }
}

impl<'de> DeserializeSeed<'de> for Element<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Element<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<(), E> {
        self.text(if value { "true" } else { "false" })
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<(), E> {
        self.text(&value.to_string())
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<(), E> {
        self.text(&value.to_string())
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<(), E> {
        // JSON holds finite numbers only; serde_json writes them shortest.
        match serde_json::Number::from_f64(value) {
            Some(number) => self.text(&number.to_string()),
            None => Err(E::custom("a number JSON cannot hold")),
        }
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
        self.text(value)
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        write(self.writer, Event::Empty(BytesStart::new(self.name)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        write(self.writer, Event::Start(BytesStart::new(self.name)))?;
        let writer = &mut *self.writer;
        while items
            .next_element_seed(Element {
                writer: &mut *writer,
                name: "i",
            })?
            .is_some()
        {}
        write(writer, Event::End(BytesEnd::new(self.name)))
    }

    fn visit_map<A: MapAccess<'de>>(self, members: A) -> Result<(), A::Error> {
        write(self.writer, Event::Start(BytesStart::new(self.name)))?;
        write_members(self.writer, members)?;
        write(self.writer, Event::End(BytesEnd::new(self.name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xml(json: &str) -> String {
        String::from_utf8(from_json(json.as_bytes()).unwrap().to_vec()).unwrap()
    }

    const HEAD: &str =
        r#"<?xml version="1.0" encoding="UTF-8"?><problem xmlns="urn:ietf:rfc:7807">"#;

    #[test]
    fn members_become_elements_in_order() {
        let written = xml(
            r#"{"title":"Failed Dependency","status":424,"retryable":false,"ratio":0.5,"skipped":["a","b"],"cause":{"status":409,"x y":null}}"#,
        );
        assert_eq!(
            written,
            format!(
                "{HEAD}<title>Failed Dependency</title><status>424</status>\
                 <retryable>false</retryable><ratio>0.5</ratio>\
                 <skipped><i>a</i><i>b</i></skipped>\
                 <cause><status>409</status><x_y/></cause></problem>"
            )
        );
    }

    #[test]
    fn text_is_escaped() {
        let written = xml(r#"{"detail":"<script>&\"'\u0000"}"#);
        assert_eq!(
            written,
            format!("{HEAD}<detail>&lt;script&gt;&amp;&quot;&apos;\u{FFFD}</detail></problem>")
        );
    }

    #[test]
    fn only_an_object_converts() {
        for json in ["[]", "1", "\"x\"", "{", "{}{}", "null"] {
            assert!(from_json(json.as_bytes()).is_none(), "{json}");
        }
        assert_eq!(xml("{}"), format!("{HEAD}</problem>"));
    }

    #[test]
    fn nesting_is_bounded_by_the_json_reader() {
        let deep = format!(r#"{{"a":{}1{}}}"#, "[".repeat(200), "]".repeat(200));
        assert!(from_json(deep.as_bytes()).is_none());
        let fine = format!(r#"{{"a":{}1{}}}"#, "[".repeat(100), "]".repeat(100));
        assert!(xml(&fine).contains(&format!("{}1{}", "<i>".repeat(100), "</i>".repeat(100))));
    }
}
