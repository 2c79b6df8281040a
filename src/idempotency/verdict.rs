//! [`Verdict`]: what the layer did with a request, for outer layers and
//! tests.

use super::depends_on::DependsOnError;
use super::key::KeyError;

/// What [`Idempotency`](super::Idempotency) did with a request instead of
/// running it, or besides: kept in the response's extensions, so that outer
/// layers, logs and tests can tell without reading the body. A response the
/// inner service wrote, and a refusal because of `Depends-On` keys (whose
/// outcomes are in the request's [`Dependencies`](crate::Dependencies)),
/// carry none.
///
/// ```
/// use http::{Request, Response, StatusCode};
/// use http_body_util::Full;
/// use tower::{service_fn, Layer, ServiceExt};
/// use tower_failed_dependency::idempotency::{IdempotencyLayer, KeyError, Verdict};
/// use tower_failed_dependency::RequestBody;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let handler = service_fn(|_: Request<RequestBody<Full<bytes::Bytes>>>| async {
///     Ok::<_, std::convert::Infallible>(Response::new(Full::from("ran")))
/// });
/// let service = IdempotencyLayer::new().layer(handler);
/// let request = Request::post("/users")
///     .header("idempotency-key", "\"k1\", \"k2\"")
///     .body(Full::from("{}"))?;
/// let response = service.oneshot(request).await?;
/// assert_eq!(response.status(), StatusCode::BAD_REQUEST);
/// assert_eq!(
///     response.extensions().get::<Verdict>(),
///     Some(&Verdict::KeyInvalid(KeyError::Several))
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// The kept answer, sent again.
    Replayed,
    /// A keyed method without a key, where one is required (400).
    KeyMissing,
    /// A key that cannot be read (400).
    KeyInvalid(KeyError),
    /// A `Depends-On` that cannot be read (400).
    DependsOnInvalid(DependsOnError),
    /// A `Depends-On` that names the request's own key (400).
    DependsOnItself,
    /// The key was sent with another request (422).
    KeyReused,
    /// The key's first request is still running (409).
    KeyInUse,
    /// A keyed request's body is larger than the layer reads (413).
    BodyTooLarge,
    /// A keyed request's body did not arrive in time (408).
    BodyTimeout,
    /// A keyed request's body failed to arrive (400).
    BodyUnreadable,
    /// The store is down, and the layer fails closed (503).
    StoreUnavailable,
    /// The request ran once, and its answer was too large to keep (500).
    AnswerNotKept,
    /// The request ran, and its answer broke off before it was read whole
    /// (500).
    AnswerBroken,
}
