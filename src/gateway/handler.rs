//! A ready-made handler for axum's `HandleErrorLayer`: [`error_handler`].

use std::future::{ready, Ready};

use http::Response;

use crate::outcome::{BoxError, Failure, Name};
use crate::policy::DependencyError;
use crate::problem::ProblemBody;

/// A handler for axum's `HandleErrorLayer` that answers a service's error
/// with the problem it means, naming `dependency`: tower's `TimeoutLayer`
/// elapsing is a 504, `LoadShedLayer` shedding a 503, a refused upstream
/// connection a 503, and so on (see [`Failure::from_error`]).
///
/// The response carries the [`DependencyError`], so an enclosing
/// [`DependencyLayer`](crate::DependencyLayer) renders it again with its own
/// policy and echoes the request id.
///
/// ```
/// use std::time::Duration;
/// use axum::{error_handling::HandleErrorLayer, routing::get, Router};
/// use tower::ServiceBuilder;
/// use tower_failed_dependency::gateway::error_handler;
/// use tower_failed_dependency::DependencyLayer;
///
/// let app: Router = Router::new()
///     .route("/catalog", get(|| async { "catalog" }))
///     .layer(
///         ServiceBuilder::new()
///             .layer(HandleErrorLayer::new(error_handler("catalog")))
///             .timeout(Duration::from_secs(2)),
///     )
///     .layer(DependencyLayer::new());
/// ```
pub fn error_handler(
    dependency: impl Into<Name>,
) -> impl Fn(BoxError) -> Ready<Response<ProblemBody>> + Clone + Send + Sync + 'static {
    let dependency = dependency.into();
    move |error: BoxError| {
        let failure = Failure::from_error(error);
        ready(Response::from(DependencyError::new(
            dependency.clone(),
            failure,
        )))
    }
}
