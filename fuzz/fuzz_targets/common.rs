//! What every target checks of a problem response: the status is the body's
//! status, and the body parses (as JSON, or as well-formed XML).

#![allow(dead_code)]

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::Response;
use http_body_util::BodyExt;
use quick_xml::events::Event;
use quick_xml::Reader;

thread_local! {
    // With timers: the batch and keyed requests bound their reads in time.
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime");
}

/// Runs a future to completion on this thread's runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    RUNTIME.with(|runtime| runtime.block_on(future))
}

/// Reads a whole body.
pub fn body<B>(body: B) -> Bytes
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    block_on(body.collect()).expect("the body reads").to_bytes()
}

/// Checks a problem response the crate rendered for a failure (a client
/// or server error) and returns its JSON body (or `Null` for XML).
pub fn check_problem<B>(response: Response<B>) -> serde_json::Value
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let status = response.status();
    assert!(
        status.is_client_error() || status.is_server_error(),
        "{status}"
    );
    check_body(response)
}

/// Checks any problem response: its body parses and, in JSON, its `status`
/// is the response's.
pub fn check_body<B>(response: Response<B>) -> serde_json::Value
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let status = response.status();
    let media = response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    let bytes = body(response.into_body());
    match media.as_str() {
        "application/problem+json" => {
            let json: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON body");
            assert_eq!(json["status"], status.as_u16());
            json
        }
        "application/problem+xml" => {
            check_xml(&bytes);
            serde_json::Value::Null
        }
        other => panic!("a problem sent as {other}"),
    }
}

/// Panics unless `xml` is one well-formed document.
pub fn check_xml(xml: &[u8]) {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().check_end_names = true;
    let mut buffer = Vec::new();
    let mut depth = 0usize;
    loop {
        match reader
            .read_event_into(&mut buffer)
            .expect("well-formed XML")
        {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth -= 1,
            Event::Text(text) => {
                text.decode().expect("text in UTF-8");
            }
            Event::Eof => break,
            _ => {}
        }
        buffer.clear();
    }
    assert_eq!(depth, 0, "every element closed");
}
