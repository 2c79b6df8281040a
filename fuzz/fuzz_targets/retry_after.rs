//! `Retry-After` parsing: never a panic; delay-seconds read exactly.

#![no_main]

use http::header::RETRY_AFTER;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use tower_failed_dependency::upstream::retry_after;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(RETRY_AFTER, value);
    let delay = retry_after(&headers);
    // Delay-seconds: digits, with optional whitespace (SP, HTAB) around.
    let trimmed = data.trim_ascii();
    if !trimmed.is_empty() && trimmed.iter().all(u8::is_ascii_digit) {
        let seconds = std::str::from_utf8(trimmed).unwrap().parse::<u64>().ok();
        assert_eq!(delay.map(|d| d.as_secs()), seconds);
    }
});
