//! The batch request's `Content-Type`, the one check a cross-site form
//! meets first: any value is answered 200 or a 415 problem, never a panic;
//! a 415 runs no part; only a JSON media type (`application/json` or a
//! `+json` suffix, any case, any parameters) runs the batch, and
//! `application/json` always does.

#![no_main]

#[path = "common.rs"]
mod common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use libfuzzer_sys::fuzz_target;
use tower::{service_fn, Layer, ServiceExt};
use tower_failed_dependency::batch::BatchLayer;
use tower_failed_dependency::RequestBody;

const BATCH: &[u8] = br#"{"requests": [{"id": "1", "method": "GET", "url": "/a"}]}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(content_type) = HeaderValue::from_bytes(data) else {
        return;
    };
    let ran = Arc::new(AtomicUsize::new(0));
    let inner = {
        let ran = Arc::clone(&ran);
        service_fn(move |_: Request<RequestBody<Full<Bytes>>>| {
            ran.fetch_add(1, Ordering::Relaxed);
            async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::new()))) }
        })
    };
    let mut request = Request::post("/$batch")
        .body(Full::new(Bytes::from_static(BATCH)))
        .unwrap();
    request
        .headers_mut()
        .insert("content-type", content_type.clone());
    let response = common::block_on(BatchLayer::new().layer(inner).oneshot(request)).unwrap();
    let essence = content_type
        .to_str()
        .ok()
        .and_then(|text| text.split(';').next())
        .map(|essence| essence.trim().to_ascii_lowercase());
    match response.status() {
        StatusCode::OK => {
            let essence = essence.expect("a batch that ran had a readable type");
            assert!(
                essence == "application/json"
                    || (essence.ends_with("+json") && essence.contains('/')),
                "{content_type:?} ran the batch"
            );
            assert_eq!(ran.load(Ordering::Relaxed), 1);
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            assert_ne!(
                essence.as_deref(),
                Some("application/json"),
                "{content_type:?} refused"
            );
            assert_eq!(ran.load(Ordering::Relaxed), 0, "a refused batch ran a part");
            common::check_problem(response);
        }
        other => panic!("{content_type:?} answered {other}"),
    }
});
