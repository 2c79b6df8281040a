//! Reading and validating a batch: every check runs before any part does.

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::problem::media_type;

/// A batch refused before anything ran: a 400 (or 413) problem naming the
/// part and the field at fault.
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
        Self {
            status: StatusCode::BAD_REQUEST,
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

    /// The status of the answer: 400, or 413 for a body over the limit.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `id` of the part at fault, if one is.
    pub fn part_id(&self) -> Option<&str> {
        self.part.as_deref()
    }

    /// The field at fault (`id`, `method`, `url`, `headers`, `body`, `dependsOn`).
    pub fn field(&self) -> Option<&str> {
        self.field
    }

    pub(crate) fn unreadable() -> Self {
        Self::batch("The batch body could not be read.")
    }

    pub(crate) fn too_large(limit: usize) -> Self {
        Self {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            part: None,
            field: None,
            message: format!("The batch body is larger than {limit} bytes."),
        }
    }
}

/// The limits a batch is checked against.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub(crate) max_parts: usize,
    pub(crate) batch_path: String,
}

#[derive(Deserialize)]
struct Wire {
    requests: Vec<Map<String, Value>>,
}

/// One part, validated.
#[derive(Debug)]
pub(crate) struct Part {
    pub(crate) id: String,
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// Indices of the parts it depends on, all earlier.
    pub(crate) depends_on: Vec<usize>,
}

/// Reads and validates a batch body.
pub(crate) fn plan(body: &[u8], limits: &Limits) -> Result<Vec<Part>, Invalid> {
    let wire: Wire = serde_json::from_slice(body).map_err(|error| {
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
    if wire.requests.len() > limits.max_parts {
        return Err(Invalid::batch(format!(
            "The batch has {} requests; at most {} are allowed.",
            wire.requests.len(),
            limits.max_parts
        )));
    }
    let mut parts: Vec<Part> = Vec::with_capacity(wire.requests.len());
    for members in &wire.requests {
        let part = read_part(members, &parts, limits)?;
        parts.push(part);
    }
    Ok(parts)
}

/// What went wrong in serde_json's words, without its position (given apart).
fn describe(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

fn read_part(
    members: &Map<String, Value>,
    earlier: &[Part],
    limits: &Limits,
) -> Result<Part, Invalid> {
    let id = match members.get("id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        Some(Value::String(_)) | None => {
            return Err(Invalid::batch(format!(
                "Request {} has no id.",
                earlier.len() + 1
            )))
        }
        Some(_) => {
            return Err(Invalid::batch(format!(
                "Request {} has an id that is not a string.",
                earlier.len() + 1
            )))
        }
    };
    if earlier.iter().any(|part| part.id.eq_ignore_ascii_case(&id)) {
        return Err(Invalid::part(
            &id,
            "id",
            format!("The id '{id}' is used twice (ids are compared without case)."),
        ));
    }
    if members.contains_key("atomicityGroup") {
        return Err(Invalid::part(
            &id,
            "atomicityGroup",
            "Atomicity groups are not supported.",
        ));
    }
    let method = match members.get("method") {
        Some(Value::String(method)) => Method::from_bytes(method.as_bytes())
            .map_err(|_| Invalid::part(&id, "method", "The method is not an HTTP token."))?,
        _ => {
            return Err(Invalid::part(
                &id,
                "method",
                "The method is missing or not a string.",
            ))
        }
    };
    let uri = match members.get("url") {
        Some(Value::String(url)) => {
            relative_uri(url, earlier, limits).map_err(|why| Invalid::part(&id, "url", why))?
        }
        _ => {
            return Err(Invalid::part(
                &id,
                "url",
                "The url is missing or not a string.",
            ))
        }
    };
    let headers = match members.get("headers") {
        None => HeaderMap::new(),
        Some(Value::Object(headers)) => {
            read_headers(headers).map_err(|why| Invalid::part(&id, "headers", why))?
        }
        Some(_) => {
            return Err(Invalid::part(
                &id,
                "headers",
                "The headers are not an object.",
            ))
        }
    };
    let body = match members.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(body) => {
            let Some(content_type) = headers.get(CONTENT_TYPE) else {
                return Err(Invalid::part(
                    &id,
                    "body",
                    "A request with a body needs a Content-Type header.",
                ));
            };
            encode_body(content_type, body).map_err(|why| Invalid::part(&id, "body", why))?
        }
    };
    let depends_on = match members.get("dependsOn") {
        None => Vec::new(),
        Some(Value::Array(ids)) => ids
            .iter()
            .map(|dependency| {
                let Value::String(dependency) = dependency else {
                    return Err(Invalid::part(&id, "dependsOn", "dependsOn holds something that is not an id."));
                };
                earlier
                    .iter()
                    .position(|part| part.id.eq_ignore_ascii_case(dependency))
                    .ok_or_else(|| {
                        Invalid::part(
                            &id,
                            "dependsOn",
                            format!("dependsOn names '{dependency}', which is not an earlier request of the batch."),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(Invalid::part(&id, "dependsOn", "dependsOn is not an array of ids.")),
    };
    Ok(Part {
        id,
        method,
        uri,
        headers,
        body,
        depends_on,
    })
}

/// A path (and query) on this service, or why not.
fn relative_uri(url: &str, earlier: &[Part], limits: &Limits) -> Result<Uri, String> {
    if !url.starts_with('/') || url.starts_with("//") {
        return Err(
            "The url must be a path on this service, starting with a single '/'.".to_owned(),
        );
    }
    if url.contains('\\') {
        return Err("The url must not contain a backslash.".to_owned());
    }
    let uri: Uri = url
        .parse()
        .map_err(|_| "The url is not a valid path and query.".to_owned())?;
    if uri.scheme().is_some() || uri.authority().is_some() {
        return Err("The url must be a path on this service.".to_owned());
    }
    let path = uri.path();
    for segment in path.split('/') {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        if decoded == "." || decoded == ".." {
            return Err("The url must not contain '.' or '..' segments.".to_owned());
        }
        if let Some(reference) = segment.strip_prefix('$') {
            if earlier
                .iter()
                .any(|part| part.id.eq_ignore_ascii_case(reference))
            {
                return Err(format!(
                    "References to earlier results ('${reference}') are not supported."
                ));
            }
        }
    }
    if path.trim_end_matches('/') == limits.batch_path.trim_end_matches('/') {
        return Err("A batch cannot contain another batch.".to_owned());
    }
    Ok(uri)
}

fn read_headers(headers: &Map<String, Value>) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("'{name}' is not a header name."))?;
        let Value::String(value) = value else {
            return Err(format!("The value of '{name}' is not a string."));
        };
        let value = HeaderValue::from_str(value)
            .map_err(|_| format!("The value of '{name}' is not a valid header value."))?;
        map.append(header, value);
    }
    Ok(map)
}

/// A part's body as bytes: JSON for a JSON media type, the text of a string
/// otherwise.
fn encode_body(content_type: &HeaderValue, body: &Value) -> Result<Bytes, String> {
    if is_json(content_type) {
        return serde_json::to_vec(body)
            .map(Bytes::from)
            .map_err(|_| "The body cannot be written as JSON.".to_owned());
    }
    match body {
        Value::String(text) => Ok(Bytes::from(text.clone())),
        _ => Err("A body that is not JSON must be given as a string.".to_owned()),
    }
}

/// Whether a `Content-Type` is JSON: `application/json` or any `+json`
/// structured syntax suffix.
pub(crate) fn is_json(content_type: &HeaderValue) -> bool {
    media_type(content_type).is_some_and(|media| {
        let suffix = media
            .len()
            .checked_sub("+json".len())
            .and_then(|at| media.get(at..));
        media.eq_ignore_ascii_case("application/json")
            || suffix.is_some_and(|suffix| suffix.eq_ignore_ascii_case("+json"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn limits() -> Limits {
        Limits {
            max_parts: 20,
            batch_path: "/$batch".to_owned(),
        }
    }

    fn refused(batch: Value) -> Invalid {
        plan(batch.to_string().as_bytes(), &limits()).unwrap_err()
    }

    fn one(part: Value) -> Invalid {
        refused(json!({"requests": [part]}))
    }

    #[test]
    fn json_media_types() {
        let value = |s: &'static str| HeaderValue::from_static(s);
        assert!(is_json(&value("application/json")));
        assert!(is_json(&value(
            "application/merge-patch+json; charset=utf-8"
        )));
        assert!(!is_json(&value("text/plain")));
        assert!(!is_json(&value("json")));
    }

    #[test]
    fn the_vector_plans() {
        let body = include_bytes!("../../tests/fixtures/batch-create-then-update.json");
        let parts = plan(body, &limits()).unwrap();
        let ids: Vec<_> = parts.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["1", "2", "3", "4"]);
        assert_eq!(parts[1].depends_on, [0]);
        assert_eq!(parts[2].depends_on, [1]);
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
                json!({"id": "a", "method": "GET", "url": "users"}),
                Some("a"),
                Some("url"),
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
            {"id": "2", "method": "GET", "url": "/users/$1"}
        ]}));
        assert_eq!(
            (invalid.part_id(), invalid.field()),
            (Some("2"), Some("url"))
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
}
