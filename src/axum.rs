//! axum integration, with the `axum` feature: [`Problem`] and
//! [`DependencyError`] are `IntoResponse`.
//!
//! ```
//! use axum::{routing::post, Router};
//! use http::StatusCode;
//! use tower_failed_dependency::{DependencyError, DependencyLayer, Failure};
//!
//! async fn create_order() -> Result<&'static str, DependencyError> {
//!     let failure = Failure::rejected(StatusCode::CONFLICT).with_detail("Out of stock.");
//!     Err(DependencyError::new("inventory", failure))
//! }
//!
//! let app: Router = Router::new()
//!     .route("/orders", post(create_order))
//!     .layer(DependencyLayer::new());
//! ```

use axum_core::body::Body;
use axum_core::response::{IntoResponse, Response};

use crate::{DependencyError, Problem};

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        Problem::into_response(self).map(Body::new)
    }
}

impl IntoResponse for DependencyError {
    fn into_response(self) -> Response {
        DependencyError::into_response(self).map(Body::new)
    }
}
