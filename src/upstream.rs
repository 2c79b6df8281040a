//! Classifying an upstream's answer: [`Upstream`] turns the status, headers
//! and body an upstream sent into success or a [`Failure`] of the right kind.
//!
//! | upstream answered | failure |
//! |---|---|
//! | 2xx, 304 | none (unless the body breaks the [contract](Upstream::contract): bad gateway) |
//! | 503, 429 | [`Unavailable`](FailureKind::Unavailable), with its `Retry-After` |
//! | 504, 408 | [`Timeout`](FailureKind::Timeout) |
//! | any other 4xx | [`Rejected`](FailureKind::Rejected) with that status: the action was refused |
//! | 500, 502, any other 5xx, 1xx, other 3xx | [`BadGateway`](FailureKind::BadGateway) |
//!
//! A 429 is the upstream limiting *us*: our capacity problem, not the
//! client's, so 503. An `application/problem+json` body is kept as the
//! failure's [`Cause`] (for an upstream 424, its `dependency` is the root
//! cause). Each status can be [overridden](Upstream::succeed_on) per upstream.
//!
//! ```
//! use http::{HeaderMap, StatusCode};
//! use tower_failed_dependency::upstream::Upstream;
//! use tower_failed_dependency::FailureKind;
//!
//! let inventory = Upstream::new().succeed_on(StatusCode::NOT_FOUND);
//! let mut headers = HeaderMap::new();
//! headers.insert("retry-after", "7".parse().unwrap());
//!
//! let failure = inventory
//!     .classify(StatusCode::SERVICE_UNAVAILABLE, &headers, b"")
//!     .unwrap_err();
//! assert_eq!(failure.kind(), FailureKind::Unavailable);
//! assert_eq!(failure.retry_after(), Some(std::time::Duration::from_secs(7)));
//! assert!(inventory.classify(StatusCode::NOT_FOUND, &headers, b"").is_ok());
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, Response, StatusCode};
use http_body_util::{BodyExt, Limited};

use crate::outcome::{BoxError, Cause, Failure, FailureKind};
use crate::problem::is_problem_json;

/// What a body must satisfy for a successful answer to count.
type Contract = Arc<dyn Fn(&HeaderMap, &[u8]) -> bool + Send + Sync>;

/// How one upstream's answers are classified. Cheap to clone.
#[derive(Clone)]
pub struct Upstream {
    overrides: Vec<(StatusCode, Option<FailureKind>)>,
    contract: Option<Contract>,
    body_limit: usize,
}

impl Upstream {
    /// The largest body [`answer`](Self::answer) reads by default: 1 MiB.
    pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

    /// The default classification (see the [module docs](self)).
    pub fn new() -> Self {
        Self {
            overrides: Vec::new(),
            contract: None,
            body_limit: Self::DEFAULT_BODY_LIMIT,
        }
    }

    /// Counts `status` as success for this upstream (a 404 that means
    /// "absent, which is fine", say).
    pub fn succeed_on(mut self, status: StatusCode) -> Self {
        self.set(status, None);
        self
    }

    /// Classifies `status` as a failure of `kind` for this upstream.
    pub fn fail_on(mut self, status: StatusCode, kind: FailureKind) -> Self {
        self.set(status, Some(kind));
        self
    }

    fn set(&mut self, status: StatusCode, kind: Option<FailureKind>) {
        self.overrides.retain(|(known, _)| *known != status);
        self.overrides.push((status, kind));
    }

    /// What a successful answer's body must satisfy, given its headers; an
    /// answer that does not is a [bad gateway](FailureKind::BadGateway).
    pub fn contract<F>(mut self, contract: F) -> Self
    where
        F: Fn(&HeaderMap, &[u8]) -> bool + Send + Sync + 'static,
    {
        self.contract = Some(Arc::new(contract));
        self
    }

    /// The largest body [`answer`](Self::answer) reads (default
    /// [`DEFAULT_BODY_LIMIT`](Self::DEFAULT_BODY_LIMIT)).
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// Classifies an answer already read.
    ///
    /// # Errors
    ///
    /// The failure the answer means, with the upstream's problem as its
    /// [cause](Failure::cause) when the body is `application/problem+json`.
    pub fn classify(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), Failure> {
        let kind = match self.overrides.iter().find(|(known, _)| *known == status) {
            Some((_, kind)) => *kind,
            None => default_kind(status),
        };
        let Some(kind) = kind else {
            return match &self.contract {
                Some(contract) if !contract(headers, body) => {
                    Err(Failure::bad_gateway().with_source(BrokenContract(status)))
                }
                _ => Ok(()),
            };
        };
        let mut failure = Failure::new(kind).with_source(Answered(status));
        if kind == FailureKind::Unavailable {
            if let Some(delay) = retry_after(headers) {
                failure = failure.with_retry_after(delay);
            }
        }
        if headers.get(CONTENT_TYPE).is_some_and(is_problem_json) {
            if let Some(cause) = Cause::from_json(body) {
                failure = failure.with_cause(cause);
            }
        }
        Err(failure)
    }

    /// Reads an upstream's response, up to the [body limit](Self::body_limit),
    /// and classifies it. On success the response comes back with its body
    /// read.
    ///
    /// A successful answer over the limit, or whose body breaks off, is a bad
    /// gateway; a failed one is classified by its status and headers alone.
    /// Reading is not bounded in time: put a timeout around the call.
    ///
    /// # Errors
    ///
    /// The failure the answer means; see [`classify`](Self::classify).
    pub async fn answer<B>(&self, response: Response<B>) -> Result<Response<Bytes>, Failure>
    where
        B: http_body::Body,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = response.into_parts();
        let body = match Limited::new(body, self.body_limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) => {
                self.classify(parts.status, &parts.headers, b"")?;
                return Err(Failure::bad_gateway().with_source(error));
            }
        };
        self.classify(parts.status, &parts.headers, &body)?;
        Ok(Response::from_parts(parts, body))
    }
}

impl Default for Upstream {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream")
            .field("overrides", &self.overrides)
            .field("contract", &self.contract.is_some())
            .field("body_limit", &self.body_limit)
            .finish()
    }
}

/// The default table: `None` is success.
fn default_kind(status: StatusCode) -> Option<FailureKind> {
    match status.as_u16() {
        200..=299 | 304 => None,
        503 | 429 => Some(FailureKind::Unavailable),
        504 | 408 => Some(FailureKind::Timeout),
        400..=499 => Some(FailureKind::Rejected(status)),
        _ => Some(FailureKind::BadGateway),
    }
}

/// The delay a `Retry-After` header asks for: delay-seconds, or an HTTP-date
/// (a date in the past is no delay). `None` when absent or malformed.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse().ok().map(Duration::from_secs);
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(SystemTime::now()).unwrap_or_default())
}

/// The upstream's status, kept as the failure's source for the logs.
#[derive(Debug, thiserror::Error)]
#[error("the upstream answered {0}")]
struct Answered(StatusCode);

/// A successful answer whose body broke the upstream's contract.
#[derive(Debug, thiserror::Error)]
#[error("the upstream answered {0} with a body that breaks its contract")]
struct BrokenContract(StatusCode);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    fn kind_of(status: u16) -> Option<FailureKind> {
        let status = StatusCode::from_u16(status).unwrap();
        Upstream::new()
            .classify(status, &HeaderMap::new(), b"")
            .err()
            .map(|failure| failure.kind())
    }

    #[test]
    fn the_default_table() {
        let rejected = |s| Some(FailureKind::Rejected(StatusCode::from_u16(s).unwrap()));
        for (status, kind) in [
            (200, None),
            (204, None),
            (304, None),
            (503, Some(FailureKind::Unavailable)),
            (429, Some(FailureKind::Unavailable)),
            (504, Some(FailureKind::Timeout)),
            (408, Some(FailureKind::Timeout)),
            (500, Some(FailureKind::BadGateway)),
            (502, Some(FailureKind::BadGateway)),
            (599, Some(FailureKind::BadGateway)),
            (101, Some(FailureKind::BadGateway)),
            (302, Some(FailureKind::BadGateway)),
            (401, rejected(401)),
            (403, rejected(403)),
            (404, rejected(404)),
            (409, rejected(409)),
            (410, rejected(410)),
            (412, rejected(412)),
            (423, rejected(423)),
            (424, rejected(424)),
        ] {
            assert_eq!(kind_of(status), kind, "{status}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", "7")])),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", " 0 ")])),
            Some(Duration::ZERO)
        );
        let soon = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        let delay = retry_after(&headers(&[("retry-after", &soon)])).unwrap();
        assert!((100..=120).contains(&delay.as_secs()), "{delay:?}");
        let past = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(
            retry_after(&headers(&[("retry-after", past)])),
            Some(Duration::ZERO)
        );
        for bad in ["-1", "1.5", "soon", "99999999999999999999999", ""] {
            assert_eq!(
                retry_after(&headers(&[("retry-after", bad)])),
                None,
                "{bad:?}"
            );
        }
        assert_eq!(retry_after(&HeaderMap::new()), None);
        // From the `retry_after` fuzz target: digits wrapped in no-break
        // spaces (bytes outside ASCII) are not delay-seconds.
        let mut nbsp = HeaderMap::new();
        nbsp.insert(
            RETRY_AFTER,
            http::HeaderValue::from_bytes(b"\t\t2\xc2\xa0\xc2\xa0\t").unwrap(),
        );
        assert_eq!(retry_after(&nbsp), None);
    }

    #[test]
    fn a_429_or_503_carries_its_retry_after() {
        let upstream = Upstream::new();
        for status in [
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::SERVICE_UNAVAILABLE,
        ] {
            let failure = upstream
                .classify(status, &headers(&[("retry-after", "7")]), b"")
                .unwrap_err();
            assert_eq!(failure.kind(), FailureKind::Unavailable);
            assert_eq!(failure.retry_after(), Some(Duration::from_secs(7)));
        }
    }

    #[test]
    fn an_upstream_424_keeps_its_problem_as_the_cause() {
        let body = json!({
            "title": "Failed Dependency", "status": 424,
            "dependency": "ledger", "dependency_status": 409
        });
        let failure = Upstream::new()
            .classify(
                StatusCode::FAILED_DEPENDENCY,
                &headers(&[("content-type", "application/problem+json; charset=utf-8")]),
                body.to_string().as_bytes(),
            )
            .unwrap_err();
        assert_eq!(
            failure.kind(),
            FailureKind::Rejected(StatusCode::FAILED_DEPENDENCY)
        );
        let cause = failure.cause().unwrap();
        assert_eq!(cause.root_dependency(), Some("ledger"));

        let not_problem = Upstream::new()
            .classify(
                StatusCode::CONFLICT,
                &headers(&[("content-type", "text/html")]),
                b"{}",
            )
            .unwrap_err();
        assert!(not_problem.cause().is_none());
    }

    #[test]
    fn overrides_and_contracts_apply_per_upstream() {
        let upstream = Upstream::new()
            .succeed_on(StatusCode::NOT_FOUND)
            .fail_on(StatusCode::OK, FailureKind::Unavailable)
            .fail_on(StatusCode::OK, FailureKind::BadGateway)
            .contract(|_, body| serde_json::from_slice::<serde_json::Value>(body).is_ok());
        assert!(upstream
            .classify(StatusCode::NOT_FOUND, &HeaderMap::new(), b"{}")
            .is_ok());
        let ok = upstream.classify(StatusCode::OK, &HeaderMap::new(), b"{}");
        assert_eq!(
            ok.unwrap_err().kind(),
            FailureKind::BadGateway,
            "the last override wins"
        );
        let broken = upstream.classify(StatusCode::CREATED, &HeaderMap::new(), b"<html>");
        assert_eq!(broken.unwrap_err().kind(), FailureKind::BadGateway);
        assert!(upstream
            .classify(StatusCode::CREATED, &HeaderMap::new(), b"[1]")
            .is_ok());
    }

    #[tokio::test]
    async fn answer_reads_a_bounded_body() {
        let upstream = Upstream::new().body_limit(8);
        let big = Response::new(http_body_util::Full::new(Bytes::from(vec![b'x'; 64])));
        let failure = upstream.answer(big).await.unwrap_err();
        assert_eq!(failure.kind(), FailureKind::BadGateway);

        let mut refused = Response::new(http_body_util::Full::new(Bytes::from(vec![b'x'; 64])));
        *refused.status_mut() = StatusCode::CONFLICT;
        let failure = upstream.answer(refused).await.unwrap_err();
        assert_eq!(failure.kind(), FailureKind::Rejected(StatusCode::CONFLICT));

        let small = Response::new(http_body_util::Full::new(Bytes::from_static(b"ok")));
        let answer = upstream.answer(small).await.unwrap();
        assert_eq!(answer.body(), &Bytes::from_static(b"ok"));
    }
}
