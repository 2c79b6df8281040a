//! Gateway mapping over real loopback connections: a gateway in front of
//! real upstreams, and tower's own errors turned into problems.

#![cfg(all(feature = "axum", feature = "gateway"))]

#[path = "apps/gateway.rs"]
mod gateway;
mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::error_handling::HandleErrorLayer;
use axum::routing::get;
use axum::Router;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use serde_json::json;
use support::{send, Answer};
use tower::{service_fn, ServiceBuilder};
use tower_failed_dependency::catch_error::CatchErrorLayer;
use tower_failed_dependency::gateway::error_handler;
use tower_failed_dependency::DependencyLayer;

async fn reserve(case: &str) -> Answer {
    let addr = gateway::start().await.unwrap();
    send(
        addr,
        Method::GET,
        &format!("/orders/{case}/reserve"),
        &[("x-request-id", "gw-1")],
    )
    .await
}

#[tokio::test]
async fn a_reservation_passes_through_with_the_request_id_forwarded() {
    let answer = reserve("ok").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json(),
        json!({"reservation": "res_1", "request_id_seen": "gw-1"})
    );
}

#[tokio::test]
async fn a_refused_connection_is_503_not_424() {
    let body = reserve("down")
        .await
        .assert_problem(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["dependency"], "inventory");
    assert_eq!(body["request_id"], "gw-1");
    assert_eq!(body["retryable"], true);
    assert!(body.get("dependency_status").is_none());
}

#[tokio::test]
async fn a_slow_upstream_is_504() {
    let started = Instant::now();
    let body = reserve("slow")
        .await
        .assert_problem(StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body["dependency"], "inventory");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "bounded by the timeout"
    );
}

#[tokio::test]
async fn an_upstream_refusal_is_424_naming_it_with_the_cause_opted_in() {
    let body = reserve("conflict")
        .await
        .assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(
        body,
        json!({
            "title": "Failed Dependency", "status": 424,
            "detail": "The prerequisite 'inventory' was refused (409 Conflict), so this request was not performed.",
            "dependency": "inventory", "dependency_status": 409,
            "retryable": false, "request_id": "gw-1",
            "cause": {
                "type": "https://inventory.example/probs/out-of-stock",
                "title": "Out of stock", "status": 409,
                "detail": "Only 0 left of sku widget."
            }
        })
    );
    assert!(
        !body.to_string().contains("postgres"),
        "unknown members are never copied"
    );
}

#[tokio::test]
async fn an_upstream_424_names_its_root_cause() {
    let body = reserve("failed-dependency")
        .await
        .assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(body["dependency"], "inventory");
    assert_eq!(body["dependency_status"], 424);
    assert_eq!(body["cause"]["dependency"], "ledger");
    assert_eq!(body["cause"]["status"], 424);
}

#[tokio::test]
async fn garbage_from_the_upstream_is_502() {
    let body = reserve("garbage")
        .await
        .assert_problem(StatusCode::BAD_GATEWAY);
    assert_eq!(body["dependency"], "inventory");
    assert!(!body.to_string().contains("html"), "{body}");
}

#[tokio::test]
async fn a_busy_upstream_is_503_with_its_retry_after() {
    let answer = reserve("busy").await;
    let body = answer.assert_problem(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.headers["retry-after"], "7");
    assert_eq!(body["dependency"], "inventory");
}

#[tokio::test]
async fn a_huge_or_deep_problem_body_is_bounded_and_its_cause_omitted() {
    for case in ["huge", "deep"] {
        let started = Instant::now();
        let body = reserve(case)
            .await
            .assert_problem(StatusCode::FAILED_DEPENDENCY);
        assert_eq!(body["dependency_status"], 409, "{case}");
        assert!(body.get("cause").is_none(), "{case}: {body}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{case} answered promptly"
        );
    }
}

#[tokio::test]
async fn headers_that_never_end_are_502() {
    let started = Instant::now();
    let body = reserve("endless-headers")
        .await
        .assert_problem(StatusCode::BAD_GATEWAY);
    assert_eq!(body["dependency"], "inventory");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// An axum app whose `/slow` route outlasts tower's timeout and whose
/// `/one-at-a-time` route sheds load beyond one request in flight.
async fn axum_app() -> SocketAddr {
    let slow = Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(2)).await;
                "late"
            }),
        )
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(error_handler("pricing")))
                .timeout(Duration::from_millis(50)),
        );
    let shed = Router::new()
        .route(
            "/one-at-a-time",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "done"
            }),
        )
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(error_handler("search")))
                .load_shed()
                .concurrency_limit(1),
        );
    // `with_state` turns the handlers into routes once, so the concurrency
    // limit's semaphore is built once and shared by every request.
    let app = slow
        .merge(shed)
        .layer(DependencyLayer::new())
        .with_state(());
    support::serve(app).await
}

#[tokio::test]
async fn handle_error_layer_answers_a_timeout_with_504() {
    let addr = axum_app().await;
    let answer = send(addr, Method::GET, "/slow", &[("x-request-id", "ax-1")]).await;
    let body = answer.assert_problem(StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body["dependency"], "pricing");
    assert_eq!(
        body["request_id"], "ax-1",
        "the enclosing layer echoes the id"
    );
}

#[tokio::test]
async fn handle_error_layer_answers_load_shedding_with_503() {
    let addr = axum_app().await;
    let first = tokio::spawn(async move { send(addr, Method::GET, "/one-at-a-time", &[]).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let shed = send(addr, Method::GET, "/one-at-a-time", &[]).await;
    let body = shed.assert_problem(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["dependency"], "search");
    let first = first.await.unwrap();
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.text(), "done");
}

#[tokio::test]
async fn catch_error_layer_does_the_same_for_plain_tower() {
    let slow = service_fn(|request: Request<hyper::body::Incoming>| async move {
        if request.uri().path() == "/slow" {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        Ok::<_, Infallible>(Response::new(Full::from("fast")))
    });
    let service = ServiceBuilder::new()
        .layer(CatchErrorLayer::new("pricing"))
        .timeout(Duration::from_millis(50))
        .service(slow);
    let addr = support::serve(service).await;

    let answer = send(addr, Method::GET, "/slow", &[("x-request-id", "tw-1")]).await;
    let body = answer.assert_problem(StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body["dependency"], "pricing");
    assert_eq!(body["request_id"], "tw-1");

    let answer = send(addr, Method::GET, "/fast", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.text(), "fast");
}
