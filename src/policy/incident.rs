//! [`Incident`]: what went wrong, as the policy renders and logs it.

use http::StatusCode;

use super::request::RequestParts;
use crate::outcome::{Dependencies, Failure};

/// What went wrong, borrowed from wherever it was found.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Incident<'a> {
    /// The prerequisite named in the problem; none for a bare 424.
    pub(crate) dependency: Option<&'a str>,
    /// How it failed; none for an answer that only has a status (an error
    /// response of another layer turned into a problem).
    pub(crate) failure: Option<&'a Failure>,
    /// A status the answer's format prescribes, whatever the policy maps the
    /// failure to (a batch part not run is a 424 in every batch format); the
    /// status itself when there is no failure.
    pub(crate) status: Option<StatusCode>,
    /// Client-safe text for an answer without a failure.
    pub(crate) detail: Option<&'a str>,
    /// The record whose skipped dependents the problem lists.
    pub(crate) record: Option<&'a Dependencies>,
    /// Extension members the middleware adds (a batch's `root_cause`,
    /// `part`, `field`), written after the crate's own.
    pub(crate) members: &'a [(&'static str, &'a str)],
    pub(crate) request_id: Option<&'a str>,
    pub(crate) trace_id: Option<&'a str>,
    /// The request the problem answers, for a hook that reads it.
    pub(crate) request: Option<&'a RequestParts<'a>>,
    /// What the log event says happened.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) event: &'static str,
}

impl<'a> Incident<'a> {
    /// `failure` of `dependency`, logged as `event`; nothing else known.
    pub(crate) fn new(
        dependency: Option<&'a str>,
        failure: &'a Failure,
        event: &'static str,
    ) -> Self {
        Self {
            dependency,
            failure: Some(failure),
            ..Self::of_status(None, event)
        }
    }

    /// An answer with `status` and nothing more known, logged as `event`.
    pub(crate) fn of_status(status: Option<StatusCode>, event: &'static str) -> Self {
        Self {
            dependency: None,
            failure: None,
            status,
            detail: None,
            record: None,
            members: &[],
            request_id: None,
            trace_id: None,
            request: None,
            event,
        }
    }
}
