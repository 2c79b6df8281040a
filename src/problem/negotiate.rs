//! Which form of a problem the client prefers, read from `Accept`: with
//! the `xml` feature, [`ProblemFormat`].

use http::header::ACCEPT;
use http::{HeaderMap, HeaderValue};
use mediatype::{names, MediaType, MediaTypeList, ReadParams};

use super::media::{MAX_ACCEPT_FIELDS, MAX_ACCEPT_RANGES, PROBLEM_JSON, PROBLEM_XML};

/// The form a problem is sent in: `application/problem+json` or RFC 9457's
/// Appendix B `application/problem+xml`.
///
/// ```
/// use http::{header::ACCEPT, HeaderMap, HeaderValue};
/// use tower_failed_dependency::problem::ProblemFormat;
///
/// let mut headers = HeaderMap::new();
/// headers.insert(
///     ACCEPT,
///     HeaderValue::from_static("application/problem+json;q=0.5, application/problem+xml"),
/// );
/// assert_eq!(ProblemFormat::preferred(&headers), ProblemFormat::Xml);
/// assert_eq!(ProblemFormat::preferred(&HeaderMap::new()), ProblemFormat::Json);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ProblemFormat {
    /// `application/problem+json`, the form everyone gets by default.
    #[default]
    Json,
    /// `application/problem+xml` (namespace `urn:ietf:rfc:7807`).
    Xml,
}

impl ProblemFormat {
    /// The form a request's `Accept` fields prefer. XML only when the
    /// quality they give `application/problem+xml` is higher than the one
    /// they give `application/problem+json`, each read from the most specific
    /// range that matches it (`*/*`, `application/*`, then the type itself).
    /// Parameters other than `q` are not compared; a range that does not
    /// parse, or whose `q` is not a valid qvalue, is skipped. No `Accept`, a
    /// tie, or neither form acceptable: JSON. The work is bounded whatever
    /// the request sent: the first 2 fields are read (clients send one; a
    /// proxy may add another), and the first 64 ranges of those.
    pub fn preferred(headers: &HeaderMap) -> Self {
        Self::from_values(&headers.get_all(ACCEPT))
    }

    pub(crate) fn from_values<'a, I>(values: I) -> Self
    where
        I: IntoIterator<Item = &'a HeaderValue> + Copy,
    {
        // Only a range naming the XML form, or naming the JSON form to rank
        // it below a wildcard, can make XML win; without one both tie, and
        // the fields need not be parsed.
        let fields = || values.into_iter().take(MAX_ACCEPT_FIELDS);
        if !fields().any(names_a_problem_form) {
            return Self::Json;
        }
        let (mut json, mut xml) = (Weight::NONE, Weight::NONE);
        let ranges = fields()
            .filter_map(|value| value.to_str().ok())
            .flat_map(MediaTypeList::new)
            .take(MAX_ACCEPT_RANGES)
            .filter_map(Result::ok);
        for range in ranges {
            let Some(quality) = quality(&range) else {
                continue;
            };
            json.consider(&range, names::JSON, quality);
            xml.consider(&range, names::XML, quality);
        }
        if xml.quality > json.quality {
            Self::Xml
        } else {
            Self::Json
        }
    }

    /// The media type of this form.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Json => PROBLEM_JSON,
            Self::Xml => PROBLEM_XML,
        }
    }
}

/// Whether a field mentions `xml` or `problem`, in any case.
fn names_a_problem_form(value: &HeaderValue) -> bool {
    let mut rest = value.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        // `| 0x20` folds the ASCII letters to lower case.
        let found = match first | 0x20 {
            b'x' => tail.get(..2).is_some_and(|t| t.eq_ignore_ascii_case(b"ml")),
            b'p' => tail
                .get(..6)
                .is_some_and(|t| t.eq_ignore_ascii_case(b"roblem")),
            _ => false,
        };
        if found {
            return true;
        }
        rest = tail;
    }
    false
}

/// The quality a list of ranges gives one of the problem types, and how
/// specific the range it came from was.
#[derive(Debug, Clone, Copy)]
struct Weight {
    /// 0: no range matched yet; 1: `*/*`; 2: `application/*`; 3: exact.
    specificity: u8,
    /// In thousandths, as qvalues have at most three decimals.
    quality: u16,
}

impl Weight {
    const NONE: Self = Self {
        specificity: 0,
        quality: 0,
    };

    /// Takes `range` into account for `application/problem+{suffix}`. A more
    /// specific range overrides a less specific one; of two equally specific
    /// ones the higher quality counts.
    fn consider(&mut self, range: &MediaType<'_>, suffix: mediatype::Name<'_>, quality: u16) {
        let specificity = if range.ty == names::_STAR && range.subty == names::_STAR {
            1
        } else if range.ty != names::APPLICATION {
            0
        } else if range.subty == names::_STAR && range.suffix.is_none() {
            2
        } else if range.subty == names::PROBLEM && range.suffix == Some(suffix) {
            3
        } else {
            0
        };
        if specificity > self.specificity {
            *self = Self {
                specificity,
                quality,
            };
        } else if specificity == self.specificity && specificity > 0 {
            self.quality = self.quality.max(quality);
        }
    }
}

/// A range's `q` in thousandths: 1000 when absent, `None` when it is not a
/// qvalue (`0`, `1`, `0.` and up to three digits, `1.` and up to three 0s).
fn quality(range: &MediaType<'_>) -> Option<u16> {
    let Some(value) = range.get_param(names::Q) else {
        return Some(1000);
    };
    let value = value.as_str();
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |sum, digit| sum * 10 + u16::from(digit - b'0'));
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::Accept;

    fn preferred(accept: &[&'static str]) -> ProblemFormat {
        let mut headers = HeaderMap::new();
        for value in accept {
            headers.append(ACCEPT, HeaderValue::from_static(value));
        }
        let format = ProblemFormat::preferred(&headers);
        assert_eq!(
            Accept::of(&headers).prefers_xml(),
            format == ProblemFormat::Xml,
            "{accept:?}"
        );
        format
    }

    #[test]
    fn only_the_first_2_fields_and_64_ranges_are_read() {
        let mut fields = vec!["text/html"; 2];
        fields.push("application/problem+xml");
        assert_eq!(preferred(&fields), ProblemFormat::Json, "the 3rd field");
        fields.swap(1, 2);
        assert_eq!(preferred(&fields), ProblemFormat::Xml, "the 2nd field");

        let late = format!("{}application/problem+xml", "text/html, ".repeat(64));
        let early = format!("{}application/problem+xml", "text/html, ".repeat(63));
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        assert_eq!(
            preferred(&[leak(late)]),
            ProblemFormat::Json,
            "the 65th range"
        );
        assert_eq!(
            preferred(&[leak(early)]),
            ProblemFormat::Xml,
            "the 64th range"
        );
    }

    #[test]
    fn xml_only_when_preferred() {
        use ProblemFormat::{Json, Xml};
        let cases: &[(&[&str], ProblemFormat)] = &[
            (&[], Json),
            (&["application/problem+xml"], Xml),
            (&["APPLICATION/Problem+XML"], Xml),
            (&["application/problem+json"], Json),
            (&["application/problem+xml, application/problem+json"], Json),
            (
                &["application/problem+json;q=0.9, application/problem+xml"],
                Xml,
            ),
            (
                &["application/problem+xml;q=0.9, application/problem+json"],
                Json,
            ),
            (&["application/problem+xml;q=0.5, */*;q=0.1"], Xml),
            (&["application/problem+xml, */*;q=0"], Xml),
            (&["*/*"], Json),
            (&["application/*"], Json),
            (&["text/html"], Json),
            (&["application/problem+xml;q=0"], Json),
            (&["application/problem+xml;q=0, */*"], Json),
            (&["application/problem+json;q=0, */*"], Xml),
            (&["application/problem+json;q=0, application/*;q=0.2"], Xml),
            (
                &["application/problem+json;q=0.5", "application/problem+xml"],
                Xml,
            ),
            (&["application/problem+xml; charset=utf-8"], Xml),
            (&["application/xml"], Json),
            (&["APPLICATION/PROBLEM+JSON;q=0", "*/*"], Xml),
            (&["text/html, application/json, */*;q=0.1"], Json),
        ];
        for (accept, expected) in cases {
            assert_eq!(preferred(accept), *expected, "{accept:?}");
        }
    }

    #[test]
    fn bad_ranges_and_qvalues_are_skipped() {
        use ProblemFormat::{Json, Xml};
        let cases: &[(&[&str], ProblemFormat)] = &[
            (&["application/problem+xml;q=2"], Json),
            (&["application/problem+xml;q=0.0001"], Json),
            (&["application/problem+xml;q=-1"], Json),
            (&["application/problem+xml;q=1.5"], Json),
            (&["application/problem+xml;q=abc"], Json),
            (
                &["application/problem+xml;q=1.000, application/problem+json;q=0.999"],
                Xml,
            ),
            (&["nonsense, ,,;;, application/problem+xml"], Xml),
            (&["application/problem+xml", "garbage/"], Xml),
        ];
        for (accept, expected) in cases {
            let mut headers = HeaderMap::new();
            for value in *accept {
                if let Ok(value) = HeaderValue::from_str(value) {
                    headers.append(ACCEPT, value);
                }
            }
            assert_eq!(ProblemFormat::preferred(&headers), *expected, "{accept:?}");
        }
    }

    #[test]
    fn non_utf8_accept_is_ignored() {
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_bytes(b"application/\xffproblem+xml").unwrap(),
        );
        assert_eq!(ProblemFormat::preferred(&headers), ProblemFormat::Json);
        assert!(!Accept::of(&headers).prefers_xml());
    }
}
