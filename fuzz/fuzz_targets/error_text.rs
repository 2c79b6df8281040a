//! The text of an error response `ErrorsAsProblemsLayer` turns into a
//! problem (an extractor's message, which may quote the client's input):
//! any status, media type and bytes, in any frames, give a problem of the
//! same status, never a panic; its `detail` is the text only for a client
//! error in plain text, trimmed, one line of at most `MAX_DETAIL`
//! characters without control characters, and never a server error's.

#![no_main]

#[path = "common.rs"]
mod common;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body::{Body, Frame};
use libfuzzer_sys::fuzz_target;
use tower::{service_fn, Layer, ServiceExt};
use tower_failed_dependency::errors_as_problems::{ErrorsAsProblemsLayer, MAX_DETAIL};

/// A body of the given frames, each ready at once.
struct Frames(VecDeque<Bytes>);

impl Body for Frames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|data| Ok(Frame::data(data))))
    }
}

const TYPES: &[Option<&str>] = &[
    None,
    Some("text/plain"),
    Some("text/plain; charset=utf-8"),
    Some("TEXT/PLAIN"),
    Some("text/html"),
    Some("application/json"),
    Some("application/problem+json"),
];

/// The problem `ErrorsAsProblemsLayer` makes of an answer with `status`,
/// `content_type` and `frames`: its `detail`, after the common checks.
fn detail_of(
    status: StatusCode,
    content_type: Option<&'static str>,
    frames: VecDeque<Bytes>,
) -> Option<String> {
    let inner = service_fn(move |_: Request<()>| {
        let mut response = Response::new(Frames(frames.clone()));
        *response.status_mut() = status;
        if let Some(content_type) = content_type {
            response
                .headers_mut()
                .insert("content-type", HeaderValue::from_static(content_type));
        }
        async move { Ok::<_, Infallible>(response) }
    });
    let service = ErrorsAsProblemsLayer::new().layer(inner);
    let response = common::block_on(service.oneshot(Request::new(()))).unwrap();
    assert_eq!(response.status(), status);
    let problem = common::check_problem(response);
    problem
        .get("detail")
        .map(|detail| detail.as_str().expect("a detail is text").to_owned())
}

fuzz_target!(|data: &[u8]| {
    let [code, kind, rest @ ..] = data else {
        return;
    };
    let status = StatusCode::from_u16(400 + u16::from(*code) % 200).unwrap();
    let content_type = TYPES[usize::from(*kind) % TYPES.len()];
    if content_type == Some("application/problem+json") {
        // The service's own problem passes untouched.
        return;
    }
    // Frames split where the input has a 0xFF byte.
    let frames: VecDeque<Bytes> = rest
        .split(|&byte| byte == 0xff)
        .map(Bytes::copy_from_slice)
        .collect();
    let text: Vec<u8> = rest.iter().copied().filter(|&byte| byte != 0xff).collect();
    let detail = detail_of(status, content_type, frames);
    // What the layer says with no text at all.
    let generic = detail_of(status, content_type, VecDeque::new());
    if detail == generic {
        return;
    }
    // Only a client error's plain text is ever the detail, and only safe.
    let detail = detail.expect("a detail");
    let plain =
        content_type.is_none_or(|media| media.to_ascii_lowercase().starts_with("text/plain"));
    assert!(
        status.is_client_error() && plain,
        "{status} {content_type:?}: {detail:?}"
    );
    assert_eq!(
        std::str::from_utf8(&text).map(str::trim),
        Ok(detail.as_str())
    );
    assert!(!detail.is_empty());
    assert!(detail.chars().count() <= MAX_DETAIL, "{detail:?}");
    assert!(!detail.chars().any(char::is_control), "{detail:?}");
});
