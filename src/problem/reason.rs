//! The reason phrase of a status, as a problem's `title`.

use std::fmt;

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

/// A status with its RFC 9110 phrase, `422 Unprocessable Content`, as a
/// status line and the crate's messages write it (`http`'s own `Display`
/// writes the older phrases).
#[derive(Debug, Clone, Copy)]
pub(crate) struct WithPhrase(pub(crate) StatusCode);

impl fmt::Display for WithPhrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match reason_phrase(self.0) {
            Some(phrase) => write!(f, "{} {phrase}", self.0.as_u16()),
            None => write!(f, "{}", self.0.as_u16()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_written_with_rfc_9110s_phrases() {
        let written = |code| WithPhrase(StatusCode::from_u16(code).unwrap()).to_string();
        assert_eq!(written(413), "413 Content Too Large");
        assert_eq!(written(422), "422 Unprocessable Content");
        assert_eq!(written(424), "424 Failed Dependency");
        assert_eq!(written(599), "599");
    }

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
