//! The reason phrase of a status, as a problem's `title`.

use http::StatusCode;

/// The reason phrase RFC 9110 §15 gives `status` (RFC 9457 §4.2.1: the
/// title of an `about:blank` problem SHOULD be it). The `http` crate keeps
/// older phrases for two statuses, renamed by RFC 9110.
pub(crate) fn reason_phrase(status: StatusCode) -> Option<&'static str> {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => Some("Content Too Large"),
        StatusCode::UNPROCESSABLE_ENTITY => Some("Unprocessable Content"),
        _ => status.canonical_reason(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_are_rfc_9110s() {
        assert_eq!(
            reason_phrase(StatusCode::PAYLOAD_TOO_LARGE),
            Some("Content Too Large")
        );
        assert_eq!(
            reason_phrase(StatusCode::UNPROCESSABLE_ENTITY),
            Some("Unprocessable Content")
        );
        assert_eq!(
            reason_phrase(StatusCode::FAILED_DEPENDENCY),
            Some("Failed Dependency")
        );
        assert_eq!(reason_phrase(StatusCode::from_u16(599).unwrap()), None);
    }
}
