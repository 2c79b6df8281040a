//! The crate next to axum: a glob import of both compiles (no name of the
//! crate's fights one of axum's), and a handler returns
//! `problem.into_response()` with axum's trait in scope.

#![cfg(feature = "axum")]

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::*;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_failed_dependency::*;

async fn refused() -> Response {
    let problem = Problem::new(StatusCode::CONFLICT).with_detail("Out of stock.");
    problem.into_response()
}

async fn failed() -> Response {
    let failure = Failure::rejected(StatusCode::CONFLICT).with_detail("Carrier refused.");
    DependencyError::new("carrier", failure).into_response()
}

#[tokio::test]
async fn handlers_return_axums_response_from_the_crates_types() {
    let app: Router = Router::new()
        .route("/refused", get(refused))
        .route("/failed", get(failed))
        .layer(DependencyLayer::new());

    let response = app
        .clone()
        .oneshot(Request::get("/refused").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["detail"], "Out of stock.");

    let response = app
        .oneshot(Request::get("/failed").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FAILED_DEPENDENCY);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["dependency"], "carrier");
    assert_eq!(problem["dependency_status"], 409);
}
