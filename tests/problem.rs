//! RFC 9457 problem details: the RFC's own example and the naming rule.

use http::{Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower_failed_dependency::{MemberNameError, Problem};

const OUT_OF_CREDIT: &str = include_str!("fixtures/rfc9457-out-of-credit.json");

#[test]
fn the_rfc_example_reads_and_writes_back_with_every_member() {
    let problem: Problem = serde_json::from_str(OUT_OF_CREDIT).unwrap();
    assert_eq!(
        problem.problem_type(),
        "https://example.com/probs/out-of-credit"
    );
    assert_eq!(problem.title(), Some("You do not have enough credit."));
    assert_eq!(problem.status(), None, "absent stays absent");
    assert_eq!(problem.member("balance"), Some(&json!(30)));

    let original: Value = serde_json::from_str(OUT_OF_CREDIT).unwrap();
    let written = serde_json::to_value(&problem).unwrap();
    assert_eq!(written, original);
    assert!(written.get("status").is_none());
}

#[test]
fn standard_members_of_the_wrong_type_are_ignored_when_reading() {
    let problem: Problem = serde_json::from_str(
        r#"{"type":["x"],"status":"404","detail":12,"title":"Gone","instance":{}}"#,
    )
    .unwrap();
    assert_eq!(problem.problem_type(), "about:blank");
    assert_eq!(problem.status(), None);
    assert_eq!(problem.detail(), None);
    assert_eq!(problem.instance(), None);
    assert_eq!(problem.title(), Some("Gone"));
    assert_eq!(
        serde_json::to_value(&problem).unwrap(),
        json!({"title": "Gone"})
    );
}

#[test]
fn extension_names_that_break_the_rule_are_refused() {
    let refused = Problem::new(StatusCode::FORBIDDEN)
        .with_member("a-b", 1)
        .unwrap_err();
    assert!(matches!(refused, MemberNameError::Malformed(ref name) if name == "a-b"));
    assert!(refused.to_string().contains("at least 3 characters"));
    let refused = Problem::new(StatusCode::FORBIDDEN)
        .with_member("status", 200)
        .unwrap_err();
    assert!(matches!(refused, MemberNameError::Standard(_)));
}

#[tokio::test]
async fn into_response_sends_the_body_status_as_the_http_status() {
    let problem: Problem = serde_json::from_str(OUT_OF_CREDIT).unwrap();
    let response = Response::from(problem.with_status(StatusCode::FORBIDDEN));
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["status"], 403);
    assert_eq!(
        body["accounts"],
        json!(["/account/12345", "/account/67890"])
    );
}

#[test]
fn about_blank_problems_take_the_reason_phrase_as_title() {
    let problem = Problem::new(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(problem.title(), Some("Service Unavailable"));
    assert_eq!(problem.problem_type(), "about:blank");
}

/// Found by the `problem_json` fuzz target: a `status` of 789 was read as a
/// status and answered with it, though HTTP statuses end at 599.
#[tokio::test]
async fn a_status_that_is_not_an_http_status_is_ignored_when_reading() {
    let read: Problem = serde_json::from_str(
        r#"{"type":"https://e.example/x","title":"T","status":789,"detail":"d","cause":{"status":409}}"#,
    )
    .unwrap();
    assert_eq!(read.status(), None);
    let response = Response::from(read);
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["status"], 500);
    assert_eq!(body["cause"], json!({"status": 409}));
}

/// Found by the `problem_json` fuzz target: a number too large for an
/// integer was read as a float, written shortest, and read back as a
/// different float. With exact float parsing a problem keeps its numbers.
#[test]
fn large_numbers_survive_a_round_trip() {
    let read: Problem = serde_json::from_str(&format!(
        r#"{{"cause":{{"ratio":4{}}}, "tiny": 4.9e-324, "big": 1.7976931348623157e308}}"#,
        "0988888880000000000008888888888888888888888888888".repeat(3)
    ))
    .unwrap();
    let written = serde_json::to_string(&read).unwrap();
    let again: Problem = serde_json::from_str(&written).unwrap();
    assert_eq!(serde_json::to_string(&again).unwrap(), written);
}
