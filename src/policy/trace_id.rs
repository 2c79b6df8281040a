//! The trace id a problem carries: the current OpenTelemetry span's (with
//! the `opentelemetry` feature), or the one in the request's W3C
//! `traceparent`.

use std::fmt;

use http::HeaderValue;

/// A W3C trace-id: 32 lowercase hex digits, not all zero.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct TraceId([u8; 32]);

impl TraceId {
    /// The trace-id of a valid `traceparent` value (W3C Trace Context §3.2):
    /// `version-traceid-parentid-flags`, lowercase hex, neither id all zero,
    /// version `ff` refused; a version above `00` may carry more after a
    /// dash. Anything else is no trace id, never a part of the header.
    pub(crate) fn from_traceparent(value: &HeaderValue) -> Option<Self> {
        let bytes = value.as_bytes().trim_ascii();
        let field = |at: usize, len: usize| bytes.get(at..at + len).filter(|f| is_hex(f));
        let version = field(0, 2)?;
        let trace = field(3, 32)?;
        let parent = field(36, 16)?;
        field(53, 2)?;
        let dashes = [2, 35, 52].iter().all(|&at| bytes[at] == b'-');
        let end_ok = match (version, bytes.len()) {
            (b"ff", _) => false,
            (b"00", len) => len == 55,
            (_, len) => len == 55 || bytes[55] == b'-',
        };
        let zero = |f: &[u8]| f.iter().all(|&b| b == b'0');
        if !dashes || !end_ok || zero(trace) || zero(parent) {
            return None;
        }
        let mut id = [0; 32];
        id.copy_from_slice(trace);
        Some(Self(id))
    }

    /// The trace id of the current span's OpenTelemetry context, when it has
    /// a valid one.
    #[cfg(feature = "opentelemetry")]
    pub(crate) fn current() -> Option<Self> {
        use opentelemetry::trace::TraceContextExt;
        use tracing_opentelemetry::OpenTelemetrySpanExt;

        let context = tracing::Span::current().context();
        let span = context.span();
        let span_context = span.span_context();
        if !span_context.is_valid() {
            return None;
        }
        let mut id = [0; 32];
        let hex = format!("{:032x}", span_context.trace_id());
        id.copy_from_slice(hex.as_bytes().get(..32)?);
        Some(Self(id))
    }

    /// Without the `opentelemetry` feature there is no span context.
    #[cfg(not(feature = "opentelemetry"))]
    pub(crate) fn current() -> Option<Self> {
        None
    }

    /// The trace id for a problem: the current span's, or else the one in
    /// `traceparent`.
    pub(crate) fn find(traceparent: Option<&HeaderValue>) -> Option<Self> {
        Self::current().or_else(|| traceparent.and_then(Self::from_traceparent))
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only lowercase hex digits are kept, so this always succeeds.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TraceId").field(&self.as_str()).finish()
    }
}

fn is_hex(field: &[u8]) -> bool {
    field
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(value: &str) -> Option<String> {
        TraceId::from_traceparent(&HeaderValue::from_str(value).unwrap())
            .map(|id| id.as_str().to_owned())
    }

    #[test]
    fn the_trace_id_of_a_valid_traceparent() {
        assert_eq!(
            id("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(
            id(" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00 ").as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        // A later version may carry more after a dash.
        assert_eq!(
            id("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes").as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
    }

    #[test]
    fn anything_else_is_no_trace_id() {
        for bad in [
            "",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz",
        ] {
            assert_eq!(id(bad), None, "{bad:?}");
        }
    }
}
