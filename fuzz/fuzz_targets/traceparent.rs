//! The `traceparent` reader: a problem carries a trace id only when the
//! header is a valid W3C traceparent, and then exactly its 32-hex trace-id,
//! never anything else of the header.

#![no_main]

#[path = "common.rs"]
mod common;

use std::convert::Infallible;

use http::{HeaderValue, Request, Response, StatusCode};
use libfuzzer_sys::fuzz_target;
use tower::{service_fn, Layer, ServiceExt};
use tower_failed_dependency::{Dependencies, DependencyLayer, Failure};

fuzz_target!(|data: &[u8]| {
    let Ok(traceparent) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut record = Dependencies::new();
    record.record_failure("auth", Failure::rejected(StatusCode::FORBIDDEN));
    let mut request = Request::new(());
    request.headers_mut().insert("traceparent", traceparent);
    request.extensions_mut().insert(record);
    let handler =
        service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(String::new())) });
    let service = DependencyLayer::new().require("auth").layer(handler);
    let response = common::block_on(service.oneshot(request)).unwrap();
    assert_eq!(response.status(), StatusCode::FAILED_DEPENDENCY);
    let problem = common::check_problem(response);
    let Some(trace_id) = problem.get("trace_id") else {
        return;
    };
    let trace_id = trace_id.as_str().expect("a string");
    assert_eq!(trace_id.len(), 32);
    assert!(trace_id
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    assert!(trace_id.bytes().any(|b| b != b'0'), "an all-zero trace id");
    let trimmed = data.trim_ascii();
    assert_eq!(
        &trimmed[3..35],
        trace_id.as_bytes(),
        "not the header's trace-id"
    );
    assert_ne!(&trimmed[..2], b"ff", "version ff is invalid");
});
