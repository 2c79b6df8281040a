//! The WebDAV 207 writer: any hrefs, statuses, property names, namespaces
//! and descriptions, through `MultiStatus`, `proppatch` and
//! `without_failed_dependency`. A property is taken only with a namespace
//! an attribute carries as it is; a body is refused only for an href XML
//! cannot hold, a duplicate href or an empty propstat (the first in order);
//! otherwise it is one well-formed XML document (every character one XML
//! allows, every element closed) that reads back to what was written: the
//! hrefs, the descriptions (a character XML cannot hold as U+FFFD), each
//! status line, each property by namespace and name, no href twice. The 207
//! response carries the same document.

#![no_main]

#[path = "input.rs"]
mod input;

use http::header::CONTENT_TYPE;
use http::StatusCode;
use input::Input;
use libfuzzer_sys::fuzz_target;
use quick_xml::escape::{resolve_predefined_entity, unescape};
use quick_xml::events::Event;
use quick_xml::Reader;
use tower_failed_dependency::multistatus::{
    proppatch, without_failed_dependency, MultiStatus, MultiStatusError, Property, Propstat,
};

/// What escaping gets wrong: markup, references, line ends, characters XML
/// 1.0 cannot hold, surrogate-pair characters, CDATA ends.
const TEXT: &[&str] = &[
    "a",
    "/",
    " ",
    "<",
    ">",
    "&",
    "&amp;",
    "\"",
    "'",
    "\r",
    "\n",
    "\r\n",
    "\t",
    "\u{0}",
    "\u{1}",
    "\u{1f}",
    "\u{7f}",
    "\u{85}",
    "\u{fffe}",
    "\u{ffff}",
    "\u{fffd}",
    "\u{e9}",
    "\u{1f600}",
    "]]>",
    "&#13;",
    "%20",
    "http://h/",
    "?x=1",
];

const NAMESPACES: &[&str] = &[
    "DAV:",
    "urn:x",
    "http://ns.example.com/standards/z39.50/",
    "urn:x?a=1&b=\"2\"",
    "",
    "urn:\u{e9}",
    "urn:<y>",
    "'",
];

const NAMES: &[&str] = &[
    "displayname",
    "getetag",
    "Authors",
    "a.b",
    "_x",
    "x-y",
    "1st",
    "a b",
    "",
    "\u{e9}t\u{e9}",
    "xml",
    "a:b",
    "-a",
    ".a",
    "\u{b7}a",
    "a\u{b7}",
    "A",
];

/// One `D:response` as it should read back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Entry {
    href: String,
    status: Option<String>,
    propstats: Vec<(Vec<(String, String)>, String)>,
    error: Option<(String, String)>,
    description: Option<String>,
}

/// Whether XML 1.0 allows `c` in a document.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// A text as it should read back: what XML cannot hold as U+FFFD.
fn read_back(text: &str) -> String {
    text.chars()
        .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' })
        .collect()
}

/// A status line with RFC 9110's phrase (the `http` crate keeps the older
/// phrases of 413 and 422).
fn status_line(status: StatusCode) -> String {
    let phrase = match status {
        StatusCode::PAYLOAD_TOO_LARGE => Some("Content Too Large"),
        StatusCode::UNPROCESSABLE_ENTITY => Some("Unprocessable Content"),
        _ => status.canonical_reason(),
    };
    format!("HTTP/1.1 {} {}", status.as_u16(), phrase.unwrap_or(""))
        .trim_end()
        .to_owned()
}

fn status(input: &mut Input<'_>) -> StatusCode {
    let code = if input.one_in(3) {
        input.range(100, 999) as u16
    } else {
        input.pick(&[200, 201, 403, 404, 409, 423, 424, 507, 299, 999])
    };
    StatusCode::from_u16(code).expect("100 to 999")
}

/// A property, when the name and namespace make one; `Property::new`
/// keeps what it was given.
fn property(input: &mut Input<'_>) -> Option<Property> {
    let namespace = if input.one_in(4) {
        input.text(6, TEXT)
    } else {
        input.pick(NAMESPACES).to_owned()
    };
    let name = if input.one_in(4) {
        input.text(4, NAMES)
    } else {
        input.pick(NAMES).to_owned()
    };
    let property = Property::new(namespace.clone(), name.clone()).ok()?;
    assert!(!namespace.is_empty(), "an empty namespace taken");
    assert!(
        namespace
            .chars()
            .all(|c| is_xml_char(c) && !matches!(c, '\t' | '\n' | '\r')),
        "the namespace {namespace:?} taken"
    );
    assert_eq!(
        (property.namespace(), property.name()),
        (&*namespace, &*name)
    );
    Some(property)
}

fn properties(input: &mut Input<'_>, max: usize) -> Vec<Property> {
    let count = input.below_or(max);
    (0..count).filter_map(|_| property(input)).collect()
}

fn href(input: &mut Input<'_>) -> String {
    match input.below_or(3) {
        0 => input.pick(&["/a", "/b", "/c/", "http://h/a"]).to_owned(),
        _ => input.text(8, TEXT),
    }
}

fn named(property: &Property) -> (String, String) {
    (property.namespace().to_owned(), property.name().to_owned())
}

/// A body built with `MultiStatus`'s own methods, and what it should say.
fn built(input: &mut Input<'_>) -> (MultiStatus, Result<Vec<Entry>, MultiStatusError>) {
    let mut body = MultiStatus::new();
    let mut entries: Vec<Entry> = Vec::new();
    let mut raw: Vec<(String, bool)> = Vec::new();
    for _ in 0..input.below_or(8) {
        match input.below_or(3) {
            0 => {
                let (href, status) = (href(input), status(input));
                body = body.status(href.clone(), status);
                raw.push((href.clone(), false));
                entries.push(Entry {
                    href: href.clone(),
                    status: Some(status_line(status)),
                    ..Entry::default()
                });
            }
            1 => {
                let href = href(input);
                let mut propstats = Vec::new();
                let mut expected = Vec::new();
                for _ in 0..input.below_or(3) {
                    let (properties, status) = (properties(input, 3), status(input));
                    expected.push((properties.iter().map(named).collect(), status_line(status)));
                    propstats.push(Propstat::new(properties, status));
                }
                let empty = expected.iter().any(|(p, _): &(Vec<_>, _)| p.is_empty());
                body = body.propstats(href.clone(), propstats);
                raw.push((href.clone(), empty));
                entries.push(Entry {
                    href: href.clone(),
                    propstats: expected,
                    ..Entry::default()
                });
            }
            2 => {
                let text = input.text(8, TEXT);
                body = body.description(text.clone());
                if let Some(last) = entries.last_mut() {
                    last.description = Some(read_back(&text));
                }
            }
            _ => {
                if let Some(condition) = property(input) {
                    body = body.error(condition.clone());
                    if let Some(last) = entries.last_mut() {
                        last.error = Some(named(&condition));
                    }
                }
            }
        }
    }
    // The first response at fault, in order: an href seen before, or a
    // propstat without a property.
    for (i, (href, empty)) in raw.iter().enumerate() {
        if !href.chars().all(is_xml_char) {
            return (body, Err(MultiStatusError::BadHref(href.clone())));
        }
        if raw[..i].iter().any(|(other, _)| other == href) {
            return (body, Err(MultiStatusError::DuplicateHref(href.clone())));
        }
        if *empty {
            return (body, Err(MultiStatusError::EmptyPropstat(href.clone())));
        }
    }
    (body, Ok(entries))
}

/// A PROPPATCH answer: every requested property once per request, a failed
/// one with its status, the others 424 when any failed and 200 when none.
fn patched(input: &mut Input<'_>) -> (MultiStatus, Result<Vec<Entry>, MultiStatusError>) {
    let href = href(input);
    let requested = properties(input, 6);
    let mut failed = Vec::new();
    for _ in 0..input.below_or(3) {
        let status = status(input);
        let property = match requested.is_empty() || input.one_in(3) {
            true => property(input),
            false => Some(requested[input.below_or(requested.len() - 1)].clone()),
        };
        failed.extend(property.map(|property| (property, status)));
    }
    let body = proppatch(href.clone(), &requested, &failed);
    let status_of = |property: &Property| match failed.iter().find(|(p, _)| p == property) {
        Some((_, status)) => *status,
        None if failed.is_empty() => StatusCode::OK,
        None => StatusCode::FAILED_DEPENDENCY,
    };
    let mut groups: Vec<(Vec<(String, String)>, StatusCode)> = Vec::new();
    for property in &requested {
        let status = status_of(property);
        match groups.iter_mut().find(|(_, s)| *s == status) {
            Some((group, _)) => group.push(named(property)),
            None => groups.push((vec![named(property)], status)),
        }
    }
    if !failed.is_empty() {
        let failed_ok = failed.iter().any(|(_, s)| *s == StatusCode::OK);
        assert!(
            failed_ok || groups.iter().all(|(_, s)| *s != StatusCode::OK),
            "a 200 mixed with a failure"
        );
    }
    if !href.chars().all(is_xml_char) {
        return (body, Err(MultiStatusError::BadHref(href)));
    }
    let entry = Entry {
        href: href.clone(),
        propstats: groups
            .into_iter()
            .map(|(group, status)| (group, status_line(status)))
            .collect(),
        ..Entry::default()
    };
    (body, Ok(vec![entry]))
}

/// A DELETE answer: each href with its status, 424s left out.
fn deleted(input: &mut Input<'_>) -> (MultiStatus, Result<Vec<Entry>, MultiStatusError>) {
    let results: Vec<(String, StatusCode)> = (0..input.below_or(6))
        .map(|_| (href(input), status(input)))
        .collect();
    let body = without_failed_dependency(results.clone());
    let kept: Vec<_> = results
        .into_iter()
        .filter(|(_, status)| *status != StatusCode::FAILED_DEPENDENCY)
        .collect();
    for (i, (href, _)) in kept.iter().enumerate() {
        if !href.chars().all(is_xml_char) {
            return (body, Err(MultiStatusError::BadHref(href.clone())));
        }
        if kept[..i].iter().any(|(other, _)| other == href) {
            return (body, Err(MultiStatusError::DuplicateHref(href.clone())));
        }
    }
    let entries = kept
        .iter()
        .map(|(href, status)| Entry {
            href: href.clone(),
            status: Some(status_line(*status)),
            ..Entry::default()
        })
        .collect();
    (body, Ok(entries))
}

/// An attribute value as an XML parser reads it: each literal tab, line
/// feed or carriage return (after line-end normalisation) a space, then
/// references resolved.
fn attribute_value(raw: &[u8]) -> String {
    let raw = std::str::from_utf8(raw).expect("attribute in UTF-8");
    let normalised = raw.replace("\r\n", "\n").replace(['\t', '\n', '\r'], " ");
    unescape(&normalised)
        .expect("attribute references resolve")
        .into_owned()
}

/// Reads a 207 document back into its responses.
fn parse(xml: &str) -> Vec<Entry> {
    if let Some(bad) = xml.chars().find(|&c| !is_xml_char(c)) {
        panic!(
            "the document holds U+{:04X}, which XML 1.0 does not allow",
            bad as u32
        );
    }
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut namespaces: Vec<(String, String)> = vec![("D".to_owned(), "DAV:".to_owned())];
    let mut stack: Vec<String> = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    let mut text = String::new();
    let mut roots = 0;
    let resolve = |namespaces: &[(String, String)], qualified: &str| {
        let (prefix, local) = qualified.split_once(':').expect("a prefixed name");
        let namespace = namespaces
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .unwrap_or_else(|| panic!("the prefix {prefix} is not declared"));
        (namespace.1.clone(), local.to_owned())
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Decl(_) => assert!(stack.is_empty() && roots == 0),
            Event::Start(start) => {
                let name = std::str::from_utf8(start.name().as_ref())
                    .expect("UTF-8 name")
                    .to_owned();
                match (stack.last().map(String::as_str), name.as_str()) {
                    (None, "D:multistatus") => {
                        roots += 1;
                        for attribute in start.attributes() {
                            let attribute = attribute.expect("a well-formed attribute");
                            let key = std::str::from_utf8(attribute.key.as_ref()).unwrap();
                            let prefix = key.strip_prefix("xmlns:").expect("only xmlns:");
                            let value = attribute_value(&attribute.value);
                            if prefix == "D" {
                                assert_eq!(value, "DAV:");
                            } else {
                                assert!(
                                    !namespaces.iter().any(|(p, _)| p == prefix),
                                    "{prefix} declared twice"
                                );
                                namespaces.push((prefix.to_owned(), value));
                            }
                        }
                    }
                    (Some("D:multistatus"), "D:response") => entries.push(Entry::default()),
                    (Some("D:response"), "D:propstat") => entries
                        .last_mut()
                        .unwrap()
                        .propstats
                        .push(Default::default()),
                    (Some("D:response"), "D:href" | "D:status" | "D:error")
                    | (Some("D:response"), "D:responsedescription")
                    | (Some("D:propstat"), "D:prop" | "D:status") => {}
                    (parent, name) => panic!("<{name}> in {parent:?}"),
                }
                text.clear();
                stack.push(name);
            }
            Event::Empty(empty) => {
                let qualified = empty.name();
                let name = std::str::from_utf8(qualified.as_ref()).expect("UTF-8 name");
                assert_eq!(empty.attributes().count(), 0);
                let property = resolve(&namespaces, name);
                let entry = entries.last_mut().expect("in a response");
                match stack.last().map(String::as_str) {
                    Some("D:prop") => entry.propstats.last_mut().unwrap().0.push(property),
                    Some("D:error") => {
                        assert!(entry.error.is_none(), "two errors");
                        entry.error = Some(property);
                    }
                    parent => panic!("<{name}/> in {parent:?}"),
                }
            }
            Event::Text(part) => {
                let content = part.xml10_content().expect("UTF-8 text");
                match stack.last().map(String::as_str) {
                    Some("D:href" | "D:status" | "D:responsedescription") => {
                        text.push_str(&content)
                    }
                    _ => assert!(
                        content.chars().all(|c| c.is_ascii_whitespace()),
                        "text {content:?} between elements"
                    ),
                }
            }
            Event::GeneralRef(reference) => {
                assert!(
                    matches!(
                        stack.last().map(String::as_str),
                        Some("D:href" | "D:status" | "D:responsedescription")
                    ),
                    "a reference between elements"
                );
                match reference
                    .resolve_char_ref()
                    .expect("a valid character reference")
                {
                    Some(c) => {
                        assert!(is_xml_char(c), "a reference to U+{:04X}", c as u32);
                        text.push(c);
                    }
                    None => {
                        let name = reference.decode().unwrap();
                        let resolved = resolve_predefined_entity(&name)
                            .unwrap_or_else(|| panic!("the undeclared entity &{name};"));
                        text.push_str(resolved);
                    }
                }
            }
            Event::End(end) => {
                let name = std::str::from_utf8(end.name().as_ref()).unwrap().to_owned();
                assert_eq!(stack.pop().as_ref(), Some(&name));
                let text = std::mem::take(&mut text);
                let parent = stack.last().map(String::as_str);
                match (parent, name.as_str()) {
                    (Some("D:response"), "D:href") => entries.last_mut().unwrap().href = text,
                    (Some("D:response"), "D:status") => {
                        entries.last_mut().unwrap().status = Some(text)
                    }
                    (Some("D:response"), "D:responsedescription") => {
                        entries.last_mut().unwrap().description = Some(text)
                    }
                    (Some("D:propstat"), "D:status") => {
                        entries.last_mut().unwrap().propstats.last_mut().unwrap().1 = text
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(stack.is_empty(), "every element closed");
    assert_eq!(roots, 1, "one root");
    entries
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let (body, expected) = match input.below_or(3) {
        0 => patched(&mut input),
        1 => deleted(&mut input),
        _ => built(&mut input),
    };
    let written = body.to_xml();
    let entries = match (written, expected) {
        (Err(error), Err(expected)) => {
            assert_eq!(error, expected);
            assert_eq!(body.into_response().unwrap_err(), expected);
            return;
        }
        (Ok(xml), Ok(entries)) => {
            let read = parse(&xml);
            assert_eq!(read, entries, "{xml}");
            let response = body.into_response().expect("written once, written twice");
            assert_eq!(response.status(), StatusCode::MULTI_STATUS);
            assert_eq!(
                response.headers()[CONTENT_TYPE],
                "application/xml; charset=utf-8"
            );
            assert_eq!(response.body(), &xml);
            read
        }
        (written, expected) => panic!("written {written:?}, expected {expected:?}"),
    };
    for (i, entry) in entries.iter().enumerate() {
        assert!(
            !entries[..i].iter().any(|other| other.href == entry.href),
            "the href {:?} reads back twice",
            entry.href
        );
    }
});
