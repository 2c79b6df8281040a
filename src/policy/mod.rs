//! The status-mapping policy: which status each kind of failure answers with.
//!
//! | failure kind | default | [`strict`](StatusPolicy::strict) |
//! |---|---|---|
//! | [`Rejected(s)`](crate::FailureKind::Rejected) | 424 | `s` (the prerequisite's own status) |
//! | [`InvalidInput`](crate::FailureKind::InvalidInput) | 400 | 400 |
//! | [`Unprocessable`](crate::FailureKind::Unprocessable) | 422 | 422 |
//! | [`PreconditionRequired`](crate::FailureKind::PreconditionRequired) | 428 | 428 |
//! | [`Unavailable`](crate::FailureKind::Unavailable) | 503 + `Retry-After` | 503 + `Retry-After` |
//! | [`Timeout`](crate::FailureKind::Timeout) | 504 | 504 |
//! | [`BadGateway`](crate::FailureKind::BadGateway) | 502 | 502 |
//! | [`Internal`](crate::FailureKind::Internal) | 500 | 500 |
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

//!
//! Every problem the crate's middleware sends is rendered by the policy the
//! user configured: its type base, its rule for server details, its
//! [`on_problem`](StatusPolicyBuilder::on_problem) hook and the request id.
//! A handler reports a failed prerequisite by returning a
//! [`DependencyError`], which the enclosing layer renders with its policy.

mod builder;
mod error;
pub(crate) mod events;
mod incident;
mod render;
mod reply;
mod request;
mod request_id;
mod status;
mod trace_id;

pub use self::builder::{PolicyError, StatusPolicyBuilder};
pub use self::error::{DependencyError, DependencyResultExt};
pub use self::request::RequestParts;
pub use self::status::{Guard, StatusPolicy};

pub(crate) use self::incident::Incident;
pub(crate) use self::render::{rendered_here, send, send_over, Unanswered};
pub(crate) use self::reply::{ids_of, ReplyTo};
#[cfg_attr(not(feature = "gateway"), allow(unused_imports))]
pub(crate) use self::request_id::sanitized_value;
pub(crate) use self::request_id::X_REQUEST_ID;
#[cfg_attr(not(feature = "batch"), allow(unused_imports))]
pub(crate) use self::trace_id::TraceId;
