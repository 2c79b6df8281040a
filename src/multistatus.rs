//! WebDAV 207 Multi-Status bodies (RFC 4918 §13): [`MultiStatus`], with the
//! helpers that keep 424 where the RFC wants it: [`proppatch`] and
//! [`without_failed_dependency`].
//!
//! ```
//! use http::StatusCode;
//! use tower_failed_dependency::multistatus::{proppatch, Property};
//!
//! let z = "http://ns.example.com/standards/z39.50/";
//! let authors = Property::new(z, "Authors").unwrap();
//! let owner = Property::new(z, "Copyright-Owner").unwrap();
//! let answer = proppatch(
//!     "http://www.example.com/bar.html",
//!     &[authors, owner.clone()],
//!     &[(owner, StatusCode::CONFLICT)],
//! )
//! .description("Copyright Owner cannot be deleted or altered.");
//! let xml = answer.to_xml().unwrap();
//! assert!(xml.contains("HTTP/1.1 424 Failed Dependency"));
//! assert!(xml.contains("HTTP/1.1 409 Conflict"));
//! ```

use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response, StatusCode};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, Event};
use quick_xml::Writer;

use crate::problem::xml::names::{is_attribute_text, is_char, is_name, text as xml_text};
use crate::problem::WithPhrase;

const DAV: &str = "DAV:";

/// A property (or precondition) name: a namespace URI and a local name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    namespace: String,
    name: String,
}

impl Property {
    /// A property `name` in `namespace`.
    ///
    /// # Errors
    ///
    /// The name is not an XML name without a colon (letters, digits, `-`,
    /// `_` and `.`, not starting with a digit, `-` or `.`), or the namespace
    /// is empty or holds a character an XML attribute cannot carry as it is
    /// (a control character, U+FFFE, U+FFFF, or a tab, line feed or carriage
    /// return, which a parser would read back as a space).
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Result<Self, MultiStatusError> {
        let (namespace, name) = (namespace.into(), name.into());
        if namespace.is_empty() {
            return Err(MultiStatusError::EmptyNamespace(name));
        }
        if !is_attribute_text(&namespace) {
            return Err(MultiStatusError::BadNamespace(namespace));
        }
        if !is_name(&name) {
            return Err(MultiStatusError::BadName(name));
        }
        Ok(Self { namespace, name })
    }

    /// The namespace URI.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The local name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A 207 body that cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MultiStatusError {
    /// An href appears in more than one response.
    #[error("the href '{0}' appears in more than one response")]
    DuplicateHref(String),
    /// A property name is not an XML name.
    #[error("'{0}' is not an XML name")]
    BadName(String),
    /// A property has an empty namespace.
    #[error("the property '{0}' has no namespace")]
    EmptyNamespace(String),
    /// A namespace holds a character an XML attribute cannot carry as it is.
    #[error("the namespace {0:?} holds a character XML cannot carry")]
    BadNamespace(String),
    /// An href holds a character XML 1.0 cannot hold (a control character,
    /// U+FFFE, U+FFFF); written as U+FFFD, two hrefs could become one.
    #[error("the href {0:?} holds a character XML cannot hold")]
    BadHref(String),
    /// A response with no properties in a propstat.
    #[error("a propstat of '{0}' names no property")]
    EmptyPropstat(String),
    /// The XML writer failed (it writes to memory, so it should not).
    #[error("the document could not be written")]
    Write,
}

/// The properties that share one status in a response.
#[derive(Debug, Clone)]
pub struct Propstat {
    properties: Vec<Property>,
    status: StatusCode,
}

impl Propstat {
    /// `properties`, all answered with `status`.
    pub fn new(properties: Vec<Property>, status: StatusCode) -> Self {
        Self { properties, status }
    }
}

#[derive(Debug, Clone)]
enum Outcome {
    Status(StatusCode),
    Propstats(Vec<Propstat>),
}

#[derive(Debug, Clone)]
struct Entry {
    href: String,
    outcome: Outcome,
    error: Option<Property>,
    description: Option<String>,
}

/// A 207 Multi-Status body: one `D:response` per href, each with a whole
/// status line (`HTTP/1.1 424 Failed Dependency`) or one `D:propstat` per
/// status, and optionally a `D:error` and a `D:responsedescription`.
#[derive(Debug, Clone, Default)]
pub struct MultiStatus {
    entries: Vec<Entry>,
}

impl MultiStatus {
    /// An empty body.
    pub fn new() -> Self {
        Self::default()
    }

    /// A response for `href` with one status.
    pub fn status(mut self, href: impl Into<String>, status: StatusCode) -> Self {
        self.entries.push(Entry {
            href: href.into(),
            outcome: Outcome::Status(status),
            error: None,
            description: None,
        });
        self
    }

    /// A response for `href` with a status per group of properties.
    pub fn propstats(mut self, href: impl Into<String>, propstats: Vec<Propstat>) -> Self {
        self.entries.push(Entry {
            href: href.into(),
            outcome: Outcome::Propstats(propstats),
            error: None,
            description: None,
        });
        self
    }

    /// A `D:responsedescription` for the response added last.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        if let Some(entry) = self.entries.last_mut() {
            entry.description = Some(text.into());
        }
        self
    }

    /// A `D:error` naming the precondition or postcondition that failed, for
    /// the response added last.
    pub fn error(mut self, condition: Property) -> Self {
        if let Some(entry) = self.entries.last_mut() {
            entry.error = Some(condition);
        }
        self
    }

    /// The XML document.
    ///
    /// # Errors
    ///
    /// An href in more than one response, an href with a character XML
    /// cannot hold, or a propstat with no property.
    pub fn to_xml(&self) -> Result<String, MultiStatusError> {
        for (i, entry) in self.entries.iter().enumerate() {
            if !entry.href.chars().all(is_char) {
                return Err(MultiStatusError::BadHref(entry.href.clone()));
            }
            if self.entries[..i]
                .iter()
                .any(|other| other.href == entry.href)
            {
                return Err(MultiStatusError::DuplicateHref(entry.href.clone()));
            }
            if let Outcome::Propstats(propstats) = &entry.outcome {
                if propstats.iter().any(|p| p.properties.is_empty()) {
                    return Err(MultiStatusError::EmptyPropstat(entry.href.clone()));
                }
            }
        }
        let prefixes = Prefixes::of(&self.entries);
        let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
        write(&mut writer, &self.entries, &prefixes).map_err(|_| MultiStatusError::Write)?;
        Ok(String::from_utf8_lossy(&writer.into_inner()).into_owned())
    }

    /// The 207 response, `application/xml; charset=utf-8`. Its body is the
    /// document as a `String`, which is an `http_body::Body`.
    ///
    /// # Errors
    ///
    /// As [`to_xml`](Self::to_xml).
    pub fn into_response(self) -> Result<Response<String>, MultiStatusError> {
        let xml = self.to_xml()?;
        let mut response = Response::new(xml);
        *response.status_mut() = StatusCode::MULTI_STATUS;
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/xml; charset=utf-8"),
        );
        Ok(response)
    }
}

/// The namespace prefixes of a document: `D` for `DAV:`, `ns1`, `ns2`, ...
/// for the others, in order of first use.
struct Prefixes(Vec<String>);

impl Prefixes {
    fn of(entries: &[Entry]) -> Self {
        let mut namespaces: Vec<String> = Vec::new();
        let mut note = |property: &Property| {
            if property.namespace != DAV && !namespaces.contains(&property.namespace) {
                namespaces.push(property.namespace.clone());
            }
        };
        for entry in entries {
            if let Outcome::Propstats(propstats) = &entry.outcome {
                propstats
                    .iter()
                    .flat_map(|p| &p.properties)
                    .for_each(&mut note);
            }
            if let Some(error) = &entry.error {
                note(error);
            }
        }
        Self(namespaces)
    }

    fn qualified(&self, property: &Property) -> String {
        match self.0.iter().position(|ns| *ns == property.namespace) {
            Some(i) => format!("ns{}:{}", i + 1, property.name),
            None => format!("D:{}", property.name),
        }
    }
}

type XmlResult = Result<(), quick_xml::Error>;

fn write(writer: &mut Writer<Vec<u8>>, entries: &[Entry], prefixes: &Prefixes) -> XmlResult {
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
    let mut root = BytesStart::new("D:multistatus");
    root.push_attribute(("xmlns:D", DAV));
    let declarations: Vec<(String, &str)> = prefixes
        .0
        .iter()
        .enumerate()
        .map(|(i, ns)| (format!("xmlns:ns{}", i + 1), ns.as_str()))
        .collect();
    for (name, ns) in &declarations {
        root.push_attribute((name.as_str(), *ns));
    }
    writer.write_event(Event::Start(root))?;
    for entry in entries {
        writer.write_event(Event::Start(BytesStart::new("D:response")))?;
        text_element(writer, "D:href", &entry.href)?;
        match &entry.outcome {
            Outcome::Status(status) => text_element(writer, "D:status", &status_line(*status))?,
            Outcome::Propstats(propstats) => {
                for propstat in propstats {
                    writer.write_event(Event::Start(BytesStart::new("D:propstat")))?;
                    writer.write_event(Event::Start(BytesStart::new("D:prop")))?;
                    for property in &propstat.properties {
                        let name = prefixes.qualified(property);
                        writer.write_event(Event::Empty(BytesStart::new(name.as_str())))?;
                    }
                    writer.write_event(Event::End(BytesEnd::new("D:prop")))?;
                    text_element(writer, "D:status", &status_line(propstat.status))?;
                    writer.write_event(Event::End(BytesEnd::new("D:propstat")))?;
                }
            }
        }
        if let Some(error) = &entry.error {
            writer.write_event(Event::Start(BytesStart::new("D:error")))?;
            let name = prefixes.qualified(error);
            writer.write_event(Event::Empty(BytesStart::new(name.as_str())))?;
            writer.write_event(Event::End(BytesEnd::new("D:error")))?;
        }
        if let Some(description) = &entry.description {
            text_element(writer, "D:responsedescription", description)?;
        }
        writer.write_event(Event::End(BytesEnd::new("D:response")))?;
    }
    writer.write_event(Event::End(BytesEnd::new("D:multistatus")))?;
    Ok(())
}

fn text_element(writer: &mut Writer<Vec<u8>>, name: &str, text: &str) -> XmlResult {
    writer.write_event(Event::Start(BytesStart::new(name)))?;
    writer.write_event(Event::Text(xml_text(text)))?;
    writer.write_event(Event::End(BytesEnd::new(name)))?;
    Ok(())
}

/// A whole status line, as `D:status` holds it.
fn status_line(status: StatusCode) -> String {
    format!("HTTP/1.1 {}", WithPhrase(status))
}

/// The atomic answer to a PROPPATCH of `requested` properties on `href`:
/// each failed property with its own status, every other one with 424
/// Failed Dependency; all 200 when none failed. A 200 is never mixed with a
/// failure. Properties are grouped by status, in the order requested.
pub fn proppatch(
    href: impl Into<String>,
    requested: &[Property],
    failed: &[(Property, StatusCode)],
) -> MultiStatus {
    let status_of = |property: &Property| match failed.iter().find(|(p, _)| p == property) {
        Some((_, status)) => *status,
        None if failed.is_empty() => StatusCode::OK,
        None => StatusCode::FAILED_DEPENDENCY,
    };
    let mut propstats: Vec<Propstat> = Vec::new();
    for property in requested {
        let status = status_of(property);
        match propstats.iter_mut().find(|p| p.status == status) {
            Some(propstat) => propstat.properties.push(property.clone()),
            None => propstats.push(Propstat::new(vec![property.clone()], status)),
        }
    }
    MultiStatus::new().propstats(href, propstats)
}

/// The answer to a DELETE, COPY or MOVE over several resources: each href
/// with its status, leaving out 424 Failed Dependency, as RFC 4918 §9.6.1
/// asks (the failure of a member already says why its parent failed).
pub fn without_failed_dependency<I, H>(results: I) -> MultiStatus
where
    I: IntoIterator<Item = (H, StatusCode)>,
    H: Into<String>,
{
    results
        .into_iter()
        .filter(|(_, status)| *status != StatusCode::FAILED_DEPENDENCY)
        .fold(MultiStatus::new(), |body, (href, status)| {
            body.status(href, status)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_are_escaped_and_names_checked() {
        let odd = Property::new("urn:x?a=1&b=\"2\"", "name").unwrap();
        let xml = MultiStatus::new()
            .propstats(
                "/a<b>&c",
                vec![Propstat::new(vec![odd], StatusCode::FORBIDDEN)],
            )
            .description("1 < 2 & \"so\"")
            .to_xml()
            .unwrap();
        assert!(xml.contains("<D:href>/a&lt;b&gt;&amp;c</D:href>"), "{xml}");
        assert!(
            xml.contains("xmlns:ns1=\"urn:x?a=1&amp;b=&quot;2&quot;\""),
            "{xml}"
        );
        assert!(xml.contains("1 &lt; 2 &amp;"), "{xml}");
        assert!(Property::new("urn:x", "a b").is_err());
        assert!(Property::new("urn:x", "<x>").is_err());
        assert!(Property::new("urn:x", "1st").is_err());
        assert!(Property::new("", "x").is_err());
    }

    #[test]
    fn namespaces_and_hrefs_xml_cannot_carry_are_refused() {
        for namespace in [
            "urn:\u{0}",
            "urn:a\nb",
            "urn:a\tb",
            "urn:a\rb",
            "urn:\u{fffe}",
        ] {
            assert_eq!(
                Property::new(namespace, "a"),
                Err(MultiStatusError::BadNamespace(namespace.to_owned())),
                "{namespace:?}"
            );
        }
        assert!(Property::new("urn:caf\u{e9} x", "a").is_ok());
        let body = MultiStatus::new()
            .status("/a\u{1}", StatusCode::OK)
            .status("/a\u{2}", StatusCode::NOT_FOUND);
        assert_eq!(
            body.to_xml(),
            Err(MultiStatusError::BadHref("/a\u{1}".to_owned()))
        );
        let fine = MultiStatus::new()
            .status("/a\tb\r", StatusCode::OK)
            .to_xml()
            .unwrap();
        assert!(fine.contains("<D:href>/a\tb&#13;</D:href>"), "{fine}");
    }

    #[test]
    fn an_href_appears_once() {
        let body = MultiStatus::new()
            .status("/a", StatusCode::OK)
            .status("/a", StatusCode::FORBIDDEN);
        assert_eq!(
            body.to_xml(),
            Err(MultiStatusError::DuplicateHref("/a".into()))
        );
    }

    #[test]
    fn proppatch_never_mixes_200_with_a_failure() {
        let p = |n: &str| Property::new("urn:x", n).unwrap();
        let xml = proppatch("/r", &[p("a"), p("b")], &[]).to_xml().unwrap();
        assert_eq!(xml.matches("HTTP/1.1 200 OK").count(), 1);
        let xml = proppatch(
            "/r",
            &[p("a"), p("b"), p("c")],
            &[(p("b"), StatusCode::FORBIDDEN)],
        )
        .to_xml()
        .unwrap();
        assert!(!xml.contains("200"), "{xml}");
        assert!(xml.contains("HTTP/1.1 403 Forbidden"));
        assert_eq!(xml.matches("HTTP/1.1 424 Failed Dependency").count(), 1);
    }

    #[test]
    fn delete_answers_leave_424_out() {
        let xml = without_failed_dependency([
            ("/c/", StatusCode::FAILED_DEPENDENCY),
            ("/c/locked", StatusCode::LOCKED),
        ])
        .to_xml()
        .unwrap();
        assert!(!xml.contains("424"), "{xml}");
        assert!(xml.contains("HTTP/1.1 423 Locked"));
    }

    #[test]
    fn status_lines_carry_rfc_9110s_phrases() {
        let xml = MultiStatus::new()
            .status("/big", StatusCode::PAYLOAD_TOO_LARGE)
            .status("/bad", StatusCode::UNPROCESSABLE_ENTITY)
            .to_xml()
            .unwrap();
        assert!(xml.contains("HTTP/1.1 413 Content Too Large"), "{xml}");
        assert!(xml.contains("HTTP/1.1 422 Unprocessable Content"), "{xml}");
    }
}
