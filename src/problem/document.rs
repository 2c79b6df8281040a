//! The RFC 9457 document: [`Problem`], read and written exactly.

use http::{Response, StatusCode};
use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::body::ProblemBody;
#[cfg(feature = "xml")]
use super::negotiate::ProblemFormat;
use super::response::Serialized;

const STANDARD_MEMBERS: [&str; 5] = ["type", "title", "status", "detail", "instance"];

/// An RFC 9457 problem details object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Problem {
    problem_type: Option<String>,
    title: Option<String>,
    status: Option<StatusCode>,
    detail: Option<String>,
    instance: Option<String>,
    members: Map<String, Value>,
}

/// An extension member name that breaks RFC 9457's naming rule, or names a
/// standard member.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MemberNameError {
    /// The name does not start with a letter, has characters other than ASCII
    /// letters, digits and `_`, or is shorter than 3 characters.
    #[error("problem member name {0:?} must start with a letter, use only letters, digits and '_', and be at least 3 characters long")]
    Malformed(String),
    /// The name is one of RFC 9457's standard members, which have setters of
    /// their own.
    #[error("problem member name {0:?} is a standard member: use its setter")]
    Standard(String),
}

/// Checks an extension member name against RFC 9457 §3.2.
pub(crate) fn check_member_name(name: &str) -> Result<(), MemberNameError> {
    let mut chars = name.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let well_formed = starts_with_letter
        && name.len() >= 3
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !well_formed {
        return Err(MemberNameError::Malformed(name.to_owned()));
    }
    if STANDARD_MEMBERS.contains(&name) {
        return Err(MemberNameError::Standard(name.to_owned()));
    }
    Ok(())
}

impl Problem {
    /// A problem with `status`; its type is `about:blank`, so its title is the
    /// status' reason phrase.
    pub fn new(status: StatusCode) -> Self {
        Self {
            status: Some(status),
            title: super::reason::reason_phrase(status).map(str::to_owned),
            ..Self::default()
        }
    }

    /// Sets the `type` URI reference.
    pub fn with_type(mut self, uri: impl Into<String>) -> Self {
        self.problem_type = Some(uri.into());
        self
    }

    /// Sets the `title`: short, and the same for every occurrence of the type.
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the `status`. It must equal the status of the response that
    /// carries the problem; the response built from it sees to that.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }

    /// Sets the `detail`: about this occurrence, for the client, with no
    /// internals.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Sets the `instance` URI reference.
    pub fn with_instance(mut self, uri: impl Into<String>) -> Self {
        self.instance = Some(uri.into());
        self
    }

    /// Adds an extension member.
    ///
    /// # Errors
    ///
    /// A name that breaks RFC 9457's naming rule (letter first; letters,
    /// digits and `_`; at least 3 characters) or names a standard member.
    pub fn with_member(
        mut self,
        name: impl Into<String>,
        value: impl Into<Value>,
    ) -> Result<Self, MemberNameError> {
        self.insert_member(name, value)?;
        Ok(self)
    }

    /// Adds or replaces an extension member, returning the value it replaced.
    ///
    /// # Errors
    ///
    /// As [`Problem::with_member`].
    pub fn insert_member(
        &mut self,
        name: impl Into<String>,
        value: impl Into<Value>,
    ) -> Result<Option<Value>, MemberNameError> {
        let name = name.into();
        check_member_name(&name)?;
        Ok(self.members.insert(name, value.into()))
    }

    /// Removes an extension member.
    pub fn remove_member(&mut self, name: &str) -> Option<Value> {
        self.members.remove(name)
    }

    /// The `type` URI reference; `about:blank` when absent.
    pub fn problem_type(&self) -> &str {
        self.problem_type.as_deref().unwrap_or("about:blank")
    }

    /// The `title`, if any.
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// The `status`, if any.
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    /// The `detail`, if any.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The `instance`, if any.
    pub fn instance(&self) -> Option<&str> {
        self.instance.as_deref()
    }

    /// An extension member, if present.
    pub fn member(&self, name: &str) -> Option<&Value> {
        self.members.get(name)
    }

    /// Every extension member.
    pub fn members(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.members
            .iter()
            .map(|(name, value)| (name.as_str(), value))
    }

    /// The `type` as sent: `None` when absent.
    pub(crate) fn type_sent(&self) -> Option<&str> {
        self.problem_type.as_deref()
    }

    /// The problem serialized as JSON, its status set (500 when it had none).
    fn serialized(mut self) -> Serialized {
        let status = *self.status.get_or_insert(StatusCode::INTERNAL_SERVER_ERROR);
        Serialized::json(status, super::json::to_json(&self))
    }

    /// As the response `From<Problem>` gives, in `format`: the form a
    /// request prefers is [`ProblemFormat::preferred`]. The response says
    /// `Vary: accept`.
    ///
    /// ```
    /// use http::{header, HeaderMap, HeaderValue, StatusCode};
    /// use tower_failed_dependency::problem::{Problem, ProblemFormat};
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert(header::ACCEPT, HeaderValue::from_static("application/problem+xml"));
    /// let response = Problem::new(StatusCode::CONFLICT)
    ///     .with_title("Out of stock")
    ///     .into_response_as(ProblemFormat::preferred(&headers));
    /// assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+xml");
    /// assert_eq!(response.headers()[header::VARY], "accept");
    /// ```
    #[cfg(feature = "xml")]
    #[cfg_attr(docsrs, doc(cfg(feature = "xml")))]
    pub fn into_response_as(self, format: ProblemFormat) -> Response<ProblemBody> {
        self.serialized()
            .in_form(format)
            .into_response(http::Extensions::new(), ProblemBody::new)
    }
}

/// The `application/problem+json` response for a problem, with
/// `cache-control: no-store`. Its status is the problem's `status`, or 500
/// (written into the body too) when the problem has none.
///
/// ```
/// use http::{Response, StatusCode};
/// use tower_failed_dependency::{Problem, ProblemBody};
///
/// let response = Response::<ProblemBody>::from(Problem::new(StatusCode::CONFLICT));
/// assert_eq!(response.status(), StatusCode::CONFLICT);
/// assert_eq!(response.headers()["content-type"], "application/problem+json");
/// ```
impl From<Problem> for Response<ProblemBody> {
    fn from(problem: Problem) -> Self {
        problem
            .serialized()
            .into_response(http::Extensions::new(), ProblemBody::new)
    }
}

impl Serialize for Problem {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let standard = [
            ("type", self.problem_type.as_deref()),
            ("title", self.title.as_deref()),
            ("detail", self.detail.as_deref()),
            ("instance", self.instance.as_deref()),
        ];
        let len = standard.iter().filter(|(_, v)| v.is_some()).count()
            + usize::from(self.status.is_some())
            + self.members.len();
        let mut map = serializer.serialize_map(Some(len))?;
        for (name, value) in standard {
            if let Some(value) = value {
                map.serialize_entry(name, value)?;
            }
        }
        if let Some(status) = self.status {
            map.serialize_entry("status", &status.as_u16())?;
        }
        for (name, value) in &self.members {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Problem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut members = Map::deserialize(deserializer)?;
        let mut string = |name: &str| match members.remove(name) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        let problem_type = string("type");
        let title = string("title");
        let detail = string("detail");
        let instance = string("instance");
        // Only an HTTP status (RFC 9110 §15: 100 to 599) is one; any other
        // number is ignored like a member of the wrong type.
        let status = match members.remove("status") {
            Some(Value::Number(n)) => n
                .as_u64()
                .filter(|n| (100..=599).contains(n))
                .and_then(|n| u16::try_from(n).ok())
                .and_then(|n| StatusCode::from_u16(n).ok()),
            _ => None,
        };
        Ok(Self {
            problem_type,
            title,
            status,
            detail,
            instance,
            members,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn member_names_follow_rfc_9457() {
        for good in ["balance", "abc", "a_1", "dependency_status"] {
            assert!(check_member_name(good).is_ok(), "{good}");
        }
        for bad in ["", "ab", "1abc", "_abc", "a-b-c", "bal ance", "crème"] {
            assert!(
                matches!(check_member_name(bad), Err(MemberNameError::Malformed(_))),
                "{bad}"
            );
        }
        assert_eq!(
            check_member_name("title"),
            Err(MemberNameError::Standard("title".into()))
        );
    }

    #[test]
    fn wrong_types_are_ignored_and_unknown_members_kept() {
        let problem: Problem = serde_json::from_value(json!({
            "type": 7, "title": ["x"], "status": 99999, "detail": "d",
            "instance": null, "extra": {"nested": true}
        }))
        .unwrap();
        assert_eq!(problem.problem_type(), "about:blank");
        assert_eq!(problem.title(), None);
        assert_eq!(problem.status(), None);
        assert_eq!(problem.detail(), Some("d"));
        assert_eq!(problem.instance(), None);
        assert_eq!(problem.member("extra"), Some(&json!({"nested": true})));
        for not_a_status in [99, 600, 789, 999] {
            let problem: Problem = serde_json::from_value(json!({"status": not_a_status})).unwrap();
            assert_eq!(problem.status(), None, "{not_a_status}");
        }
        assert_eq!(
            serde_json::to_value(&problem).unwrap(),
            json!({"detail": "d", "extra": {"nested": true}})
        );
    }

    #[tokio::test]
    async fn a_problem_without_status_is_sent_as_500_with_the_status_in_the_body() {
        let response = Response::from(Problem::default().with_title("Oops"));
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let bytes = crate::problem::collect(response.into_body()).await;
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body, json!({"title": "Oops", "status": 500}));
    }

    #[test]
    fn not_an_object_is_an_error() {
        assert!(serde_json::from_str::<Problem>("[1,2]").is_err());
        assert!(serde_json::from_str::<Problem>("{\"title\":").is_err());
    }
}
