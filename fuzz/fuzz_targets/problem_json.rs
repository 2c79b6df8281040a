//! problem+json parsing: whatever parses as a `Problem` has an HTTP status
//! or none, writes back to JSON that parses to the same problem, and renders
//! as JSON and XML problems whose status is the response's.

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use tower_failed_dependency::problem::ProblemFormat;
use tower_failed_dependency::Problem;

fuzz_target!(|data: &[u8]| {
    let Ok(problem) = serde_json::from_slice::<Problem>(data) else {
        return;
    };
    if let Some(status) = problem.status() {
        assert!((100..=599).contains(&status.as_u16()), "{status}");
    }
    let written = serde_json::to_vec(&problem).expect("a problem writes");
    let again: Problem = serde_json::from_slice(&written).expect("what was written reads");
    assert_eq!(serde_json::to_vec(&again).unwrap(), written, "round trip");
    common::check_body(http::Response::from(problem.clone()));
    common::check_body(problem.into_response_as(ProblemFormat::Xml));
});
