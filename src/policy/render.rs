//! Rendering: what went wrong becomes the problem response the policy
//! prescribes.
//!
//! The body is serialized straight from borrowed parts of the request and the
//! failure: no intermediate `Problem` is built unless the policy has a hook.
//! Every problem the crate's middleware sends leaves through
//! [`send`], which logs it, writes it in the form the
//! request prefers and marks the response as rendered here.

use bytes::Bytes;
use http::header::{ALLOW, WWW_AUTHENTICATE};
use http::{Extensions, Response, StatusCode};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::events;
use super::incident::Incident;
use super::status::StatusPolicy;
use crate::outcome::{Dependencies, Failure, FailureKind, FieldError};
use crate::problem::{
    key, object_to_json, piece, reason_phrase, to_json, Accept, Members, Piece, Problem,
    ProblemBody, SerdeMap, Serialized,
};

/// Marks a response whose problem a layer of this crate rendered, so that
/// enclosing layers neither render it again nor take its 424 for a bare one.
#[derive(Debug, Clone, Copy)]
struct RenderedHere;

/// A failure whose problem was written without the request in sight (a
/// panic's, by tower-http's `CatchPanicLayer`): kept in the response's
/// extensions, so that a layer that saw the request writes it again with
/// the request id, the trace id and the hook's view of the request.
#[derive(Debug, Clone)]
pub(crate) struct Unanswered(pub(crate) Failure);

/// Whether a response's problem was rendered by a layer of this crate.
pub(crate) fn rendered_here(extensions: &Extensions) -> bool {
    extensions.get::<RenderedHere>().is_some()
}

/// Sends a problem rendered by a policy: in the form `accept` prefers,
/// marked as rendered here, built in place with the caller's extensions and
/// body type.
pub(crate) fn send<T>(
    serialized: Serialized,
    accept: &Accept,
    mut extensions: Extensions,
    wrap: impl FnOnce(Bytes) -> T,
) -> Response<T> {
    extensions.insert(RenderedHere);
    serialized
        .negotiated(accept)
        .into_response(extensions, wrap)
}

/// As [`send`], in place of an answer whose head is `head`: its headers stay
/// but for those describing the body the problem replaces, and its
/// extensions stay.
pub(crate) fn send_over<T>(
    serialized: Serialized,
    accept: &Accept,
    head: http::response::Parts,
    wrap: impl FnOnce(Bytes) -> T,
) -> Response<T> {
    let http::response::Parts {
        headers,
        mut extensions,
        ..
    } = head;
    extensions.insert(RenderedHere);
    serialized
        .negotiated(accept)
        .into_response_over(headers, extensions, wrap)
}

impl StatusPolicy {
    /// The problem response this policy prescribes for `failure` of the
    /// prerequisite `dependency`, with its headers (`Retry-After` on a 503
    /// when the failure has a hint). With the `tracing` feature, the problem
    /// is logged.
    ///
    /// ```
    /// use http::StatusCode;
    /// use tower_failed_dependency::{Failure, StatusPolicy};
    ///
    /// let response = StatusPolicy::default()
    ///     .response("inventory", &Failure::rejected(StatusCode::CONFLICT));
    /// assert_eq!(response.status(), StatusCode::FAILED_DEPENDENCY);
    /// ```
    pub fn response(&self, dependency: &str, failure: &Failure) -> Response<ProblemBody> {
        let incident = Incident::new(Some(dependency), failure, events::PREREQUISITE_FAILED);
        self.render(&incident)
            .into_response(Extensions::new(), ProblemBody::new)
    }

    /// Serializes and logs an incident; the response is assembled later.
    pub(crate) fn render(&self, incident: &Incident<'_>) -> Serialized {
        let serialized = self.render_quietly(incident);
        events::problem(serialized.status(), incident);
        serialized
    }

    /// Serializes an incident without logging it. Everything borrowed from
    /// the request is used here, so the request's storage can be reused for
    /// the response after.
    pub(crate) fn render_quietly(&self, incident: &Incident<'_>) -> Serialized {
        let status = self.status_of(incident);
        let wire = Wire {
            policy: self,
            status,
            incident,
        };
        let body = match self.hook() {
            None => object_to_json(|object| wire.write(object)),
            Some(hook) => {
                let mut problem = serde_json::to_value(&wire)
                    .and_then(serde_json::from_value::<Problem>)
                    .unwrap_or_else(|_| Problem::new(status));
                hook(&mut problem, incident.request);
                to_json(&problem.with_status(status))
            }
        };
        let mut serialized = Serialized::json(status, body);
        if let Some(failure) = incident.failure {
            // The headers a failure carries go only with the status that
            // calls for them.
            let passed = match status {
                StatusCode::SERVICE_UNAVAILABLE => {
                    serialized = serialized.retry_after(failure.retry_after());
                    None
                }
                StatusCode::UNAUTHORIZED => failure
                    .www_authenticate()
                    .map(|value| (WWW_AUTHENTICATE, value)),
                StatusCode::METHOD_NOT_ALLOWED => failure.allow().map(|value| (ALLOW, value)),
                _ => None,
            };
            if let Some((name, value)) = passed {
                serialized = serialized.header(name, value.clone());
            }
        }
        serialized
    }

    /// The status an incident answers with: the one its format prescribes,
    /// or the policy's for its failure.
    fn status_of(&self, incident: &Incident<'_>) -> StatusCode {
        match (incident.status, incident.failure) {
            (Some(status), _) => status,
            (None, Some(failure)) => {
                self.status_for(incident.dependency.unwrap_or_default(), failure.kind())
            }
            (None, None) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The problem body as it goes on the wire.
struct Wire<'a> {
    policy: &'a StatusPolicy,
    status: StatusCode,
    incident: &'a Incident<'a>,
}

impl Serialize for Wire<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = SerdeMap(serializer.serialize_map(None)?);
        self.write(&mut map)?;
        map.0.end()
    }
}

impl Wire<'_> {
    /// Writes the problem's members, in their order on the wire.
    fn write<M: Members>(&self, map: &mut M) -> Result<(), M::Error> {
        let Incident {
            dependency,
            failure,
            detail,
            record,
            members,
            request_id,
            trace_id,
            ..
        } = *self.incident;
        let status = self.status;
        let kind = failure.map(Failure::kind);
        // A failure's own type and title come before the policy's.
        let own_title = failure.and_then(Failure::title);
        match (
            failure.and_then(Failure::problem_type),
            self.policy.type_base(),
            kind,
        ) {
            (Some(uri), _, Some(kind)) => {
                map.text(key!("type"), uri)?;
                map.text(key!("title"), own_title.map_or(title(kind), Piece::Other))?;
            }
            (None, Some(base), Some(kind)) => {
                map.joined(
                    key!("type"),
                    &[Piece::Other(base), Piece::Other(kind.slug())],
                )?;
                map.text(key!("title"), own_title.map_or(title(kind), Piece::Other))?;
            }
            _ => match (own_title, reason_phrase(status)) {
                (Some(title), _) => map.text(key!("title"), title)?,
                (None, Some(phrase)) => map.text(key!("title"), Piece::of_table(phrase))?,
                (None, None) => {}
            },
        }
        map.status(key!("status"), status)?;
        let shown = !status.is_server_error() || self.policy.shows_server_detail();
        let own_detail = failure
            .and_then(Failure::detail)
            .or(detail)
            .filter(|_| shown);
        match (own_detail, kind) {
            (Some(detail), _) => map.text(key!("detail"), detail)?,
            (None, Some(kind)) => generic_detail(map, kind, dependency)?,
            (None, None) if status.is_server_error() => {
                map.text(key!("detail"), piece!(SERVER_FAULT))?
            }
            (None, None) => {}
        }
        if let Some(dependency) = dependency {
            map.text(key!("dependency"), dependency)?;
        }
        if let Some(failure) = failure {
            if let Some(status) = failure.dependency_status() {
                map.status(key!("dependency_status"), status)?;
            }
            if let Some(code) = failure.code() {
                map.text(key!("code"), code)?;
            }
            if !failure.errors().is_empty() {
                map.value(key!("errors"), &Errors(failure.errors()))?;
            }
        }
        for (name, value) in members {
            map.text((*name).into(), *value)?;
        }
        // A failure's extension members; one named as the policy's trace id
        // member is left to it.
        let trace_member = self.policy.trace_id_member().filter(|_| trace_id.is_some());
        for (name, value) in failure.into_iter().flat_map(Failure::extensions) {
            if Some(name) != trace_member {
                map.value(name.into(), value)?;
            }
        }
        let retryable = match kind {
            Some(kind) => kind.is_retryable(),
            None => matches!(status.as_u16(), 408 | 429 | 503 | 504),
        };
        map.flag(key!("retryable"), retryable)?;
        if let Some(request_id) = request_id {
            map.text(key!("request_id"), request_id)?;
        }
        if let (Some(member), Some(trace_id)) = (self.policy.trace_id_member(), trace_id) {
            map.text(member.into(), trace_id)?;
        }
        if let Some(record) = record.filter(|r| r.skipped().next().is_some()) {
            map.value(key!("skipped"), &Skipped(record))?;
        }
        let depth = self.policy.cause_depth();
        if let (true, Some(cause)) = (depth > 0, failure.and_then(Failure::cause)) {
            map.value(key!("cause"), &cause.limited(depth))?;
        }
        Ok(())
    }
}

/// The detail of a server error without a failure of its own to tell.
const SERVER_FAULT: &str = "The server could not complete the request.";

/// A failure's input errors, as RFC 9457 §3's `errors` member.
struct Errors<'a>(&'a [FieldError]);

impl Serialize for Errors<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for error in self.0 {
            seq.serialize_element(&ErrorItem(error))?;
        }
        seq.end()
    }
}

struct ErrorItem<'a>(&'a FieldError);

impl Serialize for ErrorItem<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("detail", self.0.detail())?;
        map.serialize_entry("pointer", self.0.pointer())?;
        map.end()
    }
}

/// The names a record holds as skipped, as a JSON array.
struct Skipped<'a>(&'a Dependencies);

impl Serialize for Skipped<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.skipped())
    }
}

/// A title per kind, for problem types under a base URI.
fn title(kind: FailureKind) -> Piece<'static> {
    match kind {
        FailureKind::Rejected(_) => piece!("A prerequisite was refused"),
        FailureKind::InvalidInput => piece!("Invalid input"),
        FailureKind::Unprocessable => piece!("Unprocessable input"),
        FailureKind::PreconditionRequired => piece!("Precondition required"),
        FailureKind::Unavailable => piece!("Dependency unavailable"),
        FailureKind::Timeout => piece!("Dependency timed out"),
        FailureKind::BadGateway => piece!("Invalid answer from a dependency"),
        FailureKind::Internal => piece!("Internal error"),
    }
}

/// The generic detail of a kind around the prerequisite's name: the text
/// before the quoted name and after it, and the whole text for a
/// prerequisite whose name is not known.
macro_rules! around_name {
    ($before:literal, $after:literal) => {
        (
            piece!(concat!($before, "'")),
            piece!(concat!("'", $after)),
            piece!(concat!($before, "of this request", $after)),
        )
    };
}

/// Writes the detail sent when the failure's own detail is absent or not
/// shown: in pieces, so that the text is copied rather than formatted.
fn generic_detail<M: Members>(
    map: &mut M,
    kind: FailureKind,
    dependency: Option<&str>,
) -> Result<(), M::Error> {
    let (before, after, unnamed) = match kind {
        FailureKind::Rejected(_) => around_name!("The prerequisite ", " was refused ("),
        FailureKind::InvalidInput => around_name!("The request's input for ", " is malformed."),
        FailureKind::Unprocessable => {
            around_name!("The request's input for ", " cannot be processed.")
        }
        FailureKind::PreconditionRequired => {
            around_name!("The request lacks a precondition that ", " requires.")
        }
        FailureKind::Unavailable => around_name!("The dependency ", " is temporarily unavailable."),
        FailureKind::Timeout => around_name!("The dependency ", " did not answer in time."),
        FailureKind::BadGateway => {
            around_name!("The dependency ", " answered with something invalid.")
        }
        FailureKind::Internal => return map.text(key!("detail"), piece!(SERVER_FAULT)),
    };
    let FailureKind::Rejected(status) = &kind else {
        return match dependency {
            Some(name) => map.joined(key!("detail"), &[before, Piece::Other(name), after]),
            None => map.text(key!("detail"), unnamed),
        };
    };
    // A refusal goes on with the status it was refused with.
    let digits = Piece::of_table(status.as_str());
    let end = piece!("), so this request was not performed.");
    let pieces: &[Piece<'_>] = match (dependency, reason_phrase(*status)) {
        (Some(name), Some(reason)) => &[
            before,
            Piece::Other(name),
            after,
            digits,
            piece!(" "),
            Piece::of_table(reason),
            end,
        ],
        (Some(name), None) => &[before, Piece::Other(name), after, digits, end],
        (None, Some(reason)) => &[unnamed, digits, piece!(" "), Piece::of_table(reason), end],
        (None, None) => &[unnamed, digits, end],
    };
    map.joined(key!("detail"), pieces)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::RETRY_AFTER;
    use serde_json::{json, Value};
    use std::time::Duration;

    fn respond(policy: &StatusPolicy, incident: &Incident<'_>) -> Response<ProblemBody> {
        policy
            .render_quietly(incident)
            .into_response(Extensions::new(), ProblemBody::new)
    }

    async fn rendered(policy: &StatusPolicy, incident: &Incident<'_>) -> (StatusCode, Value) {
        let response = respond(policy, incident);
        let status = response.status();
        let body = crate::problem::collect(response.into_body()).await;
        (status, serde_json::from_slice(&body).unwrap())
    }

    fn incident<'a>(dependency: &'a str, failure: &'a Failure) -> Incident<'a> {
        Incident::new(Some(dependency), failure, events::PREREQUISITE_FAILED)
    }

    #[tokio::test]
    async fn a_refusal_is_a_424_naming_the_dependency_and_its_status() {
        let failure = Failure::rejected(StatusCode::CONFLICT)
            .with_detail("Email already taken.")
            .with_code("EMAIL_TAKEN");
        let mut record = Dependencies::new();
        record
            .record_failure("user", failure.clone())
            .record_skipped("profile", "user");
        let incident = Incident {
            record: Some(&record),
            request_id: Some("req-1"),
            ..incident("user", &failure)
        };
        let (status, body) = rendered(&StatusPolicy::default(), &incident).await;
        assert_eq!(status, StatusCode::FAILED_DEPENDENCY);
        assert_eq!(
            body,
            json!({
                "title": "Failed Dependency", "status": 424,
                "detail": "Email already taken.", "dependency": "user",
                "dependency_status": 409, "code": "EMAIL_TAKEN", "retryable": false,
                "request_id": "req-1", "skipped": ["profile"]
            })
        );
    }

    #[tokio::test]
    async fn server_errors_hide_the_failure_detail_unless_opted_in() {
        let failure = Failure::internal().with_detail("pool exhausted at db-3:5432");
        let (status, body) = rendered(&StatusPolicy::default(), &incident("db", &failure)).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["detail"], "The server could not complete the request.");
        let shown = StatusPolicy::builder()
            .show_server_detail(true)
            .build()
            .unwrap();
        let (_, body) = rendered(&shown, &incident("db", &failure)).await;
        assert_eq!(body["detail"], "pool exhausted at db-3:5432");
    }

    #[test]
    fn retry_after_only_on_503() {
        let failure = Failure::unavailable().with_retry_after(Duration::from_secs(7));
        let response = respond(&StatusPolicy::default(), &incident("db", &failure));
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[RETRY_AFTER], "7");

        let mapped = StatusPolicy::builder()
            .map(FailureKind::Unavailable, StatusCode::BAD_GATEWAY)
            .build()
            .unwrap();
        let response = respond(&mapped, &incident("db", &failure));
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        assert!(response.headers().get(RETRY_AFTER).is_none());
    }

    #[tokio::test]
    async fn a_type_base_gives_a_type_and_title_per_kind() {
        let policy = StatusPolicy::builder()
            .type_base("https://errors.example.com/")
            .build()
            .unwrap();
        let (_, body) = rendered(&policy, &incident("search", &Failure::timeout())).await;
        assert_eq!(body["type"], "https://errors.example.com/timeout");
        assert_eq!(body["title"], "Dependency timed out");
        assert_eq!(body["retryable"], true);
        assert_eq!(
            body["detail"],
            "The dependency 'search' did not answer in time."
        );
    }

    #[tokio::test]
    async fn the_hook_adds_members_and_cannot_change_the_status() {
        let policy = StatusPolicy::builder()
            .on_problem(|problem| {
                problem.insert_member("trace_id", "abc123").unwrap();
                *problem = problem.clone().with_status(StatusCode::OK);
            })
            .build()
            .unwrap();
        let (status, body) = rendered(&policy, &incident("db", &Failure::bad_gateway())).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert_eq!(body["status"], 502);
        assert_eq!(body["trace_id"], "abc123");
        assert_eq!(body["dependency"], "db");
    }
}
