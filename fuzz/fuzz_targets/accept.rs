//! `Accept` negotiation: never a panic; XML only when a field names a
//! problem form.

#![no_main]

use http::header::ACCEPT;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use tower_failed_dependency::problem::ProblemFormat;

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for field in data.split(|&b| b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(field) {
            headers.append(ACCEPT, value);
        }
    }
    let format = ProblemFormat::preferred(&headers);
    let lower = data.to_ascii_lowercase();
    let names = |word: &[u8]| lower.windows(word.len()).any(|w| w == word);
    if format == ProblemFormat::Xml {
        assert!(names(b"xml") || names(b"problem"));
    }
});
