//! The request-id sanitiser: an id is echoed into a problem only whole and
//! only when it is 1 to 128 safe characters; anything else is left out.

#![no_main]

#[path = "common.rs"]
mod common;

use std::convert::Infallible;

use http::{HeaderValue, Request, Response, StatusCode};
use libfuzzer_sys::fuzz_target;
use tower::{service_fn, Layer, ServiceExt};
use tower_failed_dependency::{Dependencies, DependencyLayer, Failure};

fuzz_target!(|data: &[u8]| {
    let Ok(id) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut record = Dependencies::new();
    record.record_failure("auth", Failure::rejected(StatusCode::FORBIDDEN));
    let mut request = Request::new(());
    request.headers_mut().insert("x-request-id", id);
    request.extensions_mut().insert(record);
    let handler =
        service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(String::new())) });
    let service = DependencyLayer::new().require("auth").layer(handler);
    let response = common::block_on(service.oneshot(request)).unwrap();
    assert_eq!(response.status(), StatusCode::FAILED_DEPENDENCY);
    let problem = common::check_problem(response);
    let safe = !data.is_empty()
        && data.len() <= 128
        && data
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-_.:/+=@".contains(&b));
    match problem.get("request_id") {
        Some(echoed) => {
            assert!(safe, "echoed an unsafe id");
            assert_eq!(echoed.as_str().unwrap().as_bytes(), data);
        }
        None => assert!(!safe, "a safe id was dropped"),
    }
});
