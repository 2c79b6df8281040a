//! RFC 9457 problem details: the document, its JSON and XML forms, and the
//! response that carries it.
//!
//! This is the bottom tier of the crate: it knows nothing of failures,
//! policies or middleware. Everything the crate sends as a problem leaves
//! through here: a status and the serialized document become one response
//! with `content-type`, `cache-control: no-store` and, for a 503,
//! `Retry-After`.
//!
//! A [`Problem`] reads and writes `application/problem+json` exactly: every
//! member survives a round trip, an absent `type` stays absent (it means
//! `about:blank`), and a standard member of the wrong JSON type is ignored when
//! reading, as RFC 9457 §3.1 requires (so is a `status` that is not an HTTP
//! status, 100 to 599).
//!
//! ```
//! use http::{Response, StatusCode};
//! use tower_failed_dependency::Problem;
//!
//! let problem = Problem::new(StatusCode::FORBIDDEN)
//!     .with_type("https://example.com/probs/out-of-credit")
//!     .with_title("You do not have enough credit.")
//!     .with_detail("Your current balance is 30, but that costs 50.")
//!     .with_member("balance", 30)
//!     .unwrap();
//!
//! let response = Response::from(problem);
//! assert_eq!(response.status(), StatusCode::FORBIDDEN);
//! assert_eq!(response.headers()["content-type"], "application/problem+json");
//!
//! let parsed: Problem = serde_json::from_str(r#"{"status":"oops","title":"Hi","balance":30}"#).unwrap();
//! assert_eq!(parsed.status(), None); // wrong type: ignored
//! assert_eq!(parsed.member("balance"), Some(&serde_json::json!(30)));
//! ```
//!
//! With the `axum` feature, [`Problem`] is also axum's `IntoResponse`, so a
//! handler returns `problem.into_response()` with axum's trait in scope.
//!
//! With the `xml` feature, a problem can also be sent in RFC 9457's XML form
//! (`application/problem+xml`, Appendix B) to a client whose `Accept`
//! prefers it: see `ProblemFormat`. The crate's layers do so for every
//! problem they render.

mod accept;
mod body;
mod document;
mod json;
mod media;
#[cfg(feature = "xml")]
mod negotiate;
mod reason;
mod response;
#[cfg(feature = "xml")]
pub(crate) mod xml;

pub use self::body::ProblemBody;
pub use self::document::{MemberNameError, Problem};
#[cfg(feature = "xml")]
#[cfg_attr(docsrs, doc(cfg(feature = "xml")))]
pub use self::negotiate::ProblemFormat;

pub(crate) use self::accept::Accept;
#[cfg(test)]
pub(crate) use self::body::collect;
pub(crate) use self::document::check_member_name;
#[cfg(feature = "batch")]
pub(crate) use self::json::json_string;
pub(crate) use self::json::{key, object_to_json, piece, to_json, Key, Members, Piece, SerdeMap};
// The media types are read by the modules of several features; a build
// without them leaves some of these unused.
#[allow(unused_imports)]
pub(crate) use self::media::{is_problem, is_problem_json, media_type};
pub(crate) use self::reason::{reason_phrase, WithPhrase};
pub(crate) use self::response::Serialized;
