//! Upstream classification of any status, headers and body: never a panic,
//! success only for 2xx and 304, and every failure renders as a problem.

#![no_main]

#[path = "common.rs"]
mod common;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use libfuzzer_sys::fuzz_target;
use tower_failed_dependency::upstream::Upstream;
use tower_failed_dependency::StatusPolicy;

/// The input: two bytes of status, then header lines (`name: value\n`) up
/// to an empty line, then the body.
fn split(data: &[u8]) -> Option<(StatusCode, HeaderMap, &[u8])> {
    let (code, rest) = data.split_at_checked(2)?;
    let status = StatusCode::from_u16(100 + u16::from_be_bytes([code[0], code[1]]) % 900).ok()?;
    let mut headers = HeaderMap::new();
    let mut rest = rest;
    while let Some(end) = rest.iter().position(|&b| b == b'\n') {
        let line = &rest[..end];
        rest = &rest[end + 1..];
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    Some((status, headers, rest))
}

fuzz_target!(|data: &[u8]| {
    let Some((status, headers, body)) = split(data) else {
        return;
    };
    match Upstream::new().classify(status, &headers, body) {
        Ok(()) => assert!(
            status.is_success() || status == StatusCode::NOT_MODIFIED,
            "{status}"
        ),
        Err(failure) => {
            assert!(!status.is_success(), "{status} is a failure");
            let policy = StatusPolicy::builder().show_causes(4).build().unwrap();
            common::check_problem(policy.response("upstream", &failure));
        }
    }
});
