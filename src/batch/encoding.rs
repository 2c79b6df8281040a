//! Bodies and header values between HTTP bytes and a batch's JSON, both
//! ways: a JSON media type as JSON, `text/*` as a string, anything else as
//! base64; header bytes as the characters of the same value (ISO 8859-1),
//! as `fetch`'s `ByteString` reads them.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue};
use serde_json::Value;

use super::Dialect;
use crate::problem::media_type;

/// How a body of some media type is carried in a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carried {
    /// `application/json` or any `+json` type: embedded as JSON.
    Json,
    /// `text/*`: a JSON string.
    Text,
    /// Anything else, and a body without a type: a base64 string.
    Base64,
}

impl Carried {
    fn of(content_type: Option<&HeaderValue>) -> Self {
        // The type most sent and answered, told without taking it apart:
        // it has no parameters, no white space and is ASCII, so the media
        // type read below would be itself, `application` and `json`.
        if content_type
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"application/json"))
        {
            return Self::Json;
        }
        let Some(media) = content_type.and_then(media_type) else {
            return Self::Base64;
        };
        let (kind, subtype) = media.split_once('/').unwrap_or((media, ""));
        let suffix = subtype.rsplit_once('+').map(|(_, suffix)| suffix);
        if (kind.eq_ignore_ascii_case("application") && subtype.eq_ignore_ascii_case("json"))
            || suffix.is_some_and(|suffix| suffix.eq_ignore_ascii_case("json"))
        {
            Self::Json
        } else if kind.eq_ignore_ascii_case("text") {
            Self::Text
        } else {
            Self::Base64
        }
    }
}

/// A part's request body as the bytes to send, read by its `Content-Type`.
pub(super) fn request_body(content_type: &HeaderValue, body: &Value) -> Result<Bytes, String> {
    match (Carried::of(Some(content_type)), body) {
        (Carried::Json, body) => serde_json::to_vec(body)
            .map(Bytes::from)
            .map_err(|_| "The body cannot be written as JSON.".to_owned()),
        (Carried::Text, Value::String(text)) => Ok(Bytes::from(text.clone())),
        (Carried::Text, _) => Err("A text body must be given as a string.".to_owned()),
        (Carried::Base64, Value::String(encoded)) => decode_base64(encoded).map(Bytes::from),
        (Carried::Base64, _) => {
            Err("A body that is neither JSON nor text must be given as a base64 string.".to_owned())
        }
    }
}

/// Decodes base64 in either alphabet (standard, as the Graph SDKs send it,
/// or base64url, as OData asks), padded or not.
pub(super) fn decode_base64(encoded: &str) -> Result<Vec<u8>, String> {
    let indifferent =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let url_safe = encoded.contains(['-', '_']);
    let engine = if url_safe {
        GeneralPurpose::new(&alphabet::URL_SAFE, indifferent)
    } else {
        GeneralPurpose::new(&alphabet::STANDARD, indifferent)
    };
    engine
        .decode(encoded)
        .map_err(|_| "The body is not valid base64 (standard or base64url).".to_owned())
}

/// A part's answer body as it goes into the batch's JSON: JSON embedded
/// when its type says JSON and it is, text as a string when it is UTF-8,
/// anything else as the dialect's base64.
pub(super) fn answer_body(headers: &HeaderMap, body: &Bytes, dialect: Dialect) -> Value {
    let carried = Carried::of(headers.get(CONTENT_TYPE));
    if carried == Carried::Json {
        if let Ok(value) = serde_json::from_slice(body) {
            return value;
        }
    }
    if carried != Carried::Base64 {
        if let Ok(text) = std::str::from_utf8(body) {
            return Value::String(text.to_owned());
        }
    }
    Value::String(dialect.base64(body))
}

/// A header value's bytes as text, each byte the character of the same
/// value: ASCII as itself, 0x80-0xFF as U+0080-U+00FF. Nothing is lost.
/// Written as it goes, without a copy: runs of ASCII as they are, each
/// other byte as its character.
pub(super) struct HeaderText<'a>(pub(super) &'a HeaderValue);

impl std::fmt::Display for HeaderText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut rest = self.0.as_bytes();
        while !rest.is_empty() {
            let ascii = rest.iter().take_while(|byte| byte.is_ascii()).count();
            let (run, after) = rest.split_at(ascii);
            // A run of ASCII bytes is UTF-8.
            f.write_str(std::str::from_utf8(run).map_err(|_| std::fmt::Error)?)?;
            let Some((&byte, after)) = after.split_first() else {
                break;
            };
            std::fmt::Write::write_char(f, char::from(byte))?;
            rest = after;
        }
        Ok(())
    }
}

/// The reverse of [`HeaderText`]: a part's header value as bytes, or
/// `None` when it holds a character above U+00FF or one a header cannot.
pub(super) fn header_value(text: &str) -> Option<HeaderValue> {
    // ASCII text is its own bytes: read as it is, without a copy first.
    if text.is_ascii() {
        return HeaderValue::from_bytes(text.as_bytes()).ok();
    }
    let bytes = text
        .chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect::<Option<Vec<u8>>>()?;
    HeaderValue::from_bytes(&bytes).ok()
}

/// `text` as the bytes of `within` it is a slice of, shared rather than
/// copied; `None` when it is not a slice of `within` (a string unescaped or
/// made anew). A part's url and header values, written without escapes,
/// are slices of the batch body.
pub(super) fn slice_of(within: &Bytes, text: &str) -> Option<Bytes> {
    let start = text.as_ptr().addr().checked_sub(within.as_ptr().addr())?;
    let end = start.checked_add(text.len())?;
    (end <= within.len()).then(|| within.slice(start..end))
}

/// A part's header value, as [`header_value`] reads it, shared with
/// `within` when it is ASCII and a slice of it.
pub(super) fn header_value_in(within: &Bytes, text: &str) -> Option<HeaderValue> {
    match slice_of(within, text) {
        Some(shared) if text.is_ascii() => HeaderValue::from_maybe_shared(shared).ok(),
        _ => header_value(text),
    }
}

/// Whether a `Content-Type` is JSON: `application/json` or any `+json`
/// structured syntax suffix.
pub(super) fn is_json(content_type: &HeaderValue) -> bool {
    Carried::of(Some(content_type)) == Carried::Json
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn typed(content_type: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers
    }

    #[test]
    fn media_types_are_carried_as_the_formats_say() {
        let of = |s: &'static str| Carried::of(Some(&HeaderValue::from_static(s)));
        assert_eq!(of("application/json"), Carried::Json);
        assert_eq!(
            of("application/merge-patch+json; charset=utf-8"),
            Carried::Json
        );
        assert_eq!(of("Application/Problem+JSON"), Carried::Json);
        assert_eq!(of("text/plain; charset=utf-8"), Carried::Text);
        assert_eq!(of("text/csv"), Carried::Text);
        assert_eq!(of("application/octet-stream"), Carried::Base64);
        assert_eq!(of("image/png"), Carried::Base64);
        assert_eq!(of("json"), Carried::Base64);
        assert_eq!(Carried::of(None), Carried::Base64);
    }

    #[test]
    fn request_bodies_are_decoded_by_their_type() {
        let json_type = HeaderValue::from_static("application/json");
        assert_eq!(
            request_body(&json_type, &json!({"a": 1})).unwrap(),
            Bytes::from_static(b"{\"a\":1}")
        );
        let text = HeaderValue::from_static("text/plain");
        assert_eq!(
            request_body(&text, &json!("caf\u{e9}")).unwrap(),
            "caf\u{e9}".as_bytes()
        );
        assert!(request_body(&text, &json!(1)).is_err());
        let binary = HeaderValue::from_static("application/octet-stream");
        for encoded in ["+/+/", "-_-_", "+/+/", "aGk=", "aGk"] {
            assert!(request_body(&binary, &json!(encoded)).is_ok(), "{encoded}");
        }
        assert_eq!(
            request_body(&binary, &json!("-_-_")).unwrap(),
            [0xfb, 0xff, 0xbf][..]
        );
        assert_eq!(request_body(&binary, &json!("aGk")).unwrap(), b"hi"[..]);
        assert!(request_body(&binary, &json!("not base64!")).is_err());
        assert!(request_body(&binary, &json!("+/-_")).is_err());
        assert!(request_body(&binary, &json!({"a": 1})).is_err());
    }

    #[test]
    fn answer_bodies_say_what_they_are() {
        let dialect = Dialect::Graph;
        assert_eq!(
            answer_body(
                &typed("application/json"),
                &Bytes::from_static(b"{\"a\":1}"),
                dialect
            ),
            json!({"a": 1})
        );
        assert_eq!(
            answer_body(&typed("text/plain"), &Bytes::from_static(b"hello"), dialect),
            json!("hello")
        );
        // UTF-8 bytes of a binary type are still binary: a client decodes
        // the string as base64.
        assert_eq!(
            answer_body(
                &typed("application/octet-stream"),
                &Bytes::from_static(b"hello"),
                dialect
            ),
            json!("aGVsbG8=")
        );
        assert_eq!(
            answer_body(
                &HeaderMap::new(),
                &Bytes::from_static(&[0xfb, 0xff]),
                Dialect::OData
            ),
            json!("-_8")
        );
        // A text body in another charset cannot be a JSON string as it is.
        assert_eq!(
            answer_body(
                &typed("text/plain; charset=latin1"),
                &Bytes::from_static(b"caf\xe9"),
                dialect
            ),
            json!("Y2Fm6Q==")
        );
    }

    #[test]
    fn header_bytes_survive_both_ways() {
        let value = HeaderValue::from_bytes(b"caf\xe9").unwrap();
        let text = HeaderText(&value).to_string();
        assert_eq!(text, "caf\u{e9}");
        assert_eq!(header_value(&text).unwrap(), value);
        assert!(header_value("\u{20ac}").is_none());
        assert!(header_value("a\nb").is_none());
    }

    #[test]
    fn values_within_the_body_are_shared_and_read_alike() {
        let body = Bytes::from_static(
            b"{\"a\": \"text/plain\", \"b\": \"caf\xc3\xa9\", \"c\": \"a\\nb\"}",
        );
        let text = std::str::from_utf8(&body).unwrap();
        let within = |from: usize, len: usize| &text[from..from + len];
        let plain = within(7, 10);
        assert_eq!(plain, "text/plain");
        assert_eq!(slice_of(&body, plain).unwrap(), plain.as_bytes());
        let copy = plain.to_owned();
        assert!(slice_of(&body, &copy).is_none());
        assert!(slice_of(&body, "").is_none() || slice_of(&body, "").unwrap().is_empty());
        for value in [
            plain,
            within(26, 5),
            within(40, 4),
            copy.as_str(),
            "\u{20ac}",
            "a\u{7f}",
        ] {
            assert_eq!(
                header_value_in(&body, value),
                header_value(value),
                "{value:?}"
            );
        }
    }

    #[test]
    fn json_told_at_once_is_json_as_it_was_told_before() {
        for (value, carried) in [
            ("application/json", Carried::Json),
            ("Application/JSON", Carried::Json),
            ("application/json; charset=utf-8", Carried::Json),
            (" application/json ", Carried::Json),
            ("application/jsonx", Carried::Base64),
            ("application/json+x", Carried::Base64),
            ("text/json", Carried::Text),
        ] {
            assert_eq!(
                Carried::of(Some(&HeaderValue::from_static(value))),
                carried,
                "{value}"
            );
        }
    }
}
