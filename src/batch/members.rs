//! A part's members, sorted by name as they are read: each string a slice of
//! the batch body unless it holds an escape, each member the part does not
//! use read through and dropped. Nothing is copied that a part does not
//! keep.
//!
//! Every value is still read as a `serde_json::Value` would be (its whole
//! depth, its numbers, its escapes), so that a part refused before is
//! refused alike, with the same words. One form is left to `Value` itself:
//! an object whose first member bears serde_json's raw value name, which a
//! `Value` reads as the JSON text of that member's string. A part holding
//! one is read the way parts always were, as [`Values`].

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// The name serde_json gives the member of an object that stands for the
/// JSON text of a raw value.
const RAW_VALUE_NAME: &str = "$serde_json::private::RawValue";

/// Why a part is read again as [`Values`]: it holds an object named as a
/// raw value, which only a `Value` reads as a `Value` does.
const READ_AS_VALUES: &str = "a raw value's name, to be read as serde_json reads it";

/// Whether reading a part stopped at what only a `Value` reads as a
/// `Value` does: the part is to be read as [`Values`].
pub(super) fn read_as_values(error: &serde_json::Error) -> bool {
    error.is_data() && error.to_string().starts_with(READ_AS_VALUES)
}

/// A part's members as `Value`s, in the order written, duplicates kept.
pub(super) struct Values(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Values {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Read;
        impl<'de> Visitor<'de> for Read {
            type Value = Values;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a request object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Values, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0).min(8));
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(Values(members))
            }
        }
        deserializer.deserialize_map(Read)
    }
}

/// A member's value where a string is wanted: the string, or something
/// else (which the part refuses, in words of its own).
#[derive(Debug)]
pub(super) enum Text<'a> {
    Text(Cow<'a, str>),
    Other,
}

/// The `headers` member: its names and values in the order of a
/// `Value`'s object (by name, a name given twice holding its last value),
/// or something else than an object. An object of one header, as most
/// are, is kept without a list.
#[derive(Debug)]
pub(super) enum Headers<'a> {
    One(Header<'a>),
    Object(Vec<Header<'a>>),
    Other,
}

/// A header's name and value, as given.
pub(super) type Header<'a> = (Cow<'a, str>, Text<'a>);

impl<'a> Headers<'a> {
    /// The headers of an object; `None` for something else.
    pub(super) fn of_object(&self) -> Option<&[Header<'a>]> {
        match self {
            Self::One(header) => Some(std::slice::from_ref(header)),
            Self::Object(headers) => Some(headers),
            Self::Other => None,
        }
    }
}

/// The `dependsOn` member: its items, or something else than an array.
/// An array of one item, as a chain's are, is kept without a list.
#[derive(Debug)]
pub(super) enum List<'a> {
    One(Text<'a>),
    Array(Vec<Text<'a>>),
    Other,
}

impl<'a> List<'a> {
    /// The items of an array; `None` for something else.
    pub(super) fn of_array(&self) -> Option<&[Text<'a>]> {
        match self {
            Self::One(item) => Some(std::slice::from_ref(item)),
            Self::Array(items) => Some(items),
            Self::Other => None,
        }
    }
}

/// What is wrong with a member, whatever its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fault {
    /// Its name is given twice (or in both spellings of `dependsOn`).
    Twice,
    /// The formats do not define it.
    Unknown,
}

/// A part's members by name, each at most once, and the first fault in
/// the order written: a name given twice, or one the formats do not
/// define, kept to be refused once the part's id is known. Instance
/// annotations (names with `@`) are allowed and ignored.
#[derive(Debug, Default)]
pub(super) struct Members<'a> {
    pub(super) id: Option<Text<'a>>,
    pub(super) method: Option<Text<'a>>,
    pub(super) url: Option<Text<'a>>,
    pub(super) headers: Option<Headers<'a>>,
    pub(super) body: Option<Cow<'a, Value>>,
    pub(super) depends_on: Option<List<'a>>,
    pub(super) condition: Option<Text<'a>>,
    pub(super) atomicity_group: Option<()>,
    pub(super) fault: Option<(Cow<'a, str>, Fault)>,
}

/// The members a part may have, by name.
enum Member {
    Id,
    Method,
    Url,
    Headers,
    Body,
    DependsOn,
    Condition,
    AtomicityGroup,
    Annotation,
    Unknown,
}

impl Member {
    fn of(name: &str) -> Self {
        match name {
            "id" => Self::Id,
            "method" => Self::Method,
            "url" => Self::Url,
            "headers" => Self::Headers,
            "body" => Self::Body,
            // The Graph Python SDK writes `depends_on`: a dependency is
            // never ignored, whatever its spelling.
            "dependsOn" | "depends_on" => Self::DependsOn,
            "if" => Self::Condition,
            "atomicityGroup" => Self::AtomicityGroup,
            name if name.contains('@') => Self::Annotation,
            _ => Self::Unknown,
        }
    }
}

/// Where a member's value is read from: the batch body as it is parsed,
/// or a `Value` parsed before.
trait Source<'a> {
    type Error;
    fn text(self) -> Result<Text<'a>, Self::Error>;
    fn headers(self) -> Result<Headers<'a>, Self::Error>;
    fn list(self) -> Result<List<'a>, Self::Error>;
    fn body(self) -> Result<Cow<'a, Value>, Self::Error>;
    /// Reads the value through, keeping nothing.
    fn skip(self) -> Result<(), Self::Error>;
}

/// The value of the member whose name a map just gave.
struct Next<'m, A>(&'m mut A);

impl<'de, A: MapAccess<'de>> Source<'de> for Next<'_, A> {
    type Error = A::Error;

    fn text(self) -> Result<Text<'de>, A::Error> {
        self.0.next_value()
    }

    fn headers(self) -> Result<Headers<'de>, A::Error> {
        self.0.next_value()
    }

    fn list(self) -> Result<List<'de>, A::Error> {
        self.0.next_value()
    }

    fn body(self) -> Result<Cow<'de, Value>, A::Error> {
        self.0.next_value().map(Cow::Owned)
    }

    fn skip(self) -> Result<(), A::Error> {
        self.0.next_value::<Checked>().map(drop)
    }
}

impl<'a> Source<'a> for &'a Value {
    type Error = std::convert::Infallible;

    fn text(self) -> Result<Text<'a>, Self::Error> {
        Ok(match self {
            Value::String(text) => Text::Text(Cow::Borrowed(text)),
            _ => Text::Other,
        })
    }

    fn headers(self) -> Result<Headers<'a>, Self::Error> {
        Ok(match self {
            Value::Object(headers) => Headers::Object(
                headers
                    .iter()
                    .map(|(name, value)| {
                        let Ok(value) = value.text();
                        (Cow::Borrowed(name.as_str()), value)
                    })
                    .collect(),
            ),
            _ => Headers::Other,
        })
    }

    fn list(self) -> Result<List<'a>, Self::Error> {
        Ok(match self {
            Value::Array(items) => List::Array(
                items
                    .iter()
                    .map(|item| {
                        let Ok(item) = item.text();
                        item
                    })
                    .collect(),
            ),
            _ => List::Other,
        })
    }

    fn body(self) -> Result<Cow<'a, Value>, Self::Error> {
        Ok(Cow::Borrowed(self))
    }

    fn skip(self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl<'a> Members<'a> {
    /// The members of a part read as [`Values`].
    pub(super) fn of(values: &'a Values) -> Self {
        let mut members = Self::default();
        for (name, value) in &values.0 {
            let Ok(()) = members.take(Cow::Borrowed(name), value);
        }
        members
    }

    /// Sorts the member `name` into its place, reading its value from
    /// `value` only as far as the part needs it.
    fn take<S: Source<'a>>(&mut self, name: Cow<'a, str>, value: S) -> Result<(), S::Error> {
        let first = match Member::of(&name) {
            Member::Id => given(&mut self.id, value.text()?),
            Member::Method => given(&mut self.method, value.text()?),
            Member::Url => given(&mut self.url, value.text()?),
            Member::Headers => given(&mut self.headers, value.headers()?),
            Member::Body => given(&mut self.body, value.body()?),
            Member::DependsOn => given(&mut self.depends_on, value.list()?),
            Member::Condition => given(&mut self.condition, value.text()?),
            Member::AtomicityGroup => {
                value.skip()?;
                given(&mut self.atomicity_group, ())
            }
            Member::Annotation => return value.skip(),
            Member::Unknown => {
                value.skip()?;
                self.fault.get_or_insert((name, Fault::Unknown));
                return Ok(());
            }
        };
        if !first {
            self.fault.get_or_insert((name, Fault::Twice));
        }
        Ok(())
    }
}

/// Puts `value` in `slot`: whether the slot was empty.
fn given<T>(slot: &mut Option<T>, value: T) -> bool {
    slot.replace(value).is_none()
}

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Read;
        impl<'de> Visitor<'de> for Read {
            type Value = Members<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a request object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Members::default();
                while let Some(Name(name)) = map.next_key()? {
                    members.take(name, Next(&mut map))?;
                }
                Ok(members)
            }
        }
        deserializer.deserialize_map(Read)
    }
}

/// A member's name: borrowed from the batch body unless it holds an escape.
pub(super) struct Name<'a>(pub(super) Cow<'a, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Read;
        impl<'de> Visitor<'de> for Read {
            type Value = Name<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }

            fn visit_borrowed_str<E>(self, name: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(name)))
            }

            fn visit_str<E>(self, name: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(name.to_owned())))
            }

            fn visit_string<E>(self, name: String) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(name)))
            }
        }
        deserializer.deserialize_str(Read)
    }
}

/// Refuses, to have the part read as [`Values`], an object whose first
/// member is named as a raw value.
fn not_raw<E: de::Error>(first: &str) -> Result<(), E> {
    if first == RAW_VALUE_NAME {
        return Err(E::custom(READ_AS_VALUES));
    }
    Ok(())
}

/// Reads the rest of an array through.
fn skip_items<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<Checked>()?.is_some() {}
    Ok(())
}

/// Reads an object through, its first member's name checked by
/// [`not_raw`].
fn skip_members<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    let Some(first) = map.next_key::<IsRawName>()? else {
        return Ok(());
    };
    if first.0 {
        return Err(de::Error::custom(READ_AS_VALUES));
    }
    map.next_value::<Checked>()?;
    while map.next_entry::<Checked, Checked>()?.is_some() {}
    Ok(())
}

/// Whether a member's name is the raw value's, read without a copy.
struct IsRawName(bool);

impl<'de> Deserialize<'de> for IsRawName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Read;
        impl Visitor<'_> for Read {
            type Value = IsRawName;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }

            fn visit_str<E>(self, name: &str) -> Result<IsRawName, E> {
                Ok(IsRawName(name == RAW_VALUE_NAME))
            }
        }
        deserializer.deserialize_str(Read)
    }
}

/// Any JSON value, read through as a `Value` would be, and kept nowhere.
struct Checked;

/// Implements the visits of a value that is none of the forms wanted,
/// read through, for a visitor whose `Value` is `$other`.
macro_rules! read_through {
    ($other:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($other)
        }

        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($other)
        }

        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($other)
        }

        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($other)
        }

        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($other)
        }
    };
}

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Read;
        impl<'de> Visitor<'de> for Read {
            type Value = Checked;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any valid JSON value")
            }

            read_through!(Checked);

            fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
                Ok(Checked)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Checked, A::Error> {
                skip_items(seq).map(|()| Checked)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Checked, A::Error> {
                skip_members(map).map(|()| Checked)
            }
        }
        deserializer.deserialize_any(Read)
    }
}

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Read;
        impl<'de> Visitor<'de> for Read {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any valid JSON value")
            }

            read_through!(Text::Other);

            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Text<'de>, E> {
                Ok(Text::Text(Cow::Borrowed(text)))
            }

            fn visit_str<E>(self, text: &str) -> Result<Text<'de>, E> {
                Ok(Text::Text(Cow::Owned(text.to_owned())))
            }

            fn visit_string<E>(self, text: String) -> Result<Text<'de>, E> {
                Ok(Text::Text(Cow::Owned(text)))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Text<'de>, A::Error> {
                skip_items(seq).map(|()| Text::Other)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Text<'de>, A::Error> {
                skip_members(map).map(|()| Text::Other)
            }
        }
        deserializer.deserialize_any(Read)
    }
}

impl<'de> Deserialize<'de> for Headers<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Read;
        impl<'de> Visitor<'de> for Read {
            type Value = Headers<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any valid JSON value")
            }

            read_through!(Headers::Other);

            fn visit_str<E>(self, _: &str) -> Result<Headers<'de>, E> {
                Ok(Headers::Other)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Headers<'de>, A::Error> {
                skip_items(seq).map(|()| Headers::Other)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Headers<'de>, A::Error> {
                let Some(Name(name)) = map.next_key()? else {
                    return Ok(Headers::Object(Vec::new()));
                };
                not_raw(&name)?;
                let first = (name, map.next_value()?);
                let Some(Name(name)) = map.next_key()? else {
                    return Ok(Headers::One(first));
                };
                let mut headers = Vec::with_capacity(4);
                headers.push(first);
                headers.push((name, map.next_value()?));
                while let Some(Name(name)) = map.next_key()? {
                    let value = map.next_value()?;
                    headers.push((name, value));
                }
                Ok(Headers::Object(by_name(headers)))
            }
        }
        deserializer.deserialize_any(Read)
    }
}

/// Headers in the order of a `Value`'s object: by name, a name given twice
/// once, with its last value. Headers written in that order already (as
/// they mostly are: one of each) are left as they are.
fn by_name(mut headers: Vec<Header<'_>>) -> Vec<Header<'_>> {
    if headers.windows(2).all(|pair| pair[0].0 < pair[1].0) {
        return headers;
    }
    if objects_keep_order() {
        return in_written_order(headers);
    }
    // Stable: of the headers of one name, the last written stays last.
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    headers.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            std::mem::swap(&mut later.1, &mut kept.1);
        }
        same
    });
    headers
}

/// Whether serde_json's objects keep their members in the order written
/// (its `preserve_order` feature, which any crate of a build may turn on)
/// rather than by name: asked of serde_json once.
fn objects_keep_order() -> bool {
    static KEEP: OnceLock<bool> = OnceLock::new();
    *KEEP.get_or_init(|| {
        let mut object = serde_json::Map::new();
        object.insert("b".to_owned(), Value::Null);
        object.insert("a".to_owned(), Value::Null);
        object.keys().next().is_some_and(|first| first == "b")
    })
}

/// Headers in the order of a `Value`'s object that keeps the order
/// written: each name where it was first given, with its last value.
fn in_written_order(headers: Vec<Header<'_>>) -> Vec<Header<'_>> {
    // The headers' places, by name; of one name, in the order written.
    let mut places: Vec<usize> = (0..headers.len()).collect();
    places.sort_by(|&a, &b| headers[a].0.cmp(&headers[b].0));
    let mut kept: Vec<(usize, usize)> = places
        .chunk_by(|&a, &b| headers[a].0 == headers[b].0)
        .filter_map(|same| Some((*same.first()?, *same.last()?)))
        .collect();
    kept.sort_unstable();
    let mut headers: Vec<Option<Header<'_>>> = headers.into_iter().map(Some).collect();
    kept.into_iter()
        .filter_map(|(_, last)| headers.get_mut(last).and_then(Option::take))
        .collect()
}

impl<'de> Deserialize<'de> for List<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Read;
        impl<'de> Visitor<'de> for Read {
            type Value = List<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any valid JSON value")
            }

            read_through!(List::Other);

            fn visit_str<E>(self, _: &str) -> Result<List<'de>, E> {
                Ok(List::Other)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<'de>, A::Error> {
                let Some(first) = seq.next_element()? else {
                    return Ok(List::Array(Vec::new()));
                };
                let Some(second) = seq.next_element()? else {
                    return Ok(List::One(first));
                };
                let mut items = Vec::with_capacity(4);
                items.push(first);
                items.push(second);
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(List::Array(items))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<List<'de>, A::Error> {
                skip_members(map).map(|()| List::Other)
            }
        }
        deserializer.deserialize_any(Read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(text: &str) -> Text<'_> {
        Text::Text(Cow::Borrowed(text))
    }

    fn written<'a>(headers: &'a [Header<'a>]) -> Vec<(&'a str, &'a str)> {
        headers
            .iter()
            .map(|(name, value)| match value {
                Text::Text(value) => (&**name, &**value),
                Text::Other => (&**name, "(other)"),
            })
            .collect()
    }

    #[test]
    fn headers_are_ordered_as_either_kind_of_object_orders_them() {
        let given = || {
            vec![
                (Cow::Borrowed("b"), text("1")),
                (Cow::Borrowed("a"), text("2")),
                (Cow::Borrowed("b"), text("3")),
                (Cow::Borrowed("c"), Text::Other),
                (Cow::Borrowed("a"), text("4")),
            ]
        };
        let in_order = [("b", "3"), ("a", "4"), ("c", "(other)")];
        assert_eq!(written(&in_written_order(given())), in_order);
        let sorted = [("a", "4"), ("b", "3"), ("c", "(other)")];
        let expected = if objects_keep_order() {
            in_order
        } else {
            sorted
        };
        assert_eq!(written(&by_name(given())), expected);
        // What serde_json itself does with the same object.
        let object: serde_json::Map<String, Value> =
            serde_json::from_str(r#"{"b": "1", "a": "2", "b": "3", "c": 5, "a": "4"}"#).unwrap();
        let names: Vec<&str> = object.keys().map(String::as_str).collect();
        let ours: Vec<&str> = expected.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ours);
    }
}
