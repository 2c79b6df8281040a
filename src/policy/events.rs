//! The events the crate logs, with the `tracing` feature; nothing without it.

use http::StatusCode;

use super::incident::Incident;

pub(crate) const PREREQUISITE_FAILED: &str = "a prerequisite failed";
pub(crate) const UNEVALUATED: &str =
    "a required prerequisite was never evaluated: no layer, check or handler recorded it";
pub(crate) const SKIPPED_WITHOUT_CAUSE: &str =
    "a required prerequisite was recorded as skipped, but no failure was recorded";
pub(crate) const UNNAMED_424: &str =
    "the inner service answered 424 Failed Dependency without naming the failed dependency";

/// One event per problem rendered: a warning for a client error, an error
/// (with the source error) for a server error.
#[cfg(feature = "tracing")]
pub(crate) fn problem(status: StatusCode, incident: &Incident<'_>) {
    let kind = Kind(incident.failure.map(crate::outcome::Failure::kind));
    let dependency = incident.dependency.unwrap_or_default();
    let request_id = incident.request_id.unwrap_or_default();
    let message = incident.event;
    if status.is_server_error() {
        let source = incident
            .failure
            .and_then(|failure| std::error::Error::source(failure));
        tracing::error!(
            dependency,
            kind = %kind,
            status = status.as_u16(),
            request_id,
            error = source,
            "{message}"
        );
    } else {
        tracing::warn!(
            dependency,
            kind = %kind,
            status = status.as_u16(),
            request_id,
            "{message}"
        );
    }
}

/// The kind of failure, as a log field: `status` for an answer that only
/// has a status.
#[cfg(feature = "tracing")]
struct Kind(Option<crate::outcome::FailureKind>);

#[cfg(feature = "tracing")]
impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(kind) => kind.fmt(f),
            None => f.write_str("status"),
        }
    }
}

#[cfg(not(feature = "tracing"))]
pub(crate) fn problem(_status: StatusCode, _incident: &Incident<'_>) {}

/// A 424 without a named dependency let through by [`Guard::Warn`](super::Guard::Warn).
#[cfg(feature = "tracing")]
pub(crate) fn unnamed_424_let_through(request_id: Option<&str>) {
    tracing::warn!(request_id = request_id.unwrap_or_default(), "{UNNAMED_424}");
}

#[cfg(not(feature = "tracing"))]
pub(crate) fn unnamed_424_let_through(_request_id: Option<&str>) {}
