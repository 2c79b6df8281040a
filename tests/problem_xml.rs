//! Problems in XML (RFC 9457, Appendix B) for clients whose `Accept` prefers
//! `application/problem+xml`, over real loopback connections: every layer
//! that renders a problem answers in the form asked for, and JSON stays the
//! default.

#![cfg(all(
    feature = "xml",
    feature = "axum",
    feature = "batch",
    feature = "checks",
    feature = "gateway"
))]

mod support;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use http::{header, Method, Request, Response, StatusCode};
use serde_json::json;
use support::xml::{parse, Element};
use support::{send, send_body, Answer};
use tower::{service_fn, Layer, ServiceBuilder, ServiceExt};
use tower_failed_dependency::batch::BatchLayer;
use tower_failed_dependency::catch_error::CatchErrorLayer;
use tower_failed_dependency::checks::RequestHead;
use tower_failed_dependency::problem::{Problem, ProblemFormat};
use tower_failed_dependency::{DependencyError, DependencyLayer, Failure, StatusPolicy};

const XML: &str = "application/problem+xml";
const NAMESPACE: &str = "urn:ietf:rfc:7807";

async fn verify(head: RequestHead) -> Result<(), Failure> {
    match head.headers.get(header::AUTHORIZATION) {
        Some(token) if token == "Bearer good" => Ok(()),
        _ => Err(Failure::rejected(StatusCode::FORBIDDEN).with_code("SCOPE_MISSING")),
    }
}

async fn reserve(_: RequestHead) -> Result<(), Failure> {
    Ok(())
}

/// An app with a problem from each layer: checks (`/orders`), a handler's
/// `DependencyError` (`/ledger`), a tower error (`/slow`), a batch refusal.
async fn start() -> SocketAddr {
    let checks = DependencyLayer::new()
        .check("auth", verify)
        .check("stock", reserve)
        .after(["auth"])
        .build()
        .unwrap();
    let policy = StatusPolicy::builder()
        .on_problem(|problem| {
            // A member whose text would break naive XML.
            let _ = problem.insert_member("note", "</problem><x a='1'>&\u{7}\r\n");
        })
        .build()
        .unwrap();
    let ledger =
        DependencyLayer::new()
            .policy(policy)
            .layer(service_fn(|_: Request<Body>| async {
                let failure =
                    Failure::rejected(StatusCode::CONFLICT).with_detail("Account frozen.");
                Ok::<_, Infallible>(
                    http::Response::from(DependencyError::new("ledger", failure)).map(Body::new),
                )
            }));
    let slow = ServiceBuilder::new()
        .layer(CatchErrorLayer::new("pricing"))
        .timeout(Duration::from_millis(20))
        .service(service_fn(|_: Request<Body>| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<_, Infallible>(Response::new(Body::empty()))
        }));
    let router = Router::new()
        .route(
            "/orders",
            get(|| async { "order placed" }).route_layer(checks),
        )
        .route_service("/ledger", ledger.map_response(|r| r.map(Body::new)))
        .route_service("/slow", slow.map_response(|r| r.map(Body::new)));
    let app = BatchLayer::new()
        .layer(router)
        .map_request(|request: Request<hyper::body::Incoming>| request.map(Body::new))
        .map_response(|response: Response<_>| response.map(Body::new));
    support::serve(app).await
}

/// Asserts the headers of an XML problem and parses its body.
fn assert_xml_problem(answer: &Answer, status: StatusCode) -> Element {
    assert_eq!(answer.status, status, "{}", answer.text());
    assert_eq!(answer.headers[header::CONTENT_TYPE], XML);
    assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(answer.headers[header::VARY], "accept");
    let problem = parse(&answer.body);
    assert_eq!(
        (problem.namespace.as_str(), problem.name.as_str()),
        (NAMESPACE, "problem")
    );
    assert!(problem
        .children
        .iter()
        .all(|member| member.namespace == NAMESPACE));
    assert_eq!(
        problem.text_of("status"),
        status.as_str(),
        "body status equals HTTP status"
    );
    problem
}

#[tokio::test]
async fn a_refused_check_answers_in_xml_when_preferred() {
    let addr = start().await;
    let headers = [("accept", XML), ("x-request-id", "xml-1")];
    let answer = send(addr, Method::GET, "/orders", &headers).await;
    let problem = assert_xml_problem(&answer, StatusCode::FAILED_DEPENDENCY);
    assert_eq!(
        problem.names(),
        [
            "title",
            "status",
            "detail",
            "dependency",
            "dependency_status",
            "code",
            "retryable",
            "request_id",
            "skipped"
        ]
    );
    assert_eq!(problem.text_of("title"), "Failed Dependency");
    assert_eq!(problem.text_of("dependency"), "auth");
    assert_eq!(problem.text_of("dependency_status"), "403");
    assert_eq!(problem.text_of("code"), "SCOPE_MISSING");
    assert_eq!(problem.text_of("retryable"), "false");
    assert_eq!(problem.text_of("request_id"), "xml-1");
    assert_eq!(problem.items("skipped"), ["stock"]);
}

#[tokio::test]
async fn json_stays_the_default_and_quality_values_are_honoured() {
    let addr = start().await;
    for accept in [
        None,
        Some("*/*"),
        Some("application/json"),
        Some("application/problem+xml;q=0.4, application/problem+json"),
        Some("application/problem+xml, application/problem+json"),
        Some("application/problem+xml;q=0"),
    ] {
        let headers: Vec<_> = accept.map(|value| ("accept", value)).into_iter().collect();
        let answer = send(addr, Method::GET, "/orders", &headers).await;
        let body = answer.assert_problem(StatusCode::FAILED_DEPENDENCY);
        assert_eq!(body["dependency"], "auth", "{accept:?}");
        assert_eq!(answer.headers[header::VARY], "accept", "{accept:?}");
    }
    for accept in [
        "application/problem+xml;q=0.9, application/problem+json;q=0.8",
        "application/problem+json;q=0.1, */*",
        "text/html, application/problem+xml;q=0.5",
    ] {
        let answer = send(addr, Method::GET, "/orders", &[("accept", accept)]).await;
        assert_xml_problem(&answer, StatusCode::FAILED_DEPENDENCY);
    }
}

#[tokio::test]
async fn a_passing_request_is_untouched_by_accept() {
    let addr = start().await;
    let headers = [("accept", XML), ("authorization", "Bearer good")];
    let answer = send(addr, Method::GET, "/orders", &headers).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.text(), "order placed");
    assert!(answer.headers.get(header::VARY).is_none());
}

#[tokio::test]
async fn a_handlers_dependency_error_is_rendered_in_xml_with_hostile_text_escaped() {
    let addr = start().await;
    let answer = send(addr, Method::GET, "/ledger", &[("accept", XML)]).await;
    let problem = assert_xml_problem(&answer, StatusCode::FAILED_DEPENDENCY);
    assert_eq!(problem.text_of("detail"), "Account frozen.");
    assert_eq!(problem.text_of("dependency"), "ledger");
    // The text survives whole, but for the one character XML cannot hold.
    assert_eq!(problem.text_of("note"), "</problem><x a='1'>&\u{FFFD}\r\n");
    assert!(!answer.text().contains("<x "), "{}", answer.text());
}

#[tokio::test]
async fn a_tower_error_is_rendered_in_xml() {
    let addr = start().await;
    let answer = send(addr, Method::GET, "/slow", &[("accept", XML)]).await;
    let problem = assert_xml_problem(&answer, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(problem.text_of("dependency"), "pricing");
    assert_eq!(problem.text_of("retryable"), "true");
}

#[tokio::test]
async fn a_refused_batch_is_rendered_in_xml() {
    let addr = start().await;
    let batch = json!({"requests": [{"id": "1", "method": "GET", "url": "https://evil.example/"}]});
    let headers = [("accept", XML), ("content-type", "application/json")];
    let answer = send_body(addr, Method::POST, "/$batch", &headers, batch.to_string()).await;
    let problem = assert_xml_problem(&answer, StatusCode::BAD_REQUEST);
    assert_eq!(problem.text_of("part"), "1");
    assert_eq!(problem.text_of("field"), "url");

    let answer = send_body(addr, Method::POST, "/$batch", &headers, "{\"requests\": [").await;
    assert_xml_problem(&answer, StatusCode::BAD_REQUEST);
}

/// The RFC's example problem, read from its JSON form and written in XML,
/// is the document of its XML form (elements, namespace, text).
#[test]
fn the_rfc_example_converts_to_its_xml_form() {
    let problem: Problem =
        serde_json::from_str(include_str!("fixtures/rfc9457-out-of-credit.json")).unwrap();
    let response = problem
        .with_status(StatusCode::FORBIDDEN)
        .into_response_as(ProblemFormat::Xml);
    assert_eq!(response.headers()[header::CONTENT_TYPE], XML);
    let body = futures_body(response.into_body());
    let written = parse(&body);
    let expected = parse(include_bytes!("fixtures/rfc9457-out-of-credit.xml"));
    // Member order is free in both forms; compare members by name.
    let by_name = |element: &Element| -> BTreeMap<String, String> {
        element
            .children
            .iter()
            .map(|member| {
                (
                    member.name.clone(),
                    format!("{}{:?}", member.text.trim(), member.children),
                )
            })
            .collect()
    };
    let mut expected_members = by_name(&expected);
    expected_members.insert("status".into(), "403[]".into());
    assert_eq!(by_name(&written), expected_members);
    assert_eq!(written.namespace, expected.namespace);
    assert_eq!(
        written.items("accounts"),
        ["/account/12345", "/account/67890"]
    );
}

fn futures_body(body: tower_failed_dependency::ProblemBody) -> Vec<u8> {
    use http_body_util::BodyExt;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime
        .block_on(body.collect())
        .unwrap()
        .to_bytes()
        .to_vec()
}
