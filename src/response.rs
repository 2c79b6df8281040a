//! Building problem responses: an exactly sized JSON body and the headers.

use std::cell::RefCell;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use http::{Extensions, HeaderValue, Response, StatusCode};
use serde::Serialize;

use crate::ProblemBody;

/// The media type of problems in JSON, the form everyone gets by default.
pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

/// The media type of problems in XML (RFC 9457, Appendix B).
#[cfg(feature = "xml")]
pub(crate) const PROBLEM_XML: &str = "application/problem+xml";

/// How a problem body is labelled.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Label {
    /// JSON, whatever the request accepts.
    Json,
    /// The form the request's `Accept` chose; the response says
    /// `Vary: accept`.
    #[cfg(feature = "xml")]
    Negotiated(crate::problem::ProblemFormat),
}

/// A scratch buffer larger than this is not kept for the next problem.
const SCRATCH_KEPT: usize = 16 * 1024;

thread_local! {
    // Serializing into a reused buffer and copying the result out gives a
    // body allocated once at its exact size: a `Vec` whose length equals its
    // capacity becomes `Bytes` without a realloc or a shared header.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Serializes `value` as JSON into a buffer of exactly its length.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Bytes {
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut buffer) => {
            buffer.clear();
            let bytes = write_json(&mut buffer, value);
            if buffer.capacity() > SCRATCH_KEPT {
                *buffer = Vec::new();
            }
            bytes
        }
        Err(_) => write_json(&mut Vec::new(), value),
    })
}

fn write_json<T: Serialize + ?Sized>(buffer: &mut Vec<u8>, value: &T) -> Bytes {
    match serde_json::to_writer(&mut *buffer, value) {
        Ok(()) => Bytes::copy_from_slice(buffer),
        // The crate serializes only string-keyed maps of strings, numbers and
        // `serde_json::Value`s, which cannot fail. Were it ever to, an empty
        // object is still a valid problem (every member is optional), and
        // nothing half-written reaches the client.
        Err(_) => Bytes::from_static(b"{}"),
    }
}

/// A JSON problem response with its headers: the media type, `no-store`,
/// and `Retry-After` in delay-seconds when given.
pub(crate) fn problem(
    status: StatusCode,
    body: Bytes,
    retry_after: Option<Duration>,
) -> Response<ProblemBody> {
    problem_in(
        status,
        (body, Label::Json),
        retry_after,
        Extensions::new(),
        |body| body,
    )
}

/// As [`problem`], built in place with the body type and extensions the
/// caller answers with, so the response is not moved to be re-wrapped.
pub(crate) fn problem_in<T>(
    status: StatusCode,
    (body, label): (Bytes, Label),
    retry_after: Option<Duration>,
    extensions: Extensions,
    wrap: impl FnOnce(ProblemBody) -> T,
) -> Response<T> {
    let mut response = Response::new(wrap(ProblemBody::new(body)));
    *response.status_mut() = status;
    *response.extensions_mut() = extensions;
    let headers = response.headers_mut();
    // Each media type is written as a literal, so that it is checked at
    // compile time rather than on every problem.
    match label {
        Label::Json => {
            headers.reserve(3);
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        }
        #[cfg(feature = "xml")]
        Label::Negotiated(format) => {
            use crate::problem::ProblemFormat;
            headers.reserve(4);
            let media_type = match format {
                ProblemFormat::Json => HeaderValue::from_static(PROBLEM_JSON),
                ProblemFormat::Xml => HeaderValue::from_static(PROBLEM_XML),
            };
            headers.insert(CONTENT_TYPE, media_type);
            headers.insert(http::header::VARY, HeaderValue::from_static("accept"));
        }
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(delay) = retry_after {
        headers.insert(RETRY_AFTER, HeaderValue::from(delay_seconds(delay)));
    }
    response
}

/// The media type of a `Content-Type` value, without its parameters (as
/// sent: compare it without case).
pub(crate) fn media_type(content_type: &HeaderValue) -> Option<&str> {
    let text = content_type.to_str().ok()?;
    text.split(';').next().map(str::trim)
}

/// Whether a `Content-Type` is `application/problem+json`.
pub(crate) fn is_problem_json(content_type: &HeaderValue) -> bool {
    media_type(content_type).is_some_and(|media| media.eq_ignore_ascii_case(PROBLEM_JSON))
}

/// A delay as whole seconds, rounded up so that a client never retries early.
pub(crate) fn delay_seconds(delay: Duration) -> u64 {
    delay
        .as_secs()
        .saturating_add(u64::from(delay.subsec_nanos() > 0))
}

/// Reads a whole body, for tests.
#[cfg(test)]
pub(crate) async fn collect<B>(body: B) -> Bytes
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    use http_body_util::BodyExt;
    body.collect().await.expect("body").to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_body_is_exactly_sized() {
        let bytes = to_json(&serde_json::json!({"title": "x".repeat(300)}));
        assert_eq!(bytes.len(), 312);
        assert_eq!(&bytes[..10], b"{\"title\":\"");
    }

    #[test]
    fn a_large_scratch_buffer_is_not_kept() {
        let big = "y".repeat(SCRATCH_KEPT * 2);
        assert_eq!(to_json(&big).len(), big.len() + 2);
        SCRATCH.with(|s| assert!(s.borrow().capacity() <= SCRATCH_KEPT));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(delay_seconds(Duration::from_secs(7)), 7);
        assert_eq!(delay_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(delay_seconds(Duration::ZERO), 0);
        assert_eq!(delay_seconds(Duration::MAX), u64::MAX);
    }

    #[test]
    fn problem_headers() {
        let response = problem(
            StatusCode::SERVICE_UNAVAILABLE,
            Bytes::from_static(b"{}"),
            Some(Duration::from_secs(7)),
        );
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(response.headers()[RETRY_AFTER], "7");
        assert!(response.headers().get(http::header::VARY).is_none());
    }
}
