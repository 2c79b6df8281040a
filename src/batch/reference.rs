//! `$<id>` references inside a part's url, past its first segment. OData
//! JSON 4.01 lets a part use what an earlier part answered: `$1/orders`,
//! as the first segment, is below what request 1 created (read in
//! [`target`](super::target)); `$1` or `$1/Building` in the query is a
//! value of its JSON answer body (OData 4.01 Part 1 §11.7.6,
//! `$filter=Building eq $1/Building`). Each is found here, by the ids of
//! the batch: a `$` (or `%24`) followed by a part's id, compared without
//! case, that does not go on as a longer name (`$10` is not `$1`). A
//! `$name` that names no part (`$filter`, `$metadata`) is left as written.
//!
//! A value reference in a query option's value is replaced, once the part
//! it names has answered, by that value as an OData literal (`'B 1'`,
//! `42`, `true`, `null`), percent-encoded as a query component. Anywhere
//! else (in the path past the first segment, in a query option's name) a
//! reference is not resolved, and the part is refused: nothing is sent
//! with a reference left in it.

use std::ops::Range;

use bytes::Bytes;
use http::HeaderMap;
use serde_json::Value;

use super::encoding::is_json;

/// What the `$<name>`s of a part's url can name.
pub(crate) trait Refer {
    /// What `$<name>` is: `Ok(Some)` an earlier part this part depends on
    /// (its index), `Ok(None)` no part of the batch, or why it cannot be
    /// used (a part this one does not depend on).
    fn refer(&self, name: &str) -> Result<Option<usize>, String>;

    /// The longest id of the batch, in bytes: no longer name is looked up.
    fn longest(&self) -> usize;
}

/// A function naming the parts, for ids of up to 128 bytes (the default
/// `max_id_len`).
impl<F> Refer for F
where
    F: Fn(&str) -> Result<Option<usize>, String>,
{
    fn refer(&self, name: &str) -> Result<Option<usize>, String> {
        self(name)
    }

    fn longest(&self) -> usize {
        128
    }
}

/// A reference to a value of an earlier part's answer, in a url's query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValueRef {
    /// Where it stands in the url, `$` to the end of its member path.
    pub(crate) span: Range<usize>,
    /// The part whose answer it names.
    pub(crate) part: usize,
    /// The members below the answer's body (`Address`, `City`); none for
    /// the value the body itself is.
    pub(crate) member: Vec<String>,
}

/// What a url holds, past its first segment.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scanned {
    /// No reference to a part.
    Plain,
    /// Value references, each in a query option's value.
    Values(Vec<ValueRef>),
    /// A reference where the crate does not resolve one: why.
    Refused(String),
}

/// Finds the references to parts in `url` (a path and query, or the rest
/// after a first-segment reference, percent-encoded). `Err` is a reference
/// to a part the part cannot refer to, which refuses the batch.
pub(crate) fn scan(url: &str, names: &impl Refer) -> Result<Scanned, String> {
    let bytes = url.as_bytes();
    // The common url has no `$` at all: nothing to look at, nothing held.
    if !bytes.contains(&b'$') && !has_encoded_dollar(bytes) {
        return Ok(Scanned::Plain);
    }
    let query = url.find('?').unwrap_or(url.len());
    let mut values = Vec::new();
    let mut refused = None;
    let mut scratch = Scratch::default();
    // In the query, whether the current option has passed its `=`.
    let mut in_value = false;
    let mut at = 0;
    while at < bytes.len() {
        if at >= query {
            match bytes[at] {
                b'?' | b'&' => in_value = false,
                b'=' => in_value = true,
                _ => {}
            }
        }
        let Some((b'$', dollar)) = decoded(bytes, at) else {
            at += 1;
            continue;
        };
        let Some((part, mut end)) = reference_at(bytes, at + dollar, names, &mut scratch)? else {
            at += dollar;
            continue;
        };
        if at < query || !in_value {
            let written = &url[at..end];
            let why = if at < query {
                format!("'{written}' stands in the url's path, where a reference is resolved only as the first segment ('{written}/orders', below what that request created); the request was not sent.")
            } else {
                format!("'{written}' stands in the name of a query option, where no value can stand; a reference is resolved only in an option's value ('$filter=Building eq {written}/Building'). The request was not sent.")
            };
            refused.get_or_insert(why);
            at = end;
            continue;
        }
        let mut member = Vec::new();
        while let Some((b'/', slash)) = decoded(bytes, end) {
            match identifier(bytes, end + slash) {
                Some((segment, after)) => {
                    member.push(segment);
                    end = after;
                }
                None => {
                    let written = &url[at..end + slash];
                    refused.get_or_insert(format!("'{written}' is not followed by a property name; a reference in a query is '$<id>' or '$<id>/<property>[/<property>...]'. The request was not sent."));
                    break;
                }
            }
        }
        if let Some((next, _)) = decoded(bytes, end) {
            if continues_name(next) && refused.is_none() {
                let written = &url[at..end];
                refused = Some(format!("'{written}' is followed by '{}', which a property name does not hold; where the reference ends cannot be told. The request was not sent.", char::from(next).escape_default()));
            }
        }
        values.push(ValueRef {
            span: at..end,
            part,
            member,
        });
        at = end;
    }
    Ok(match refused {
        Some(why) => Scanned::Refused(why),
        None if values.is_empty() => Scanned::Plain,
        None => Scanned::Values(values),
    })
}

/// Whether `bytes` hold `%24`, a `$` percent-encoded.
fn has_encoded_dollar(bytes: &[u8]) -> bool {
    bytes.contains(&b'%') && bytes.windows(3).any(|window| window == b"%24")
}

/// The bytes of a name after a `$`, decoded, and the end in the url of
/// each: kept across the `$`s of a url.
#[derive(Default)]
struct Scratch {
    name: Vec<u8>,
    ends: Vec<usize>,
}

/// The part named right after a `$` that ends at `start`, if one is, and
/// the end of its name in `bytes`: the longest id of the batch that the
/// (percent-decoded) text there begins with and that does not go on as a
/// longer name.
fn reference_at(
    bytes: &[u8],
    start: usize,
    names: &impl Refer,
    scratch: &mut Scratch,
) -> Result<Option<(usize, usize)>, String> {
    let Scratch { name, ends } = scratch;
    name.clear();
    ends.clear();
    let mut at = start;
    let longest = names.longest();
    while name.len() <= longest {
        let Some((byte, len)) = decoded(bytes, at) else {
            break;
        };
        name.push(byte);
        at += len;
        ends.push(at);
    }
    for len in (1..=name.len().min(longest)).rev() {
        if name.get(len).is_some_and(|&next| continues_name(next)) {
            continue;
        }
        let Ok(candidate) = std::str::from_utf8(&name[..len]) else {
            continue;
        };
        if let Some(part) = names.refer(candidate)? {
            return Ok(Some((part, ends[len - 1])));
        }
    }
    Ok(None)
}

/// A property name (OData's simple identifier) starting at `at`, decoded,
/// and where it ends.
fn identifier(bytes: &[u8], mut at: usize) -> Option<(String, usize)> {
    let mut name = Vec::new();
    while let Some((byte, len)) = decoded(bytes, at) {
        let fits = if name.is_empty() {
            byte.is_ascii_alphabetic() || byte == b'_' || byte >= 0x80
        } else {
            byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80
        };
        if !fits {
            break;
        }
        name.push(byte);
        at += len;
    }
    let name = String::from_utf8(name)
        .ok()
        .filter(|name| !name.is_empty())?;
    Some((name, at))
}

/// The byte at `at` as the url's reader sees it (`%XX` decoded), and how
/// many bytes of the url it takes.
pub(crate) fn decoded(bytes: &[u8], at: usize) -> Option<(u8, usize)> {
    let &byte = bytes.get(at)?;
    if byte == b'%' {
        let hex = |at: usize| bytes.get(at).and_then(|&b| char::from(b).to_digit(16));
        if let (Some(high), Some(low)) = (hex(at + 1), hex(at + 2)) {
            // Two hex digits make a byte.
            return Some(((high * 16 + low) as u8, 3));
        }
    }
    Some((byte, 1))
}

/// Whether a byte may go on with a name: an id followed by one is part of
/// a longer name, not a reference (`$10`, `$1.5`, `$a-b`).
pub(crate) fn continues_name(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.' | b'~') || byte >= 0x80
}

/// `url` with each of `values` replaced by the value it names, as an
/// OData literal percent-encoded for a query. `answer` gives an earlier
/// part's id and answer (headers and body). `Err` says why a value cannot
/// be given.
pub(crate) fn fill<'a>(
    url: &str,
    values: &[ValueRef],
    answer: impl Fn(usize) -> (&'a str, Option<(&'a HeaderMap, &'a Bytes)>),
) -> Result<String, String> {
    let mut filled = String::with_capacity(url.len() + 16);
    let mut bodies: Vec<(usize, Value)> = Vec::new();
    let mut copied = 0;
    for reference in values {
        let written = &url[reference.span.clone()];
        let (id, answered) = answer(reference.part);
        let cannot = |why: String| format!("'{written}' cannot be resolved: {why}.");
        let index = match bodies.iter().position(|(part, _)| *part == reference.part) {
            Some(index) => index,
            None => {
                let body = answered
                    .filter(|(headers, _)| {
                        headers.get(http::header::CONTENT_TYPE).is_some_and(is_json)
                    })
                    .and_then(|(_, body)| serde_json::from_slice::<Value>(body).ok())
                    .ok_or_else(|| cannot(format!("request '{id}' answered no JSON body")))?;
                bodies.push((reference.part, body));
                bodies.len() - 1
            }
        };
        let value = member(&bodies[index].1, &reference.member).map_err(|missing| {
            cannot(format!(
                "the answer of request '{id}' has no member '{missing}'"
            ))
        })?;
        filled.push_str(&url[copied..reference.span.start]);
        literal(value, &mut filled).map_err(|kind| {
            cannot(format!("it is {kind} in the answer of request '{id}', and only a string, number, boolean or null can stand in a url"))
        })?;
        copied = reference.span.end;
    }
    filled.push_str(&url[copied..]);
    Ok(filled)
}

/// The value at `path` below `body`; for no path, the value the body
/// stands for: itself, or the `value` of OData's `{"value": ...}` (beside
/// annotations only), as a property's answer is written. `Err` is the
/// path as far as it was found, and the member missing.
fn member<'v>(body: &'v Value, path: &[String]) -> Result<&'v Value, String> {
    if path.is_empty() {
        if let Value::Object(members) = body {
            if members.contains_key("value")
                && members
                    .keys()
                    .all(|name| name == "value" || name.contains('@'))
            {
                return Ok(&members["value"]);
            }
        }
        return Ok(body);
    }
    let mut value = body;
    for (depth, name) in path.iter().enumerate() {
        value = match value {
            Value::Object(members) => members.get(name),
            _ => None,
        }
        .ok_or_else(|| path[..=depth].join("/"))?;
    }
    Ok(value)
}

/// `value` as an OData literal (a string quoted, its quotes doubled),
/// percent-encoded for a query component, onto `out`. `Err` names what it
/// is when it has no literal (an object, a collection).
fn literal(value: &Value, out: &mut String) -> Result<(), &'static str> {
    match value {
        Value::String(text) => {
            out.push('\'');
            for (i, piece) in text.split('\'').enumerate() {
                if i > 0 {
                    out.push_str("''");
                }
                encode_query(piece, out);
            }
            out.push('\'');
        }
        Value::Number(number) => encode_query(&number.to_string(), out),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Null => out.push_str("null"),
        Value::Array(_) => return Err("a collection"),
        Value::Object(_) => return Err("an object"),
    }
    Ok(())
}

/// `text` percent-encoded for a query option's value (RFC 3986 §3.4):
/// unreserved characters and the delimiters that do not end a value stay,
/// everything else is `%XX` of its UTF-8 bytes, `&`, `=`, `+`, `#`, `%`
/// and `$` among them (so a value never reads as another option, a space,
/// or a reference).
fn encode_query(text: &str, out: &mut String) {
    for byte in text.bytes() {
        let stays = byte.is_ascii_alphanumeric() || b"-._~!'()*,;:@/?".contains(&byte);
        if stays {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Parts `1` (index 0), `10` (1) and `p q` (2) are dependencies; `9`
    /// is a part not depended on.
    fn names(name: &str) -> Result<Option<usize>, String> {
        match name.to_ascii_lowercase().as_str() {
            "1" => Ok(Some(0)),
            "10" => Ok(Some(1)),
            "p q" => Ok(Some(2)),
            "9" => Err("not in dependsOn".to_owned()),
            _ => Ok(None),
        }
    }

    fn values(url: &str) -> Vec<(&str, usize, Vec<String>)> {
        match scan(url, &names).unwrap() {
            Scanned::Values(values) => values
                .into_iter()
                .map(|v| (&url[v.span], v.part, v.member))
                .collect(),
            other => panic!("{url}: {other:?}"),
        }
    }

    #[test]
    fn names_that_are_no_part_are_left_and_ids_end_where_names_do() {
        for url in [
            "/a/b",
            "/a?$filter=x eq 1&$select=id&$top=5",
            "/$metadata",
            "/a?x=$100&y=$1.5&z=$1a&w=$it",
            "/a?x=%2524",
        ] {
            assert_eq!(scan(url, &names).unwrap(), Scanned::Plain, "{url}");
        }
        assert_eq!(
            values("/a?$filter=Building%20eq%20$1/Building&$top=$10"),
            [
                ("$1/Building", 0, vec!["Building".to_owned()]),
                ("$10", 1, vec![])
            ]
        );
        assert_eq!(
            values("/a?x=%241%2FAddress/City,$P%20Q)"),
            [
                (
                    "%241%2FAddress/City",
                    0,
                    vec!["Address".to_owned(), "City".to_owned()]
                ),
                ("$P%20Q", 2, vec![])
            ]
        );
    }

    #[test]
    fn a_reference_outside_a_value_is_refused_and_one_not_depended_on_refuses_the_batch() {
        for url in [
            "/orders/$1",
            "/orders/%241/lines",
            "/a?$1=x",
            "/a?x=$1/",
            "/a?x=$1/$count",
            "/a?x=$1/B-C",
        ] {
            assert!(
                matches!(scan(url, &names).unwrap(), Scanned::Refused(_)),
                "{url}"
            );
        }
        assert!(scan("/a?x=$9", &names).is_err());
        // The batch's refusal comes first, wherever it stands.
        assert!(scan("/b/$1?x=$9", &names).is_err());
    }

    #[test]
    fn values_are_odata_literals_encoded_for_a_query() {
        let headers = {
            let mut headers = HeaderMap::new();
            headers.insert(
                http::header::CONTENT_TYPE,
                "application/json".parse().unwrap(),
            );
            headers
        };
        let body = Bytes::from(
            json!({"Name": "O'Brien & Co = 100% $2", "n": -1.5, "ok": true, "none": null,
                   "Address": {"City": "Zürich"}, "list": [1]})
            .to_string(),
        );
        let wrapped = Bytes::from_static(br#"{"@odata.context": "$metadata#x", "value": 42}"#);
        let answer = |part: usize| match part {
            0 => ("1", Some((&headers, &body))),
            1 => ("10", Some((&headers, &wrapped))),
            _ => ("p q", None),
        };
        let url =
            "/a?$filter=Name eq $1/Name and n eq $1/n&b=$1/ok,$1/none&c=$1/Address/City&d=$10";
        let Scanned::Values(refs) = scan(url, &names).unwrap() else {
            panic!("no values")
        };
        assert_eq!(
            fill(url, &refs, answer).unwrap(),
            "/a?$filter=Name eq 'O''Brien%20%26%20Co%20%3D%20100%25%20%242' and n eq -1.5&b=true,null&c='Z%C3%BCrich'&d=42"
        );
        for (url, why) in [
            ("/a?x=$1/list", "a collection"),
            ("/a?x=$1/Address", "an object"),
            ("/a?x=$1", "an object"),
            ("/a?x=$1/Nope/x", "no member 'Nope'"),
            ("/a?x=$P%20Q", "answered no JSON body"),
        ] {
            let Scanned::Values(refs) = scan(url, &names).unwrap() else {
                panic!("{url}")
            };
            let why_not = fill(url, &refs, answer).unwrap_err();
            assert!(why_not.contains(why), "{url}: {why_not}");
            assert!(
                why_not.starts_with(&format!("'{}'", &url[refs[0].span.clone()])),
                "{why_not}"
            );
        }
    }
}
