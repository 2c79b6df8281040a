//! Reading a request id safe to echo into a problem body.

use http::{HeaderName, HeaderValue};

/// The longest request id echoed back.
pub(crate) const MAX_LEN: usize = 128;

/// The default header a request id is read from; tower-http's
/// `SetRequestIdLayer::x_request_id` sets it.
pub(crate) static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A request id's value, when it is one that is safe to echo: 1 to 128
/// characters of ASCII letters, digits and `-_.:/+=@`. Anything else (control
/// characters, spaces, quotes, non-ASCII bytes, an overlong value) is not
/// echoed at all rather than altered.
pub(crate) fn sanitized_value(value: &HeaderValue) -> Option<&str> {
    let value = value.as_bytes();
    let safe = !value.is_empty()
        && value.len() <= MAX_LEN
        && value
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-_.:/+=@".contains(&b));
    // Only ASCII bytes passed, so this conversion always succeeds.
    safe.then(|| std::str::from_utf8(value).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(value: &[u8]) -> Option<String> {
        sanitized_value(&HeaderValue::from_bytes(value).unwrap()).map(str::to_owned)
    }

    #[test]
    fn common_id_forms_are_echoed() {
        for good in [
            "3f2a9c1e-7b4d-4e5f-8a6b-1c2d3e4f5a6b",
            "01HF8Z3K9Q",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "req_42",
            "YWJj+/==",
        ] {
            assert_eq!(id(good.as_bytes()).as_deref(), Some(good));
        }
    }

    #[test]
    fn unsafe_ids_are_dropped() {
        let long = "a".repeat(MAX_LEN + 1);
        for bad in [
            &b"has space"[..],
            b"quote\"d",
            b"back\\slash",
            b"<script>",
            b"\xff\xfe",
            b"tab\there",
            long.as_bytes(),
        ] {
            assert_eq!(id(bad), None, "{bad:?}");
        }
        assert_eq!(
            id("a".repeat(MAX_LEN).as_bytes()).map(|s| s.len()),
            Some(MAX_LEN)
        );
    }
}
