//! The single exit: a serialized problem becomes a response.

use std::time::Duration;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, VARY};
use http::{Extensions, HeaderValue, Response, StatusCode};

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
}

/// How a problem body is labelled.
#[derive(Debug, Clone, Copy)]
enum Label {
    /// JSON, whatever the request accepts.
    Json,
    /// The form the request's `Accept` chose; the response says
    /// `Vary: accept`.
    Negotiated { xml: bool },
}

impl Serialized {
    /// A problem already serialized to JSON, with no `Retry-After`.
    pub(crate) fn json(status: StatusCode, body: Bytes) -> Self {
        Self {
            status,
            body,
            label: Label::Json,
            retry_after: None,
        }
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
        let mut response = Response::new(wrap(self.body));
        *response.status_mut() = self.status;
        *response.extensions_mut() = extensions;
        let headers = response.headers_mut();
        // Each media type is written as a literal, so that it is checked at
        // compile time rather than on every problem.
        let media_type = match self.label {
            Label::Json | Label::Negotiated { xml: false } => {
                HeaderValue::from_static(PROBLEM_JSON)
            }
            Label::Negotiated { xml: true } => HeaderValue::from_static(PROBLEM_XML),
        };
        let negotiated = matches!(self.label, Label::Negotiated { .. });
        headers.reserve(3 + usize::from(negotiated));
        headers.insert(CONTENT_TYPE, media_type);
        if negotiated {
            headers.insert(VARY, HeaderValue::from_static("accept"));
        }
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(delay) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(delay_seconds(delay)));
        }
        response
    }
}

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
}
