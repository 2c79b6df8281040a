//! What a problem answer needs of the request's `Accept`, kept from the
//! call until a problem is rendered (often never).

use http::header::ACCEPT;
use http::{HeaderMap, HeaderValue};

use super::media::MAX_ACCEPT_FIELDS;

/// The request's `Accept`, as far as the form of a problem goes: cheap
/// clones of its fields (their bytes are shared, not copied), read only
/// when a problem is rendered, so that what `Accept` holds costs a passing
/// request the same whatever it is. At most [`MAX_ACCEPT_FIELDS`] fields are
/// kept. Without the `xml` feature there is one form and nothing is kept.
#[derive(Debug, Clone, Default)]
pub(crate) struct Accept {
    kept: Kept,
}

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
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        if !Self::NEGOTIATES {
            return Self::default();
        }
        let mut values = headers.get_all(ACCEPT).iter();
        let kept = match (values.next(), values.next()) {
            (None, _) => Kept::Absent,
            (Some(value), None) => Kept::One(value.clone()),
            (Some(first), Some(second)) => Kept::Two([first.clone(), second.clone()]),
        };
        Self { kept }
    }

    /// Whether the client prefers the XML form.
    pub(crate) fn prefers_xml(&self) -> bool {
        match &self.kept {
            Kept::Absent => false,
            Kept::One(value) => prefers_xml(std::slice::from_ref(value)),
            Kept::Two(values) => prefers_xml(values),
        }
    }
}

#[cfg(feature = "xml")]
fn prefers_xml<'a>(values: impl IntoIterator<Item = &'a HeaderValue> + Copy) -> bool {
    super::negotiate::ProblemFormat::from_values(values) == super::negotiate::ProblemFormat::Xml
}

#[cfg(not(feature = "xml"))]
fn prefers_xml<'a>(_values: impl IntoIterator<Item = &'a HeaderValue> + Copy) -> bool {
    false
}
