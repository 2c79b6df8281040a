//! The events the layer logs: one per problem, a warning for 4xx and an error
//! with the source for 5xx, with structured fields.

#![cfg(feature = "tracing")]

mod support;

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use support::logs::capture_at;
use tower::{service_fn, ServiceBuilder, ServiceExt};
use tower_failed_dependency::{Dependencies, DependencyError, DependencyLayer, Failure};

/// Runs `f` with a subscriber that writes plain-text events to a buffer.
async fn capture<F: std::future::Future<Output = StatusCode>>(f: F) -> (StatusCode, Vec<String>) {
    capture_at(tracing::Level::INFO, f).await
}

fn handler(
) -> impl tower::Service<Request<()>, Response = Response<Full<Bytes>>, Error = Infallible> + Clone
{
    service_fn(|_: Request<()>| async { Ok(Response::new(Full::from("ran"))) })
}

#[tokio::test(flavor = "current_thread")]
async fn a_refusal_is_one_warning_with_structured_fields() {
    let (status, lines) = capture(async {
        let mut record = Dependencies::new();
        record.record_failure("inventory", Failure::rejected(StatusCode::CONFLICT));
        let mut request = Request::new(());
        request.extensions_mut().insert(record);
        request
            .headers_mut()
            .insert("x-request-id", "req-9".parse().unwrap());
        let service = DependencyLayer::new().require("inventory");
        let service = ServiceBuilder::new().layer(service).service(handler());
        service.oneshot(request).await.unwrap().status()
    })
    .await;
    assert_eq!(status, StatusCode::FAILED_DEPENDENCY);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert!(line.contains(" WARN "), "{line}");
    for field in [
        "dependency=\"inventory\"",
        "status=424",
        "request_id=\"req-9\"",
        "kind=rejected with 409 Conflict",
    ] {
        assert!(line.contains(field), "{field} missing from {line}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_handler_error_is_logged_once_as_an_error_with_its_source() {
    let (status, lines) = capture(async {
        let failing = service_fn(|_: Request<()>| async {
            let source = std::io::Error::other("disk /var/db full");
            let error = DependencyError::new("db", Failure::internal().with_source(source));
            Ok::<_, Infallible>(Response::from(error))
        });
        let service = ServiceBuilder::new()
            .layer(DependencyLayer::new())
            .service(failing);
        service.oneshot(Request::new(())).await.unwrap().status()
    })
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(lines.len(), 1, "one event per problem: {lines:?}");
    let line = &lines[0];
    assert!(line.contains("ERROR"), "{line}");
    assert!(
        line.contains("disk /var/db full"),
        "the source is logged: {line}"
    );
    assert!(line.contains("dependency=\"db\""), "{line}");
}

#[tokio::test(flavor = "current_thread")]
async fn the_pass_path_logs_nothing() {
    let (status, lines) = capture(async {
        let mut record = Dependencies::new();
        record.record_success("inventory");
        let mut request = Request::new(());
        request.extensions_mut().insert(record);
        let service = ServiceBuilder::new()
            .layer(DependencyLayer::new().require("inventory"))
            .service(handler());
        service.oneshot(request).await.unwrap().status()
    })
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(lines.is_empty(), "{lines:?}");
}

#[cfg(feature = "checks")]
#[tokio::test(flavor = "current_thread")]
async fn each_check_runs_in_a_span_with_its_outcome_and_a_panic_is_logged() {
    use tower_failed_dependency::checks::RequestHead;

    let (status, lines) = capture_at(tracing::Level::DEBUG, async {
        let layer = DependencyLayer::new()
            .check("auth", |_: RequestHead| async { Ok(()) })
            .check("fraud", |_: RequestHead| async {
                panic!("fraud model at 10.0.0.7 unreachable");
                #[allow(unreachable_code)]
                Ok(())
            })
            .after(["auth"])
            .build()
            .unwrap();
        let service = ServiceBuilder::new().layer(layer).service(handler());
        service.oneshot(Request::new(())).await.unwrap().status()
    })
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let panicked = lines
        .iter()
        .find(|line| line.contains("check panicked"))
        .unwrap_or_else(|| panic!("no panic event in {lines:?}"));
    assert!(panicked.contains("ERROR"), "{panicked}");
    assert!(panicked.contains("name=\"fraud\""), "{panicked}");
    assert!(panicked.contains("outcome=\"failed\""), "{panicked}");
    assert!(panicked.contains("duration_us="), "{panicked}");
    assert!(
        panicked.contains("fraud model at 10.0.0.7 unreachable"),
        "the message is logged: {panicked}"
    );
    let problem = lines.iter().find(|line| line.contains("status=500"));
    assert!(problem.is_some(), "the problem is logged too: {lines:?}");
}
