//! What a problem answer needs of the request it answers, kept from the
//! call until the inner service has answered.

use http::header::HeaderName;
use http::{HeaderMap, HeaderValue, Request};

use super::incident::Incident;
use super::request::KeptRequest;
use super::request_id::sanitized_value;
use super::status::StatusPolicy;
use super::trace_id::TraceId;
use crate::problem::{Accept, Serialized};

/// The `traceparent` header of W3C Trace Context.
static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// The request id to echo, the problem form the client prefers and the
/// `traceparent` to read a trace id from: cheap clones of header values,
/// nothing parsed unless a problem is rendered. A copy of the request's
/// head only when the policy's hook reads it.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReplyTo {
    request_id: Option<HeaderValue>,
    accept: Accept,
    traceparent: Option<HeaderValue>,
    request: Option<Box<KeptRequest>>,
}

impl ReplyTo {
    /// What `request` holds that a problem answering it under `policy`
    /// needs, with the request id read from `request_id_header`.
    pub(crate) fn of<B>(
        request: &Request<B>,
        request_id_header: &HeaderName,
        policy: &StatusPolicy,
    ) -> Self {
        let headers = request.headers();
        let (request_id, traceparent) =
            find_both(headers, request_id_header, traceparent_name(policy));
        Self {
            request_id: request_id.cloned(),
            accept: Accept::of(headers),
            traceparent: traceparent.cloned(),
            request: policy
                .hook_reads_request()
                .then(|| Box::new(KeptRequest::of(request))),
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

    /// `incident` written by `policy` as the answer to this request: with
    /// its request id, the trace id and, for the hook, its head. Logged when
    /// `log` says so (not when it was logged where first written).
    pub(crate) fn render(
        &self,
        policy: &StatusPolicy,
        incident: Incident<'_>,
        log: bool,
    ) -> Serialized {
        let trace_id = TraceId::find(self.traceparent.as_ref());
        let request = self.request.as_deref().map(KeptRequest::parts);
        let incident = Incident {
            request_id: self.request_id(),
            trace_id: trace_id.as_ref().map(TraceId::as_str),
            request: request.as_ref(),
            ..incident
        };
        if log {
            policy.render(&incident)
        } else {
            policy.render_quietly(&incident)
        }
    }
}

/// The request id (when safe to echo) and the trace id (when `policy`
/// writes one) of a problem answering a request whose headers are
/// `headers`, read at once, with the request id read from
/// `request_id_header`.
pub(crate) fn ids_of<'h>(
    headers: &'h HeaderMap,
    request_id_header: &HeaderName,
    policy: &StatusPolicy,
) -> (Option<&'h str>, Option<TraceId>) {
    let wanted = traceparent_name(policy);
    let (request_id, traceparent) = find_both(headers, request_id_header, wanted);
    let trace_id = wanted.and_then(|_| TraceId::find(traceparent));
    (request_id.and_then(sanitized_value), trace_id)
}

/// The header a trace id is read from, when `policy` writes one.
fn traceparent_name(policy: &StatusPolicy) -> Option<&'static HeaderName> {
    policy.trace_id_member().map(|_| &TRACEPARENT)
}

/// Header maps of at most this many values are searched for the names a
/// reply keeps in one pass over them, which costs a request with a few
/// headers less than looking each name up by its hash; larger maps are
/// looked up, so that the cost stays bounded whatever the request sent.
const SCANNED: usize = 16;

/// The first values of `first` and of `second` (when given) in `headers`.
#[inline]
fn find_both<'h>(
    headers: &'h HeaderMap,
    first: &HeaderName,
    second: Option<&HeaderName>,
) -> (Option<&'h HeaderValue>, Option<&'h HeaderValue>) {
    if headers.len() > SCANNED {
        return (
            headers.get(first),
            second.and_then(|name| headers.get(name)),
        );
    }
    // The names alone are walked (a slice of entries), and a value is
    // looked up only for a name that matched: most requests carry neither.
    let (mut found_first, mut found_second) = (None, None);
    for name in headers.keys() {
        if found_first.is_none() && name == first {
            found_first = headers.get(name);
        }
        if found_second.is_none() && second == Some(name) {
            found_second = headers.get(name);
        }
    }
    (found_first, found_second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_names_are_found_by_a_scan_or_a_lookup() {
        let request_id = HeaderName::from_static("x-request-id");
        for others in [0, 3, SCANNED, SCANNED * 2] {
            let mut headers = HeaderMap::new();
            for n in 0..others {
                let name = HeaderName::try_from(format!("x-other-{n}")).unwrap();
                headers.append(name, HeaderValue::from_static("o"));
            }
            assert_eq!(
                find_both(&headers, &request_id, Some(&TRACEPARENT)),
                (None, None)
            );
            headers.append(&request_id, HeaderValue::from_static("first"));
            headers.append(&request_id, HeaderValue::from_static("second"));
            headers.append(&TRACEPARENT, HeaderValue::from_static("t"));
            let (id, trace) = find_both(&headers, &request_id, Some(&TRACEPARENT));
            assert_eq!(id.unwrap(), "first", "{others} others");
            assert_eq!(trace.unwrap(), "t", "{others} others");
            assert_eq!(find_both(&headers, &request_id, None).1, None);
            // One header named for both: each finds it.
            let (id, trace) = find_both(&headers, &TRACEPARENT, Some(&TRACEPARENT));
            assert_eq!(
                (id.unwrap().as_bytes(), trace.unwrap().as_bytes()),
                (&b"t"[..], &b"t"[..])
            );
        }
    }
}
