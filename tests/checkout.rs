//! The checkout scenarios of the tour, over a real connection: checks the
//! layer runs itself inside an axum router.

#![cfg(all(feature = "axum", feature = "checks"))]

#[path = "apps/checkout.rs"]
mod checkout;
mod support;

use http::{Method, StatusCode};
use serde_json::json;
use support::{send, Answer};

const AUTH: (&str, &str) = ("authorization", checkout::TOKEN);

async fn check_out(addr: std::net::SocketAddr, query: &str, headers: &[(&str, &str)]) -> Answer {
    send(addr, Method::POST, &format!("/checkout?{query}"), headers).await
}

#[tokio::test]
async fn the_handler_reads_what_the_checks_produced() {
    let addr = support::serve(checkout::app()).await;
    let answer = check_out(addr, "sku=widget&amount=1999", &[AUTH]).await;
    assert_eq!(answer.status, StatusCode::CREATED);
    assert_eq!(
        answer.json(),
        json!({"order": "ord_7", "customer": "cus_42", "reservation": "res_widget_1"})
    );
}

#[tokio::test]
async fn a_refused_token_skips_both_dependents() {
    let addr = support::serve(checkout::app()).await;
    let answer = check_out(
        addr,
        "sku=widget&amount=1999",
        &[
            ("authorization", "Bearer read-only"),
            ("x-request-id", "co-1"),
        ],
    )
    .await;
    let body = answer.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(
        body,
        json!({
            "title": "Failed Dependency", "status": 424,
            "detail": "The token does not grant checkout.", "code": "SCOPE_MISSING",
            "dependency": "auth", "dependency_status": 403, "retryable": false,
            "request_id": "co-1", "skipped": ["inventory", "payment_limit"]
        })
    );
}

#[tokio::test]
async fn a_refused_reservation_drops_the_running_limit_check() {
    let addr = support::serve(checkout::app()).await;
    let answer = check_out(addr, "sku=sold-out&amount=1999", &[AUTH]).await;
    let body = answer.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(body["dependency"], "inventory");
    assert_eq!(body["dependency_status"], 409);
    assert_eq!(body["code"], "OUT_OF_STOCK");
    assert_eq!(body["skipped"], json!(["payment_limit"]));
}

#[tokio::test]
async fn a_limit_refusal_names_its_own_status() {
    let addr = support::serve(checkout::app()).await;
    let answer = check_out(addr, "sku=widget&amount=250000", &[AUTH]).await;
    let body = answer.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(body["dependency"], "payment_limit");
    assert_eq!(body["dependency_status"], 402);
    assert!(body.get("skipped").is_none(), "{body}");
}

#[tokio::test]
async fn a_slow_check_answers_504() {
    let addr = support::serve(checkout::app()).await;
    let answer = check_out(addr, "sku=slow&amount=1999", &[AUTH]).await;
    let body = answer.assert_problem(StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body["dependency"], "inventory");
    assert_eq!(body["retryable"], true);
}

#[tokio::test]
async fn a_panicking_check_answers_500_and_the_server_keeps_serving() {
    let addr = support::serve(checkout::app()).await;
    let answer = check_out(addr, "sku=widget&amount=lots", &[AUTH]).await;
    let body = answer.assert_problem(StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["dependency"], "payment_limit");
    let text = body.to_string();
    for leak in ["ParseIntError", "unwrap", "checkout.rs", "InvalidDigit"] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }

    let answer = check_out(addr, "sku=gadget&amount=500", &[AUTH]).await;
    assert_eq!(answer.status, StatusCode::CREATED);
    assert_eq!(answer.json()["reservation"], "res_gadget_1");
}

#[tokio::test]
async fn a_malformed_query_is_the_requests_own_fault() {
    let addr = support::serve(checkout::app()).await;
    let answer = check_out(addr, "sku=widget", &[AUTH]).await;
    let body = answer.assert_problem(StatusCode::BAD_REQUEST);
    assert_eq!(body["dependency"], "inventory");
    assert_eq!(body["code"], "BAD_CHECKOUT_QUERY");
}
