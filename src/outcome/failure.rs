//! Why a prerequisite failed: [`Failure`] and its [`FailureKind`].
//!
//! A failure says *what kind* of thing went wrong, not which HTTP status to
//! send: the [`StatusPolicy`](crate::StatusPolicy) decides that. Client-safe
//! text goes in [`Failure::with_detail`], a machine-readable code in
//! [`Failure::with_code`]; the underlying error goes in
//! [`Failure::with_source`], where it is kept for logs and never rendered.
//!
//! ```
//! use std::time::Duration;
//! use http::StatusCode;
//! use tower_failed_dependency::{Failure, FailureKind};
//!
//! let refused = Failure::rejected(StatusCode::CONFLICT)
//!     .with_detail("The email address is already taken.")
//!     .with_code("EMAIL_TAKEN");
//! assert_eq!(refused.kind(), FailureKind::Rejected(StatusCode::CONFLICT));
//! assert!(!refused.is_retryable());
//!
//! let down = Failure::unavailable().with_retry_after(Duration::from_secs(7));
//! assert!(down.is_retryable());
//! ```

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, StatusCode};

use super::cause::Cause;
use crate::problem::WithPhrase;

/// The error type kept as a failure's [source](Failure::source).
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// What kind of thing went wrong with a prerequisite.
///
/// The [`StatusPolicy`](crate::StatusPolicy) maps each kind to the status the
/// client receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// The prerequisite was attempted and refused with its own client error
    /// (403, 404, 409, 412, 423, ...). The only kind that fits
    /// 424 Failed Dependency.
    Rejected(StatusCode),
    /// The request's own input is malformed (400).
    InvalidInput,
    /// The request is well-formed but its instructions cannot be processed (422).
    Unprocessable,
    /// A precondition the prerequisite needs was not sent at all (428).
    PreconditionRequired,
    /// The dependency is down or overloaded, temporarily (503).
    Unavailable,
    /// The dependency did not answer in time (504).
    Timeout,
    /// The dependency answered with something invalid (502).
    BadGateway,
    /// Our own unexpected fault (500).
    Internal,
}

impl FailureKind {
    /// The status that fits this kind under the standards: 424 for a rejected
    /// prerequisite, and the status named on each variant otherwise.
    pub fn fitting_status(self) -> StatusCode {
        match self {
            FailureKind::Rejected(_) => StatusCode::FAILED_DEPENDENCY,
            FailureKind::InvalidInput => StatusCode::BAD_REQUEST,
            FailureKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            FailureKind::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            FailureKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            FailureKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
            FailureKind::BadGateway => StatusCode::BAD_GATEWAY,
            FailureKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether retrying the same call later may succeed: true for
    /// [`Unavailable`](FailureKind::Unavailable) and
    /// [`Timeout`](FailureKind::Timeout).
    pub fn is_retryable(self) -> bool {
        matches!(self, FailureKind::Unavailable | FailureKind::Timeout)
    }

    /// Whether the fault lies with the server side (a 5xx kind) rather than
    /// with the request's chain.
    pub fn is_server_fault(self) -> bool {
        matches!(
            self,
            FailureKind::Unavailable
                | FailureKind::Timeout
                | FailureKind::BadGateway
                | FailureKind::Internal
        )
    }

    /// A short stable identifier, used in problem type URIs and logs.
    pub fn slug(self) -> &'static str {
        match self {
            FailureKind::Rejected(_) => "rejected",
            FailureKind::InvalidInput => "invalid-input",
            FailureKind::Unprocessable => "unprocessable",
            FailureKind::PreconditionRequired => "precondition-required",
            FailureKind::Unavailable => "unavailable",
            FailureKind::Timeout => "timeout",
            FailureKind::BadGateway => "bad-gateway",
            FailureKind::Internal => "internal",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureKind::Rejected(status) => write!(f, "rejected with {}", WithPhrase(*status)),
            other => f.write_str(other.slug()),
        }
    }
}

/// The members the crate writes itself, which an extension may not take.
const CRATE_MEMBERS: [&str; 12] = [
    "dependency",
    "dependency_status",
    "code",
    "errors",
    "retryable",
    "request_id",
    "trace_id",
    "skipped",
    "cause",
    "root_cause",
    "part",
    "field",
];

/// The outcome of a prerequisite that failed.
///
/// Two words: its kind, and everything else it carries behind one shared
/// pointer, allocated only when something is set. Cheap to clone.
#[derive(Clone)]
pub struct Failure {
    kind: FailureKind,
    details: Option<Arc<Details>>,
}

/// What a failure carries besides its kind.
#[derive(Clone, Default)]
struct Details {
    detail: Option<Cow<'static, str>>,
    code: Option<Cow<'static, str>>,
    retry_after: Option<Duration>,
    source: Option<Arc<dyn StdError + Send + Sync>>,
    cause: Option<Arc<Cause>>,
    errors: Vec<FieldError>,
    challenge: Option<HeaderValue>,
    allow: Option<HeaderValue>,
    problem_type: Option<Cow<'static, str>>,
    title: Option<Cow<'static, str>>,
    extensions: Vec<(Cow<'static, str>, serde_json::Value)>,
}

/// One thing wrong with the request's input, rendered as an item of the
/// problem's `errors` member, as in RFC 9457 §3's example:
/// `{"detail": "must be a positive integer", "pointer": "#/age"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pointer: Cow<'static, str>,
    detail: Cow<'static, str>,
}

impl FieldError {
    /// A JSON Pointer (RFC 6901) as a URI fragment, `#/age`, to the member at
    /// fault in the request's body.
    pub fn pointer(&self) -> &str {
        &self.pointer
    }

    /// What is wrong with it, for the client.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl Failure {
    /// A failure of the given kind, with no detail, code, retry hint or source.
    pub fn new(kind: FailureKind) -> Self {
        Self {
            kind,
            details: None,
        }
    }

    /// The prerequisite was attempted and answered with `status`.
    ///
    /// A client error (4xx) is a refusal: [`FailureKind::Rejected`]. Any other
    /// status is not a refusal and is classified by what it means instead:
    /// 503 is [`Unavailable`](FailureKind::Unavailable), 504
    /// [`Timeout`](FailureKind::Timeout), any other 5xx
    /// [`BadGateway`](FailureKind::BadGateway), and a status that is not an
    /// error at all [`Internal`](FailureKind::Internal) (recording it as a
    /// failure is a bug of ours).
    pub fn rejected(status: StatusCode) -> Self {
        let kind = match status {
            s if s.is_client_error() => FailureKind::Rejected(s),
            StatusCode::SERVICE_UNAVAILABLE => FailureKind::Unavailable,
            StatusCode::GATEWAY_TIMEOUT => FailureKind::Timeout,
            s if s.is_server_error() => FailureKind::BadGateway,
            _ => FailureKind::Internal,
        };
        Self::new(kind)
    }

    /// The request's own input is malformed.
    pub fn invalid_input() -> Self {
        Self::new(FailureKind::InvalidInput)
    }

    /// The request is well-formed but cannot be processed.
    pub fn unprocessable() -> Self {
        Self::new(FailureKind::Unprocessable)
    }

    /// A precondition the prerequisite needs was not sent.
    pub fn precondition_required() -> Self {
        Self::new(FailureKind::PreconditionRequired)
    }

    /// The dependency is down or overloaded.
    pub fn unavailable() -> Self {
        Self::new(FailureKind::Unavailable)
    }

    /// The dependency did not answer in time.
    pub fn timeout() -> Self {
        Self::new(FailureKind::Timeout)
    }

    /// The dependency answered with something invalid.
    pub fn bad_gateway() -> Self {
        Self::new(FailureKind::BadGateway)
    }

    /// Our own unexpected fault.
    pub fn internal() -> Self {
        Self::new(FailureKind::Internal)
    }

    /// Text for the client about this occurrence. It must be safe to show:
    /// it is rendered as the problem's `detail` for client errors, and for
    /// server errors only when the policy opts in.
    pub fn with_detail(mut self, detail: impl Into<Cow<'static, str>>) -> Self {
        self.details_mut().detail = Some(detail.into());
        self
    }

    /// A machine-readable code, rendered as the problem's `code` member.
    pub fn with_code(mut self, code: impl Into<Cow<'static, str>>) -> Self {
        self.details_mut().code = Some(code.into());
        self
    }

    /// When the client may retry, sent as `Retry-After` on a 503.
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        self.details_mut().retry_after = Some(delay);
        self
    }

    /// The error behind this failure. It is logged and never rendered.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.details_mut().source = Some(Arc::from(source.into()));
        self
    }

    /// Keeps an upstream's problem as the cause of this failure. It is
    /// rendered only when the policy opts in with
    /// [`show_causes`](crate::StatusPolicyBuilder::show_causes).
    pub fn with_cause(mut self, cause: Cause) -> Self {
        self.details_mut().cause = Some(Arc::new(cause));
        self
    }

    /// Adds an error in the request's input: `pointer` is a JSON Pointer as
    /// a URI fragment (`#/items/0/quantity`), `detail` says what is wrong,
    /// for the client. Rendered in order as the problem's `errors` member.
    ///
    /// ```
    /// use tower_failed_dependency::Failure;
    ///
    /// let failure = Failure::unprocessable()
    ///     .with_error("#/age", "must be a positive integer")
    ///     .with_error("#/profile/color", "must be 'green', 'red' or 'blue'");
    /// assert_eq!(failure.errors()[1].pointer(), "#/profile/color");
    /// ```
    pub fn with_error(
        mut self,
        pointer: impl Into<Cow<'static, str>>,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        self.details_mut().errors.push(FieldError {
            pointer: pointer.into(),
            detail: detail.into(),
        });
        self
    }

    /// The `WWW-Authenticate` challenge to send when this failure answers
    /// 401 (under [`strict`](crate::StatusPolicy::strict), a refused `auth`
    /// with 401 of its own): RFC 9110 §11.6.1 requires one there. It is sent
    /// only on a 401.
    pub fn with_www_authenticate(mut self, challenge: HeaderValue) -> Self {
        self.details_mut().challenge = Some(challenge);
        self
    }

    /// The `Allow` header to send when this failure answers 405: the methods
    /// the target supports (RFC 9110 §15.5.6 requires it there). It is sent
    /// only on a 405.
    pub fn with_allow(mut self, methods: HeaderValue) -> Self {
        self.details_mut().allow = Some(methods);
        self
    }

    /// The problem `type` to render in place of the policy's: a URI
    /// reference that identifies this kind of problem for clients.
    ///
    /// ```
    /// use http::StatusCode;
    /// use tower_failed_dependency::Failure;
    ///
    /// let failure = Failure::rejected(StatusCode::CONFLICT)
    ///     .with_type("https://shop.example/problems/out-of-stock")
    ///     .with_title("Out of stock");
    /// assert_eq!(failure.problem_type(), Some("https://shop.example/problems/out-of-stock"));
    /// assert_eq!(failure.title(), Some("Out of stock"));
    /// ```
    pub fn with_type(mut self, uri: impl Into<Cow<'static, str>>) -> Self {
        self.details_mut().problem_type = Some(uri.into());
        self
    }

    /// The problem `title` to render in place of the policy's: short, and
    /// the same for every occurrence of the type.
    pub fn with_title(mut self, title: impl Into<Cow<'static, str>>) -> Self {
        self.details_mut().title = Some(title.into());
        self
    }

    /// Adds an extension member to the problem, written after the crate's
    /// own. It must be safe to show: it is rendered for every status.
    ///
    /// A name that breaks RFC 9457's rule (letter first; letters, digits and
    /// `_`; at least 3 characters), names a standard member (`type`,
    /// `title`, ...) or one the crate writes itself (`dependency`, `code`,
    /// `errors`, `retryable`, `request_id`, `trace_id`, `skipped`, `cause`,
    /// ...) is not kept, so that no member is written twice; adding a name
    /// again replaces its value.
    ///
    /// ```
    /// use http::StatusCode;
    /// use tower_failed_dependency::Failure;
    ///
    /// let failure = Failure::rejected(StatusCode::CONFLICT)
    ///     .with_extension("sku", "widget")
    ///     .with_extension("left", 0)
    ///     .with_extension("code", "ignored: the crate writes `code` itself");
    /// let members: Vec<_> = failure.extensions().collect();
    /// assert_eq!(members, [("sku", &"widget".into()), ("left", &0.into())]);
    /// ```
    pub fn with_extension(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        let name = name.into();
        if crate::problem::check_member_name(&name).is_err() || CRATE_MEMBERS.contains(&&*name) {
            return self;
        }
        let value = value.into();
        let extensions = &mut self.details_mut().extensions;
        match extensions.iter_mut().find(|(kept, _)| *kept == name) {
            Some((_, kept)) => *kept = value,
            None => extensions.push((name, value)),
        }
        self
    }

    /// The problem type set with [`with_type`](Failure::with_type), if any.
    pub fn problem_type(&self) -> Option<&str> {
        self.details()
            .and_then(|details| details.problem_type.as_deref())
    }

    /// The title set with [`with_title`](Failure::with_title), if any.
    pub fn title(&self) -> Option<&str> {
        self.details().and_then(|details| details.title.as_deref())
    }

    /// The extension members, in the order added.
    pub fn extensions(&self) -> impl Iterator<Item = (&str, &serde_json::Value)> {
        self.details()
            .map_or(&[][..], |details| &details.extensions)
            .iter()
            .map(|(name, value)| (&**name, value))
    }

    fn details_mut(&mut self) -> &mut Details {
        Arc::make_mut(self.details.get_or_insert_with(Default::default))
    }

    fn details(&self) -> Option<&Details> {
        self.details.as_deref()
    }

    /// The errors in the request's input, in the order added.
    pub fn errors(&self) -> &[FieldError] {
        self.details().map_or(&[], |details| &details.errors)
    }

    /// The challenge sent on a 401, if any.
    pub fn www_authenticate(&self) -> Option<&HeaderValue> {
        self.details()
            .and_then(|details| details.challenge.as_ref())
    }

    /// The methods sent as `Allow` on a 405, if any.
    pub fn allow(&self) -> Option<&HeaderValue> {
        self.details().and_then(|details| details.allow.as_ref())
    }

    /// The upstream's problem that caused this failure, if one was kept.
    pub fn cause(&self) -> Option<&Cause> {
        self.details().and_then(|details| details.cause.as_deref())
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// The client-safe detail, if any.
    pub fn detail(&self) -> Option<&str> {
        self.details().and_then(|details| details.detail.as_deref())
    }

    /// The machine-readable code, if any.
    pub fn code(&self) -> Option<&str> {
        self.details().and_then(|details| details.code.as_deref())
    }

    /// The retry hint, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.details().and_then(|details| details.retry_after)
    }

    /// The prerequisite's own status, when it is known: the refusal status of
    /// a [`Rejected`](FailureKind::Rejected) failure.
    pub fn dependency_status(&self) -> Option<StatusCode> {
        match self.kind {
            FailureKind::Rejected(status) => Some(status),
            _ => None,
        }
    }

    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Failure")
            .field("kind", &self.kind)
            .field("detail", &self.detail())
            .field("code", &self.code())
            .field("retry_after", &self.retry_after())
            .field(
                "source",
                &self.details().and_then(|details| details.source.as_ref()),
            )
            .field("cause", &self.cause())
            .field("errors", &self.errors())
            .field("www_authenticate", &self.www_authenticate())
            .field("allow", &self.allow())
            .field("problem_type", &self.problem_type())
            .field("title", &self.title())
            .field(
                "extensions",
                &self.details().map(|details| &details.extensions),
            )
            .finish()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "prerequisite {}", self.kind)?;
        if let Some(detail) = self.detail() {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl StdError for Failure {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.details()
            .and_then(|details| details.source.as_deref())
            .map(|source| source as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_keeps_client_errors_and_classifies_the_rest() {
        let cases = [
            (
                StatusCode::CONFLICT,
                FailureKind::Rejected(StatusCode::CONFLICT),
            ),
            (
                StatusCode::LOCKED,
                FailureKind::Rejected(StatusCode::LOCKED),
            ),
            (StatusCode::SERVICE_UNAVAILABLE, FailureKind::Unavailable),
            (StatusCode::GATEWAY_TIMEOUT, FailureKind::Timeout),
            (StatusCode::INTERNAL_SERVER_ERROR, FailureKind::BadGateway),
            (StatusCode::OK, FailureKind::Internal),
        ];
        for (status, kind) in cases {
            assert_eq!(Failure::rejected(status).kind(), kind, "{status}");
        }
    }

    #[test]
    fn source_is_reachable_for_logs_but_not_in_display() {
        let io = std::io::Error::other("db password=hunter2");
        let failure = Failure::internal().with_source(io);
        assert!(!failure.to_string().contains("hunter2"));
        let source = StdError::source(&failure).expect("source kept");
        assert!(source.to_string().contains("hunter2"));
    }

    #[test]
    fn only_unavailable_and_timeout_are_retryable() {
        assert!(Failure::unavailable().is_retryable());
        assert!(Failure::timeout().is_retryable());
        assert!(!Failure::bad_gateway().is_retryable());
        assert!(!Failure::rejected(StatusCode::FORBIDDEN).is_retryable());
        assert!(!Failure::internal().is_retryable());
    }
}
