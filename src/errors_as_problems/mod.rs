//! [`ErrorsAsProblemsLayer`]: every error response of the service becomes
//! a problem, so that its clients parse one format.
//!
//! axum's router answers 404 and 405 with an empty body and its extractors
//! answer 400, 413, 415 and 422 in plain text; tower-http's `TimeoutLayer`
//! and `RequestBodyLimitLayer` answer empty 408 and 413 bodies,
//! `ValidateRequestHeaderLayer` an empty 401. Wrapped in this layer, each
//! such answer becomes an RFC 9457 problem written by the layer's
//! [`StatusPolicy`](crate::StatusPolicy):
//!
//! - the status stays, and so do the headers that matter (`allow`,
//!   `www-authenticate`, `retry-after`, CORS, cookies, request ids): only
//!   the ones that describe the replaced body go (its `content-type`,
//!   `content-length`, `content-encoding`, `etag`, ...);
//! - a client error's text (`text/plain`, at most [`MAX_DETAIL`]
//!   characters, one line, already complete in memory as axum's and
//!   tower-http's bodies are) is kept as `detail`; a server error's text
//!   never is;
//! - the title is the status' reason phrase, the type `about:blank`; the
//!   request id, the trace id and the policy's hook apply.
//!
//! A handler's [`DependencyError`](crate::DependencyError) that no
//! [`DependencyLayer`](crate::DependencyLayer) rendered, and the problem of a
//! panic caught by tower-http's `CatchPanicLayer` with
//! `panic::PanicProblem` (feature `catch-panic`), are written again
//! by this layer's policy, with the request id and the trace id. Any other
//! response that already is a problem (`application/problem+json` or `+xml`,
//! or one this crate rendered), and every response below 400, passes
//! untouched. A server error is logged as the crate logs its own 5xx
//! problems; a client error is not (a 404 is not worth a warning).
//!
//! Put it outermost, around every layer whose errors it should turn, and
//! inside the layers that must see the final answer (tracing, CORS).
//!
//! # Readiness
//!
//! The service is ready when the inner service is.
//!
//! # Example
//!
//! ```
//! use axum::{body::Body, routing::get, Router};
//! use http::{Request, StatusCode};
//! use http_body_util::BodyExt;
//! use tower::ServiceExt;
//! use tower_failed_dependency::errors_as_problems::ErrorsAsProblemsLayer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = Router::new()
//!     .route("/orders", get(|| async { "orders" }))
//!     .layer(ErrorsAsProblemsLayer::new());
//!
//! let request = Request::post("/orders").body(Body::empty()).unwrap();
//! let response = app.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
//! assert_eq!(response.headers()["allow"], "GET,HEAD");
//! assert_eq!(response.headers()["content-type"], "application/problem+json");
//! let body = response.into_body().collect().await.unwrap().to_bytes();
//! let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
//! assert_eq!(problem["title"], "Method Not Allowed");
//! # }
//! ```

mod config;
mod future;
mod layer;
mod service;

pub use self::future::ResponseFuture;
pub use self::layer::ErrorsAsProblemsLayer;
pub use self::service::ErrorsAsProblems;

/// The longest client error text kept as a problem's `detail`, in
/// characters; a longer one is not kept at all.
pub const MAX_DETAIL: usize = 256;
