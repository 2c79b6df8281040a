//! Media types: the two forms of a problem, and reading a `Content-Type`.

use http::HeaderValue;

/// The media type of problems in JSON, the form everyone gets by default.
pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

/// The media type of problems in XML (RFC 9457, Appendix B).
pub(crate) const PROBLEM_XML: &str = "application/problem+xml";

/// The media type of a `Content-Type` value, without its parameters (as
/// sent: compare it without case).
pub(crate) fn media_type(content_type: &HeaderValue) -> Option<&str> {
    let text = content_type.to_str().ok()?;
    text.split(';').next().map(str::trim)
}

/// The most `Accept` fields read to choose a problem's form; later ones are
/// not. Clients send one; a proxy may add another.
#[cfg_attr(not(feature = "xml"), allow(dead_code))]
pub(crate) const MAX_ACCEPT_FIELDS: usize = 2;

/// The most media ranges of those fields read; later ones are not.
#[cfg_attr(not(feature = "xml"), allow(dead_code))]
pub(crate) const MAX_ACCEPT_RANGES: usize = 64;

/// Whether a `Content-Type` is `application/problem+json`.
pub(crate) fn is_problem_json(content_type: &HeaderValue) -> bool {
    media_type(content_type).is_some_and(|media| media.eq_ignore_ascii_case(PROBLEM_JSON))
}

/// Whether a `Content-Type` is a problem, in either form.
pub(crate) fn is_problem(content_type: &HeaderValue) -> bool {
    media_type(content_type).is_some_and(|media| {
        media.eq_ignore_ascii_case(PROBLEM_JSON) || media.eq_ignore_ascii_case(PROBLEM_XML)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_read_without_parameters_or_case() {
        let value = |s: &'static str| HeaderValue::from_static(s);
        assert!(is_problem_json(&value(
            "Application/Problem+JSON; charset=utf-8"
        )));
        assert!(!is_problem_json(&value("application/json")));
        assert_eq!(media_type(&value(" text/html ;q=1")), Some("text/html"));
    }
}
