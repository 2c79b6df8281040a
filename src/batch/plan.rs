//! Reading and validating a batch: every check runs before any part does.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, IF_MATCH, IF_NONE_MATCH};
use http::{HeaderMap, HeaderName, Method, StatusCode};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use smallvec::SmallVec;

use super::encoding::{header_value_in, request_body};
use super::members::{read_as_values, Fault, Header, Headers, List, Members, Name, Text, Values};
use super::reference::Refer;
use super::target::{Root, Target};

/// A batch refused before anything ran: a 400 (or 408, 413, 415) problem
/// naming the part and the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    pub(crate) status: StatusCode,
    pub(crate) part: Option<String>,
    pub(crate) field: Option<&'static str>,
    pub(crate) message: String,
}

impl Invalid {
    fn batch(message: impl Into<String>) -> Self {
        Self::with_status(StatusCode::BAD_REQUEST, message)
    }

    fn with_status(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            part: None,
            field: None,
            message: message.into(),
        }
    }

    fn part(id: &str, field: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            part: Some(id.to_owned()),
            field: Some(field),
            message: message.into(),
        }
    }

    /// The status of the answer: 400; 408 for a body that did not arrive
    /// in time, 413 for one over the limit, 415 for one that is not JSON.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `id` of the part at fault, if one is.
    pub fn part_id(&self) -> Option<&str> {
        self.part.as_deref()
    }

    /// The member at fault (`id`, `method`, `url`, `headers`, `body`,
    /// `dependsOn`, or the name of a member that is not allowed).
    pub fn field(&self) -> Option<&str> {
        self.field
    }

    pub(crate) fn unreadable() -> Self {
        Self::batch("The batch body could not be read.")
    }

    pub(crate) fn too_large(limit: usize) -> Self {
        Self::with_status(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The batch body is larger than {limit} bytes."),
        )
    }

    pub(crate) fn too_slow(deadline: Duration) -> Self {
        Self::with_status(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "The batch body did not arrive within {} seconds.",
                deadline.as_secs_f64()
            ),
        )
    }

    pub(crate) fn not_json() -> Self {
        Self::with_status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "A batch must be sent as application/json.",
        )
    }
}

/// What a batch is checked against.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    pub(crate) max_parts: usize,
    pub(crate) max_id_len: usize,
    pub(crate) root: Root,
    /// The batch body: a part's url and header values written without
    /// escapes are kept as slices of it, not copies.
    pub(crate) body: Bytes,
}

/// The batch, each part kept as its raw text: a part is read on its own, so
/// that nesting and type errors name it, and each has the whole of
/// serde_json's recursion limit.
#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow)]
    requests: Vec<&'a RawValue>,
}

/// The batch read in one pass: each part's members borrowed from the body
/// as they come, and the part read from them there and then, at most
/// `max_parts` of them. What a batch in good order costs. Anything else in
/// it (a part too deep to be read inside the batch, one that is not an
/// object, too many parts, none, no `requests`) stops the pass, and the
/// batch is read the careful way, [`Wire`] and then each part on its own,
/// which says what is wrong. A batch this pass reads, the careful way reads
/// alike: each part has more room to nest on its own, and is read by the
/// same [`Members`] and [`read_part`]. A part refused stops the reading of
/// parts but not the pass: should a later part not be read, the careful
/// way speaks of that first, as it reads the whole batch before any part.
struct OnePass<'r> {
    rules: &'r Rules,
    ids: &'r Ids<'r>,
}

/// Why a batch is read the careful way (never shown: that way says why).
const CAREFULLY: &str = "the batch is read part by part";

impl OnePass<'_> {
    /// The parts of `body`, or why it is refused; `None` when it is to be
    /// read the careful way.
    fn read(self, body: &[u8]) -> Option<Result<Vec<Part>, Invalid>> {
        // Checked as UTF-8 once, rather than string by string.
        let text = std::str::from_utf8(body).ok()?;
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let planned = deserializer.deserialize_map(self).ok()?;
        deserializer.end().ok()?;
        Some(planned)
    }
}

impl<'de> Visitor<'de> for OnePass<'_> {
    type Value = Result<Vec<Part>, Invalid>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a batch")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut requests = None;
        while let Some(Name(name)) = map.next_key()? {
            if name != "requests" {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            if requests.is_some() {
                return Err(de::Error::custom(CAREFULLY));
            }
            requests = Some(map.next_value_seed(Requests(&self))?);
        }
        requests.ok_or_else(|| de::Error::custom(CAREFULLY))
    }
}

/// The `requests` array of [`OnePass`].
struct Requests<'p, 'r>(&'p OnePass<'r>);

impl<'de> DeserializeSeed<'de> for Requests<'_, '_> {
    type Value = Result<Vec<Part>, Invalid>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Requests<'_, '_> {
    type Value = Result<Vec<Part>, Invalid>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the requests of a batch")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let Self(pass) = self;
        let mut parts = Vec::new();
        let mut count = 0;
        let mut refused = None;
        while let Some(members) = seq.next_element::<Members<'de>>()? {
            if count == pass.rules.max_parts {
                return Err(de::Error::custom(CAREFULLY));
            }
            count += 1;
            if refused.is_some() {
                continue;
            }
            match read_part(&members, &parts, pass.ids, pass.rules) {
                Ok(part) => parts.push(part),
                Err(invalid) => refused = Some(invalid),
            }
        }
        if count == 0 {
            return Err(de::Error::custom(CAREFULLY));
        }
        Ok(refused.map_or(Ok(parts), Err))
    }
}

/// One part, validated.
#[derive(Debug)]
pub(crate) struct Part {
    /// Its id, shared: the records of the batch and of the parts that
    /// depend on it name it without a copy.
    pub(crate) id: crate::Name,
    pub(crate) method: Method,
    pub(crate) target: Target,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// Indices of the parts it depends on, all earlier: one, in a chain,
    /// kept in place.
    pub(crate) depends_on: SmallVec<[usize; 1]>,
    /// What few parts have, out of line: a part is small enough that the
    /// usual batch's parts fit in one block of the allocator's fast path.
    pub(crate) rare: Option<Box<Rare>>,
}

/// What few parts of a batch have.
#[derive(Debug)]
pub(crate) struct Rare {
    /// Headers whose value is `$<id>`: the `ETag` of the part at that index.
    pub(crate) etags: Vec<(HeaderName, usize)>,
    /// OData's `if`, which this service does not evaluate: the part is
    /// answered 424 without running.
    pub(crate) condition: Option<String>,
}

impl Part {
    /// The headers whose value is the `ETag` of the part at an index.
    pub(crate) fn etags(&self) -> &[(HeaderName, usize)] {
        self.rare.as_ref().map_or(&[], |rare| &rare.etags)
    }

    /// Its `if` condition, if it has one.
    pub(crate) fn condition(&self) -> Option<&str> {
        self.rare
            .as_ref()
            .and_then(|rare| rare.condition.as_deref())
    }
}

/// Reads and validates a batch body: in one pass when it is in good order,
/// else the careful way.
pub(crate) fn plan(body: &[u8], rules: &Rules) -> Result<Vec<Part>, Invalid> {
    let ids = Ids {
        raw: Raw::Body(body),
        read: OnceCell::new(),
    };
    let pass = OnePass { rules, ids: &ids };
    pass.read(body).unwrap_or_else(|| carefully(body, rules))
}

/// Reads and validates a batch body the careful way: the batch, then each
/// part on its own, so that what is wrong is told of the part at fault.
fn carefully(body: &[u8], rules: &Rules) -> Result<Vec<Part>, Invalid> {
    let wire = read_wire(body, rules)?;
    let ids = Ids {
        raw: Raw::Parts(&wire.requests),
        read: OnceCell::new(),
    };
    let mut parts: Vec<Part> = Vec::with_capacity(wire.requests.len());
    for raw in &wire.requests {
        let refused = |error: serde_json::Error| {
            Invalid::batch(format!(
                "Request {} is not a valid request object: {}.",
                parts.len() + 1,
                describe(&error)
            ))
        };
        let values: Values;
        let members = match serde_json::from_str::<Members<'_>>(raw.get()) {
            Ok(members) => members,
            Err(error) if read_as_values(&error) => {
                values = serde_json::from_str(raw.get()).map_err(refused)?;
                Members::of(&values)
            }
            Err(error) => return Err(refused(error)),
        };
        let part = read_part(&members, &parts, &ids, rules)?;
        parts.push(part);
    }
    Ok(parts)
}

/// The batch as its raw parts: JSON of the form `{"requests": [...]}`, with
/// 1 to `max_parts` of them.
fn read_wire<'a>(body: &'a [u8], rules: &Rules) -> Result<Wire<'a>, Invalid> {
    let wire: Wire<'_> = serde_json::from_slice(body).map_err(|error| {
        Invalid::batch(format!(
            "The batch is not valid JSON of the form {{\"requests\": [...]}}: {} at line {}, column {}.",
            describe(&error),
            error.line(),
            error.column()
        ))
    })?;
    if wire.requests.is_empty() {
        return Err(Invalid::batch("The batch has no requests."));
    }
    if wire.requests.len() > rules.max_parts {
        return Err(Invalid::batch(format!(
            "The batch has {} requests; at most {} are allowed.",
            wire.requests.len(),
            rules.max_parts
        )));
    }
    Ok(wire)
}

/// The ids of a batch's parts, read from its raw parts the first time a
/// `$<name>` is looked up (a batch without one never reads them twice),
/// with the length of the longest. A part whose id cannot be read has
/// none: it refuses the batch when its turn comes.
struct Ids<'a> {
    raw: Raw<'a>,
    read: OnceCell<(Vec<Option<String>>, usize)>,
}

/// Where the raw parts are: read already, or in a batch read in one pass
/// (which is read again as [`Wire`] should the ids be wanted).
enum Raw<'a> {
    Parts(&'a [&'a RawValue]),
    Body(&'a [u8]),
}

impl Ids<'_> {
    fn read(&self) -> &(Vec<Option<String>>, usize) {
        self.read.get_or_init(|| {
            #[derive(Deserialize)]
            struct Id {
                id: Option<String>,
            }
            let wire: Vec<&RawValue>;
            let raw = match self.raw {
                Raw::Parts(raw) => raw,
                Raw::Body(body) => {
                    // The batch was read in one pass, so it reads as `Wire`.
                    wire = serde_json::from_slice::<Wire<'_>>(body)
                        .map(|wire| wire.requests)
                        .unwrap_or_default();
                    &wire
                }
            };
            let ids: Vec<Option<String>> = raw
                .iter()
                .map(|raw| {
                    serde_json::from_str::<Id>(raw.get())
                        .ok()
                        .and_then(|part| part.id)
                })
                .collect();
            let longest = ids.iter().flatten().map(String::len).max().unwrap_or(0);
            (ids, longest)
        })
    }
}

/// What went wrong in serde_json's words, without its position (given apart).
fn describe(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// Reads one part, after the `earlier` ones, in a batch of `ids`.
fn read_part(
    members: &Members<'_>,
    earlier: &[Part],
    ids: &Ids<'_>,
    rules: &Rules,
) -> Result<Part, Invalid> {
    let position = earlier.len() + 1;
    let id = match &members.id {
        Some(Text::Text(id)) if id.len() > rules.max_id_len => {
            return Err(Invalid::batch(format!(
                "Request {position} has an id of {} bytes; at most {} are allowed.",
                id.len(),
                rules.max_id_len
            )))
        }
        Some(Text::Text(id)) if !id.is_empty() => crate::Name::copied(id),
        Some(Text::Text(_)) | None => {
            return Err(Invalid::batch(format!("Request {position} has no id.")))
        }
        Some(Text::Other) => {
            return Err(Invalid::batch(format!(
                "Request {position} has an id that is not a string."
            )))
        }
    };
    if let Some((name, fault)) = &members.fault {
        let name = truncated(name);
        let message = match fault {
            Fault::Twice => format!("The member '{name}' is given twice."),
            Fault::Unknown => format!(
                "The member '{name}' is not a member of a batch request (id, method, url, headers, body, dependsOn, if)."
            ),
        };
        return Err(Invalid::part(&id, "member", message));
    }
    if earlier.iter().any(|part| part.id.eq_ignore_ascii_case(&id)) {
        return Err(Invalid::part(
            &id,
            "id",
            format!("The id '{id}' is used twice (ids are compared without case)."),
        ));
    }
    if members.atomicity_group.is_some() {
        return Err(Invalid::part(
            &id,
            "atomicityGroup",
            "Atomicity groups are not supported.",
        ));
    }
    let method = match &members.method {
        // Methods in a batch are case-insensitive (OData spells them `get`):
        // one written in capitals, as most are, is read as it is.
        Some(Text::Text(method)) => {
            let upper = if method.bytes().any(|byte| byte.is_ascii_lowercase()) {
                Cow::Owned(method.to_ascii_uppercase())
            } else {
                Cow::Borrowed(&**method)
            };
            Method::from_bytes(upper.as_bytes())
                .map_err(|_| Invalid::part(&id, "method", "The method is not an HTTP token."))?
        }
        _ => {
            return Err(Invalid::part(
                &id,
                "method",
                "The method is missing or not a string.",
            ))
        }
    };
    let depends_on = read_depends_on(members.depends_on.as_ref(), &id, earlier)?;
    let reference = Names {
        earlier,
        id: &id,
        ids,
        depends_on: &depends_on,
        max_id_len: rules.max_id_len,
    };
    let target = match &members.url {
        Some(Text::Text(url)) => rules
            .root
            .read_in(url, reference, &rules.body)
            .map_err(|why| Invalid::part(&id, "url", why))?,
        _ => {
            return Err(Invalid::part(
                &id,
                "url",
                "The url is missing or not a string.",
            ))
        }
    };
    let (headers, etags) = match members.headers.as_ref().map(Headers::of_object) {
        None => (HeaderMap::new(), Vec::new()),
        Some(Some(headers)) => {
            read_headers(headers, &rules.body, |name: &str| reference.refer(name))
                .map_err(|why| Invalid::part(&id, "headers", why))?
        }
        Some(None) => {
            return Err(Invalid::part(
                &id,
                "headers",
                "The headers are not an object.",
            ))
        }
    };
    let body = match members.body.as_deref() {
        None | Some(Value::Null) => Bytes::new(),
        Some(_) if method == Method::GET || method == Method::DELETE || method == Method::HEAD => {
            return Err(Invalid::part(
                &id,
                "body",
                format!("A {method} request carries no body."),
            ))
        }
        Some(body) => {
            let Some(content_type) = headers.get(CONTENT_TYPE) else {
                return Err(Invalid::part(
                    &id,
                    "body",
                    "A request with a body needs a Content-Type header.",
                ));
            };
            request_body(content_type, body).map_err(|why| Invalid::part(&id, "body", why))?
        }
    };
    let condition = match &members.condition {
        None => None,
        Some(Text::Text(condition)) => Some(truncated(condition).into_owned()),
        Some(Text::Other) => {
            return Err(Invalid::part(
                &id,
                "if",
                "The if condition is not a string.",
            ))
        }
    };
    let rare =
        (!etags.is_empty() || condition.is_some()).then(|| Box::new(Rare { etags, condition }));
    Ok(Part {
        id,
        method,
        target,
        headers,
        body,
        depends_on,
        rare,
    })
}

/// The earlier parts a part depends on, by index.
fn read_depends_on(
    value: Option<&List<'_>>,
    id: &str,
    earlier: &[Part],
) -> Result<SmallVec<[usize; 1]>, Invalid> {
    let ids = match value.map(List::of_array) {
        None => return Ok(SmallVec::new()),
        Some(Some(ids)) => ids,
        Some(None) => {
            return Err(Invalid::part(
                id,
                "dependsOn",
                "dependsOn is not an array of ids.",
            ))
        }
    };
    let mut depends_on = SmallVec::with_capacity(ids.len());
    for dependency in ids {
        let Text::Text(dependency) = dependency else {
            return Err(Invalid::part(
                id,
                "dependsOn",
                "dependsOn holds something that is not an id.",
            ));
        };
        let index = earlier
            .iter()
            .position(|part| part.id.eq_ignore_ascii_case(dependency))
            .ok_or_else(|| {
                Invalid::part(
                    id,
                    "dependsOn",
                    format!(
                        "dependsOn names '{}', which is not an earlier request of the batch.",
                        truncated(dependency)
                    ),
                )
            })?;
        depends_on.push(index);
    }
    Ok(depends_on)
}

/// The parts a part's `$<name>`s can name: every part of the batch.
#[derive(Clone, Copy)]
struct Names<'a> {
    earlier: &'a [Part],
    /// The part's own id.
    id: &'a str,
    /// Every part's (the part is the one after `earlier`).
    ids: &'a Ids<'a>,
    /// The earlier parts it depends on, by index.
    depends_on: &'a [usize],
    max_id_len: usize,
}

impl Refer for Names<'_> {
    /// What `$<name>` refers to: an earlier part the part depends on, no
    /// part at all, or a part it does not depend on (refused: its answer
    /// would not be known when the part starts).
    fn refer(&self, name: &str) -> Result<Option<usize>, String> {
        if let Some(part) = self
            .earlier
            .iter()
            .position(|part| part.id.eq_ignore_ascii_case(name))
        {
            return if self.depends_on.contains(&part) {
                Ok(Some(part))
            } else {
                Err(format!(
                    "'${name}' refers to request '{}', which must be listed in dependsOn.",
                    self.earlier[part].id
                ))
            };
        }
        if self.id.eq_ignore_ascii_case(name) {
            return Err(format!(
                "'${name}' names request '{}' itself, which is no earlier request of the batch; a reference names an earlier request listed in dependsOn.",
                self.id
            ));
        }
        let later = self
            .ids
            .read()
            .0
            .get(self.earlier.len() + 1..)
            .unwrap_or_default();
        match later
            .iter()
            .flatten()
            .find(|id| id.eq_ignore_ascii_case(name))
        {
            Some(later) => Err(format!(
                "'${name}' names request '{}', which comes later and so is no earlier request of the batch; a reference names an earlier request listed in dependsOn.",
                truncated(later)
            )),
            None => Ok(None),
        }
    }

    fn longest(&self) -> usize {
        self.ids.read().1.min(self.max_id_len)
    }
}

/// The most headers a part may have: as many as hyper lets a request have
/// by default.
const MAX_HEADERS: usize = 100;

/// A part's headers; the value `$<id>` of `If-Match` or `If-None-Match`
/// is kept apart, to be replaced by that part's `ETag` (and refused when it
/// names no earlier part). A value that is a slice of the batch body
/// `within` shares its bytes.
fn read_headers(
    headers: &[Header<'_>],
    within: &Bytes,
    reference: impl Fn(&str) -> Result<Option<usize>, String>,
) -> Result<(HeaderMap, Vec<(HeaderName, usize)>), String> {
    // A header map holds at most 32,768 entries and panics past them; a
    // batch body of its default limit could name far more.
    if headers.len() > MAX_HEADERS {
        return Err(format!(
            "The request has {} headers; at most {MAX_HEADERS} are allowed.",
            headers.len()
        ));
    }
    let mut map = HeaderMap::with_capacity(headers.len());
    let mut etags = Vec::new();
    for (name, value) in headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("'{}' is not a header name.", truncated(name)))?;
        let Text::Text(value) = value else {
            return Err(format!("The value of '{header}' is not a string."));
        };
        if header == IF_MATCH || header == IF_NONE_MATCH {
            // An entity-tag is quoted or `*`, so `$name` is always a
            // reference: one that names no earlier request is refused rather
            // than forwarded as a tag that can never match.
            if let Some(name) = value.trim().strip_prefix('$') {
                let Some(part) = reference(name)? else {
                    return Err(format!(
                        "'${}' in '{header}' names no earlier request of the batch.",
                        truncated(name)
                    ));
                };
                etags.push((header, part));
                continue;
            }
        }
        let value = header_value_in(within, value)
            .ok_or_else(|| format!("The value of '{header}' is not a valid header value."))?;
        map.append(header, value);
    }
    Ok((map, etags))
}

/// A name from the batch as a message quotes it: at most 64 characters.
fn truncated(name: &str) -> Cow<'_, str> {
    match name.char_indices().nth(64) {
        Some((end, _)) => format!("{}...", &name[..end]).into(),
        None => name.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn limits() -> Rules {
        let (head, ()) = http::Request::post("/$batch")
            .header("host", "api.example")
            .body(())
            .unwrap()
            .into_parts();
        Rules {
            max_parts: 20,
            max_id_len: 128,
            root: Root::of(&head, "/$batch"),
            body: Bytes::new(),
        }
    }

    fn refused(batch: Value) -> Invalid {
        plan(batch.to_string().as_bytes(), &limits()).unwrap_err()
    }

    fn one(part: Value) -> Invalid {
        refused(json!({"requests": [part]}))
    }

    #[test]
    fn a_part_is_small() {
        // Four parts (a `Vec`'s first capacity) in at most 1 KiB: a block
        // that allocators keep on their fast path (glibc's tcache ends at
        // 1,032 bytes), where a larger one costs the batch about 1,400
        // instructions more to allocate and free.
        assert!(
            std::mem::size_of::<Part>() <= 256,
            "{}",
            std::mem::size_of::<Part>()
        );
    }

    #[test]
    fn the_vector_plans() {
        let body = include_bytes!("../../tests/fixtures/batch-create-then-update.json");
        let parts = plan(body, &limits()).unwrap();
        let ids: Vec<_> = parts.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["1", "2", "3", "4"]);
        assert_eq!(*parts[1].depends_on, [0]);
        assert_eq!(*parts[2].depends_on, [1]);
        assert!(parts[3].depends_on.is_empty());
        assert_eq!(parts[0].method, Method::POST);
        assert_eq!(
            serde_json::from_slice::<Value>(&parts[0].body).unwrap(),
            json!({"email": "taken@example.com"})
        );
    }

    #[test]
    fn each_refusal_names_the_part_and_field() {
        let cases = [
            (json!({"method": "GET", "url": "/a"}), None, None),
            (
                json!({"id": "a", "method": "GE T", "url": "/a"}),
                Some("a"),
                Some("method"),
            ),
            (
                json!({"id": "a", "method": "GET", "url": "https://evil.example/"}),
                Some("a"),
                Some("url"),
            ),
            (
                json!({"id": "a", "method": "GET", "url": "//evil.example/x"}),
                Some("a"),
                Some("url"),
            ),
            (
                json!({"id": "a", "method": "GET", "url": "/users/../admin"}),
                Some("a"),
                Some("url"),
            ),
            (
                json!({"id": "a", "method": "GET", "url": "/users/%2E%2e/admin"}),
                Some("a"),
                Some("url"),
            ),
            (
                json!({"id": "a", "method": "GET", "url": "http://elsewhere.example/users"}),
                Some("a"),
                Some("url"),
            ),
            (
                json!({"id": "a", "method": "GET", "url": "/a", "body": "x",
                       "headers": {"content-type": "text/plain"}}),
                Some("a"),
                Some("body"),
            ),
            (
                json!({"id": "a", "method": "GET", "url": "/a", "dependson": []}),
                Some("a"),
                Some("member"),
            ),
            (
                json!({"id": "a", "method": "GET", "url": "/a", "if": true}),
                Some("a"),
                Some("if"),
            ),
            (
                json!({"id": "a", "method": "POST", "url": "/$batch"}),
                Some("a"),
                Some("url"),
            ),
            (
                json!({"id": "a", "method": "POST", "url": "/a", "body": {}}),
                Some("a"),
                Some("body"),
            ),
            (
                json!({"id": "a", "method": "GET", "url": "/a", "dependsOn": ["a"]}),
                Some("a"),
                Some("dependsOn"),
            ),
            (
                json!({"id": "a", "method": "GET", "url": "/a", "atomicityGroup": "g"}),
                Some("a"),
                Some("atomicityGroup"),
            ),
            (
                json!({"id": "a", "method": "GET", "url": "/a", "headers": {"bad name": "x"}}),
                Some("a"),
                Some("headers"),
            ),
        ];
        for (part, id, field) in cases {
            let invalid = one(part.clone());
            assert_eq!(invalid.status(), StatusCode::BAD_REQUEST, "{part}");
            assert_eq!(invalid.part_id(), id, "{part}");
            assert_eq!(invalid.field(), field, "{part}");
        }
    }

    #[test]
    fn ids_are_unique_without_case_and_dependencies_point_back() {
        let invalid = refused(json!({"requests": [
            {"id": "Create", "method": "GET", "url": "/a"},
            {"id": "create", "method": "GET", "url": "/b"}
        ]}));
        assert_eq!(
            (invalid.part_id(), invalid.field()),
            (Some("create"), Some("id"))
        );

        let invalid = refused(json!({"requests": [
            {"id": "1", "method": "GET", "url": "/a", "dependsOn": ["2"]},
            {"id": "2", "method": "GET", "url": "/b"}
        ]}));
        assert_eq!(
            (invalid.part_id(), invalid.field()),
            (Some("1"), Some("dependsOn"))
        );
        assert!(invalid.to_string().contains("'2'"));

        let invalid = refused(json!({"requests": [
            {"id": "1", "method": "POST", "url": "/users"},
            {"id": "2", "method": "GET", "url": "$1/orders"}
        ]}));
        assert_eq!(
            (invalid.part_id(), invalid.field()),
            (Some("2"), Some("url"))
        );
        assert!(invalid.to_string().contains("dependsOn"), "{invalid}");
        let invalid = refused(json!({"requests": [
            {"id": "1", "method": "POST", "url": "/users"},
            {"id": "2", "method": "PATCH", "url": "/users/1",
             "headers": {"if-match": "$1"}}
        ]}));
        assert_eq!(
            (invalid.part_id(), invalid.field()),
            (Some("2"), Some("headers"))
        );
    }

    #[test]
    fn the_formats_own_spellings_are_read() {
        let parts = plan(
            json!({"requests": [
                {"id": "1", "method": "post", "url": "users",
                 "headers": {"content-type": "application/octet-stream"}, "body": "aGk="},
                {"id": "2", "method": "patch", "url": "$1/manager", "depends_on": ["1"],
                 "headers": {"If-Match": "$1", "x-raw": "caf\u{e9}"}, "@odata.etag": "W/1"},
                {"id": "3", "method": "GET", "url": "http://api.example/health", "dependsOn": ["2"],
                 "if": "$2/ok"}
            ]})
            .to_string()
            .as_bytes(),
            &limits(),
        )
        .unwrap();
        assert_eq!(parts[0].method, Method::POST);
        assert!(matches!(&parts[0].target, Target::Path(uri) if uri == "/users"));
        assert_eq!(parts[0].body, b"hi"[..]);
        assert_eq!(parts[1].method, Method::PATCH);
        assert_eq!(*parts[1].depends_on, [0]);
        assert!(
            matches!(&parts[1].target, Target::Created { part: 0, rest } if rest == "/manager")
        );
        assert_eq!(parts[1].etags(), [(IF_MATCH, 0)]);
        assert_eq!(parts[1].headers["x-raw"].as_bytes(), b"caf\xe9");
        assert!(matches!(&parts[2].target, Target::Path(uri) if uri == "/health"));
        assert_eq!(parts[2].condition(), Some("$2/ok"));
    }

    #[test]
    fn members_are_refused_when_unknown_or_twice_and_ids_when_long() {
        let twice = br#"{"requests": [{"id": "1", "method": "GET", "url": "/a", "url": "/b"}]}"#;
        let invalid = plan(twice, &limits()).unwrap_err();
        assert_eq!(
            (invalid.part_id(), invalid.field()),
            (Some("1"), Some("member"))
        );
        assert!(
            invalid.to_string().contains("'url' is given twice"),
            "{invalid}"
        );
        let both = br#"{"requests": [{"id": "1", "method": "GET", "url": "/a", "dependsOn": [], "depends_on": []}]}"#;
        assert!(plan(both, &limits()).is_err());
        let invalid = one(json!({"id": "a", "method": "GET", "url": "/a", "dependencies": ["x"]}));
        assert!(invalid.to_string().contains("'dependencies'"), "{invalid}");

        let long = "i".repeat(129);
        let invalid = refused(json!({"requests": [
            {"id": "1", "method": "GET", "url": "/a"},
            {"id": long, "method": "GET", "url": "/a"}
        ]}));
        assert_eq!(invalid.part_id(), None);
        assert!(
            invalid
                .to_string()
                .starts_with("Request 2 has an id of 129 bytes"),
            "{invalid}"
        );
        assert!(!invalid.to_string().contains(&long));
    }

    /// A body nested `levels` deep: `levels` arrays around a number.
    fn nested_body(levels: usize) -> String {
        format!(
            r#"{{"requests": [{{"id": "ok", "method": "GET", "url": "/a"}}, {{"id": "deep", "method": "POST", "url": "/a", "headers": {{"content-type": "application/json"}}, "body": {}1{}}}]}}"#,
            "[".repeat(levels),
            "]".repeat(levels)
        )
    }

    #[test]
    fn a_part_body_nests_up_to_126_levels_and_deeper_is_refused_naming_the_part() {
        // serde_json refuses a 128th level of nesting, so a part read on
        // its own nests at most 127: the part object, then its body's 126.
        let parts = plan(nested_body(126).as_bytes(), &limits()).unwrap();
        assert_eq!(parts[1].body.len(), 126 * 2 + 1);
        let invalid = plan(nested_body(127).as_bytes(), &limits()).unwrap_err();
        assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
        assert!(
            invalid
                .to_string()
                .starts_with("Request 2 is not a valid request object: recursion limit exceeded"),
            "{invalid}"
        );
    }

    #[test]
    fn malformed_json_and_limits() {
        let invalid = plan(b"{\"requests\": [", &limits()).unwrap_err();
        assert!(
            invalid.to_string().contains("line 1, column 14"),
            "{invalid}"
        );
        let deep = "[".repeat(10_000);
        assert!(plan(deep.as_bytes(), &limits()).is_err());
        let deep_part = format!(
            r#"{{"requests": [{}1{}]}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let invalid = plan(deep_part.as_bytes(), &limits()).unwrap_err();
        assert!(
            invalid
                .to_string()
                .contains("Request 1 is not a valid request object"),
            "{invalid}"
        );
        assert!(refused(json!({"requests": []}))
            .to_string()
            .contains("no requests"));
        let many: Vec<Value> = (0..21)
            .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/a"}))
            .collect();
        assert!(refused(json!({"requests": many}))
            .to_string()
            .contains("at most 20"));
    }

    /// `plan` as it was before parts were read borrowed: the batch as
    /// `Wire`, then each part on its own as `Value`s.
    fn planned_as_values(body: &[u8]) -> Result<Vec<Part>, Invalid> {
        let rules = limits();
        let wire = read_wire(body, &rules)?;
        let ids = Ids {
            raw: Raw::Parts(&wire.requests),
            read: OnceCell::new(),
        };
        let mut parts = Vec::new();
        for raw in &wire.requests {
            let values: Values = serde_json::from_str(raw.get()).map_err(|error| {
                Invalid::batch(format!(
                    "Request {} is not a valid request object: {}.",
                    parts.len() + 1,
                    describe(&error)
                ))
            })?;
            let part = read_part(&Members::of(&values), &parts, &ids, &rules)?;
            parts.push(part);
        }
        Ok(parts)
    }

    #[test]
    fn parts_read_borrowed_and_in_one_pass_are_read_as_values_would_be() {
        let part = |rest: &str| {
            format!(
                r#"{{"requests": [{{"id": "1", "method": "GET", "url": "/a"}}, {{"id": "2", "method": "POST", "url": "/b", "dependsOn": ["1"]{rest}}}]}}"#
            )
        };
        let raw = "$serde_json::private::RawValue";
        let mut bodies: Vec<String> = [
            r#", "headers": {"b": "1", "A": "2", "a": "3", "a": "4", "content-type": "text/plain"}, "body": "hi""#.to_owned(),
            r#", "headers": {"z": 1, "a b": "x"}"#.to_owned(),
            r#", "headers": {}, "headers": {"accept": "a"}"#.to_owned(),
            r#", "headers": {"accept": 1}"#.to_owned(),
            r#", "headers": {"b": "1", "a": "2"}"#.to_owned(),
            r#", "headers": {"z": "\u00e9\u0100", "If-Match": "$1"}"#.to_owned(),
            r#", "headers": {"if-none-match": " $9 "}"#.to_owned(),
            r#", "\u0069f": "$1/ok", "h\u0065aders": {"x-\u0061": "\"q\""}"#.to_owned(),
            r#", "x@a": 1e400"#.to_owned(),
            r#", "x@a": [1, {"b": 1e400}]"#.to_owned(),
            r#", "x@a": "\ud800""#.to_owned(),
            r#", "unknown": {"\udc00": 1}"#.to_owned(),
            r#", "headers": {"content-type": "application/json"}, "body": {"b": [1, 2.50, -0], "a": {"d": null, "c": "\u0041"}, "b": 3}"#.to_owned(),
            r#", "headers": {"content-type": "application/octet-stream"}, "body": "aGk=", "body": "aGk""#.to_owned(),
            r#", "dependsOn": ["1"], "depends_on": []"#.to_owned(),
            r#", "atomicityGroup": {"a": [true]}, "whatever": 1"#.to_owned(),
            r#", "id": 7"#.to_owned(),
            r#", "method": ["GET"]"#.to_owned(),
            format!(r#", "x@a": {{"{raw}": "[1, 2]"}}"#),
            format!(r#", "x@a": {{"{raw}": 1}}"#),
            format!(r#", "x@a": [{{"{raw}": "1", "b": 2}}]"#),
            format!(r#", "headers": {{"{raw}": "{{\"accept\": \"a\"}}"}}"#),
            format!(r#", "headers": {{"accept": "a", "{raw}": "b"}}"#),
            format!(r#", "url": {{"{raw}": "\"/c\""}}"#),
            format!(r#", "if": {{"{raw}": "\"x\""}}"#),
        ]
        .iter()
        .map(|rest| part(rest))
        .collect();
        bodies.push(part("").replace(
            r#""dependsOn": ["1"]"#,
            &format!(r#""dependsOn": {{"{raw}": "[\"1\"]"}}"#),
        ));
        for levels in [1, 120, 124, 125, 126, 127, 200] {
            let nested = format!(r#", "x@a": {}1{}"#, "[".repeat(levels), "]".repeat(levels));
            bodies.push(part(&nested));
        }
        bodies.extend(
            [
                r#"{"other": {"requests": 1}, "requests": [{"id": "1", "method": "GET", "url": "/a"}], "more": [1e400]}"#,
                r#"{"requests": [{"id": "1", "method": "GET", "url": "/a"}], "requests": []}"#,
                r#"{"requ\u0065sts": [{"id": "1", "method": "GET", "url": "/a"}]}"#,
                r#"[[{"id": "1", "method": "GET", "url": "/a"}]]"#,
                r#"{"requests": [{"id": "1", "method": "GET", "url": "/a"}]} x"#,
                r#"{"requests": [{"id": "1", "method": "GET", "url": "/a"}, 5]}"#,
                r#"{"requests": [{"id": "1", "method": "GET", "url": "/a", "id": "2"}]}"#,
                r#"{"requests": []}"#,
                r#"{}"#,
                r#"{"requests": [{"id": "1", "method": "GE T", "url": "/a"}, {"id": "2", "x@a": 1e400}]}"#,
                r#"{"requests": [{"id": "1", "method": "GE T", "url": "/a"}, 5]}"#,
                r#"{"requests": [{"id": "1", "method": "GET", "url": "/a"}, {"id": "2", "method": "GET", "url": "/b"}, {"id": "3", "method": "GET", "url": "/c", "dependsOn": ["1", "2"]}]}"#,
                r#"{"requests": [{"id": "1", "method": "GET", "url": "/a"}, {"id": "2", "method": "GET", "url": "/b"}, {"id": "3", "method": "GET", "url": "/c", "dependsOn": ["2", "1", "9"]}]}"#,
                r#"{"requests": [{"id": "1", "method": "GET", "url": "/a"}, {"id": "2", "method": "GET", "url": "/b", "dependsOn": ["1", 2]}]}"#,
                r#"{"requests": [{"id": "1", "method": "GET", "url": "/a"}, {"id": "2", "method": "GET", "url": "/b", "dependsOn": [{"a": 1}]}]}"#,
                r#"{"requests": [{"id": "1", "method": "GET", "url": "/a"}, {"id": "2", "method": "GET", "url": "/b", "dependsOn": ["9"]}]}"#,
                r#"{"requests": [{"id": "1", "method": "GET", "url": "/a"}, {"id": "2", "method": "GET", "url": "/b", "dependsOn": []}]}"#,
                r#"{"requests": [{"id": "1", "method": "GET", "url": "/a"}, {"id": "2", "method": "GET", "url": "/b", "dependsOn": "1"}]}"#,
                r#"{"requests": [{"id": "1", "method": "GE T", "url": "/a"}, {"id": "1"}]}"#,
                r#"{"requests": [{"id": "1", "method": "GET", "url": "/a"}, {"id": "2", "method": "GET", "url": "$3/x"}, {"id": "3", "method": "GET", "url": "/a"}]}"#,
            ]
            .map(str::to_owned),
        );
        let many = (0..21)
            .map(|i| format!(r#"{{"id": "{i}", "method": "GET", "url": "/a"}}"#))
            .collect::<Vec<_>>()
            .join(", ");
        bodies.push(format!(r#"{{"requests": [{many}]}}"#));
        bodies.push(format!(
            r#"{{"requests": [{{"id": "x", "method": "GE T", "url": "/a"}}, {many}]}}"#
        ));
        let mut not_utf8 = part(r#", "x@a": "é""#).into_bytes();
        let at = not_utf8.len() - 5;
        not_utf8[at] = 0xff;
        let mut bodies: Vec<Vec<u8>> = bodies.into_iter().map(String::into_bytes).collect();
        bodies.push(not_utf8);
        for body in &bodies {
            let text = String::from_utf8_lossy(body);
            let expected = format!("{:?}", planned_as_values(body));
            assert_eq!(format!("{:?}", plan(body, &limits())), expected, "{text}");
            assert_eq!(
                format!("{:?}", carefully(body, &limits())),
                expected,
                "{text}"
            );
        }
    }
}
