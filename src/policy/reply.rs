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
        Self {
            request_id: headers.get(request_id_header).cloned(),
            accept: Accept::of(headers),
            traceparent: traceparent(policy, headers).cloned(),
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

/// The trace id of a problem `policy` writes in answer to a request whose
/// headers are `headers`, read at once; none when the policy writes none.
pub(crate) fn trace_id_of(policy: &StatusPolicy, headers: &HeaderMap) -> Option<TraceId> {
    policy
        .trace_id_member()
        .and_then(|_| TraceId::find(headers.get(&TRACEPARENT)))
}

/// The request's `traceparent`, when `policy` writes trace ids.
fn traceparent<'h>(policy: &StatusPolicy, headers: &'h HeaderMap) -> Option<&'h HeaderValue> {
    policy
        .trace_id_member()
        .and_then(|_| headers.get(&TRACEPARENT))
}
