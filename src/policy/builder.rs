//! [`StatusPolicyBuilder`]: a policy that refuses to misuse a status.

use std::borrow::Cow;
use std::sync::Arc;

use http::StatusCode;

use super::request::RequestParts;
use super::status::{Guard, Preset, StatusPolicy};
use crate::outcome::{Cause, FailureKind, Name};
use crate::problem::{MemberNameError, Problem, WithPhrase};

impl StatusPolicy {
    /// A builder starting from the default table.
    pub fn builder() -> StatusPolicyBuilder {
        StatusPolicyBuilder {
            policy: Self::default(),
            errors: Vec::new(),
        }
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
    /// `depth` levels (at most [`Cause::MAX_DEPTH`](Cause::MAX_DEPTH)).
    /// Off (0) by default: what an upstream says is not passed on unless
    /// asked. Only the members [`Cause`](crate::Cause) keeps are rendered.
    pub fn show_causes(mut self, depth: usize) -> Self {
        self.policy.cause_depth = depth.min(Cause::MAX_DEPTH);
        self
    }

    /// A hook run on every problem before it is written, to add members (a
    /// documentation link, a build id). The problem's `status` is restored
    /// after the hook: it must equal the response's. Replaces any hook set
    /// before.
    pub fn on_problem<F>(mut self, hook: F) -> Self
    where
        F: Fn(&mut Problem) + Send + Sync + 'static,
    {
        self.policy.hook = Some(Arc::new(move |problem, _| hook(problem)));
        self.policy.hook_reads_request = false;
        self
    }

    /// As [`on_problem`](Self::on_problem), for a hook that reads the
    /// request the problem answers (a tenant from its extensions, a link by
    /// route). The request is `None` for a problem that answers no request
    /// the crate saw (a panic caught by tower-http's `CatchPanicLayer`).
    ///
    /// A middleware whose problem may be written after the inner service
    /// answered (a handler's `DependencyError`, a caught error) keeps a copy
    /// of the request's head for the hook: with this hook, every request
    /// pays for that copy (its headers and extensions are cloned).
    ///
    /// ```
    /// use tower_failed_dependency::StatusPolicy;
    ///
    /// let policy = StatusPolicy::builder()
    ///     .on_problem_with_request(|problem, request| {
    ///         if let Some(request) = request {
    ///             let route = request.uri().path().to_owned();
    ///             problem.insert_member("route", route).unwrap();
    ///         }
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # let _ = policy;
    /// ```
    pub fn on_problem_with_request<F>(mut self, hook: F) -> Self
    where
        F: Fn(&mut Problem, Option<&RequestParts<'_>>) + Send + Sync + 'static,
    {
        self.policy.hook = Some(Arc::new(hook));
        self.policy.hook_reads_request = true;
        self
    }

    /// The member a problem's trace id is written as (default `trace_id`):
    /// the trace-id (32 hex digits) of the current span's OpenTelemetry
    /// context with the `opentelemetry` feature, or else of the request's
    /// W3C `traceparent` header when it is valid. Never the whole header.
    ///
    /// `build` refuses a name that breaks RFC 9457's naming rule.
    pub fn trace_id_member(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        let name = name.into();
        match crate::problem::check_member_name(&name) {
            Ok(()) => self.policy.trace_id_member = Some(name),
            Err(error) => self.errors.push(PolicyError::MemberName(error)),
        }
        self
    }

    /// Writes no trace id.
    pub fn without_trace_id(mut self) -> Self {
        self.policy.trace_id_member = None;
        self
    }

    /// The policy.
    ///
    /// # Errors
    ///
    /// The first mapping that misuses a status: 424 for anything but a
    /// refused prerequisite, a client error for a server-side failure (or the
    /// reverse), or a status that is not an error; or a member name that
    /// breaks RFC 9457's rule.
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
    #[error("cannot map {kind:?} to {}: {why}; use {}", WithPhrase(*status), WithPhrase(*fits))]
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
    /// A member name the policy writes breaks RFC 9457's naming rule or names
    /// a standard member.
    #[error(transparent)]
    MemberName(#[from] MemberNameError),
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
