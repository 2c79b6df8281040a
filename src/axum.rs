//! axum's `IntoResponse` for [`Problem`] and [`DependencyError`], with the
//! `axum` feature.

use axum_core::body::Body;
use axum_core::response::{IntoResponse, Response};

use crate::policy::DependencyError;
use crate::problem::{Problem, ProblemBody};

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        http::Response::<ProblemBody>::from(self).map(Body::new)
    }
}

impl IntoResponse for DependencyError {
    fn into_response(self) -> Response {
        http::Response::<ProblemBody>::from(self).map(Body::new)
    }
}
