//! The two spellings of a JSON batch answer.

use base64::Engine;
use http::HeaderName;

/// How the parts' answers are written. Microsoft Graph and OData JSON 4.01
/// agree on the shape of a batch but not on two details of its answers:
/// how header names are spelled and which base64 alphabet carries a binary
/// body. The requests of either are read alike: both alphabets are taken,
/// padded or not, and header names in any case.
///
/// | | header names | binary bodies | clients that need it |
/// |---|---|---|---|
/// | [`Graph`](Dialect::Graph) (default) | `Content-Type` | standard base64, padded | the Microsoft Graph JavaScript SDK (reads only `Content-Type`; decodes with `atob`) and the Python core SDK (`b64decode`) |
/// | [`OData`](Dialect::OData) | `content-type` | base64url, unpadded | OData clients that follow JSON 4.01 §19 to the letter |
///
/// Graph is the default because the clients that send `dependsOn` in the
/// wild are the Graph SDKs, and both fail on OData's spelling: the
/// JavaScript SDK reads every JSON body back as `"[object Object]"`, and
/// both SDKs refuse the `-` and `_` of base64url.
///
/// ```
/// use tower_failed_dependency::batch::{BatchLayer, Dialect};
///
/// let layer = BatchLayer::new().dialect(Dialect::OData);
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Dialect {
    /// Microsoft Graph's: each word of a header name capitalised
    /// (`Content-Type`, `Retry-After`; `ETag`, `OData-Version` and
    /// `WWW-Authenticate` as they are usually spelled), binary bodies in
    /// standard base64 with padding.
    #[default]
    Graph,
    /// OData JSON 4.01's: header names in lower case, binary bodies in
    /// base64url without padding.
    OData,
}

/// A header name as a dialect spells it: as given, or each word
/// capitalised (`Content-Type`).
pub(super) enum Spelled<'a> {
    As(&'a str),
    Capitalised(&'a str),
}

impl std::fmt::Display for Spelled<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::As(spelled) => f.write_str(spelled),
            Self::Capitalised(name) => {
                for (i, word) in name.split('-').enumerate() {
                    if i > 0 {
                        f.write_str("-")?;
                    }
                    let mut chars = word.chars();
                    if let Some(first) = chars.next() {
                        std::fmt::Write::write_char(f, first.to_ascii_uppercase())?;
                        f.write_str(chars.as_str())?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl<'a> Spelled<'a> {
    /// The spelling as text, written into `buffer` when it must be made (a
    /// name of at most 64 bytes, as header names are): `None` for a longer
    /// one, which is written as it goes instead.
    pub(super) fn text<'b>(&self, buffer: &'b mut [u8; 64]) -> Option<&'b str>
    where
        'a: 'b,
    {
        let name = match *self {
            Self::As(spelled) => return Some(spelled),
            Self::Capitalised(name) => name,
        };
        let written = buffer.get_mut(..name.len())?;
        // A header name is ASCII, so each word's first character is its
        // first byte.
        let mut first = true;
        for (to, &byte) in written.iter_mut().zip(name.as_bytes()) {
            *to = if first {
                byte.to_ascii_uppercase()
            } else {
                byte
            };
            first = byte == b'-';
        }
        std::str::from_utf8(written).ok()
    }
}

impl Dialect {
    /// `name` as this dialect spells it in a part's `headers`.
    pub(super) fn spelled(self, name: &HeaderName) -> Spelled<'_> {
        match self {
            // `HeaderName` is lower case already.
            Self::OData => Spelled::As(name.as_str()),
            // Names whose usual spelling is not each word capitalised, as
            // the Graph service itself writes them.
            Self::Graph => match name.as_str() {
                "etag" => Spelled::As("ETag"),
                "www-authenticate" => Spelled::As("WWW-Authenticate"),
                "odata-version" => Spelled::As("OData-Version"),
                "odata-entityid" => Spelled::As("OData-EntityId"),
                // The names most answers have, spelled once here.
                "content-type" => Spelled::As("Content-Type"),
                "content-length" => Spelled::As("Content-Length"),
                "location" => Spelled::As("Location"),
                other => Spelled::Capitalised(other),
            },
        }
    }

    /// `bytes` as this dialect's base64.
    pub(super) fn base64(self, bytes: &[u8]) -> String {
        match self {
            Self::Graph => base64::engine::general_purpose::STANDARD.encode(bytes),
            Self::OData => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_capitalises_each_word_and_odata_keeps_lower_case() {
        let name = HeaderName::from_static("content-type");
        assert_eq!(Dialect::Graph.spelled(&name).to_string(), "Content-Type");
        assert_eq!(Dialect::OData.spelled(&name).to_string(), "content-type");
        let name = HeaderName::from_static("x-request-id");
        assert_eq!(Dialect::Graph.spelled(&name).to_string(), "X-Request-Id");
        for (name, graph) in [("etag", "ETag"), ("odata-version", "OData-Version")] {
            let name = HeaderName::from_static(name);
            assert_eq!(Dialect::Graph.spelled(&name).to_string(), graph);
            assert_eq!(Dialect::OData.spelled(&name).to_string(), name.as_str());
        }
    }

    #[test]
    fn a_spelling_made_in_a_buffer_is_the_one_written() {
        let mut buffer = [0; 64];
        for name in [
            "content-type",
            "x--request-id-",
            "etag",
            "a",
            "x-ms-request-id",
        ] {
            let name = HeaderName::from_static(name);
            for dialect in [Dialect::Graph, Dialect::OData] {
                let spelled = dialect.spelled(&name);
                assert_eq!(spelled.text(&mut buffer), Some(&*spelled.to_string()));
            }
        }
        let long = HeaderName::from_bytes("x".repeat(65).as_bytes()).unwrap();
        assert_eq!(Dialect::Graph.spelled(&long).text(&mut buffer), None);
    }

    #[test]
    fn the_alphabets_differ_where_the_clients_do() {
        let bytes = [0xfb, 0xff, 0xbf];
        assert_eq!(Dialect::Graph.base64(&bytes), "+/+/");
        assert_eq!(Dialect::OData.base64(&bytes), "-_-_");
        assert_eq!(Dialect::Graph.base64(b"hi"), "aGk=");
        assert_eq!(Dialect::OData.base64(b"hi"), "aGk");
    }
}
