//! Every scenario of the tour, over a real connection to the demo order API.

#![cfg(feature = "axum")]

#[path = "apps/shop.rs"]
mod shop;
mod support;

use http::{Method, StatusCode};
use serde_json::json;
use support::{send, Answer};

const AUTH: (&str, &str) = ("authorization", shop::TOKEN);

async fn order(query: &str, headers: &[(&str, &str)]) -> Answer {
    let addr = support::serve(shop::app()).await;
    send(addr, Method::POST, &format!("/orders?{query}"), headers).await
}

#[tokio::test]
async fn prerequisites_met_run_the_handler() {
    let answer = order("sku=widget&quantity=2", &[AUTH]).await;
    assert_eq!(answer.status, StatusCode::CREATED);
    assert_eq!(
        answer.json(),
        json!({"order": "ord_1", "sku": "widget", "quantity": 2})
    );
}

#[tokio::test]
async fn a_refused_reservation_is_a_424_naming_inventory_and_what_was_skipped() {
    let answer = order(
        "sku=sold-out&quantity=1",
        &[AUTH, ("x-request-id", "req-42")],
    )
    .await;
    let body = answer.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(
        body,
        json!({
            "title": "Failed Dependency", "status": 424,
            "detail": "Only 0 left of sold-out.", "code": "OUT_OF_STOCK",
            "dependency": "inventory", "dependency_status": 409,
            "retryable": false, "request_id": "req-42", "skipped": ["payment"]
        })
    );
    assert!(answer.headers.get("retry-after").is_none());
}

#[tokio::test]
async fn a_refused_token_skips_every_dependent_step() {
    let answer = order("sku=widget&quantity=1", &[("authorization", "Bearer nope")]).await;
    let body = answer.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(body["dependency"], "auth");
    assert_eq!(body["dependency_status"], 403);
    assert_eq!(body["skipped"], json!(["inventory", "payment"]));
}

#[tokio::test]
async fn a_dependency_that_is_down_is_503_with_retry_after() {
    let answer = order("sku=maintenance&quantity=1", &[AUTH]).await;
    let body = answer.assert_problem(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.headers["retry-after"], "30");
    assert_eq!(body["dependency"], "inventory");
    assert_eq!(body["retryable"], true);
    assert!(body.get("dependency_status").is_none());
}

#[tokio::test]
async fn a_timeout_is_504_and_a_garbled_answer_502() {
    let body = order("sku=slow&quantity=1", &[AUTH])
        .await
        .assert_problem(StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body["dependency"], "inventory");
    assert_eq!(body["retryable"], true);

    let answer = order("sku=gadget&quantity=1", &[AUTH]).await;
    let body = answer.assert_problem(StatusCode::BAD_GATEWAY);
    assert_eq!(body["dependency"], "payment");
    assert!(!answer.text().contains("nginx"), "{}", answer.text());
}

#[tokio::test]
async fn bad_input_is_400_and_unprocessable_input_422() {
    let body = order("sku=widget&quantity=many", &[AUTH])
        .await
        .assert_problem(StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "BAD_ORDER_QUERY");
    let body = order("sku=widget&quantity=0", &[AUTH])
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "QUANTITY_ZERO");
    assert_eq!(body["detail"], "The quantity must be at least 1.");
}

#[tokio::test]
async fn a_missing_precondition_is_428_from_a_handler_error() {
    let addr = support::serve(shop::app()).await;
    let answer = send(addr, Method::DELETE, "/orders/ord_1", &[AUTH]).await;
    let body = answer.assert_problem(StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(body["dependency"], "order_version");
    assert_eq!(
        body["detail"],
        "Send If-Match with the ETag of order ord_1."
    );

    let answer = send(
        addr,
        Method::DELETE,
        "/orders/ord_1",
        &[AUTH, ("if-match", "\"v1\"")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn an_internal_failure_is_500_with_nothing_internal_in_the_body() {
    let addr = support::serve(shop::app()).await;
    let answer = send(addr, Method::GET, "/orders/ord_1/invoice", &[AUTH]).await;
    let body = answer.assert_problem(StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["dependency"], "billing");
    assert_eq!(body["detail"], "The server could not complete the request.");
    for secret in ["s3cret", "postgres", "10.0.0.7", "ledger", "shard"] {
        assert!(
            !answer.text().contains(secret),
            "{secret} leaked: {}",
            answer.text()
        );
    }
}

#[tokio::test]
async fn a_bare_424_from_a_handler_never_reaches_the_client_as_424() {
    let addr = support::serve(shop::app()).await;
    let answer = send(addr, Method::GET, "/legacy/export", &[AUTH]).await;
    let body = answer.assert_problem(StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.get("dependency").is_none());
}
