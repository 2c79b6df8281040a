//! A batch built part by part: ids (duplicates in any case, too long),
//! methods in odd cases, urls from a grammar (relative, absolute on the
//! batch's own origin or another, `$<id>/rest`, `/$<id>`, `%24<id>`, dot
//! segments, percent-encodings, spaces, non-ASCII; `$<id>` and
//! `$<id>/<member>` in a query option's value, `$<id>` past the first
//! segment or as an option's name, `$<id>` naming the part itself), headers (`If-Match: $<id>`,
//! latin-1 bytes), bodies of every kind (JSON, text, base64 of either
//! alphabet, padded or not, or garbage), `dependsOn`/`depends_on` graphs
//! (forward, unknown, self references), `if`, unknown members, both
//! dialects. `BatchLayer` runs it over an inner service that answers as the
//! part's path says (status, `Location`, `ETag`, bytes 0x80-0xFF in header
//! values, JSON, text or binary bodies; or never, an error, a panic), on a
//! paused tokio clock. Checked:
//! - a batch the grammar knows to be valid is answered 200, one known to be
//!   invalid 400 (a problem whose `status` is the HTTP status) without
//!   running anything;
//! - a 200 holds one answer per part, in order, with its id;
//! - a part runs at most once, only when every part it depends on answered
//!   2xx, never with an `if`; one that did not run answers 424 (an `if`
//!   naming its condition, or a `dependency` among its failed dependencies
//!   with its status and a `root_cause` that failed first, up its chain) or
//!   400 (a `$<id>` that could not be resolved); one that could run, ran;
//! - what a part ran with: its method in upper case, its body as sent (JSON
//!   equal, text and decoded base64 byte for byte), a path without scheme,
//!   authority, `.` or `..` segments, never the batch's own; `$<id>`
//!   resolved below that part's `Location`, `If-Match: $<id>` as its `ETag`,
//!   a value reference as the literal of the value that part's JSON answer
//!   holds there (a part whose reference names no such value, or stands
//!   where none is resolved, answers 400 without running); no uri the inner
//!   service sees carries a `$<id>` (or `%24<id>`) of a part of its batch;
//!   the outer `Authorization` unless it set its own; its dependencies
//!   recorded as succeeded;
//! - what a part answered: its status, every header under the dialect's
//!   spelling with each character the byte it was, its body as JSON, text,
//!   or the dialect's base64 of its bytes; a 500 for an error, a panic or an
//!   answer over the limit, a 504 for one that never came.

#![no_main]

#[path = "input.rs"]
mod input;

use std::cell::Cell;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, IF_MATCH};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use input::Input;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};
use tower::{service_fn, Layer, ServiceExt};
use tower_failed_dependency::batch::{BatchLayer, Dialect};
use tower_failed_dependency::RequestBody;
use tower_failed_dependency::{Dependencies, Outcome};

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
    /// Set right before a panic the target causes on purpose (an inner
    /// service that panics), so that libFuzzer's hook lets it through.
    static EXPECTED_PANIC: Cell<bool> = const { Cell::new(false) };
}

fn allow_expected_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !EXPECTED_PANIC.with(|expected| expected.replace(false)) {
                abort(info);
            }
        }));
    });
}

/// The header the target tags each part with, to know which one ran.
const PART: &str = "x-fuzz-part";

/// Whether a batch is valid, as far as the grammar knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Validity {
    Valid,
    Unknown,
    Invalid,
}

/// Where the batch was sent.
#[derive(Debug, Clone, Copy)]
struct Outer {
    uri: &'static str,
    host: Option<&'static str>,
    path: &'static str,
    /// Absolute urls on the batch's own origin, and on others.
    own: &'static [&'static str],
    foreign: &'static [&'static str],
}

const OUTERS: &[Outer] = &[
    Outer {
        uri: "/$batch",
        host: Some("api.example:8080"),
        path: "/$batch",
        own: &["http://api.example:8080", "HTTPS://API.example:8080"],
        foreign: &[
            "http://api.example",
            "http://other.example:8080",
            "http://u@api.example:8080",
        ],
    },
    Outer {
        uri: "https://api.example/$batch",
        host: None,
        path: "/$batch",
        own: &["https://api.example", "https://api.example:443"],
        foreign: &[
            "http://api.example",
            "https://api.example:8443",
            "ftp://api.example",
        ],
    },
    Outer {
        uri: "/v1.0/$batch",
        host: Some("api.example"),
        path: "/v1.0/$batch",
        own: &["http://api.example", "https://api.example:443"],
        foreign: &["http://api.example:8080", "https://evil.example"],
    },
];

/// How the inner service answers a path that names `p<k>`.
#[derive(Debug, Clone)]
struct AnswerSpec {
    status: u16,
    /// The `Location` bytes, and the path a `$<id>` below it starts with
    /// when it is one on this service.
    location: Option<(Vec<u8>, Option<String>)>,
    etag: Option<Vec<u8>>,
    /// Values of `x-bytes`.
    extra: Vec<Vec<u8>>,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    behaviour: Behaviour,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Answer,
    Never,
    Fail,
    Panic,
}

/// How a body of a media type is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carried {
    Json,
    Text,
    Base64,
}

const MEDIA: &[(&str, Carried)] = &[
    ("application/json", Carried::Json),
    ("application/merge-patch+json; charset=utf-8", Carried::Json),
    ("text/plain", Carried::Text),
    ("text/csv; charset=utf-8", Carried::Text),
    ("application/octet-stream", Carried::Base64),
    ("image/png", Carried::Base64),
    ("json", Carried::Base64),
];

fn carried(content_type: Option<&str>) -> Carried {
    content_type
        .and_then(|t| MEDIA.iter().find(|(m, _)| *m == t))
        .map_or(Carried::Base64, |(_, c)| *c)
}

const STANDARD: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64(bytes: &[u8], alphabet: &[u8], pad: bool) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(alphabet[(n >> (18 - 6 * i) & 63) as usize]));
        }
        if pad {
            out.extend(std::iter::repeat_n('=', 3 - chunk.len()));
        }
    }
    out
}

fn unbase64(text: &str, alphabet: &[u8], pad: bool) -> Vec<u8> {
    let bytes = text.as_bytes();
    let body = if pad {
        assert_eq!(bytes.len() % 4, 0, "padded base64 {text:?}");
        let end = bytes.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
        assert!(bytes.len() - end < 3, "{text:?}");
        &bytes[..end]
    } else {
        assert!(!bytes.contains(&b'='), "unpadded base64 {text:?}");
        bytes
    };
    let mut out = Vec::new();
    for chunk in body.chunks(4) {
        assert!(chunk.len() >= 2, "base64 {text:?}");
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &c)| {
            let value = alphabet.iter().position(|&a| a == c);
            let value = value.unwrap_or_else(|| panic!("{:?} in base64 {text:?}", char::from(c)));
            n | (value as u32) << (18 - 6 * i)
        });
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

/// What a part was sent as and what the target expects of it.
#[derive(Debug, Default)]
struct PartSpec {
    members: Vec<(String, Value)>,
    id: String,
    method: String,
    /// The earlier parts it depends on, by index.
    deps: Vec<usize>,
    /// The part its url refers to with `$<id>`.
    url_reference: Option<usize>,
    /// A value reference in its query: the part, the member path below its
    /// answer, and how many options the query has.
    value_reference: Option<(usize, &'static str, usize)>,
    /// A `$<id>` of a dependency where none is resolved: the part is
    /// refused once its dependencies succeeded.
    refused_reference: bool,
    /// The part its `If-Match` refers to.
    etag_reference: Option<usize>,
    condition: Option<String>,
    /// The body the inner service should see: JSON, or bytes.
    body: Option<Result<Value, Vec<u8>>>,
    authorization: Option<String>,
}

/// One batch, as written.
struct Batch {
    outer: Outer,
    validity: Validity,
    parts: Vec<PartSpec>,
}

impl Batch {
    fn mark(&mut self, validity: Validity) {
        self.validity = self.validity.max(validity);
    }
}

const IDS: &[&str] = &[
    "1",
    "2",
    "3",
    "4",
    "a",
    "B",
    "x-y",
    "caf\u{e9}",
    "p q",
    "99",
];
const METHODS: &[&str] = &[
    "GET", "get", "Post", "PATCH", "delete", "put", "Head", "mkcol",
];
const TEXT: &[&str] = &[
    "a",
    " ",
    "\u{e9}",
    "\n",
    "\"",
    "\\",
    "\u{0}",
    "\u{1f600}",
    "{}",
];

/// A header value as latin-1 text: each byte a header may hold as the
/// character of the same value.
fn latin1(input: &mut Input<'_>, max: usize) -> (String, Vec<u8>) {
    let bytes: Vec<u8> = input
        .bytes(max)
        .into_iter()
        .filter(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
        .collect();
    (bytes.iter().map(|&b| char::from(b)).collect(), bytes)
}

fn json_value(input: &mut Input<'_>, depth: usize) -> Value {
    match input.below_or(6) {
        0 => json!({}),
        1 => Value::from(input.range(0, u64::MAX)),
        2 => Value::from(input.text(6, TEXT)),
        3 => Value::Bool(input.one_in(2)),
        4 => json!(-1.5e300),
        5 if depth < 3 => Value::Array(
            (0..input.below_or(3))
                .map(|_| json_value(input, depth + 1))
                .collect(),
        ),
        _ if depth < 3 => {
            let mut map = Map::new();
            for _ in 0..input.below_or(3) {
                map.insert(input.text(3, TEXT), json_value(input, depth + 1));
            }
            Value::Object(map)
        }
        _ => Value::Null,
    }
}

/// A part's url and what it refers to.
#[derive(Default)]
struct Url {
    text: String,
    /// The part it is below (`$<id>` as its first segment).
    below: Option<usize>,
    value: Option<(usize, &'static str, usize)>,
    refused: bool,
}

/// A dependency's id as a url may spell it: in any case, `$` or `%24`, the
/// id as written or each byte percent-encoded.
fn spelled_reference(batch: &Batch, input: &mut Input<'_>, part: usize) -> String {
    let id = batch.parts[part].id.clone();
    let id = if input.one_in(2) {
        id.to_ascii_uppercase()
    } else {
        id
    };
    let id = if input.one_in(4) {
        id.bytes().map(|byte| format!("%{byte:02X}")).collect()
    } else {
        id
    };
    let dollar = if input.one_in(4) { "%24" } else { "$" };
    format!("{dollar}{id}")
}

/// A part's url and what it refers to.
fn url(
    batch: &mut Batch,
    input: &mut Input<'_>,
    deps: &[usize],
    (earlier, own): (usize, &str),
) -> Url {
    let k = input.below_or(5);
    if !deps.is_empty() && input.one_in(3) {
        let dep = deps[input.below_or(deps.len() - 1)];
        let reference = spelled_reference(batch, input, dep);
        return match input.below_or(5) {
            0 => Url {
                text: format!("{reference}/p{k}"),
                below: Some(dep),
                ..Url::default()
            },
            1 => {
                let member = input.pick(&["", "/a", "%2Fa", "/a/b"]);
                Url {
                    text: format!("/p{k}?$filter=x eq {reference}{member}&$top=2"),
                    value: Some((dep, member, 2)),
                    ..Url::default()
                }
            }
            2 => {
                let member = input.pick(&["", "/a"]);
                Url {
                    text: format!("/p{k}?x={reference}{member}"),
                    value: Some((dep, member, 1)),
                    ..Url::default()
                }
            }
            3 => Url {
                text: format!("/p{k}/{reference}"),
                refused: true,
                ..Url::default()
            },
            _ => Url {
                text: format!("/p{k}?{reference}=1"),
                refused: true,
                ..Url::default()
            },
        };
    }
    if input.one_in(16) && !own.is_empty() {
        // The part's own id: no earlier request.
        batch.mark(Validity::Invalid);
        return Url {
            text: format!("/p{k}?x=${own}"),
            ..Url::default()
        };
    }
    let outer = batch.outer;
    let (text, below) = match input.below_or(13) {
        0 => (format!("/p{k}"), None),
        1 => (format!("p{k}/x?$select=id"), None),
        2 => (format!("/p{k}?$filter=city eq null"), None),
        3 => (format!("/p{k}/caf\u{e9}/{{file}}"), None),
        4 => {
            let origin = input.pick(outer.own);
            (format!("{origin}/p{k}"), None)
        }
        5 => {
            batch.mark(Validity::Invalid);
            let origin = input.pick(outer.foreign);
            (format!("{origin}/p{k}"), None)
        }
        6 | 7 if !deps.is_empty() => {
            let dep = deps[input.below_or(deps.len() - 1)];
            let id = batch.parts[dep].id.clone();
            let id = if input.one_in(2) {
                id.to_ascii_uppercase()
            } else {
                id
            };
            let form = input.pick(&["$ID/pK", "/$ID/pK", "$ID?x=pK", "$ID"]);
            let url = form.replace("ID", &id).replace('K', &k.to_string());
            (url, Some(dep))
        }
        8 if earlier > 0 => {
            // An earlier part not in dependsOn: refused.
            let part = input.below_or(earlier - 1);
            let id = batch.parts[part].id.clone();
            if !deps.contains(&part) {
                batch.mark(Validity::Invalid);
            }
            (format!("${id}/p{k}"), deps.contains(&part).then_some(part))
        }
        9 => {
            batch.mark(Validity::Invalid);
            let bad = input.pick(&[
                "/pK/../x",
                "pK/%2E%2e/x",
                "/pK/./x",
                "//evil.example/pK",
                "/pK\\x",
                "$batch",
                "./pK",
            ]);
            (bad.replace('K', &k.to_string()), None)
        }
        10 => {
            // Not a part's id: a path segment of its own.
            (format!("$metadata/p{k}"), None)
        }
        11 => {
            batch.mark(Validity::Unknown);
            (
                input.text(
                    6,
                    &[
                        "/", "p1", "%", "%2e", ".", "..", "$", "?", "#", ":", "@", "\u{e9}", " ",
                    ],
                ),
                None,
            )
        }
        _ => {
            if let Some(dep) = deps.first() {
                // A reference to a dependency with a dot segment after it.
                batch.mark(Validity::Invalid);
                let id = batch.parts[*dep].id.clone();
                (format!("${id}/../p{k}"), None)
            } else {
                (format!("/p{k}/.hidden/a b"), None)
            }
        }
    };
    Url {
        text,
        below,
        ..Url::default()
    }
}

fn part(batch: &mut Batch, input: &mut Input<'_>, index: usize) -> PartSpec {
    let mut spec = PartSpec::default();
    // The id.
    let id = match input.below_or(9) {
        0 => {
            batch.mark(Validity::Invalid);
            match input.below_or(3) {
                0 => None,
                1 => Some(Value::from("")),
                2 => Some(Value::from(7)),
                _ => Some(Value::from("i".repeat(129))),
            }
        }
        1 if index > 0 => {
            batch.mark(Validity::Invalid);
            let other = batch.parts[input.below_or(index - 1)].id.clone();
            Some(Value::from(other.to_ascii_uppercase()))
        }
        _ => {
            let base = input.pick(IDS);
            let mut id = base.to_owned();
            let mut n = 0;
            while batch.parts.iter().any(|p| p.id.eq_ignore_ascii_case(&id)) {
                n += 1;
                id = format!("{base}{n}");
            }
            Some(Value::from(id))
        }
    };
    spec.id = id.as_ref().and_then(Value::as_str).unwrap_or("").to_owned();
    if let Some(id) = id {
        spec.members.push(("id".to_owned(), id));
    }

    // The method.
    let method = match input.below_or(10) {
        0 => {
            batch.mark(Validity::Invalid);
            match input.below_or(2) {
                0 => Value::from("G ET"),
                1 => Value::from(""),
                _ => Value::from(1),
            }
        }
        _ => Value::from(input.pick(METHODS)),
    };
    spec.method = method.as_str().unwrap_or("").to_owned();
    spec.members.push(("method".to_owned(), method));
    let bodyless = ["GET", "DELETE", "HEAD"].contains(&&*spec.method.to_ascii_uppercase());

    // dependsOn: earlier ids, in any case; or ids that are not earlier.
    let mut dep_ids: Vec<Value> = Vec::new();
    if index > 0 && input.one_in(2) {
        for _ in 0..input.below_or(3) {
            let dep = input.below_or(index - 1);
            if !spec.deps.contains(&dep) {
                spec.deps.push(dep);
            }
            let id = batch.parts[dep].id.clone();
            let id = if input.one_in(3) {
                id.to_ascii_lowercase()
            } else {
                id
            };
            dep_ids.push(Value::from(id));
        }
    }
    let mut depends = (!dep_ids.is_empty() || input.one_in(8)).then_some(Value::Array(dep_ids));
    if input.one_in(12) {
        batch.mark(Validity::Invalid);
        depends = Some(match input.below_or(3) {
            0 => json!([spec.id]),
            1 => json!(["nobody"]),
            2 => json!("1"),
            _ => json!([1]),
        });
    }

    // The url.
    let url = url(batch, input, &spec.deps, (index, &spec.id));
    spec.url_reference = url.below;
    spec.value_reference = url.value;
    spec.refused_reference = url.refused;
    spec.members.push(("url".to_owned(), Value::from(url.text)));

    // The headers.
    let mut headers = Map::new();
    headers.insert(PART.to_owned(), Value::from(index.to_string()));
    let mut content_type = None;
    for _ in 0..input.below_or(4) {
        match input.below_or(7) {
            0 | 1 => {
                let media = input.pick(MEDIA).0;
                let name = input.pick(&["Content-Type", "content-type", "CONTENT-TYPE"]);
                if content_type.is_none() {
                    headers.insert(name.to_owned(), Value::from(media));
                    content_type = Some(media);
                }
            }
            2 => {
                let (text, _) = latin1(input, 12);
                headers.insert("X-Raw".to_owned(), Value::from(text));
            }
            3 if !spec.deps.is_empty() => {
                let dep = spec.deps[input.below_or(spec.deps.len() - 1)];
                let id = batch.parts[dep].id.clone();
                let value = input.pick(&["$ID", " $ID "]).replace("ID", &id);
                headers.insert("If-Match".to_owned(), Value::from(value));
                spec.etag_reference = Some(dep);
            }
            4 => {
                let value = format!("Bearer {}", input.pick(&["part", "other"]));
                headers.insert("Authorization".to_owned(), Value::from(value.clone()));
                spec.authorization = Some(value);
            }
            5 => {
                batch.mark(Validity::Invalid);
                match input.below_or(3) {
                    0 => headers.insert("bad name".to_owned(), Value::from("x")),
                    1 => headers.insert("X-Euro".to_owned(), Value::from("\u{20ac}")),
                    2 => headers.insert("X-Line".to_owned(), Value::from("a\nb")),
                    _ => headers.insert("X-Number".to_owned(), Value::from(1)),
                };
            }
            _ => {
                headers.insert("if-none-match".to_owned(), Value::from("\"v1\""));
            }
        }
    }
    if spec.etag_reference.is_some()
        && headers
            .keys()
            .filter(|k| k.eq_ignore_ascii_case("if-match"))
            .count()
            > 1
    {
        spec.etag_reference = None;
        batch.mark(Validity::Unknown);
    }
    spec.members
        .push(("headers".to_owned(), Value::Object(headers)));

    // The body, carried as its Content-Type says.
    if input.one_in(2) {
        let kind = carried(content_type);
        let (body, expected) = match (kind, input.below_or(5)) {
            (Carried::Json, 0) => (Value::Null, None),
            (Carried::Json, _) => {
                let value = json_value(input, 0);
                (value.clone(), Some(Ok(value)))
            }
            (Carried::Text, 0) => {
                batch.mark(Validity::Invalid);
                (json!({"not": "text"}), None)
            }
            (Carried::Text, _) => {
                let text = input.text(10, TEXT);
                (Value::from(text.clone()), Some(Err(text.into_bytes())))
            }
            (Carried::Base64, 0) => {
                batch.mark(Validity::Invalid);
                (
                    Value::from(input.pick(&["not base64!", "+/-_", "aGk=x"])),
                    None,
                )
            }
            (Carried::Base64, _) => {
                let bytes = input.bytes(24);
                let alphabet = input.pick(&[STANDARD, URL_SAFE]);
                let encoded = base64(&bytes, alphabet, input.one_in(2));
                (Value::from(encoded), Some(Err(bytes)))
            }
        };
        if !body.is_null() {
            if content_type.is_none() || bodyless {
                batch.mark(Validity::Invalid);
            }
            spec.body = expected;
        }
        spec.members.push(("body".to_owned(), body));
    }

    if let Some(depends) = depends {
        let name = input.pick(&["dependsOn", "depends_on"]);
        spec.members.push((name.to_owned(), depends));
    }
    if input.one_in(8) {
        let condition = input.pick(&["$1/ok", "true", "x"]);
        spec.condition = Some(condition.to_owned());
        spec.members.push(("if".to_owned(), Value::from(condition)));
    }
    if input.one_in(10) {
        match input.below_or(4) {
            0 => spec
                .members
                .push(("@odata.etag".to_owned(), Value::from("W/1"))),
            1 => {
                batch.mark(Validity::Invalid);
                spec.members
                    .push(("atomicityGroup".to_owned(), Value::from("g")));
            }
            2 => {
                batch.mark(Validity::Invalid);
                spec.members.push(("url".to_owned(), Value::from("/p0")));
            }
            3 => {
                batch.mark(Validity::Invalid);
                spec.members.push(("if".to_owned(), Value::from(true)));
            }
            _ => {
                batch.mark(Validity::Invalid);
                spec.members.push(("dependson".to_owned(), json!([])));
            }
        }
    }
    if input.one_in(16) {
        // Members in another order.
        spec.members.reverse();
    }
    spec
}

fn answer_spec(input: &mut Input<'_>, outer: Outer) -> AnswerSpec {
    let status = if input.one_in(6) {
        input.range(200, 599) as u16
    } else {
        input.pick(&[200, 201, 204, 400, 404, 409, 412, 500, 503])
    };
    let j = input.below_or(4);
    let location = input.one_in(2).then(|| {
        let own = input.pick(outer.own);
        match input.below_or(6) {
            0 => (format!("/p{j}/7"), Some(format!("/p{j}/7"))),
            1 => (format!("/p{j}/"), Some(format!("/p{j}"))),
            2 => (format!("/p{j}?x=1"), Some(format!("/p{j}"))),
            3 => (format!("{own}/p{j}/8"), Some(format!("/p{j}/8"))),
            4 => (format!("p{j}/7"), None),
            5 => (format!("/p{j}/../x"), None),
            _ => (format!("https://other.example/p{j}"), None),
        }
    });
    let mut location = location.map(|(text, prefix)| (text.into_bytes(), prefix));
    if input.one_in(10) {
        location = Some((b"/p1/caf\xe9".to_vec(), None));
    }
    AnswerSpec {
        status,
        location,
        etag: input.one_in(2).then(|| latin1(input, 10).1),
        extra: (0..input.below_or(2))
            .map(|_| latin1(input, 10).1)
            .collect(),
        content_type: if input.one_in(5) {
            None
        } else {
            Some(input.pick(MEDIA).0)
        },
        body: match input.below_or(4) {
            0 => input.bytes(32),
            1 => serde_json::to_vec(&json_value(input, 0)).unwrap(),
            // What a value reference `$<id>/a` names.
            2 => serde_json::to_vec(&json!({"a": json_value(input, 2)})).unwrap(),
            _ => input.text(8, TEXT).into_bytes(),
        },
        behaviour: match input.below_or(12) {
            0 => Behaviour::Never,
            1 => Behaviour::Fail,
            2 => Behaviour::Panic,
            _ => Behaviour::Answer,
        },
    }
}

/// What the inner service saw of one call.
#[derive(Debug)]
struct Ran {
    part: Option<usize>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    record: Option<Dependencies>,
}

/// The `p<k>` a path names.
fn spec_index(path: &str) -> Option<usize> {
    path.split(['/', '?', '&', '='])
        .find_map(|segment| segment.strip_prefix('p')?.parse::<usize>().ok())
}

fn answer(spec: &AnswerSpec) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(spec.body.clone())));
    *response.status_mut() = StatusCode::from_u16(spec.status).unwrap();
    let headers = response.headers_mut();
    if let Some((location, _)) = &spec.location {
        headers.insert("location", HeaderValue::from_bytes(location).unwrap());
    }
    if let Some(etag) = &spec.etag {
        headers.insert("etag", HeaderValue::from_bytes(etag).unwrap());
    }
    for value in &spec.extra {
        headers.append("x-bytes", HeaderValue::from_bytes(value).unwrap());
    }
    if let Some(media) = spec.content_type {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(media));
    }
    response
}

/// A header name as the dialect spells it: Graph's capitalises each word,
/// but for the names the Graph service spells otherwise.
fn spelled(name: &str, dialect: Dialect) -> String {
    if dialect == Dialect::OData {
        return name.to_owned();
    }
    if name == "etag" {
        return "ETag".to_owned();
    }
    name.split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// A header value read back: each character the byte of the same value.
fn header_bytes(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or_else(|_| panic!("{c:?} in a header value")))
        .collect()
}

fn is_success(answer: &Value) -> bool {
    (200..300).contains(&answer["status"].as_u64().unwrap())
}

/// Whether a path holds a `.` or `..` segment, plain or percent-encoded.
fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    })
}

/// `text` with every `%XX` decoded.
fn decoded(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let hex = |at: usize| bytes.get(at).and_then(|&b| char::from(b).to_digit(16));
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if let (b'%', Some(high), Some(low)) = (bytes[i], hex(i + 1), hex(i + 2)) {
            out.push((high * 16 + low) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// Whether `uri` holds a reference to the part `id`: a `$` (or `%24`)
/// followed by the id, in any case, and then by nothing that goes on with
/// a name (a letter, digit, `_`, `-`, `.`, `~`, or a non-ASCII byte).
fn refers_to(uri: &str, id: &str) -> bool {
    let text = decoded(uri);
    let id = id.as_bytes();
    let goes_on =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'~') || b >= 0x80;
    (0..text.len()).any(|at| {
        let after = &text[at + 1..];
        text[at] == b'$'
            && after.len() >= id.len()
            && after[..id.len()].eq_ignore_ascii_case(id)
            && after.get(id.len()).is_none_or(|&b| !goes_on(b))
    })
}

/// The OData literal (decoded) of the value at `member` (`/a`, `%2Fa`,
/// `/a/b`, or nothing: the value the body is) in a JSON answer `spec`
/// gives; `None` when there is none, or it is an object or a collection.
fn odata_literal(spec: &AnswerSpec, member: &str) -> Option<String> {
    if carried(spec.content_type) != Carried::Json {
        return None;
    }
    let body: Value = serde_json::from_slice(&spec.body).ok()?;
    let value = match member {
        "" => match &body {
            Value::Object(members)
                if members.contains_key("value")
                    && members.keys().all(|k| k == "value" || k.contains('@')) =>
            {
                &members["value"]
            }
            _ => &body,
        },
        "/a" | "%2Fa" => body.as_object()?.get("a")?,
        _ => body.as_object()?.get("a")?.as_object()?.get("b")?,
    };
    match value {
        Value::String(text) => Some(format!("'{}'", text.replace('\'', "''"))),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Null => Some("null".to_owned()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

fuzz_target!(|data: &[u8]| {
    allow_expected_panics();
    let mut input = Input::new(data);
    let outer = input.pick(OUTERS);
    let dialect = input.pick(&[Dialect::Graph, Dialect::OData]);
    let answer_limit = input.pick(&[1024 * 1024, 16]);
    let mut layer = BatchLayer::new()
        .path(outer.path)
        .dialect(dialect)
        .max_part_answer(answer_limit)
        .concurrency(input.range(1, 4) as usize);
    if input.one_in(3) {
        layer = layer.part_timeout(Duration::from_millis(input.range(0, 100)));
    }
    let specs: Vec<AnswerSpec> = (0..input.range(1, 4))
        .map(|_| answer_spec(&mut input, outer))
        .collect();
    let mut batch = Batch {
        outer,
        validity: Validity::Valid,
        parts: Vec::new(),
    };
    let count = if input.one_in(32) {
        batch.mark(Validity::Invalid);
        input.pick(&[0, 21])
    } else {
        input.range(1, 6) as usize
    };
    for index in 0..count {
        let part = part(&mut batch, &mut input, index);
        batch.parts.push(part);
    }
    let outer_authorization = input.one_in(2).then_some("Bearer outer");

    // The batch as JSON, each part's members in the order written.
    let mut body = String::from("{\"requests\": [");
    for (i, part) in batch.parts.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push('{');
        for (j, (name, value)) in part.members.iter().enumerate() {
            if j > 0 {
                body.push(',');
            }
            body.push_str(&serde_json::to_string(name).unwrap());
            body.push(':');
            body.push_str(&serde_json::to_string(value).unwrap());
        }
        body.push('}');
    }
    body.push_str("]}");

    let ran: Arc<Mutex<Vec<Ran>>> = Arc::default();
    let inner = {
        let ran = Arc::clone(&ran);
        let specs = specs.clone();
        service_fn(move |request: Request<RequestBody<Full<Bytes>>>| {
            let ran = Arc::clone(&ran);
            let spec =
                spec_index(request.uri().path()).map_or(&specs[0], |k| &specs[k % specs.len()]);
            let spec = spec.clone();
            async move {
                let (head, body) = request.into_parts();
                let body = body.collect().await.unwrap().to_bytes();
                let part = head
                    .headers
                    .get(PART)
                    .and_then(|v| v.to_str().ok()?.parse().ok());
                ran.lock().unwrap().push(Ran {
                    part,
                    method: head.method,
                    uri: head.uri,
                    headers: head.headers,
                    body,
                    record: head.extensions.get::<Dependencies>().cloned(),
                });
                match spec.behaviour {
                    Behaviour::Answer => Ok(answer(&spec)),
                    Behaviour::Never => std::future::pending().await,
                    Behaviour::Fail => Err(std::io::Error::other("the inner service failed")),
                    Behaviour::Panic => {
                        EXPECTED_PANIC.with(|expected| expected.set(true));
                        std::panic::panic_any("the inner service panicked on purpose")
                    }
                }
            }
        })
    };
    let mut request = Request::post(outer.uri).header(CONTENT_TYPE, "application/json");
    if let Some(host) = outer.host {
        request = request.header("host", host);
    }
    if let Some(authorization) = outer_authorization {
        request = request.header(AUTHORIZATION, authorization);
    }
    let request = request.body(Full::new(Bytes::from(body.clone()))).unwrap();
    let service = layer.layer(inner);
    let (status, media, answer) = RUNTIME.with(|runtime| {
        runtime.block_on(async {
            let response = service.oneshot(request).await.unwrap();
            let status = response.status();
            let media = response.headers().get(CONTENT_TYPE).cloned();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, media, body)
        })
    });
    let answer: Value = serde_json::from_slice(&answer).expect("a JSON answer");
    let ran = ran.lock().unwrap();

    // For the inner service: a path on this service, never the batch's own.
    for call in ran.iter() {
        assert!(
            call.uri.scheme().is_none() && call.uri.authority().is_none(),
            "the inner service was called with {}",
            call.uri
        );
        let path = call.uri.path();
        assert!(path.starts_with('/'), "{path}");
        assert!(
            !has_dot_segment(path),
            "the inner service was called with {path}"
        );
        assert_ne!(path.trim_end_matches('/'), outer.path, "a batch ran itself");
        let uri = call.uri.to_string();
        for part in &batch.parts {
            assert!(
                part.id.is_empty() || !refers_to(&uri, &part.id),
                "the inner service was called with {uri}, a reference to '{}' left in it",
                part.id
            );
        }
    }

    if status != StatusCode::OK {
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(media.unwrap(), "application/problem+json");
        assert_eq!(answer["status"], 400);
        assert!(ran.is_empty(), "a refused batch ran a part");
        assert_ne!(
            batch.validity,
            Validity::Valid,
            "a valid batch refused: {answer} {body}"
        );
        return;
    }
    assert_ne!(
        batch.validity,
        Validity::Invalid,
        "an invalid batch taken: {body}"
    );
    assert_eq!(media.unwrap(), "application/json");
    let answers = answer["responses"].as_array().expect("responses");
    assert_eq!(answers.len(), batch.parts.len());
    let index_of = |id: &str| batch.parts.iter().position(|p| p.id == id);
    // How the inner service answered part `dep`, which ran.
    let spec_of = |dep: usize| {
        let called = ran
            .iter()
            .find(|c| c.part == Some(dep))
            .expect("the dependency ran");
        spec_index(called.uri.path()).map_or(&specs[0], |k| &specs[k % specs.len()])
    };
    for (part, answer) in batch.parts.iter().zip(answers) {
        assert_eq!(answer["id"], part.id.as_str());
    }
    if batch.validity == Validity::Unknown {
        // A url of unknown form: the part's own checks do not apply.
        return;
    }

    for (i, (part, answer)) in batch.parts.iter().zip(answers).enumerate() {
        let status = answer["status"].as_u64().unwrap();
        let calls: Vec<&Ran> = ran.iter().filter(|call| call.part == Some(i)).collect();
        assert!(
            calls.len() <= 1,
            "part {} ran {} times",
            part.id,
            calls.len()
        );
        let deps_succeeded = part.deps.iter().all(|&d| is_success(&answers[d]));
        let Some(call) = calls.first() else {
            // Not run: a 424 or a 400.
            let problem = &answer["body"];
            assert_eq!(problem["status"], status, "{answer}");
            match status {
                424 if problem.get("condition").is_some() => {
                    assert!(deps_succeeded);
                    assert_eq!(problem["condition"].as_str(), part.condition.as_deref());
                }
                424 => {
                    let dependency = problem["dependency"].as_str().expect("a dependency");
                    let d = index_of(dependency).expect("the dependency is a part");
                    assert!(part.deps.contains(&d), "{answer}");
                    assert!(!is_success(&answers[d]), "{answer}");
                    assert_eq!(problem["dependency_status"], answers[d]["status"]);
                    let root = problem["root_cause"].as_str().expect("a root cause");
                    let r = index_of(root).expect("the root cause is a part");
                    assert!(!is_success(&answers[r]));
                    assert!(
                        answers[r]["body"].get("root_cause").is_none(),
                        "{root} was not first"
                    );
                    // The root cause is up the part's chain.
                    let mut chain = part.deps.clone();
                    let mut up = false;
                    while let Some(next) = chain.pop() {
                        up |= next == r;
                        chain.extend(&batch.parts[next].deps);
                    }
                    assert!(up, "{root} is not up the chain of {}", part.id);
                }
                400 => {
                    assert!(deps_succeeded);
                    assert!(
                        part.url_reference.is_some()
                            || part.etag_reference.is_some()
                            || part.value_reference.is_some()
                            || part.refused_reference,
                        "{answer}"
                    );
                    assert_eq!(problem["part"], part.id.as_str());
                    if let (None, None, false, Some((dep, member, _))) = (
                        part.url_reference,
                        part.etag_reference,
                        part.refused_reference,
                        part.value_reference,
                    ) {
                        let spec = spec_of(dep);
                        assert_eq!(
                            odata_literal(spec, member),
                            None,
                            "part {} was refused though the value it names is there: {answer}",
                            part.id
                        );
                    }
                }
                other => panic!(
                    "part {} answered {other} without running: {answer}",
                    part.id
                ),
            }
            if deps_succeeded && part.condition.is_none() {
                assert_eq!(status, 400, "part {} could run and did not", part.id);
            }
            continue;
        };
        // Ran: when it could, as it was sent.
        assert!(
            deps_succeeded,
            "part {} ran after a dependency failed",
            part.id
        );
        assert!(part.condition.is_none(), "part {} with an if ran", part.id);
        assert_eq!(call.method.as_str(), part.method.to_ascii_uppercase());
        match &part.body {
            None => assert!(call.body.is_empty()),
            Some(Ok(json)) => {
                let sent: Value = serde_json::from_slice(&call.body).expect("JSON body");
                assert_eq!(&sent, json);
            }
            Some(Err(bytes)) => assert_eq!(&call.body[..], &bytes[..]),
        }
        let path = call.uri.path();
        assert!(
            !part.refused_reference,
            "part {} ran as {} with a reference where none is resolved",
            part.id, call.uri
        );
        if let Some((dep, member, options)) = part.value_reference {
            let literal = odata_literal(spec_of(dep), member).unwrap_or_else(|| {
                panic!("part {} ran as {} with no value to give", part.id, call.uri)
            });
            let query = call.uri.query().unwrap_or("");
            assert!(
                decoded(query)
                    .windows(literal.len())
                    .any(|w| w == literal.as_bytes()),
                "part {} ran as {}, without {literal}",
                part.id,
                call.uri
            );
            assert_eq!(query.split('&').count(), options, "{}", call.uri);
        }
        if let Some(dep) = part.url_reference {
            let called = ran
                .iter()
                .find(|c| c.part == Some(dep))
                .expect("the dependency ran");
            let dep_spec =
                spec_index(called.uri.path()).map_or(&specs[0], |k| &specs[k % specs.len()]);
            let (_, prefix) = dep_spec.location.as_ref().expect("a Location");
            let prefix = prefix.as_ref().expect("a Location on this service");
            assert!(
                path.starts_with(prefix.as_str()),
                "{path} is not below {prefix}"
            );
        }
        if let Some(dep) = part.etag_reference {
            let called = ran
                .iter()
                .find(|c| c.part == Some(dep))
                .expect("the dependency ran");
            let dep_spec =
                spec_index(called.uri.path()).map_or(&specs[0], |k| &specs[k % specs.len()]);
            let values: Vec<_> = call.headers.get_all(IF_MATCH).iter().collect();
            assert_eq!(values.len(), 1);
            assert_eq!(
                values[0].as_bytes(),
                &dep_spec.etag.as_ref().expect("an ETag")[..]
            );
        }
        let authorization = call.headers.get(AUTHORIZATION).map(|v| v.to_str().unwrap());
        assert_eq!(
            authorization,
            part.authorization.as_deref().or(outer_authorization)
        );
        let record = call.record.as_ref().expect("a record of the dependencies");
        for &dep in &part.deps {
            assert!(
                matches!(record.get(&batch.parts[dep].id), Some(Outcome::Succeeded)),
                "{record:?}"
            );
        }

        // What it answered.
        let spec = spec_index(path).map_or(&specs[0], |k| &specs[k % specs.len()]);
        let over = spec.body.len() > answer_limit;
        match spec.behaviour {
            Behaviour::Answer if !over => {}
            Behaviour::Never => {
                assert_eq!(status, 504, "{answer}");
                continue;
            }
            _ => {
                assert_eq!(status, 500, "{answer}");
                continue;
            }
        }
        assert_eq!(status, u64::from(spec.status));
        let headers = answer["headers"].as_object().expect("headers");
        let mut expected: Vec<(&str, Vec<u8>)> = Vec::new();
        if let Some((location, _)) = &spec.location {
            expected.push(("location", location.clone()));
        }
        if let Some(etag) = &spec.etag {
            expected.push(("etag", etag.clone()));
        }
        if !spec.extra.is_empty() {
            expected.push(("x-bytes", spec.extra.join(&b", "[..])));
        }
        if let Some(media) = spec.content_type {
            expected.push(("content-type", media.as_bytes().to_vec()));
        }
        assert_eq!(headers.len(), expected.len(), "{headers:?}");
        for (name, bytes) in expected {
            let text = headers
                .get(&spelled(name, dialect))
                .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
                .as_str()
                .expect("a string");
            assert_eq!(header_bytes(text), bytes, "{name}");
        }
        let body = answer.get("body");
        if spec.body.is_empty() {
            assert!(body.is_none(), "{answer}");
            continue;
        }
        let body = body.expect("a body");
        let kind = carried(spec.content_type);
        let as_json = (kind == Carried::Json)
            .then(|| serde_json::from_slice::<Value>(&spec.body).ok())
            .flatten();
        let as_text = (kind != Carried::Base64)
            .then(|| std::str::from_utf8(&spec.body).ok())
            .flatten();
        match (as_json, as_text) {
            (Some(json), _) => assert_eq!(body, &json),
            (None, Some(text)) => assert_eq!(body.as_str(), Some(text)),
            (None, None) => {
                let encoded = body.as_str().expect("base64 text");
                let decoded = match dialect {
                    Dialect::OData => unbase64(encoded, URL_SAFE, false),
                    _ => unbase64(encoded, STANDARD, true),
                };
                assert_eq!(decoded, spec.body, "{encoded}");
            }
        }
    }
});
