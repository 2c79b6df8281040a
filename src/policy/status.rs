//! [`StatusPolicy`]: the mapping from kinds of failure to statuses, and how
//! problems are written.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::StatusCode;

use super::request::RequestParts;
use crate::outcome::{FailureKind, Name};
use crate::problem::Problem;

/// A hook run on every problem before it is written.
pub(crate) type HookFn = dyn Fn(&mut Problem, Option<&RequestParts<'_>>) + Send + Sync;
pub(super) type Hook = Arc<HookFn>;

/// What the layer does with a 424 from the inner service that names no failed
/// dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Guard {
    /// Answer 500 instead, as a problem, and log an error: a 424 must name the
    /// action that failed first.
    #[default]
    Enforce,
    /// Let the 424 through and log a warning.
    Warn,
}

/// Whether a refused prerequisite answers 424 or its own status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Preset {
    FailedDependency,
    OwnStatus,
}

/// The mapping from [`FailureKind`] to status, and how problems are written.
///
/// Build one with [`StatusPolicy::builder`], or take a preset:
/// [`StatusPolicy::default`] or [`StatusPolicy::strict`].
#[derive(Clone)]
pub struct StatusPolicy {
    pub(super) preset: Preset,
    pub(super) kinds: Vec<(FailureKind, StatusCode)>,
    pub(super) dependencies: Vec<(Name, FailureKind, StatusCode)>,
    pub(super) unevaluated: FailureKind,
    pub(super) guard: Guard,
    pub(super) type_base: Option<Arc<str>>,
    pub(super) server_detail: bool,
    pub(super) cause_depth: usize,
    pub(super) hook: Option<Hook>,
    /// Whether the hook reads the request, which then is kept until the
    /// answer.
    pub(super) hook_reads_request: bool,
    /// The member the trace id is written as; none to write none.
    pub(super) trace_id_member: Option<Cow<'static, str>>,
}

impl Default for StatusPolicy {
    fn default() -> Self {
        Self {
            preset: Preset::FailedDependency,
            kinds: Vec::new(),
            dependencies: Vec::new(),
            unevaluated: FailureKind::Internal,
            guard: Guard::Enforce,
            type_base: None,
            server_detail: false,
            cause_depth: 0,
            hook: None,
            hook_reads_request: false,
            trace_id_member: Some(Cow::Borrowed("trace_id")),
        }
    }
}

impl StatusPolicy {
    /// Never a top-level 424: a refused prerequisite answers with its own
    /// status (409, 403, ...), for APIs whose guidelines forbid 424. The
    /// problem still names the dependency. A refusal whose own status is
    /// not a client error, or is 424 itself (the dependency's own
    /// prerequisite failed), answers 409 Conflict.
    pub fn strict() -> Self {
        Self {
            preset: Preset::OwnStatus,
            ..Self::default()
        }
    }

    /// The status a failure of `kind` in the prerequisite `dependency` answers
    /// with: a per-dependency mapping first, then a per-kind one, then the
    /// preset.
    pub fn status_for(&self, dependency: &str, kind: FailureKind) -> StatusCode {
        let by_dependency = self
            .dependencies
            .iter()
            .find(|(name, k, _)| *k == kind && name == dependency);
        if let Some((_, _, status)) = by_dependency {
            return *status;
        }
        if let Some((_, status)) = self.kinds.iter().find(|(k, _)| *k == kind) {
            return *status;
        }
        match (self.preset, kind) {
            (Preset::OwnStatus, FailureKind::Rejected(own))
                if own.is_client_error() && own != StatusCode::FAILED_DEPENDENCY =>
            {
                own
            }
            (Preset::OwnStatus, FailureKind::Rejected(_)) => StatusCode::CONFLICT,
            _ => kind.fitting_status(),
        }
    }

    /// The kind a prerequisite that no one evaluated is treated as.
    pub fn unevaluated(&self) -> FailureKind {
        self.unevaluated
    }

    /// What happens to a 424 from the inner service that names no dependency.
    pub fn guard(&self) -> Guard {
        self.guard
    }

    pub(crate) fn type_base(&self) -> Option<&str> {
        self.type_base.as_deref()
    }

    pub(crate) fn shows_server_detail(&self) -> bool {
        self.server_detail
    }

    pub(crate) fn cause_depth(&self) -> usize {
        self.cause_depth
    }

    pub(crate) fn hook(&self) -> Option<&HookFn> {
        self.hook.as_deref()
    }

    /// Whether the hook reads the request a problem answers.
    pub(crate) fn hook_reads_request(&self) -> bool {
        self.hook_reads_request
    }

    /// The member a problem's trace id is written as, if any.
    pub(crate) fn trace_id_member(&self) -> Option<&str> {
        self.trace_id_member.as_deref()
    }
}

impl fmt::Debug for StatusPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusPolicy")
            .field("preset", &self.preset)
            .field("kinds", &self.kinds)
            .field("dependencies", &self.dependencies)
            .field("unevaluated", &self.unevaluated)
            .field("guard", &self.guard)
            .field("type_base", &self.type_base)
            .field("server_detail", &self.server_detail)
            .field("cause_depth", &self.cause_depth)
            .field("hook", &self.hook.as_ref().map(|_| "Fn(&mut Problem, ..)"))
            .field("hook_reads_request", &self.hook_reads_request)
            .field("trace_id_member", &self.trace_id_member)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyError;

    #[test]
    fn default_table() {
        let policy = StatusPolicy::default();
        let cases = [
            (FailureKind::Rejected(StatusCode::CONFLICT), 424),
            (FailureKind::InvalidInput, 400),
            (FailureKind::Unprocessable, 422),
            (FailureKind::PreconditionRequired, 428),
            (FailureKind::Unavailable, 503),
            (FailureKind::Timeout, 504),
            (FailureKind::BadGateway, 502),
            (FailureKind::Internal, 500),
        ];
        for (kind, status) in cases {
            assert_eq!(policy.status_for("any", kind).as_u16(), status, "{kind}");
        }
    }

    #[test]
    fn strict_answers_a_refusal_with_its_own_status() {
        let strict = StatusPolicy::strict();
        assert_eq!(
            strict.status_for("lock", FailureKind::Rejected(StatusCode::LOCKED)),
            StatusCode::LOCKED
        );
        assert_eq!(
            strict.status_for("db", FailureKind::Unavailable),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    /// Found by `tests/properties.rs`: a refusal built from a status that is
    /// not a client error (`FailureKind::Rejected(100)`) was answered with
    /// that status, and a dependency's own 424 stayed 424.
    #[test]
    fn strict_never_answers_a_refusal_with_a_status_that_is_not_a_client_error_or_is_424() {
        let strict = StatusPolicy::strict();
        for own in [100, 200, 302, 424, 500, 503] {
            let kind = FailureKind::Rejected(StatusCode::from_u16(own).unwrap());
            assert_eq!(strict.status_for("x", kind), StatusCode::CONFLICT, "{own}");
        }
    }

    #[test]
    fn misuse_is_refused_naming_the_status_that_fits() {
        let cases = [
            (FailureKind::Unavailable, 424, "503 Service Unavailable"),
            (FailureKind::Timeout, 408, "504 Gateway Timeout"),
            (FailureKind::BadGateway, 400, "502 Bad Gateway"),
            (FailureKind::Internal, 424, "500 Internal Server Error"),
            (FailureKind::InvalidInput, 424, "400 Bad Request"),
            (FailureKind::Unprocessable, 500, "422 Unprocessable Content"),
            (
                FailureKind::PreconditionRequired,
                200,
                "428 Precondition Required",
            ),
            (
                FailureKind::Rejected(StatusCode::CONFLICT),
                503,
                "424 Failed Dependency",
            ),
        ];
        for (kind, status, fits) in cases {
            let status = StatusCode::from_u16(status).unwrap();
            let error = StatusPolicy::builder()
                .map(kind, status)
                .build()
                .unwrap_err();
            let message = error.to_string();
            assert!(message.contains(fits), "{message}");
            assert!(message.contains(status.as_str()), "{message}");
        }
    }

    #[test]
    fn overrides_apply_by_dependency_then_kind() {
        let rejected_404 = FailureKind::Rejected(StatusCode::NOT_FOUND);
        let policy = StatusPolicy::builder()
            .map(FailureKind::Unavailable, StatusCode::INTERNAL_SERVER_ERROR)
            .map(rejected_404, StatusCode::NOT_FOUND)
            .map_dependency("search", FailureKind::Unavailable, StatusCode::BAD_GATEWAY)
            .build()
            .unwrap();
        assert_eq!(policy.status_for("search", FailureKind::Unavailable), 502);
        assert_eq!(policy.status_for("db", FailureKind::Unavailable), 500);
        assert_eq!(policy.status_for("user", rejected_404), 404);
        assert_eq!(
            policy.status_for("user", FailureKind::Rejected(StatusCode::GONE)),
            424
        );
    }

    #[test]
    fn an_unevaluated_prerequisite_cannot_count_as_refused() {
        let error = StatusPolicy::builder()
            .unevaluated(FailureKind::Rejected(StatusCode::FORBIDDEN))
            .build()
            .unwrap_err();
        assert!(error.to_string().contains("500 Internal Server Error"));
        let policy = StatusPolicy::builder()
            .unevaluated(FailureKind::PreconditionRequired)
            .build()
            .unwrap();
        assert_eq!(policy.unevaluated(), FailureKind::PreconditionRequired);
    }

    #[test]
    fn a_misfit_per_dependency_is_refused_too() {
        let error = StatusPolicy::builder()
            .map_dependency("db", FailureKind::Timeout, StatusCode::FAILED_DEPENDENCY)
            .build()
            .unwrap_err();
        assert!(matches!(error, PolicyError::Misfit { fits, .. } if fits == 504));
    }
}
