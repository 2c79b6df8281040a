//! [`Cause`]: an upstream's problem, kept as the cause of a failure.
//!
//! When an upstream answers with `application/problem+json`, its problem is
//! the cause of the failure the gateway records. Only the members this crate
//! knows are kept (`type`, `title`, `status`, `detail`, `dependency`, and a
//! nested `cause`), each of the right JSON type; everything else the upstream
//! sent is dropped. Reading is bounded: bodies over [`Cause::MAX_BYTES`] are
//! not read, nesting deeper than [`Cause::MAX_DEPTH`] is cut, and text members
//! are cut to [`Cause::MAX_TEXT`] characters.
//!
//! A cause is rendered as a nested `cause` member only when the policy opts
//! in with [`show_causes`](crate::StatusPolicyBuilder::show_causes).

use http::StatusCode;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use crate::problem::Problem;

/// An upstream's problem, as far as this crate reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cause {
    problem_type: Option<String>,
    title: Option<String>,
    status: Option<StatusCode>,
    detail: Option<String>,
    dependency: Option<String>,
    cause: Option<Box<Cause>>,
}

impl Cause {
    /// The largest body read as a cause, in bytes.
    pub const MAX_BYTES: usize = 16 * 1024;
    /// How many levels of nested causes are kept.
    pub const MAX_DEPTH: usize = 4;
    /// The longest text member kept, in characters.
    pub const MAX_TEXT: usize = 256;

    /// Reads a problem+json body by [`Problem`]'s rules (a standard member
    /// of the wrong type, or a `status` that is not 100 to 599, is ignored).
    /// `None` when the body is larger than [`MAX_BYTES`](Self::MAX_BYTES), is
    /// not a JSON object, or nests deeper than the JSON parser allows.
    pub fn from_json(body: &[u8]) -> Option<Self> {
        if body.len() > Self::MAX_BYTES {
            return None;
        }
        let problem = serde_json::from_slice::<Problem>(body).ok()?;
        Some(Self::from_problem(problem, Self::MAX_DEPTH))
    }

    /// The members this crate knows of `problem`, and of its nested causes
    /// down to `depth` levels.
    fn from_problem(mut problem: Problem, depth: usize) -> Self {
        let text = |value: Option<&str>| value.map(cut);
        let dependency = match problem.remove_member("dependency") {
            Some(Value::String(name)) => Some(cut(&name)),
            _ => None,
        };
        let cause = match problem.remove_member("cause") {
            Some(inner @ Value::Object(_)) if depth > 1 => serde_json::from_value::<Problem>(inner)
                .ok()
                .map(|inner| Box::new(Self::from_problem(inner, depth - 1))),
            _ => None,
        };
        Self {
            problem_type: text(problem.type_sent()),
            title: text(problem.title()),
            status: problem.status(),
            detail: text(problem.detail()),
            dependency,
            cause,
        }
    }

    /// The upstream problem's `type`.
    pub fn problem_type(&self) -> Option<&str> {
        self.problem_type.as_deref()
    }

    /// The upstream problem's `title`.
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// The upstream problem's `status`.
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    /// The upstream problem's `detail`.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The dependency the upstream named as failed, if it answered 424.
    pub fn dependency(&self) -> Option<&str> {
        self.dependency.as_deref()
    }

    /// The upstream problem's own cause.
    pub fn cause(&self) -> Option<&Cause> {
        self.cause.as_deref()
    }

    /// The deepest dependency named along the chain: the upstream's root cause.
    pub fn root_dependency(&self) -> Option<&str> {
        self.cause()
            .and_then(Cause::root_dependency)
            .or(self.dependency())
    }

    /// This cause for serialization, cut to `depth` levels.
    pub(crate) fn limited(&self, depth: usize) -> Limited<'_> {
        Limited { cause: self, depth }
    }
}

/// Cuts text to [`Cause::MAX_TEXT`] characters.
fn cut(text: &str) -> String {
    match text.char_indices().nth(Cause::MAX_TEXT) {
        Some((end, _)) => text[..end].to_owned(),
        None => text.to_owned(),
    }
}

/// A cause serialized down to a given depth.
pub(crate) struct Limited<'a> {
    cause: &'a Cause,
    depth: usize,
}

impl Serialize for Limited<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let cause = self.cause;
        let mut map = serializer.serialize_map(None)?;
        let texts = [("type", &cause.problem_type), ("title", &cause.title)];
        for (name, value) in texts {
            if let Some(value) = value {
                map.serialize_entry(name, value)?;
            }
        }
        if let Some(status) = cause.status {
            map.serialize_entry("status", &status.as_u16())?;
        }
        if let Some(detail) = &cause.detail {
            map.serialize_entry("detail", detail)?;
        }
        if let Some(dependency) = &cause.dependency {
            map.serialize_entry("dependency", dependency)?;
        }
        if let (true, Some(inner)) = (self.depth > 1, cause.cause()) {
            map.serialize_entry("cause", &inner.limited(self.depth - 1))?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_known_members_of_the_right_type_only() {
        let body = json!({
            "type": "https://upstream.example/probs/conflict",
            "title": "Conflict", "status": 409, "detail": "Order 7 is closed.",
            "dependency": "ledger", "secret": "db password", "instance": "/x",
            "cause": {"title": 5, "status": "409", "detail": "ledger closed", "extra": 1}
        });
        let cause = Cause::from_json(body.to_string().as_bytes()).unwrap();
        assert_eq!(cause.status(), Some(StatusCode::CONFLICT));
        assert_eq!(cause.dependency(), Some("ledger"));
        let inner = cause.cause().unwrap();
        assert_eq!(inner.title(), None, "wrong type: ignored");
        assert_eq!(inner.status(), None, "wrong type: ignored");
        assert_eq!(inner.detail(), Some("ledger closed"));
        let rendered = serde_json::to_value(cause.limited(Cause::MAX_DEPTH)).unwrap();
        assert_eq!(
            rendered,
            json!({
                "type": "https://upstream.example/probs/conflict",
                "title": "Conflict", "status": 409, "detail": "Order 7 is closed.",
                "dependency": "ledger", "cause": {"detail": "ledger closed"}
            })
        );
    }

    #[test]
    fn reading_is_bounded_in_size_depth_and_text() {
        let large = vec![b' '; Cause::MAX_BYTES + 1];
        assert_eq!(Cause::from_json(&large), None);

        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert_eq!(Cause::from_json(deep.as_bytes()), None);

        let mut nested = json!({"dependency": "bottom"});
        for level in 0..10 {
            nested = json!({"dependency": format!("level {level}"), "cause": nested});
        }
        let cause = Cause::from_json(nested.to_string().as_bytes()).unwrap();
        let mut depth = 1;
        let mut at = &cause;
        while let Some(inner) = at.cause() {
            depth += 1;
            at = inner;
        }
        assert_eq!(depth, Cause::MAX_DEPTH);
        assert_eq!(cause.root_dependency(), Some("level 6"));

        let long = json!({"detail": "é".repeat(1000)});
        let cause = Cause::from_json(long.to_string().as_bytes()).unwrap();
        assert_eq!(cause.detail().unwrap().chars().count(), Cause::MAX_TEXT);
    }

    #[test]
    fn rendering_stops_at_the_depth_asked() {
        let body = json!({"status": 424, "dependency": "a", "cause": {"dependency": "b"}});
        let cause = Cause::from_json(body.to_string().as_bytes()).unwrap();
        let rendered = serde_json::to_value(cause.limited(1)).unwrap();
        assert_eq!(rendered, json!({"status": 424, "dependency": "a"}));
        assert_eq!(cause.root_dependency(), Some("b"));
    }
}
