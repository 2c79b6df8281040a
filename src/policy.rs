//! The status-mapping policy: which status each kind of failure answers with.
//!
//! | failure kind | default | [`strict`](StatusPolicy::strict) |
//! |---|---|---|
//! | [`Rejected(s)`](FailureKind::Rejected) | 424 | `s` (the prerequisite's own status) |
//! | [`InvalidInput`](FailureKind::InvalidInput) | 400 | 400 |
//! | [`Unprocessable`](FailureKind::Unprocessable) | 422 | 422 |
//! | [`PreconditionRequired`](FailureKind::PreconditionRequired) | 428 | 428 |
//! | [`Unavailable`](FailureKind::Unavailable) | 503 + `Retry-After` | 503 + `Retry-After` |
//! | [`Timeout`](FailureKind::Timeout) | 504 | 504 |
//! | [`BadGateway`](FailureKind::BadGateway) | 502 | 502 |
//! | [`Internal`](FailureKind::Internal) | 500 | 500 |
//!
//! The builder refuses mappings that misuse a status, naming the one that fits:
//!
//! ```
//! use http::StatusCode;
//! use tower_failed_dependency::{FailureKind, StatusPolicy};
//!
//! let error = StatusPolicy::builder()
//!     .map(FailureKind::Unavailable, StatusCode::FAILED_DEPENDENCY)
//!     .build()
//!     .unwrap_err();
//! assert!(error.to_string().contains("503 Service Unavailable"));
//!
//! // An upstream whose 404 should reach the client as it is:
//! let policy = StatusPolicy::builder()
//!     .map_dependency("user", FailureKind::Rejected(StatusCode::NOT_FOUND), StatusCode::NOT_FOUND)
//!     .build()
//!     .unwrap();
//! assert_eq!(
//!     policy.status_for("user", FailureKind::Rejected(StatusCode::NOT_FOUND)),
//!     StatusCode::NOT_FOUND
//! );
//! ```

use std::fmt;
use std::sync::Arc;

use http::StatusCode;

use crate::outcome::Name;
use crate::{FailureKind, Problem};

type Hook = Arc<dyn Fn(&mut Problem) + Send + Sync>;

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
enum Preset {
    FailedDependency,
    OwnStatus,
}

/// The mapping from [`FailureKind`] to status, and how problems are written.
///
/// Build one with [`StatusPolicy::builder`], or take a preset:
/// [`StatusPolicy::default`] or [`StatusPolicy::strict`].
#[derive(Clone)]
pub struct StatusPolicy {
    preset: Preset,
    kinds: Vec<(FailureKind, StatusCode)>,
    dependencies: Vec<(Name, FailureKind, StatusCode)>,
    unevaluated: FailureKind,
    guard: Guard,
    type_base: Option<Arc<str>>,
    server_detail: bool,
    cause_depth: usize,
    hook: Option<Hook>,
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
        }
    }
}

impl StatusPolicy {
    /// A builder starting from the default table.
    pub fn builder() -> StatusPolicyBuilder {
        StatusPolicyBuilder {
            policy: Self::default(),
            errors: Vec::new(),
        }
    }

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

    pub(crate) fn hook(&self) -> Option<&(dyn Fn(&mut Problem) + Send + Sync)> {
        self.hook.as_deref()
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
            .field("hook", &self.hook.as_ref().map(|_| "Fn(&mut Problem)"))
            .finish()
    }
}

/// Builds a [`StatusPolicy`]; from [`StatusPolicy::builder`].
#[derive(Debug, Clone)]
pub struct StatusPolicyBuilder {
    policy: StatusPolicy,
    errors: Vec<PolicyError>,
}

impl StatusPolicyBuilder {
    /// Starts from the [strict](StatusPolicy::strict) preset instead of the
    /// default one.
    pub fn strict(mut self) -> Self {
        self.policy.preset = Preset::OwnStatus;
        self
    }

    /// Answers failures of `kind` with `status`. For
    /// [`Rejected`](FailureKind::Rejected) the key is the refusal status too:
    /// `Rejected(404)` maps only refusals with 404.
    pub fn map(mut self, kind: FailureKind, status: StatusCode) -> Self {
        match check(kind, status) {
            Ok(()) => upsert(&mut self.policy.kinds, kind, status),
            Err(error) => self.errors.push(error),
        }
        self
    }

    /// Answers failures of `kind` in the prerequisite `dependency` with `status`.
    pub fn map_dependency(
        mut self,
        dependency: impl Into<Name>,
        kind: FailureKind,
        status: StatusCode,
    ) -> Self {
        let dependency = dependency.into();
        match check(kind, status) {
            Ok(()) => {
                let table = &mut self.policy.dependencies;
                match table
                    .iter_mut()
                    .find(|(name, k, _)| *k == kind && *name == dependency)
                {
                    Some(entry) => entry.2 = status,
                    None => table.push((dependency, kind, status)),
                }
            }
            Err(error) => self.errors.push(error),
        }
        self
    }

    /// Treats a required prerequisite that no one recorded as `kind`
    /// (default [`Internal`](FailureKind::Internal): it is a wiring bug of
    /// the server's). [`PreconditionRequired`](FailureKind::PreconditionRequired)
    /// fits a prerequisite that only the client can supply. A
    /// [`Rejected`](FailureKind::Rejected) kind is refused by
    /// [`build`](Self::build): nothing was attempted.
    pub fn unevaluated(mut self, kind: FailureKind) -> Self {
        match kind {
            FailureKind::Rejected(_) => self.errors.push(PolicyError::Misfit {
                kind,
                status: StatusCode::FAILED_DEPENDENCY,
                fits: StatusCode::INTERNAL_SERVER_ERROR,
                why: "a prerequisite that no one evaluated was never attempted",
            }),
            kind => self.policy.unevaluated = kind,
        }
        self
    }

    /// What to do with a 424 from the inner service that names no dependency.
    pub fn guard(mut self, guard: Guard) -> Self {
        self.policy.guard = guard;
        self
    }

    /// Problem types become `{base}{kind}` (`{base}unavailable`, ...) with a
    /// title per kind, instead of `about:blank` with the reason phrase.
    pub fn type_base(mut self, base: impl Into<String>) -> Self {
        self.policy.type_base = Some(Arc::from(base.into()));
        self
    }

    /// Renders a failure's own detail on server errors too. Off by default: a
    /// 5xx then carries a generic detail.
    pub fn show_server_detail(mut self, show: bool) -> Self {
        self.policy.server_detail = show;
        self
    }

    /// Renders an upstream's problem kept as a failure's
    /// [`cause`](crate::Failure::cause) as a nested `cause` member, down to
    /// `depth` levels (at most [`Cause::MAX_DEPTH`](crate::Cause::MAX_DEPTH)).
    /// Off (0) by default: what an upstream says is not passed on unless
    /// asked. Only the members [`Cause`](crate::Cause) keeps are rendered.
    pub fn show_causes(mut self, depth: usize) -> Self {
        self.policy.cause_depth = depth.min(crate::Cause::MAX_DEPTH);
        self
    }

    /// A hook run on every problem before it is written, to add members (a
    /// trace id, a documentation link). The problem's `status` is restored
    /// after the hook: it must equal the response's.
    pub fn on_problem<F>(mut self, hook: F) -> Self
    where
        F: Fn(&mut Problem) + Send + Sync + 'static,
    {
        self.policy.hook = Some(Arc::new(hook));
        self
    }

    /// The policy.
    ///
    /// # Errors
    ///
    /// The first mapping that misuses a status: 424 for anything but a
    /// refused prerequisite, a client error for a server-side failure (or the
    /// reverse), or a status that is not an error.
    pub fn build(mut self) -> Result<StatusPolicy, PolicyError> {
        match self.errors.drain(..).next() {
            Some(error) => Err(error),
            None => Ok(self.policy),
        }
    }
}

fn upsert(table: &mut Vec<(FailureKind, StatusCode)>, kind: FailureKind, status: StatusCode) {
    match table.iter_mut().find(|(k, _)| *k == kind) {
        Some(entry) => entry.1 = status,
        None => table.push((kind, status)),
    }
}

/// A mapping that [`StatusPolicyBuilder::build`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The status does not fit the kind of failure.
    #[error("cannot map {kind:?} to {status}: {why}; use {fits}")]
    Misfit {
        /// The kind of failure.
        kind: FailureKind,
        /// The status that was asked for.
        status: StatusCode,
        /// The status that fits.
        fits: StatusCode,
        /// Why the status does not fit.
        why: &'static str,
    },
}

fn check(kind: FailureKind, status: StatusCode) -> Result<(), PolicyError> {
    let why = if !(status.is_client_error() || status.is_server_error()) {
        Some("a failure needs an error status")
    } else if status == StatusCode::FAILED_DEPENDENCY && !matches!(kind, FailureKind::Rejected(_)) {
        Some("424 is kept for a prerequisite that was attempted and refused")
    } else if kind.is_server_fault() && status.is_client_error() {
        Some("the fault is not the client's")
    } else if !kind.is_server_fault() && status.is_server_error() {
        Some("the fault lies in the request's chain, not the server")
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(why) => Err(PolicyError::Misfit {
            kind,
            status,
            fits: kind.fitting_status(),
            why,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            (FailureKind::Unprocessable, 500, "422 Unprocessable Entity"),
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
