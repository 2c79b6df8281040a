//! [`RequestParts`]: the request a problem answers, as a policy's hook sees
//! it.

use http::{Extensions, HeaderMap, Method, Uri};

/// The head of the request a problem answers: what a hook set with
/// [`on_problem_with_request`](super::StatusPolicyBuilder::on_problem_with_request)
/// reads to add members that depend on it (a tenant, a link to the
/// documentation of the route).
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    extensions: &'a Extensions,
}

impl<'a> RequestParts<'a> {
    pub(crate) fn new(
        method: &'a Method,
        uri: &'a Uri,
        headers: &'a HeaderMap,
        extensions: &'a Extensions,
    ) -> Self {
        Self {
            method,
            uri,
            headers,
            extensions,
        }
    }

    /// The request's method.
    pub fn method(&self) -> &'a Method {
        self.method
    }

    /// The request's URI.
    pub fn uri(&self) -> &'a Uri {
        self.uri
    }

    /// The request's headers.
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The request's extensions, as they were when the request reached the
    /// layer.
    pub fn extensions(&self) -> &'a Extensions {
        self.extensions
    }
}

/// A copy of a request's head, kept past the call for a hook that reads the
/// request; made only when the policy has such a hook.
#[derive(Debug, Clone)]
pub(crate) struct KeptRequest {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    extensions: Extensions,
}

impl KeptRequest {
    pub(crate) fn of<B>(request: &http::Request<B>) -> Self {
        Self {
            method: request.method().clone(),
            uri: request.uri().clone(),
            headers: request.headers().clone(),
            extensions: request.extensions().clone(),
        }
    }

    pub(crate) fn parts(&self) -> RequestParts<'_> {
        RequestParts::new(&self.method, &self.uri, &self.headers, &self.extensions)
    }
}
