//! Every error a service sends is an RFC 9457 problem: the crate's layers
//! among axum's and tower-http's, over real connections to 127.0.0.1.
//!
//! Each test names the rule it checks: headers that survive a problem,
//! axum's and tower-http's own error answers turned into problems, panics,
//! trace ids, the hook that reads the request, input errors, `?` in a
//! handler, the headers a status calls for, where the prerequisites sit, and
//! CORS on every problem of the showcase service.

#![cfg(all(feature = "axum", feature = "catch-panic"))]

#[path = "apps/showcase.rs"]
mod showcase;
mod support;

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequest, Json};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_ENCODING,
    CONTENT_LENGTH, CONTENT_TYPE, ETAG, SET_COOKIE, WWW_AUTHENTICATE,
};
use http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use serde::Deserialize;
use serde_json::json;
use support::Answer;
use tower::util::MapRequestLayer;
use tower::ServiceBuilder;
use tower_failed_dependency::errors_as_problems::ErrorsAsProblemsLayer;
use tower_failed_dependency::{
    Dependencies, DependencyError, DependencyLayer, DependencyResultExt, Failure, FailureKind,
    StatusPolicy,
};
use tower_http::cors::CorsLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::PropagateRequestIdLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::validate_request::ValidateRequestHeaderLayer;

/// The longest any request of these tests may take to be answered.
const WAIT: Duration = Duration::from_secs(10);

/// A valid W3C `traceparent`, and the trace-id it carries.
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// The front end's origin, asking across origins.
const FROM_FRONT_END: (&str, &str) = ("origin", showcase::FRONT_END);

const AUTH: (&str, &str) = ("authorization", showcase::TOKEN);

const JSON_TYPE: (&str, &str) = ("content-type", "application/json");

/// The timeout the showcase and the plain router run with: short, and every
/// slow handler sleeps far longer.
const TIMEOUT: Duration = Duration::from_millis(100);

/// Sends a request without a body; fails the test when no answer comes
/// within [`WAIT`].
async fn ask(addr: SocketAddr, method: Method, path: &str, headers: &[(&str, &str)]) -> Answer {
    ask_with(addr, method, path, headers, Bytes::new()).await
}

/// Sends a request with `body`; fails the test when no answer comes within
/// [`WAIT`].
async fn ask_with(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Answer {
    let sent = support::send_body(addr, method, path, headers, body);
    tokio::time::timeout(WAIT, sent)
        .await
        .expect("answered in time")
}

/// The showcase service on 127.0.0.1.
async fn serve_showcase() -> SocketAddr {
    support::serve(showcase::app(TIMEOUT)).await
}

/// Records that `name` failed with `failure`, before the layers inside run.
fn recording(
    name: &'static str,
    failure: Failure,
) -> MapRequestLayer<impl Fn(Request<Body>) -> Request<Body> + Clone> {
    MapRequestLayer::new(move |mut request: Request<Body>| {
        request
            .extensions_mut()
            .get_or_insert_with(Dependencies::new)
            .record_failure(name, failure.clone());
        request
    })
}

/// A CORS layer for the front end's origin.
fn cors() -> CorsLayer {
    CorsLayer::new().allow_origin(HeaderValue::from_static(showcase::FRONT_END))
}

/// The `x-request-id` header of an answer, as text.
fn request_id_header(answer: &Answer) -> &str {
    answer.headers["x-request-id"]
        .to_str()
        .expect("a visible request id")
}

// A problem keeps the headers of the answer it replaces.

/// A refused session, answered with the headers a real handler sets: a
/// cookie cleared, a challenge, a custom header, and headers that describe
/// a body that is replaced.
async fn expired_session() -> impl IntoResponse {
    let failure = Failure::rejected(StatusCode::FORBIDDEN).with_detail("The session has expired.");
    (
        [
            (SET_COOKIE, "session=; Max-Age=0"),
            (WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""),
            (HeaderName::from_static("x-shop-build"), "2024.11"),
            (ETAG, "\"v7\""),
            (CONTENT_ENCODING, "gzip"),
            (CONTENT_LENGTH, "9999"),
        ],
        DependencyError::new("session", failure),
    )
}

#[tokio::test]
async fn a_handlers_problem_keeps_cookies_challenges_and_custom_headers_but_not_the_bodys() {
    let app = Router::new()
        .route("/account", get(expired_session))
        .layer(DependencyLayer::new());
    let addr = support::serve(app).await;
    let answer = ask(addr, Method::GET, "/account", &[]).await;
    let body = answer.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(
        body,
        json!({
            "title": "Failed Dependency", "status": 424,
            "detail": "The session has expired.",
            "dependency": "session", "dependency_status": 403,
            "retryable": false
        })
    );
    let headers = &answer.headers;
    assert_eq!(headers[SET_COOKIE], "session=; Max-Age=0");
    assert_eq!(headers[WWW_AUTHENTICATE], "Bearer error=\"invalid_token\"");
    assert_eq!(headers["x-shop-build"], "2024.11");
    assert!(headers.get(ETAG).is_none(), "{headers:?}");
    assert!(headers.get(CONTENT_ENCODING).is_none(), "{headers:?}");
    assert_eq!(
        headers[CONTENT_LENGTH],
        answer.body.len().to_string(),
        "the length is the problem's own"
    );
}

#[tokio::test]
async fn a_request_id_set_by_an_inner_propagate_request_id_layer_survives_the_problem() {
    let app = Router::new()
        .route("/account", get(expired_session))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(DependencyLayer::new());
    let addr = support::serve(app).await;
    let answer = ask(
        addr,
        Method::GET,
        "/account",
        &[("x-request-id", "req-propagated-7")],
    )
    .await;
    let body = answer.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(answer.headers["x-request-id"], "req-propagated-7");
    assert_eq!(body["request_id"], "req-propagated-7");
    assert_eq!(answer.headers[SET_COOKIE], "session=; Max-Age=0");
}

#[tokio::test]
async fn cors_inside_the_dependency_layer_marks_a_handlers_problem() {
    let app = Router::new()
        .route("/account", get(expired_session))
        .layer(cors())
        .layer(DependencyLayer::new());
    let addr = support::serve(app).await;
    let answer = ask(addr, Method::GET, "/account", &[FROM_FRONT_END]).await;
    let body = answer.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(body["dependency"], "session");
    assert_eq!(
        answer.headers[ACCESS_CONTROL_ALLOW_ORIGIN],
        showcase::FRONT_END
    );
}

#[tokio::test]
async fn cors_outside_the_dependency_layer_marks_refusals_and_handlers_problems() {
    let refused = get(|| async { "never run" })
        .route_layer(DependencyLayer::new().require("inventory"))
        .route_layer(recording(
            "inventory",
            Failure::rejected(StatusCode::CONFLICT).with_detail("Out of stock."),
        ));
    let app = Router::new()
        .route("/account", get(expired_session))
        .route("/orders", refused)
        .layer(DependencyLayer::new())
        .layer(cors());
    let addr = support::serve(app).await;

    let answer = ask(addr, Method::GET, "/account", &[FROM_FRONT_END]).await;
    let body = answer.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(body["dependency"], "session");
    assert_eq!(
        answer.headers[ACCESS_CONTROL_ALLOW_ORIGIN],
        showcase::FRONT_END
    );

    let answer = ask(addr, Method::GET, "/orders", &[FROM_FRONT_END]).await;
    let body = answer.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(body["dependency"], "inventory");
    assert_eq!(body["detail"], "Out of stock.");
    assert_eq!(
        answer.headers[ACCESS_CONTROL_ALLOW_ORIGIN],
        showcase::FRONT_END
    );
}

// The error answers of axum and tower-http become problems.

/// The largest body the plain router reads.
const LIMIT: usize = 1024;

#[derive(Debug, Deserialize)]
struct NewCustomer {
    email: String,
}

async fn create_customer(Json(customer): Json<NewCustomer>) -> (StatusCode, String) {
    (StatusCode::CREATED, customer.email)
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(30)).await;
    "too late"
}

/// A bearer check that challenges, as RFC 9110 §11.6.1 asks of a 401.
/// (tower-http's own `bearer` sends no challenge, and needs its `auth`
/// feature.) Its signature is the one tower-http's `custom` takes.
#[allow(clippy::result_large_err)]
fn bearer_demo(request: &mut Request<Body>) -> Result<(), Response> {
    let authorized = request
        .headers()
        .get(AUTHORIZATION)
        .is_some_and(|token| token == showcase::TOKEN);
    if authorized {
        return Ok(());
    }
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"shop\""),
    );
    Err(response)
}

/// A handler whose 500 says too much.
async fn leaky_report() -> (StatusCode, &'static str) {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "connect postgres://report:hunter2@10.0.0.5:5432 refused",
    )
}

/// A problem written by hand, with its own media type.
const OWN_PROBLEM: &str =
    r#"{"type":"https://shop.example/problems/duplicate","title":"Duplicate","status":409}"#;

async fn own_problem() -> impl IntoResponse {
    (
        StatusCode::CONFLICT,
        [(CONTENT_TYPE, "application/problem+json")],
        OWN_PROBLEM,
    )
}

/// A plain axum router among tower-http's layers, every error of which
/// becomes a problem.
fn plain() -> Router {
    let private =
        get(|| async { "private" }).route_layer(ValidateRequestHeaderLayer::custom(bearer_demo));
    Router::new()
        .route("/customers", post(create_customer))
        .route("/slow", get(slow))
        .route("/private", private)
        .route("/report", get(leaky_report))
        .route("/health", get(|| async { "ok" }))
        .route("/duplicate", get(own_problem))
        .layer(
            ServiceBuilder::new()
                .layer(ErrorsAsProblemsLayer::new())
                .layer(RequestBodyLimitLayer::new(LIMIT))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    TIMEOUT,
                )),
        )
}

/// What axum's `Json` extractor says of a request with `content_type` and
/// `body`.
async fn json_rejection(content_type: Option<&str>, body: &'static str) -> String {
    let mut request = Request::post("/customers");
    if let Some(content_type) = content_type {
        request = request.header(CONTENT_TYPE, content_type);
    }
    let request = request.body(Body::from(body)).unwrap();
    Json::<NewCustomer>::from_request(request, &())
        .await
        .expect_err("the extractor refuses it")
        .body_text()
}

#[tokio::test]
async fn an_unknown_path_is_a_404_problem() {
    let addr = support::serve(plain()).await;
    let answer = ask(addr, Method::GET, "/nowhere", &[]).await;
    let body = answer.assert_problem(StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"title": "Not Found", "status": 404, "retryable": false})
    );
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem_that_keeps_allow() {
    let addr = support::serve(plain()).await;
    let answer = ask(addr, Method::GET, "/customers", &[]).await;
    let body = answer.assert_problem(StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.headers[ALLOW], "POST");
    assert_eq!(
        body,
        json!({"title": "Method Not Allowed", "status": 405, "retryable": false})
    );
}

#[tokio::test]
async fn bad_json_is_a_400_problem_with_the_extractors_text_as_detail() {
    let addr = support::serve(plain()).await;
    let answer = ask_with(addr, Method::POST, "/customers", &[JSON_TYPE], "{oops").await;
    let body = answer.assert_problem(StatusCode::BAD_REQUEST);
    let said = json_rejection(Some("application/json"), "{oops").await;
    assert!(
        said.starts_with("Failed to parse the request body as JSON"),
        "{said}"
    );
    assert_eq!(
        body,
        json!({"title": "Bad Request", "status": 400, "detail": said, "retryable": false})
    );
}

#[tokio::test]
async fn a_missing_content_type_is_a_415_problem() {
    let addr = support::serve(plain()).await;
    let sent = r#"{"email": "ada@example.com"}"#;
    let answer = ask_with(addr, Method::POST, "/customers", &[], sent).await;
    let body = answer.assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(body["title"], "Unsupported Media Type");
    assert_eq!(body["detail"], json_rejection(None, sent).await);
    assert_eq!(body["retryable"], false);
}

#[tokio::test]
async fn json_missing_a_field_is_a_422_problem_titled_unprocessable_content() {
    let addr = support::serve(plain()).await;
    let sent = r#"{"name": "Ada"}"#;
    let answer = ask_with(addr, Method::POST, "/customers", &[JSON_TYPE], sent).await;
    let body = answer.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    let said = json_rejection(Some("application/json"), sent).await;
    assert!(said.contains("missing field `email`"), "{said}");
    assert_eq!(
        body,
        json!({
            "title": "Unprocessable Content", "status": 422,
            "detail": said, "retryable": false
        })
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_problem_titled_content_too_large() {
    let addr = support::serve(plain()).await;
    let sent = format!(r#"{{"email": "{}"}}"#, "a".repeat(LIMIT));
    let answer = ask_with(addr, Method::POST, "/customers", &[JSON_TYPE], sent).await;
    let body = answer.assert_problem(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        body,
        json!({
            "title": "Content Too Large", "status": 413,
            "detail": "length limit exceeded", "retryable": false
        })
    );
}

#[tokio::test]
async fn a_timeout_of_tower_http_is_a_408_problem() {
    let addr = support::serve(plain()).await;
    let answer = ask(addr, Method::GET, "/slow", &[]).await;
    let body = answer.assert_problem(StatusCode::REQUEST_TIMEOUT);
    assert_eq!(
        body,
        json!({"title": "Request Timeout", "status": 408, "retryable": true})
    );
}

#[tokio::test]
async fn a_refused_authorization_header_is_a_401_problem_that_keeps_www_authenticate() {
    let addr = support::serve(plain()).await;
    for refused in [&[][..], &[("authorization", "Bearer stolen")][..]] {
        let answer = ask(addr, Method::GET, "/private", refused).await;
        let body = answer.assert_problem(StatusCode::UNAUTHORIZED);
        assert_eq!(answer.headers[WWW_AUTHENTICATE], "Bearer realm=\"shop\"");
        assert_eq!(
            body,
            json!({"title": "Unauthorized", "status": 401, "retryable": false})
        );
    }
    let answer = ask(addr, Method::GET, "/private", &[AUTH]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.text(), "private");
}

#[tokio::test]
async fn a_handlers_plain_text_500_becomes_a_generic_problem_without_the_text() {
    let addr = support::serve(plain()).await;
    let answer = ask(addr, Method::GET, "/report", &[]).await;
    let body = answer.assert_problem(StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        body,
        json!({
            "title": "Internal Server Error", "status": 500,
            "detail": "The server could not complete the request.",
            "retryable": false
        })
    );
    for secret in ["postgres", "hunter2", "10.0.0.5", "refused"] {
        assert!(
            !answer.text().contains(secret),
            "{secret}: {}",
            answer.text()
        );
    }
}

#[tokio::test]
async fn a_success_passes_untouched() {
    let addr = support::serve(plain()).await;
    let answer = ask(addr, Method::GET, "/health", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers[CONTENT_TYPE], "text/plain; charset=utf-8");
    assert!(answer.headers.get(CACHE_CONTROL).is_none());
    assert_eq!(answer.body, "ok");
}

#[tokio::test]
async fn an_existing_problem_passes_untouched() {
    let addr = support::serve(plain()).await;
    let answer = ask(addr, Method::GET, "/duplicate", &[]).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert_eq!(answer.headers[CONTENT_TYPE], "application/problem+json");
    assert!(answer.headers.get(CACHE_CONTROL).is_none(), "not rewritten");
    assert_eq!(answer.body, OWN_PROBLEM, "the same bytes");
}

// A panic is a 500 problem; its message is logged, never sent.

#[tokio::test]
async fn a_panic_is_a_500_problem_without_the_panic_message() {
    let addr = serve_showcase().await;
    let answer = ask(addr, Method::GET, "/panic", &[]).await;
    let body = answer.assert_problem(StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["type"], "https://shop.example/problems/internal");
    assert_eq!(body["detail"], "The server could not complete the request.");
    for secret in ["stock cache", "10.0.0.9", "corrupt", "panicked"] {
        assert!(
            !answer.text().contains(secret),
            "{secret}: {}",
            answer.text()
        );
    }
}

#[tokio::test]
async fn a_panic_problem_carries_the_request_id_and_the_trace_id() {
    let addr = serve_showcase().await;
    let answer = ask(addr, Method::GET, "/panic", &[("traceparent", TRACEPARENT)]).await;
    let body = answer.assert_problem(StatusCode::INTERNAL_SERVER_ERROR);
    let request_id = request_id_header(&answer);
    assert!(!request_id.is_empty());
    assert_eq!(body["request_id"], request_id);
    assert_eq!(body["trace_id"], TRACE_ID);
}

#[cfg(feature = "tracing")]
#[tokio::test(flavor = "current_thread")]
async fn a_panics_message_is_logged_as_an_error() {
    use tower::ServiceExt;

    let request = Request::get("/panic").body(Body::empty()).unwrap();
    let answered = showcase::app(TIMEOUT).oneshot(request);
    let (response, lines) = support::logs::capture_at(tracing::Level::INFO, async {
        tokio::time::timeout(WAIT, answered)
            .await
            .expect("answered in time")
            .unwrap()
    })
    .await;

    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let logged = lines
        .iter()
        .filter(|line| line.contains("the stock cache at 10.0.0.9 is corrupt"))
        .collect::<Vec<_>>();
    assert_eq!(logged.len(), 1, "{lines:?}");
    assert!(logged[0].contains("ERROR"), "{lines:?}");
}

// A problem carries the trace-id of a valid `traceparent`, alone.

/// An app whose `POST /orders` is refused (inventory: 409) before its
/// handler, every other error of which is a problem, all written by
/// `policy`.
fn refusing(policy: StatusPolicy) -> Router {
    let refused = post(|| async { "never run" })
        .route_layer(
            DependencyLayer::new()
                .policy(policy.clone())
                .require("inventory"),
        )
        .route_layer(recording(
            "inventory",
            Failure::rejected(StatusCode::CONFLICT).with_detail("Out of stock."),
        ));
    Router::new()
        .route("/orders", refused)
        .layer(ErrorsAsProblemsLayer::new().policy(policy))
}

#[tokio::test]
async fn a_valid_traceparent_gives_the_trace_id_of_a_refusal() {
    let addr = support::serve(refusing(StatusPolicy::default())).await;
    let answer = ask(
        addr,
        Method::POST,
        "/orders",
        &[("traceparent", TRACEPARENT)],
    )
    .await;
    let body = answer.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(body["dependency"], "inventory");
    assert_eq!(body["trace_id"], TRACE_ID);
}

#[tokio::test]
async fn a_valid_traceparent_gives_the_trace_id_of_a_handlers_dependency_error() {
    let app = Router::new()
        .route("/account", get(expired_session))
        .layer(DependencyLayer::new());
    let addr = support::serve(app).await;
    let answer = ask(
        addr,
        Method::GET,
        "/account",
        &[("traceparent", TRACEPARENT)],
    )
    .await;
    let body = answer.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(body["dependency"], "session");
    assert_eq!(body["trace_id"], TRACE_ID);
}

#[tokio::test]
async fn a_valid_traceparent_gives_the_trace_id_of_an_errors_as_problems_404() {
    let addr = support::serve(refusing(StatusPolicy::default())).await;
    let answer = ask(
        addr,
        Method::GET,
        "/nowhere",
        &[("traceparent", TRACEPARENT)],
    )
    .await;
    let body = answer.assert_problem(StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"title": "Not Found", "status": 404, "retryable": false, "trace_id": TRACE_ID})
    );
}

#[cfg(feature = "batch")]
#[tokio::test]
async fn a_valid_traceparent_gives_the_trace_id_of_a_batch_refusal() {
    use tower_failed_dependency::batch::BatchLayer;

    let router: Router = Router::new().route("/health", get(|| async { "up" }));
    let app = ServiceBuilder::new()
        .map_request(|request: Request<hyper::body::Incoming>| request.map(Body::new))
        .layer(BatchLayer::new())
        .service(router);
    let addr = support::serve(app).await;
    let headers = [
        ("content-type", "application/json"),
        ("traceparent", TRACEPARENT),
    ];

    // A part whose dependency failed is not run: a 424 problem.
    let batch = json!({"requests": [
        {"id": "1", "method": "GET", "url": "/nowhere"},
        {"id": "2", "method": "GET", "url": "/health", "dependsOn": ["1"]}
    ]});
    let answer = ask_with(addr, Method::POST, "/$batch", &headers, batch.to_string()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let parts = answer.json()["responses"].clone();
    let skipped = parts
        .as_array()
        .unwrap()
        .iter()
        .find(|part| part["id"] == "2")
        .expect("part 2 answered");
    assert_eq!(skipped["status"], 424);
    assert_eq!(skipped["body"]["dependency"], "1");
    assert_eq!(skipped["body"]["trace_id"], TRACE_ID);

    // A batch refused before anything ran: a 400 problem.
    let batch = json!({"requests": [
        {"id": "1", "method": "GET", "url": "/health", "dependsOn": ["9"]}
    ]});
    let answer = ask_with(addr, Method::POST, "/$batch", &headers, batch.to_string()).await;
    let body = answer.assert_problem(StatusCode::BAD_REQUEST);
    assert_eq!(body["part"], "1");
    assert_eq!(body["trace_id"], TRACE_ID);
}

#[tokio::test]
async fn an_invalid_traceparent_gives_no_trace_id() {
    let addr = support::serve(refusing(StatusPolicy::default())).await;
    for invalid in [
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    ] {
        let traceparent = [("traceparent", invalid)];
        let answer = ask(addr, Method::POST, "/orders", &traceparent).await;
        let body = answer.assert_problem(StatusCode::FAILED_DEPENDENCY);
        assert_eq!(body["dependency"], "inventory", "{invalid}");
        assert!(body.get("trace_id").is_none(), "{invalid}: {body}");

        let answer = ask(addr, Method::GET, "/nowhere", &traceparent).await;
        let body = answer.assert_problem(StatusCode::NOT_FOUND);
        assert!(body.get("trace_id").is_none(), "{invalid}: {body}");
    }
}

#[tokio::test]
async fn trace_id_member_renames_the_trace_id() {
    let policy = StatusPolicy::builder()
        .trace_id_member("traceId")
        .build()
        .unwrap();
    let addr = support::serve(refusing(policy)).await;
    let traceparent = [("traceparent", TRACEPARENT)];
    for (method, path, status) in [
        (Method::POST, "/orders", StatusCode::FAILED_DEPENDENCY),
        (Method::GET, "/nowhere", StatusCode::NOT_FOUND),
    ] {
        let answer = ask(addr, method, path, &traceparent).await;
        let body = answer.assert_problem(status);
        assert_eq!(body["traceId"], TRACE_ID, "{path}");
        assert!(body.get("trace_id").is_none(), "{path}: {body}");
    }
}

#[tokio::test]
async fn without_trace_id_drops_the_trace_id() {
    let policy = StatusPolicy::builder().without_trace_id().build().unwrap();
    let addr = support::serve(refusing(policy)).await;
    let traceparent = [("traceparent", TRACEPARENT)];
    for (method, path, status) in [
        (Method::POST, "/orders", StatusCode::FAILED_DEPENDENCY),
        (Method::GET, "/nowhere", StatusCode::NOT_FOUND),
    ] {
        let answer = ask(addr, method, path, &traceparent).await;
        let body = answer.assert_problem(status);
        assert!(body.get("trace_id").is_none(), "{path}: {body}");
        assert!(!answer.text().contains(TRACE_ID), "{path}: {body}");
    }
}

// The hook reads the request a problem answers.

/// The tenant a request belongs to, found by an outer middleware.
#[derive(Debug, Clone)]
struct Tenant(&'static str);

/// A policy whose hook writes what it read of the request.
fn reading_the_request() -> StatusPolicy {
    StatusPolicy::builder()
        .on_problem_with_request(|problem, request| {
            let Some(request) = request else {
                problem.insert_member("unanswered", true).unwrap();
                return;
            };
            let tenant = request.extensions().get::<Tenant>().map(|t| t.0);
            let client = request
                .headers()
                .get("x-client")
                .and_then(|value| value.to_str().ok());
            problem
                .insert_member("method", request.method().as_str())
                .unwrap();
            problem.insert_member("path", request.uri().path()).unwrap();
            problem.insert_member("tenant", tenant).unwrap();
            problem.insert_member("client", client).unwrap();
        })
        .build()
        .unwrap()
}

async fn lost_cart() -> Result<&'static str, DependencyError> {
    let failure = Failure::rejected(StatusCode::NOT_FOUND).with_detail("No such cart.");
    Err(DependencyError::new("cart", failure))
}

/// Refusals, handlers' errors and axum's errors, all written by a policy
/// whose hook reads the request; an outer middleware finds the tenant.
fn tenant_app() -> Router {
    let policy = reading_the_request();
    let checkout = post(|| async { "never run" })
        .route_layer(
            DependencyLayer::new()
                .policy(policy.clone())
                .require("inventory"),
        )
        .route_layer(recording(
            "inventory",
            Failure::rejected(StatusCode::CONFLICT),
        ));
    Router::new()
        .route("/carts/{id}/checkout", checkout)
        .route("/carts/{id}", get(lost_cart))
        .layer(DependencyLayer::new().policy(policy.clone()))
        .layer(ErrorsAsProblemsLayer::new().policy(policy))
        .layer(MapRequestLayer::new(|mut request: Request<Body>| {
            request.extensions_mut().insert(Tenant("acme"));
            request
        }))
}

#[tokio::test]
async fn the_hook_reads_the_request_of_a_refusal() {
    let addr = support::serve(tenant_app()).await;
    let client = [("x-client", "web-7")];
    let answer = ask(addr, Method::POST, "/carts/7/checkout", &client).await;
    let body = answer.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(body["dependency"], "inventory");
    assert_eq!(body["method"], "POST");
    assert_eq!(body["path"], "/carts/7/checkout");
    assert_eq!(body["tenant"], "acme");
    assert_eq!(body["client"], "web-7");
}

#[tokio::test]
async fn the_hook_reads_the_request_of_a_handlers_dependency_error() {
    let addr = support::serve(tenant_app()).await;
    let client = [("x-client", "web-8")];
    let answer = ask(addr, Method::GET, "/carts/8", &client).await;
    let body = answer.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(body["dependency"], "cart");
    assert_eq!(body["dependency_status"], 404);
    assert_eq!(body["method"], "GET");
    assert_eq!(body["path"], "/carts/8");
    assert_eq!(body["tenant"], "acme");
    assert_eq!(body["client"], "web-8");
}

#[tokio::test]
async fn the_hook_reads_the_request_of_an_errors_as_problems_404() {
    let addr = support::serve(tenant_app()).await;
    let client = [("x-client", "web-9")];
    let answer = ask(addr, Method::DELETE, "/nowhere/9", &client).await;
    let body = answer.assert_problem(StatusCode::NOT_FOUND);
    assert_eq!(body["method"], "DELETE");
    assert_eq!(body["path"], "/nowhere/9");
    assert_eq!(body["tenant"], "acme");
    assert_eq!(body["client"], "web-9");
}

// Input errors, in order, as RFC 9457 §3's `errors`.

async fn invalid_profile() -> Result<&'static str, DependencyError> {
    let failure = Failure::unprocessable()
        .with_detail("The profile has 2 errors.")
        .with_error("#/age", "must be a positive integer")
        .with_error("#/profile/color", "must be 'green', 'red' or 'blue'");
    Err(DependencyError::new("input", failure))
}

async fn serve_profiles() -> SocketAddr {
    let app = Router::new()
        .route("/profiles", post(invalid_profile))
        .layer(DependencyLayer::new());
    support::serve(app).await
}

#[tokio::test]
async fn input_errors_are_listed_in_order_with_detail_and_pointer() {
    let addr = serve_profiles().await;
    let answer = ask(addr, Method::POST, "/profiles", &[]).await;
    let body = answer.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({
            "title": "Unprocessable Content", "status": 422,
            "detail": "The profile has 2 errors.", "dependency": "input",
            "errors": [
                {"detail": "must be a positive integer", "pointer": "#/age"},
                {"detail": "must be 'green', 'red' or 'blue'", "pointer": "#/profile/color"}
            ],
            "retryable": false
        })
    );
    assert!(
        answer
            .text()
            .contains(r##"{"detail":"must be a positive integer","pointer":"#/age"}"##),
        "detail, then pointer: {}",
        answer.text()
    );
}

#[cfg(feature = "xml")]
#[tokio::test]
async fn input_errors_in_the_xml_form_are_items_with_detail_and_pointer() {
    let addr = serve_profiles().await;
    let accept = [("accept", "application/problem+xml")];
    let answer = ask(addr, Method::POST, "/profiles", &accept).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.headers[CONTENT_TYPE], "application/problem+xml");
    assert_eq!(answer.headers[CACHE_CONTROL], "no-store");
    let problem = support::xml::parse(&answer.body);
    assert_eq!(problem.namespace, "urn:ietf:rfc:7807");
    assert_eq!(problem.name, "problem");
    assert_eq!(problem.text_of("status"), "422");
    assert_eq!(problem.text_of("dependency"), "input");
    let errors = problem.child("errors");
    let items: Vec<(Vec<&str>, &str, &str)> = errors
        .children
        .iter()
        .map(|item| {
            assert_eq!(item.name, "i", "{errors:#?}");
            (
                item.names(),
                item.text_of("detail"),
                item.text_of("pointer"),
            )
        })
        .collect();
    assert_eq!(
        items,
        [
            (
                vec!["detail", "pointer"],
                "must be a positive integer",
                "#/age"
            ),
            (
                vec!["detail", "pointer"],
                "must be 'green', 'red' or 'blue'",
                "#/profile/color"
            ),
        ]
    );
}

// `?` in a handler names the dependency; the error decides the status.

#[tokio::test]
async fn a_failed_call_with_question_mark_is_a_503_naming_the_dependency() {
    let addr = serve_showcase().await;
    let answer = ask(addr, Method::GET, "/stock", &[]).await;
    let body = answer.assert_problem(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["dependency"], "warehouse");
    assert_eq!(body["type"], "https://shop.example/problems/unavailable");
    assert_eq!(body["retryable"], true);
    let request_id = request_id_header(&answer);
    assert!(!request_id.is_empty());
    assert_eq!(body["request_id"], request_id);
}

async fn reserve() -> Result<&'static str, DependencyError> {
    let reservation: Result<(), Failure> =
        Err(Failure::rejected(StatusCode::CONFLICT).with_detail("Only 0 left."));
    reservation.dependency("inventory")?;
    Ok("reserved")
}

#[tokio::test]
async fn question_mark_on_a_failure_keeps_its_status() {
    let app = Router::new()
        .route("/reservations", post(reserve))
        .layer(DependencyLayer::new());
    let addr = support::serve(app).await;
    let answer = ask(addr, Method::POST, "/reservations", &[]).await;
    let body = answer.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(
        body,
        json!({
            "title": "Failed Dependency", "status": 424,
            "detail": "Only 0 left.", "dependency": "inventory",
            "dependency_status": 409, "retryable": false
        })
    );
}

// A 401 carries its challenge and a 405 its `Allow`, and only they do.

/// An app whose `GET /me` requires `auth`, recorded as `failure`, under
/// `policy`.
async fn serve_refusing_auth(policy: StatusPolicy, failure: Failure) -> SocketAddr {
    let me = get(|| async { "me" })
        .route_layer(DependencyLayer::new().policy(policy).require("auth"))
        .route_layer(recording("auth", failure));
    support::serve(Router::new().route("/me", me)).await
}

fn unauthorized() -> Failure {
    Failure::rejected(StatusCode::UNAUTHORIZED)
        .with_www_authenticate(HeaderValue::from_static("Bearer realm=\"shop\""))
}

fn not_allowed() -> Failure {
    Failure::rejected(StatusCode::METHOD_NOT_ALLOWED).with_allow(HeaderValue::from_static("GET"))
}

#[tokio::test]
async fn a_401_under_the_strict_policy_carries_the_failures_challenge() {
    let addr = serve_refusing_auth(StatusPolicy::strict(), unauthorized()).await;
    let answer = ask(addr, Method::GET, "/me", &[]).await;
    let body = answer.assert_problem(StatusCode::UNAUTHORIZED);
    assert_eq!(answer.headers[WWW_AUTHENTICATE], "Bearer realm=\"shop\"");
    assert_eq!(body["dependency"], "auth");
    assert_eq!(body["dependency_status"], 401);
}

#[tokio::test]
async fn a_424_under_the_default_policy_sends_no_challenge() {
    let addr = serve_refusing_auth(StatusPolicy::default(), unauthorized()).await;
    let answer = ask(addr, Method::GET, "/me", &[]).await;
    let body = answer.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert!(answer.headers.get(WWW_AUTHENTICATE).is_none());
    assert_eq!(body["dependency"], "auth");
    assert_eq!(body["dependency_status"], 401);
}

#[tokio::test]
async fn a_405_mapped_by_the_policy_carries_the_failures_allow() {
    let policy = StatusPolicy::builder()
        .map(
            FailureKind::Rejected(StatusCode::METHOD_NOT_ALLOWED),
            StatusCode::METHOD_NOT_ALLOWED,
        )
        .build()
        .expect("a refusal with 405 may answer 405");
    let addr = serve_refusing_auth(policy, not_allowed()).await;
    let answer = ask(addr, Method::GET, "/me", &[]).await;
    let body = answer.assert_problem(StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.headers[ALLOW], "GET");
    assert_eq!(body["dependency"], "auth");
    assert_eq!(body["dependency_status"], 405);
}

#[tokio::test]
async fn a_424_under_the_default_policy_sends_no_allow() {
    let addr = serve_refusing_auth(StatusPolicy::default(), not_allowed()).await;
    let answer = ask(addr, Method::GET, "/me", &[]).await;
    let body = answer.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert!(answer.headers.get(ALLOW).is_none());
    assert_eq!(body["dependency_status"], 405);
}

// A route's prerequisites are looked at only for the methods they guard.

#[tokio::test]
async fn a_wrong_method_on_a_guarded_route_is_405_before_any_prerequisite() {
    let addr = serve_showcase().await;
    // Without a token, a POST would be refused for `auth`.
    for headers in [&[][..], &[AUTH][..]] {
        let answer = ask(addr, Method::GET, "/orders", headers).await;
        let body = answer.assert_problem(StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(answer.headers[ALLOW], "POST");
        assert_eq!(body["title"], "Method Not Allowed");
        assert!(body.get("dependency").is_none(), "{body}");
        assert!(body.get("skipped").is_none(), "{body}");
    }
    let answer = ask(addr, Method::POST, "/orders?sku=widget&quantity=1", &[]).await;
    let body = answer.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(body["dependency"], "auth", "the POST is guarded");
}

// Every problem of the showcase carries CORS headers and its request id.

/// A request to the showcase, and the status of the problem it answers.
struct Case {
    method: Method,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
    status: StatusCode,
}

#[tokio::test]
async fn every_problem_of_the_showcase_carries_cors_and_its_request_id() {
    let addr = serve_showcase().await;
    let case = |method, path, headers, body, status| Case {
        method,
        path,
        headers,
        body,
        status,
    };
    let cases = [
        case(
            Method::GET,
            "/nowhere",
            &[FROM_FRONT_END],
            "",
            StatusCode::NOT_FOUND,
        ),
        case(
            Method::GET,
            "/orders",
            &[FROM_FRONT_END],
            "",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        case(
            Method::POST,
            "/customers",
            &[FROM_FRONT_END, JSON_TYPE],
            "{oops",
            StatusCode::BAD_REQUEST,
        ),
        case(
            Method::GET,
            "/slow",
            &[FROM_FRONT_END],
            "",
            StatusCode::REQUEST_TIMEOUT,
        ),
        case(
            Method::GET,
            "/panic",
            &[FROM_FRONT_END],
            "",
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        case(
            Method::GET,
            "/stock",
            &[FROM_FRONT_END],
            "",
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        case(
            Method::POST,
            "/orders?sku=sold-out&quantity=1",
            &[FROM_FRONT_END, AUTH],
            "",
            StatusCode::FAILED_DEPENDENCY,
        ),
    ];
    for Case {
        method,
        path,
        headers,
        body: sent,
        status,
    } in cases
    {
        let answer = ask_with(addr, method, path, headers, sent).await;
        let body = answer.assert_problem(status);
        assert_eq!(
            answer.headers[ACCESS_CONTROL_ALLOW_ORIGIN],
            showcase::FRONT_END,
            "{path}"
        );
        assert_eq!(
            answer.headers[CONTENT_TYPE], "application/problem+json",
            "{path}"
        );
        let request_id = request_id_header(&answer);
        assert!(!request_id.is_empty(), "{path}");
        assert_eq!(body["request_id"], request_id, "{path}: {body}");
    }
}

/// The showcase's body limit applies before its handlers read a body.
#[tokio::test]
async fn the_showcases_body_limit_is_a_413_problem_with_cors() {
    let addr = serve_showcase().await;
    let sent = format!(r#"{{"email": "{}"}}"#, "a".repeat(showcase::BODY_LIMIT));
    let headers = [FROM_FRONT_END, JSON_TYPE];
    let answer = ask_with(addr, Method::POST, "/customers", &headers, sent).await;
    let body = answer.assert_problem(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["title"], "Content Too Large");
    assert_eq!(
        answer.headers[ACCESS_CONTROL_ALLOW_ORIGIN],
        showcase::FRONT_END
    );
    assert_eq!(body["request_id"], request_id_header(&answer));
}
