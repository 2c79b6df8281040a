//! What happened to a request's prerequisites: each [`Failure`] with its
//! [`FailureKind`] (and an upstream's [`Cause`]), and the per-request
//! [`Dependencies`] record of named [`Outcome`]s.
//!
//! A failure says *what kind* of thing went wrong, not which status to send:
//! the [`StatusPolicy`](crate::StatusPolicy) decides that.
//!
//! ```
//! use http::{Request, StatusCode};
//! use tower_failed_dependency::outcome::{Dependencies, Failure, Outcome};
//!
//! let mut request = Request::new(());
//! let record = request
//!     .extensions_mut()
//!     .get_or_insert_with(Dependencies::new);
//! record.record_success("auth");
//! record.record_failure("inventory", Failure::rejected(StatusCode::CONFLICT));
//!
//! let record = request.extensions().get::<Dependencies>().unwrap();
//! assert!(matches!(record.get("auth"), Some(Outcome::Succeeded)));
//! assert_eq!(record.root_cause().unwrap().0, "inventory");
//! ```

mod cause;
mod classify;
mod failure;
mod name;
#[cfg(any(feature = "checks", feature = "batch", feature = "catch-panic"))]
mod panicked;
mod record;

pub use self::cause::Cause;
pub use self::failure::{BoxError, Failure, FailureKind, FieldError};
pub use self::name::Name;
pub use self::record::{Dependencies, Iter, Outcome};

#[cfg(any(feature = "checks", feature = "batch", feature = "catch-panic"))]
pub(crate) use self::panicked::Panicked;
