//! With the `opentelemetry` feature, a problem carries the trace id of the
//! current span's OpenTelemetry context: a real `tracing-opentelemetry`
//! layer over an SDK tracer provider (no exporter: nothing leaves the
//! process).

#![cfg(feature = "opentelemetry")]

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde_json::Value;
use tower::{service_fn, ServiceBuilder, ServiceExt};
use tower_failed_dependency::{Dependencies, DependencyLayer, Failure};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

/// A valid W3C `traceparent`, and the trace-id it carries.
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// The longest a refusal may take.
const WAIT: Duration = Duration::from_secs(10);

/// Sets, for the current thread, a subscriber whose spans are OpenTelemetry
/// spans of a tracer provider without exporter.
fn traced() -> (tracing::subscriber::DefaultGuard, SdkTracerProvider) {
    let provider = SdkTracerProvider::builder().build();
    let tracer = provider.tracer("tower-failed-dependency-tests");
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
    (tracing::subscriber::set_default(subscriber), provider)
}

/// A request refused for `inventory` (409), with `traceparent` if given.
fn refused_request(traceparent: Option<&str>) -> Request<()> {
    let mut request = Request::post("/orders");
    if let Some(traceparent) = traceparent {
        request = request.header("traceparent", traceparent);
    }
    let mut request = request.body(()).unwrap();
    let mut record = Dependencies::new();
    record.record_failure("inventory", Failure::rejected(StatusCode::CONFLICT));
    request.extensions_mut().insert(record);
    request
}

/// The problem a `DependencyLayer` answers `request` with, in the current
/// span.
async fn refusal(request: Request<()>) -> Value {
    let handler = service_fn(|_: Request<()>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ran"))))
    });
    let service = ServiceBuilder::new()
        .layer(DependencyLayer::new().require("inventory"))
        .service(handler);
    let response = tokio::time::timeout(WAIT, service.oneshot(request))
        .await
        .expect("answered in time")
        .unwrap();
    assert_eq!(response.status(), StatusCode::FAILED_DEPENDENCY);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let problem: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["dependency"], "inventory");
    problem
}

/// The OpenTelemetry trace id of `span`, as 32 hex digits.
fn trace_id_of(span: &tracing::Span) -> String {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    assert!(
        span_context.is_valid(),
        "the span has an OpenTelemetry context"
    );
    span_context.trace_id().to_string()
}

#[tokio::test(flavor = "current_thread")]
async fn a_problem_in_a_span_carries_the_spans_trace_id() {
    let (_guard, _provider) = traced();
    let span = tracing::info_span!("place_order");
    let expected = trace_id_of(&span);
    assert_eq!(expected.len(), 32);
    let problem = refusal(refused_request(None)).instrument(span).await;
    assert_eq!(problem["trace_id"], expected.as_str());
}

#[tokio::test(flavor = "current_thread")]
async fn the_spans_trace_id_wins_over_the_traceparent_header() {
    let (_guard, _provider) = traced();
    let span = tracing::info_span!("place_order");
    let expected = trace_id_of(&span);
    assert_ne!(expected, TRACE_ID, "two different ids");
    let problem = refusal(refused_request(Some(TRACEPARENT)))
        .instrument(span)
        .await;
    assert_eq!(problem["trace_id"], expected.as_str());
}

#[tokio::test(flavor = "current_thread")]
async fn outside_any_span_the_traceparent_headers_trace_id_is_used() {
    let (_guard, _provider) = traced();
    assert!(tracing::Span::current().is_none());
    let problem = refusal(refused_request(Some(TRACEPARENT))).await;
    assert_eq!(problem["trace_id"], TRACE_ID);

    let problem = refusal(refused_request(None)).await;
    assert!(problem.get("trace_id").is_none(), "{problem}");
}
