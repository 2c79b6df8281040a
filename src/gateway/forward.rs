//! Carrying the request id across hops: [`forward_request_id`].

use http::{HeaderMap, HeaderName};

use crate::policy::{sanitized_value, X_REQUEST_ID};

/// Copies the incoming request's `x-request-id` (as tower-http's
/// `SetRequestIdLayer` sets it) onto an outgoing upstream request, so that
/// the first failure can be found by the same id in every service. An id
/// the outgoing request already has is kept; an id that is not 1 to 128
/// characters of letters, digits and `-_.:/+=@` is not copied.
///
/// ```
/// use http::{HeaderMap, Request};
/// use tower_failed_dependency::gateway::forward_request_id;
///
/// let mut incoming = HeaderMap::new();
/// incoming.insert("x-request-id", "req-7".parse().unwrap());
/// let mut upstream = Request::get("http://127.0.0.1:9/stock").body(()).unwrap();
/// forward_request_id(&incoming, upstream.headers_mut());
/// assert_eq!(upstream.headers()["x-request-id"], "req-7");
/// ```
pub fn forward_request_id(incoming: &HeaderMap, outgoing: &mut HeaderMap) {
    forward_request_id_as(&X_REQUEST_ID, incoming, outgoing);
}

/// [`forward_request_id`] for another header name.
pub fn forward_request_id_as(header: &HeaderName, incoming: &HeaderMap, outgoing: &mut HeaderMap) {
    if outgoing.contains_key(header) {
        return;
    }
    if let Some(value) = incoming
        .get(header)
        .filter(|v| sanitized_value(v).is_some())
    {
        outgoing.insert(header.clone(), value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_a_valid_id_and_keeps_an_existing_one() {
        let mut incoming = HeaderMap::new();
        incoming.insert("x-request-id", "abc-1".parse().unwrap());
        let mut outgoing = HeaderMap::new();
        forward_request_id(&incoming, &mut outgoing);
        assert_eq!(outgoing["x-request-id"], "abc-1");

        let mut own = HeaderMap::new();
        own.insert("x-request-id", "mine".parse().unwrap());
        forward_request_id(&incoming, &mut own);
        assert_eq!(own["x-request-id"], "mine");

        let mut hostile = HeaderMap::new();
        hostile.insert("x-request-id", "a b <script>".parse().unwrap());
        let mut outgoing = HeaderMap::new();
        forward_request_id(&hostile, &mut outgoing);
        assert!(outgoing.is_empty());
    }
}
