//! The single exit: a serialized problem becomes a response.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_ENCODING, CONTENT_LANGUAGE,
    CONTENT_LENGTH, CONTENT_LOCATION, CONTENT_RANGE, CONTENT_TYPE, ETAG, EXPIRES, LAST_MODIFIED,
    RETRY_AFTER, TRAILER, TRANSFER_ENCODING, VARY,
};
use http::{Extensions, HeaderMap, HeaderName, HeaderValue, Response, StatusCode};

use super::accept::Accept;
use super::media::{PROBLEM_JSON, PROBLEM_XML};
#[cfg(feature = "xml")]
use super::negotiate::ProblemFormat;

/// A problem serialized for one status, ready to become a response.
#[derive(Debug)]
pub(crate) struct Serialized {
    status: StatusCode,
    body: Bytes,
    label: Label,
    retry_after: Option<Duration>,
    /// Headers the problem's status calls for (`WWW-Authenticate` on a 401).
    headers: Vec<(HeaderName, HeaderValue)>,
}

/// How many headers every label adds: `content-type` and `cache-control`
/// (a negotiated one adds `vary` too).
const LABELLED: usize = 2;

/// How a problem body is labelled.
#[derive(Debug, Clone, Copy)]
enum Label {
    /// JSON, whatever the request accepts.
    Json,
    /// The form the request's `Accept` chose; the response says
    /// `Vary: accept`.
    Negotiated { xml: bool },
}

impl Label {
    /// Adds the headers of this label: the media type, `vary: accept` when
    /// negotiated, `cache-control: no-store`.
    fn add_to(self, headers: &mut HeaderMap) {
        // Each media type is written as a literal, so that it is checked at
        // compile time rather than on every problem.
        let media_type = match self {
            Label::Json | Label::Negotiated { xml: false } => {
                HeaderValue::from_static(PROBLEM_JSON)
            }
            Label::Negotiated { xml: true } => HeaderValue::from_static(PROBLEM_XML),
        };
        headers.insert(CONTENT_TYPE, media_type);
        if matches!(self, Label::Negotiated { .. }) {
            headers.append(VARY, HeaderValue::from_static("accept"));
        }
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }

    /// The headers of this label alone, made once.
    fn headers(self) -> &'static HeaderMap {
        static MADE: OnceLock<[HeaderMap; 3]> = OnceLock::new();
        let [json, negotiated_json, negotiated_xml] = MADE.get_or_init(|| {
            [
                Label::Json,
                Label::Negotiated { xml: false },
                Label::Negotiated { xml: true },
            ]
            .map(|label| {
                let mut headers = HeaderMap::with_capacity(LABELLED + 1);
                label.add_to(&mut headers);
                headers
            })
        });
        match self {
            Label::Json => json,
            Label::Negotiated { xml: false } => negotiated_json,
            Label::Negotiated { xml: true } => negotiated_xml,
        }
    }
}

impl Serialized {
    /// A problem already serialized to JSON, with no `Retry-After`.
    pub(crate) fn json(status: StatusCode, body: Bytes) -> Self {
        Self {
            status,
            body,
            label: Label::Json,
            retry_after: None,
            headers: Vec::new(),
        }
    }

    /// Sends `name: value` with the problem.
    pub(crate) fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Asks the client to retry after `delay` (sent in whole seconds).
    pub(crate) fn retry_after(mut self, delay: Option<Duration>) -> Self {
        self.retry_after = delay;
        self
    }

    /// The status the problem is sent with.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// The problem in the form the request's `Accept` prefers. Without the
    /// `xml` feature there is one form, and it is left as it is.
    pub(crate) fn negotiated(self, accept: &Accept) -> Self {
        if !Accept::NEGOTIATES {
            return self;
        }
        self.with_form(accept.prefers_xml())
    }

    /// The problem in `format`, labelled as negotiated.
    #[cfg(feature = "xml")]
    pub(crate) fn in_form(self, format: ProblemFormat) -> Self {
        self.with_form(format == ProblemFormat::Xml)
    }

    /// Should the XML form not be written, the JSON stays.
    fn with_form(self, xml: bool) -> Self {
        let converted = if xml { xml_form(&self.body) } else { None };
        let (body, xml) = match converted {
            Some(body) => (body, true),
            None => (self.body, false),
        };
        Self {
            body,
            label: Label::Negotiated { xml },
            ..self
        }
    }

    /// The response, built in place with the caller's extensions and body
    /// type, so that it is not moved to be re-wrapped: the media type,
    /// `cache-control: no-store`, and `Retry-After` in delay-seconds when
    /// asked for.
    pub(crate) fn into_response<T>(
        self,
        extensions: Extensions,
        wrap: impl FnOnce(Bytes) -> T,
    ) -> Response<T> {
        // A copy of the label's headers, made once: cloning a map copies its
        // table, where inserting each header would hash its name again.
        let mut headers = self.label.headers().clone();
        headers.reserve(self.unlabelled_count());
        self.build(headers, extensions, wrap)
    }

    /// As [`into_response`](Self::into_response), replacing the body of a
    /// response whose `headers` are kept: `set-cookie`, `www-authenticate`,
    /// a request id, CORS headers and every other header stay, except those
    /// that describe the replaced body ([`REPRESENTATION`]), which the
    /// problem's own replace. A `Vary` is extended, not replaced.
    pub(crate) fn into_response_over<T>(
        self,
        mut headers: HeaderMap,
        extensions: Extensions,
        wrap: impl FnOnce(Bytes) -> T,
    ) -> Response<T> {
        for name in &REPRESENTATION {
            headers.remove(name);
        }
        headers.reserve(self.header_count());
        self.label.add_to(&mut headers);
        self.build(headers, extensions, wrap)
    }

    /// How many headers the problem adds to its response.
    fn header_count(&self) -> usize {
        let negotiated = matches!(self.label, Label::Negotiated { .. });
        LABELLED + usize::from(negotiated) + self.unlabelled_count()
    }

    /// How many of them are not its label's.
    fn unlabelled_count(&self) -> usize {
        usize::from(self.retry_after.is_some()) + self.headers.len()
    }

    /// The response with the problem's headers beyond its label's added to
    /// `headers`, which holds the label's and has room for the rest.
    fn build<T>(
        self,
        headers: HeaderMap,
        extensions: Extensions,
        wrap: impl FnOnce(Bytes) -> T,
    ) -> Response<T> {
        let mut response = Response::new(wrap(self.body));
        *response.status_mut() = self.status;
        *response.extensions_mut() = extensions;
        *response.headers_mut() = headers;
        let headers = response.headers_mut();
        if let Some(delay) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(delay_seconds(delay)));
        }
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        response
    }
}

/// The headers that describe a response's body rather than the answer, and
/// so go when a problem replaces the body: its media type, length, coding,
/// language, location, range, disposition, validators, caching and
/// digests (RFC 9110 §8, RFC 9530).
const REPRESENTATION: [HeaderName; 16] = [
    CONTENT_TYPE,
    CONTENT_LENGTH,
    CONTENT_ENCODING,
    CONTENT_LANGUAGE,
    CONTENT_LOCATION,
    CONTENT_RANGE,
    CONTENT_DISPOSITION,
    ETAG,
    LAST_MODIFIED,
    EXPIRES,
    ACCEPT_RANGES,
    TRANSFER_ENCODING,
    TRAILER,
    HeaderName::from_static("content-digest"),
    HeaderName::from_static("repr-digest"),
    HeaderName::from_static("digest"),
];

#[cfg(feature = "xml")]
fn xml_form(json: &[u8]) -> Option<Bytes> {
    super::xml::from_json(json)
}

#[cfg(not(feature = "xml"))]
fn xml_form(_json: &[u8]) -> Option<Bytes> {
    None
}

/// A delay as whole seconds, rounded up so that a client never retries early.
fn delay_seconds(delay: Duration) -> u64 {
    delay
        .as_secs()
        .saturating_add(u64::from(delay.subsec_nanos() > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(delay_seconds(Duration::from_secs(7)), 7);
        assert_eq!(delay_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(delay_seconds(Duration::ZERO), 0);
        assert_eq!(delay_seconds(Duration::MAX), u64::MAX);
    }

    #[test]
    fn problem_headers() {
        let response = Serialized::json(StatusCode::SERVICE_UNAVAILABLE, Bytes::from_static(b"{}"))
            .retry_after(Some(Duration::from_secs(7)))
            .into_response(Extensions::new(), |body| body);
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(response.headers()[RETRY_AFTER], "7");
        assert!(response.headers().get(VARY).is_none());
    }

    #[test]
    fn a_replaced_body_keeps_the_answers_headers_but_not_the_bodys() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("set-cookie", "session=1"),
            ("www-authenticate", "Bearer"),
            ("access-control-allow-origin", "https://app.example"),
            ("vary", "origin"),
            ("content-type", "text/plain"),
            ("content-length", "12"),
            ("content-encoding", "gzip"),
            ("etag", "\"v1\""),
            ("last-modified", "Sun, 06 Nov 1994 08:49:37 GMT"),
            ("cache-control", "max-age=60"),
        ] {
            headers.append(name, HeaderValue::from_static(value));
        }
        let response = Serialized::json(StatusCode::FORBIDDEN, Bytes::from_static(b"{}"))
            .with_form(false)
            .into_response_over(headers, Extensions::new(), |body| body);
        let headers = response.headers();
        assert_eq!(headers["set-cookie"], "session=1");
        assert_eq!(headers["www-authenticate"], "Bearer");
        assert_eq!(
            headers["access-control-allow-origin"],
            "https://app.example"
        );
        let vary: Vec<_> = headers.get_all(VARY).iter().collect();
        assert_eq!(vary, ["origin", "accept"]);
        assert_eq!(headers[CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(headers[CACHE_CONTROL], "no-store");
        for gone in [
            "content-length",
            "content-encoding",
            "etag",
            "last-modified",
        ] {
            assert!(headers.get(gone).is_none(), "{gone}");
        }
    }
}
