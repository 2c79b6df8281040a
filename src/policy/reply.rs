//! What a problem answer needs of the request it answers, kept from the
//! call until the inner service has answered.

use http::{HeaderMap, HeaderName, HeaderValue};

use super::request_id::sanitized_value;
use crate::problem::Accept;

/// The request id to echo and the problem form the client prefers. Both are
/// cheap clones of header values; nothing is parsed unless a problem is
/// rendered.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReplyTo {
    request_id: Option<HeaderValue>,
    accept: Accept,
}

impl ReplyTo {
    /// What `headers` hold, with the request id read from `request_id_header`.
    pub(crate) fn of(headers: &HeaderMap, request_id_header: &HeaderName) -> Self {
        Self {
            request_id: headers.get(request_id_header).cloned(),
            accept: Accept::of(headers),
        }
    }

    /// The request id, when it is safe to echo.
    pub(crate) fn request_id(&self) -> Option<&str> {
        self.request_id.as_ref().and_then(sanitized_value)
    }

    /// What the request accepts.
    pub(crate) fn accept(&self) -> &Accept {
        &self.accept
    }
}
