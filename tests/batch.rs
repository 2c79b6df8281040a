//! The batch endpoint over real loopback connections, driven with the
//! `batch-create-then-update.json` vector and hostile batches.

#![cfg(all(feature = "axum", feature = "batch"))]

mod support;
#[path = "apps/users.rs"]
mod users;

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{json, Value};
use support::Answer;

/// The users API on 127.0.0.1, served as the example serves it.
async fn serve_users() -> SocketAddr {
    users::serve().await.unwrap()
}

const VECTOR: &str = users::VECTOR;

async fn post_batch(addr: SocketAddr, body: impl Into<Bytes>, headers: &[(&str, &str)]) -> Answer {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    support::send_body(addr, Method::POST, "/$batch", &all, body).await
}

fn by_id(answer: &Answer) -> std::collections::HashMap<String, Value> {
    answer.json()["responses"]
        .as_array()
        .expect("a responses array")
        .iter()
        .map(|part| (part["id"].as_str().unwrap().to_owned(), part.clone()))
        .collect()
}

#[tokio::test]
async fn the_vector_skips_the_dependents_of_the_failed_create() {
    let addr = serve_users().await;
    let answer = post_batch(addr, VECTOR, &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.headers["content-type"], "application/json");
    let ids: Vec<Value> = answer.json()["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|part| part["id"].clone())
        .collect();
    assert_eq!(ids, [json!("1"), json!("2"), json!("3"), json!("4")]);
    let parts = by_id(&answer);

    assert_eq!(parts["1"]["status"], 409);
    assert_eq!(
        parts["1"]["headers"]["Content-Type"],
        "application/problem+json"
    );
    assert_eq!(parts["1"]["body"]["detail"], "The email is already taken.");

    for (id, dependency, dependency_status) in [("2", "1", 409), ("3", "2", 424)] {
        let part = &parts[id];
        assert_eq!(part["status"], 424, "{id}");
        assert_eq!(part["headers"]["Content-Type"], "application/problem+json");
        let problem = &part["body"];
        assert_eq!(problem["status"], 424);
        assert_eq!(problem["dependency"], dependency, "{id}");
        assert_eq!(problem["dependency_status"], dependency_status, "{id}");
        assert_eq!(problem["root_cause"], "1", "{id}");
    }

    assert_eq!(parts["4"]["status"], 200);
    assert_eq!(parts["4"]["body"], json!({"status": "up"}));

    assert!(
        users::show_vector(addr).await.unwrap(),
        "the example's own check agrees"
    );
}

#[tokio::test]
async fn dependents_run_when_their_dependencies_succeed_and_see_them() {
    let addr = serve_users().await;
    let batch = json!({"requests": [
        {"id": "create", "method": "POST", "url": "/users",
         "headers": {"content-type": "application/json"}, "body": {"email": "new@example.com"}},
        {"id": "rename", "method": "PATCH", "url": "/users/new@example.com", "dependsOn": ["create"],
         "headers": {"content-type": "application/json"}, "body": {"display_name": "New"}},
        {"id": "who", "method": "GET", "url": "/whoami", "dependsOn": ["create", "rename"]},
        {"id": "mine", "method": "GET", "url": "/whoami",
         "headers": {"authorization": "Bearer part-own"}}
    ]});
    let answer = post_batch(
        addr,
        batch.to_string(),
        &[
            ("authorization", "Bearer outer"),
            ("x-request-id", "batch-9"),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let parts = by_id(&answer);
    assert_eq!(parts["create"]["status"], 201);
    assert_eq!(parts["rename"]["status"], 200);
    assert_eq!(parts["rename"]["body"]["display_name"], "New");
    assert_eq!(
        parts["who"]["body"],
        json!({"authorization": "Bearer outer", "request_id": "batch-9",
               "succeeded_before": ["create", "rename"]})
    );
    assert_eq!(parts["mine"]["body"]["authorization"], "Bearer part-own");
}

#[tokio::test]
async fn a_panicking_part_answers_500_and_the_others_are_unaffected() {
    let addr = serve_users().await;
    let batch = json!({"requests": [
        {"id": "boom", "method": "GET", "url": "/explode"},
        {"id": "after", "method": "GET", "url": "/health", "dependsOn": ["boom"]},
        {"id": "fine", "method": "GET", "url": "/health"}
    ]});
    let answer = post_batch(addr, batch.to_string(), &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    let parts = by_id(&answer);
    assert_eq!(parts["boom"]["status"], 500);
    assert!(!parts["boom"].to_string().contains("always panics"));
    assert_eq!(parts["after"]["status"], 424);
    assert_eq!(parts["fine"]["status"], 200);
    let again = post_batch(addr, batch.to_string(), &[]).await;
    assert_eq!(again.status, StatusCode::OK, "the server still answers");
}

#[tokio::test]
async fn a_bad_batch_is_refused_naming_the_part_and_field_and_runs_nothing() {
    let addr = serve_users().await;
    let cases = [
        (
            json!({"requests": [
                {"id": "1", "method": "POST", "url": "/users",
                 "headers": {"content-type": "application/json"}, "body": {"email": "x@example.com"}},
                {"id": "2", "method": "GET", "url": "http://169.254.169.254/latest"}
            ]}),
            Some("2"),
            Some("url"),
        ),
        (
            json!({"requests": [{"id": "a", "method": "GET", "url": "//evil.example/"}]}),
            Some("a"),
            Some("url"),
        ),
        (
            json!({"requests": [{"id": "a", "method": "GET", "url": "/users/../../etc"}]}),
            Some("a"),
            Some("url"),
        ),
        (
            json!({"requests": [{"id": "a", "method": "POST", "url": "/$batch",
            "headers": {"content-type": "application/json"}, "body": {"requests": []}}]}),
            Some("a"),
            Some("url"),
        ),
        (
            json!({"requests": [{"id": "a", "method": "GET", "url": "/health", "dependsOn": ["b"]},
                             {"id": "b", "method": "GET", "url": "/health"}]}),
            Some("a"),
            Some("dependsOn"),
        ),
        (
            json!({"requests": [{"id": "a", "method": "GET", "url": "/health"},
                             {"id": "A", "method": "GET", "url": "/health"}]}),
            Some("A"),
            Some("id"),
        ),
        (
            json!({"requests": [{"id": "a", "method": "POST", "url": "/users", "body": {}}]}),
            Some("a"),
            Some("body"),
        ),
    ];
    for (batch, part, field) in cases {
        let answer = post_batch(addr, batch.to_string(), &[]).await;
        let problem = answer.assert_problem(StatusCode::BAD_REQUEST);
        assert_eq!(problem["part"].as_str(), part, "{batch}");
        assert_eq!(problem["field"].as_str(), field, "{batch}");
    }

    let answer = post_batch(addr, "{\"requests\": [{\"id\": ", &[]).await;
    let problem = answer.assert_problem(StatusCode::BAD_REQUEST);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("line 1, column"),
        "{problem}"
    );

    let huge = vec![b' '; 2 * 1024 * 1024];
    let answer = post_batch(addr, huge, &[]).await;
    answer.assert_problem(StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn other_requests_pass_through_untouched() {
    let addr = serve_users().await;
    let answer = support::send(addr, Method::GET, "/health", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json(), json!({"status": "up"}));
    let answer = support::send(addr, Method::GET, "/$batch", &[]).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn batch_problems_follow_the_layers_policy() {
    use tower_failed_dependency::batch::BatchLayer;
    use tower_failed_dependency::StatusPolicy;

    // Strict maps refusals to their own status, yet a part not run stays a
    // 424: the batch formats require it.
    let policy = StatusPolicy::builder()
        .strict()
        .type_base("https://errors.example.com/")
        .on_problem(|problem| {
            problem.insert_member("trace_id", "t-7").unwrap();
        })
        .build()
        .unwrap();
    let addr = users::serve_with(BatchLayer::new().policy(policy))
        .await
        .unwrap();
    let batch = json!({"requests": [
        {"id": "1", "method": "POST", "url": "/users",
         "headers": {"content-type": "application/json"}, "body": {"email": "taken@example.com"}},
        {"id": "2", "method": "PATCH", "url": "/users/taken@example.com", "dependsOn": ["1"],
         "headers": {"content-type": "application/json"}, "body": {"display_name": "T"}},
        {"id": "3", "method": "GET", "url": "/explode"}
    ]});
    let answer = post_batch(addr, batch.to_string(), &[("x-request-id", "batch-7")]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let parts = by_id(&answer);

    let skipped = &parts["2"];
    assert_eq!(skipped["status"], 424);
    let problem = &skipped["body"];
    assert_eq!(problem["type"], "https://errors.example.com/rejected");
    assert_eq!(problem["status"], 424);
    assert_eq!(problem["trace_id"], "t-7");
    assert_eq!(problem["request_id"], "batch-7");
    assert_eq!(problem["dependency"], "1");
    assert_eq!(problem["dependency_status"], 409);
    assert_eq!(problem["root_cause"], "1");

    let failed = &parts["3"];
    assert_eq!(failed["status"], 500);
    assert_eq!(
        failed["headers"]["Content-Type"],
        "application/problem+json"
    );
    let problem = &failed["body"];
    assert_eq!(problem["type"], "https://errors.example.com/internal");
    assert_eq!(problem["status"], 500);
    assert_eq!(problem["trace_id"], "t-7");
    assert_eq!(
        problem["detail"],
        "The server could not complete the request."
    );
    assert!(
        !answer.text().contains("always panics"),
        "the panic's message is logged, never rendered: {}",
        answer.text()
    );
}
