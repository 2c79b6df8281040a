//! What a problem answer needs of the request's `Accept`, kept from the
//! call until a problem is rendered (often never).

use http::HeaderMap;
#[cfg(feature = "xml")]
use http::{header::ACCEPT, HeaderValue};

#[cfg(feature = "xml")]
use super::media::MAX_ACCEPT_FIELDS;

/// The request's `Accept`, as far as the form of a problem goes: cheap
/// clones of its fields (their bytes are shared, not copied), read only
/// when a problem is rendered, so that what `Accept` holds costs a passing
/// request the same whatever it is. At most `MAX_ACCEPT_FIELDS` fields are
/// kept. Without the `xml` feature there is one form, nothing is kept and
/// the type is empty, so that it costs a passing request nothing to carry.
#[derive(Debug, Clone, Default)]
pub(crate) struct Accept {
    #[cfg(feature = "xml")]
    kept: Kept,
}

#[cfg(feature = "xml")]
#[derive(Debug, Clone, Default)]
enum Kept {
    #[default]
    Absent,
    One(HeaderValue),
    /// The first two fields: [`MAX_ACCEPT_FIELDS`] is 2, so that keeping
    /// them never allocates.
    Two([HeaderValue; MAX_ACCEPT_FIELDS]),
}

impl Accept {
    /// Whether problems are negotiated at all: only the `xml` feature gives
    /// them a second form.
    pub(crate) const NEGOTIATES: bool = cfg!(feature = "xml");

    /// What `headers` say.
    #[cfg(feature = "xml")]
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        let mut values = headers.get_all(ACCEPT).iter();
        let kept = match (values.next(), values.next()) {
            (None, _) => Kept::Absent,
            (Some(value), None) => Kept::One(value.clone()),
            (Some(first), Some(second)) => Kept::Two([first.clone(), second.clone()]),
        };
        Self { kept }
    }

    /// What `headers` say: nothing that matters, with one form.
    #[cfg(not(feature = "xml"))]
    pub(crate) fn of(_headers: &HeaderMap) -> Self {
        Self {}
    }

    /// Whether the client prefers the XML form.
    #[cfg(feature = "xml")]
    pub(crate) fn prefers_xml(&self) -> bool {
        let values: &[HeaderValue] = match &self.kept {
            Kept::Absent => return false,
            Kept::One(value) => std::slice::from_ref(value),
            Kept::Two(values) => values,
        };
        super::negotiate::ProblemFormat::from_values(values) == super::negotiate::ProblemFormat::Xml
    }

    /// Whether the client prefers the XML form: there is none.
    #[cfg(not(feature = "xml"))]
    pub(crate) fn prefers_xml(&self) -> bool {
        false
    }
}
