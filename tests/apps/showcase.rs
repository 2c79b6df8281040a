//! The order API as a team would run it: the crate's layers among
//! tower-http's, so that every error the service sends is a problem, with
//! CORS headers, a request id and a trace id. Shared by the `axum_orders`
//! example, the tour and the integration tests.
//!
//! From the outside in: tracing, CORS, request ids, every error as a problem,
//! panics as problems, a body limit and a timeout, then the routes (the
//! order API of `shop.rs`, a JSON route and two that misbehave).

use std::time::Duration;

use axum::extract::Json;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use tower::ServiceBuilder;
use tower_failed_dependency::errors_as_problems::ErrorsAsProblemsLayer;
use tower_failed_dependency::panic::PanicProblem;
use tower_failed_dependency::{DependencyError, DependencyResultExt, StatusPolicy};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::CorsLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// The order API itself, without tower-http's layers.
#[path = "shop.rs"]
pub mod shop;

pub use shop::TOKEN;

/// The origin the API's browser front end is served from.
pub const FRONT_END: &str = "https://shop.example";

/// The largest request body the API reads, in bytes.
pub const BODY_LIMIT: usize = 4 * 1024;

/// The service, whose requests may take at most `timeout`.
pub fn app(timeout: Duration) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    let policy = StatusPolicy::builder()
        .type_base("https://shop.example/problems/")
        .build()
        .expect("a valid policy");
    let routes = shop::app()
        .route("/customers", post(create_customer))
        .route("/slow", get(slow))
        .route("/panic", get(panics))
        .route("/stock", get(stock));
    routes.layer(
        ServiceBuilder::new()
            .layer(TraceLayer::new_for_http())
            .layer(
                CorsLayer::new()
                    .allow_origin(HeaderValue::from_static(FRONT_END))
                    .allow_methods([Method::GET, Method::POST, Method::DELETE])
                    .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
                    .expose_headers([x_request_id.clone()]),
            )
            .layer(SetRequestIdLayer::new(
                x_request_id.clone(),
                MakeRequestUuid,
            ))
            .layer(PropagateRequestIdLayer::new(x_request_id))
            .layer(ErrorsAsProblemsLayer::new().policy(policy.clone()))
            .layer(CatchPanicLayer::custom(PanicProblem::new().policy(policy)))
            .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                timeout,
            )),
    )
}

#[derive(Debug, Deserialize)]
struct NewCustomer {
    email: String,
}

/// A route with a JSON body: axum's own rejections (bad JSON, a missing
/// field, no content type) become problems outside.
async fn create_customer(
    Json(customer): Json<NewCustomer>,
) -> (StatusCode, Json<serde_json::Value>) {
    (StatusCode::CREATED, Json(json!({"email": customer.email})))
}

/// A handler slower than the service's timeout.
async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(30)).await;
    "too late"
}

/// A handler that panics; its message must never reach the client.
async fn panics() -> &'static str {
    panic!("the stock cache at 10.0.0.9 is corrupt")
}

/// A handler whose upstream call fails: `?` names the dependency and the
/// error decides the status (a refused connection: 503).
async fn stock() -> Result<&'static str, DependencyError> {
    let connection: Result<(), std::io::Error> = Err(std::io::ErrorKind::ConnectionRefused.into());
    connection.dependency("warehouse")?;
    Ok("in stock")
}
