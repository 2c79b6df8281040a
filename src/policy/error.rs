//! [`DependencyError`]: the error a handler returns when a prerequisite fails.
//!
//! ```
//! use http::StatusCode;
//! use tower_failed_dependency::{DependencyError, Failure};
//!
//! fn reserve(in_stock: bool) -> Result<&'static str, DependencyError> {
//!     if !in_stock {
//!         let failure = Failure::rejected(StatusCode::CONFLICT).with_detail("Out of stock.");
//!         return Err(DependencyError::new("inventory", failure));
//!     }
//!     Ok("reserved")
//! }
//!
//! let response = http::Response::from(reserve(false).unwrap_err());
//! assert_eq!(response.status(), StatusCode::FAILED_DEPENDENCY);
//! // An enclosing `DependencyLayer` finds the failure here and renders it
//! // with its own policy.
//! assert!(response.extensions().get::<DependencyError>().is_some());
//! ```

use http::{Extensions, Response};

use super::events;
use super::incident::Incident;
use super::status::StatusPolicy;
use crate::outcome::{BoxError, Failure, Name};
use crate::problem::ProblemBody;

/// A named prerequisite that failed, as an error value.
///
/// Its response carries the error itself in its extensions, so that an
/// enclosing [`DependencyLayer`](crate::DependencyLayer) renders it with that
/// layer's policy and request id. Without a layer it renders with the default
/// policy.
#[derive(Debug, Clone, thiserror::Error)]
#[error("prerequisite '{name}' failed: {failure}")]
pub struct DependencyError {
    name: Name,
    /// Boxed: a handler's `Result` stays small on its way to success.
    #[source]
    failure: Box<Failure>,
}

impl DependencyError {
    /// The prerequisite `name` failed with `failure`.
    pub fn new(name: impl Into<Name>, failure: Failure) -> Self {
        Self {
            name: name.into(),
            failure: Box::new(failure),
        }
    }

    /// The failed prerequisite.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How it failed.
    pub fn failure(&self) -> &Failure {
        &self.failure
    }

    pub(crate) fn incident(&self) -> Incident<'_> {
        Incident::new(Some(&self.name), &self.failure, events::PREREQUISITE_FAILED)
    }
}

/// The problem response under the default policy, carrying the error in its
/// extensions. It is not logged here: the enclosing layer that renders it
/// for good does that.
impl From<DependencyError> for Response<ProblemBody> {
    fn from(error: DependencyError) -> Self {
        let mut extensions = Extensions::new();
        let serialized = StatusPolicy::default().render_quietly(&error.incident());
        extensions.insert(error);
        serialized.into_response(extensions, ProblemBody::new)
    }
}

/// `?` for the calls a handler depends on: an error becomes a
/// [`DependencyError`] naming the prerequisite, classified by
/// [`Failure::from_error`] (a [`Failure`] stays itself; a refused
/// connection is a 503, tower's timeout a 504 with the `gateway` feature).
///
/// ```
/// use http::StatusCode;
/// use tower_failed_dependency::{DependencyError, DependencyResultExt, Failure};
///
/// fn reserve() -> Result<u32, std::io::Error> {
///     Err(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
/// }
///
/// fn place_order() -> Result<u32, DependencyError> {
///     let reservation = reserve().dependency("inventory")?;
///     Ok(reservation)
/// }
///
/// let error = place_order().unwrap_err();
/// assert_eq!(error.name(), "inventory");
/// assert_eq!(StatusCode::SERVICE_UNAVAILABLE, http::Response::from(error).status());
/// ```
pub trait DependencyResultExt<T> {
    /// The error, if any, as a failure of the prerequisite `name`.
    ///
    /// # Errors
    ///
    /// The [`DependencyError`] the error means.
    fn dependency(self, name: impl Into<Name>) -> Result<T, DependencyError>;
}

impl<T, E: Into<BoxError>> DependencyResultExt<T> for Result<T, E> {
    fn dependency(self, name: impl Into<Name>) -> Result<T, DependencyError> {
        self.map_err(|error| DependencyError::new(name, Failure::from_error(error)))
    }
}
