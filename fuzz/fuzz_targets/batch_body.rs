//! The batch request body: any bytes are answered 200, 400 or 413, never a
//! panic, and a refused batch runs no part.

#![no_main]

#[path = "common.rs"]
mod common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use libfuzzer_sys::fuzz_target;
use tower::{service_fn, Layer, ServiceExt};
use tower_failed_dependency::batch::BatchLayer;
use tower_failed_dependency::RequestBody;

fuzz_target!(|data: &[u8]| {
    let ran = Arc::new(AtomicUsize::new(0));
    let inner = {
        let ran = Arc::clone(&ran);
        service_fn(move |_: Request<RequestBody<Full<Bytes>>>| {
            ran.fetch_add(1, Ordering::Relaxed);
            async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"{}")))) }
        })
    };
    let request = Request::post("/$batch")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::copy_from_slice(data)))
        .unwrap();
    let service = BatchLayer::new().max_body(64 * 1024).layer(inner);
    let response = common::block_on(service.oneshot(request)).unwrap();
    match response.status() {
        StatusCode::OK => {
            let body = common::body(response.into_body());
            let answer: serde_json::Value = serde_json::from_slice(&body).expect("JSON answer");
            let parts = answer["responses"].as_array().expect("responses");
            assert!(parts.len() <= 20);
            assert!(ran.load(Ordering::Relaxed) <= parts.len());
        }
        StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE => {
            common::check_problem(response);
            assert_eq!(ran.load(Ordering::Relaxed), 0, "a refused batch ran a part");
        }
        other => panic!("a batch answered {other}"),
    }
});
