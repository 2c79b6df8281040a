//! [`IdempotencyLayer`]: chains across requests. A keyed request runs once
//! (`Idempotency-Key`, draft-ietf-httpapi-idempotency-key-header), and a
//! later request names the keyed requests it depends on (`Depends-On`),
//! whose kept answers become its prerequisites.
//!
//! # A keyed request
//!
//! For the methods configured (default `POST` and `PATCH`), a request with
//! an `Idempotency-Key` ([`IdempotencyKey`]: an sf-string, or the bare value
//! most clients send; at most 255 characters) is fingerprinted (SHA-256 of
//! its method, path and query, and body, read whole: at most 1 MiB, else
//! 413; within 10 s, else 408) and its key claimed in the store:
//!
//! | the key holds | answer |
//! |---|---|
//! | nothing | the request runs once; its answer (status, the headers a replay needs, a body of up to 64 KiB) is kept |
//! | an answer, same fingerprint | that answer again, success or error, with `idempotent-replayed: true` |
//! | anything, another fingerprint | 422, `code` `IDEMPOTENCY_KEY_REUSED` |
//! | a request still running, same fingerprint | 409 with `Retry-After: 1`, `code` `IDEMPOTENCY_KEY_IN_USE` |
//!
//! A request of a keyed method without a key runs as usual, or answers 400
//! (`IDEMPOTENCY_KEY_MISSING`) where the layer
//! [requires](IdempotencyLayer::require_key) one (on
//! [some routes](IdempotencyLayer::require_key_for) only, if need be); a key that cannot be read
//! answers 400 (`IDEMPOTENCY_KEY_INVALID`). Problems are written by the
//! layer's [`StatusPolicy`](crate::StatusPolicy), like every problem of the
//! crate, and carry the key as `idempotency_key`; the response's extensions
//! hold a [`Verdict`] saying what the layer did.
//!
//! The draft's statuses: 400 for a missing key (the client's request is
//! incomplete), 422 for a key reused with another payload (well-formed, but
//! it cannot be processed as asked), 409 while the first request runs (a
//! conflict with the current state that resolves itself: retry).
//!
//! # Earlier outcomes as prerequisites
//!
//! A request (of any method) may name earlier keyed requests of the same
//! caller: `Depends-On: "k1", "k2"` (an sf-list; bare members too; at most
//! 8 by default, else 400 `DEPENDS_ON_INVALID`, as is a list that names the
//! request's own key). Each key is looked up in
//! the store and its outcome recorded in the request's
//! [`Dependencies`](crate::Dependencies) under the key, so handlers, inner
//! layers and the policy see it as any prerequisite; the request runs only
//! when every one succeeded, as if a
//! [`DependencyLayer`](crate::DependencyLayer) required them, in order:
//!
//! | the earlier request | recorded as | answer (default policy) |
//! |---|---|---|
//! | answered below 400 | success | runs |
//! | answered 4xx (409, ...) | a refusal with that status, its problem's `detail` and `code` | 424, `dependency` the key, `dependency_status` its status |
//! | answered 424 naming its own failed prerequisite | that first failure, the key skipped because of it | 424 naming the first failure, the key in `skipped` |
//! | answered 5xx | as [`Failure::rejected`](crate::Failure::rejected) classifies it | 502, 503 or 504 |
//! | still running after the wait (2 s in all) | a refusal with 409, `code` `DEPENDENCY_RUNNING` | 424 (`dependency_status` 409) |
//! | unknown or expired | unprocessable, `code` `DEPENDENCY_UNKNOWN` | 422 naming the key |
//! | the store is down | `idempotency_store` unavailable, the key skipped | 503 with `Retry-After` |
//!
//! An unknown key answers 422: the request names a prerequisite that this
//! server cannot evaluate, an instruction it cannot process (RFC 9110
//! §15.5.21: the request is well-formed, but its instructions cannot be
//! processed). Not 428: the
//! precondition was sent, not missing. Not 412: that is for validators
//! (`If-Match`) evaluated against the target resource. Not 404: the target
//! exists. Not 424: nothing was attempted and refused.
//!
//! A keyed request refused because of a failed earlier request keeps that
//! refusal as its answer, for the layer's expiry from when it was given,
//! like any kept answer, so a chain of three names the first failure from
//! the third.
//! A refusal that may change (still running, unknown, store down) is not
//! kept: the key is released for the retry.
//!
//! # Keys are scoped
//!
//! A key is looked up among the keys of the same caller only: by default
//! the request's credentials ([`Credentials`]: its `Authorization` header,
//! else its `Cookie` header), replaceable by any [`KeyScope`]. The store
//! sees a SHA-256 digest of the scope, never the credentials.
//!
//! # Defaults
//!
//! | setting | default |
//! |---|---|
//! | [`methods`](IdempotencyLayer::methods) | `POST`, `PATCH` |
//! | [`expiry`](IdempotencyLayer::expiry) (answers kept) | 24 h |
//! | [`lease`](IdempotencyLayer::lease) (a running claim holds its key) | 60 s |
//! | [`store_timeout`](IdempotencyLayer::store_timeout) (each store operation) | 1 s |
//! | [`max_request_body`](IdempotencyLayer::max_request_body) / [`body_timeout`](IdempotencyLayer::body_timeout) | 1 MiB / 10 s |
//! | [`max_stored_body`](IdempotencyLayer::max_stored_body) | 64 KiB |
//! | [`degrade`](IdempotencyLayer::degrade) | [`Degrade::FailClosed`] |
//! | [`max_depends_on`](IdempotencyLayer::max_depends_on) / [`depends_on_wait`](IdempotencyLayer::depends_on_wait) | 8 / 2 s |
//! | store | [`MemoryStore`](crate::store::MemoryStore): 64 MiB, 100 000 entries |
//!
//! Every wait is bounded: the body read, each store operation, the wait for
//! running prerequisites. When the store is down or slow, or an answer is
//! too large to keep, [`Degrade`] decides, and it is logged. A request that
//! did not run is never answered as if it had.
//!
//! # Readiness
//!
//! `poll_ready` is the inner service's, and a request that is neither keyed
//! nor dependent is passed on at once. A keyed or dependent request releases
//! the readiness it was given (a concurrency permit, a buffer slot) at once:
//! it does not hold what others need while its body is read and the store
//! is consulted. When it may run, it drives a clone of the inner service to
//! readiness and calls it; a request replayed or refused never reaches the
//! inner service. For admission control before the store is consulted, put
//! a limit outside this layer.
//!
//! An inner service that fails (an error, not an answer) has no answer to
//! keep: its claim is left to lapse after the lease, so that a retry within
//! it is told the request is still running rather than run it twice.
//!
//! # Runtime
//!
//! Timeouts use Tokio's timer: the layer runs on a Tokio runtime with time
//! enabled (as axum and hyper servers are).
//!
//! # Bodies
//!
//! The inner service receives a [`RequestBody`](crate::RequestBody): the client's body, or a
//! keyed request's body read whole. Responses carry
//! [`ResponseBody`](crate::ResponseBody).
//!
//! # Example
//!
//! ```
//! use http::{Method, Request, Response, StatusCode};
//! use http_body_util::{BodyExt, Full};
//! use tower::{service_fn, Layer, Service, ServiceExt};
//! use tower_failed_dependency::idempotency::IdempotencyLayer;
//! use tower_failed_dependency::RequestBody;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let handler = service_fn(|request: Request<RequestBody<Full<bytes::Bytes>>>| async move {
//!     let status = match request.uri().path() {
//!         "/users" => StatusCode::CREATED,
//!         _ => StatusCode::OK,
//!     };
//!     let mut response = Response::new(Full::from("done"));
//!     *response.status_mut() = status;
//!     Ok::<_, std::convert::Infallible>(response)
//! });
//! let mut service = IdempotencyLayer::new().layer(handler);
//! let create = || {
//!     Request::post("/users")
//!         .header("idempotency-key", "\"k1\"")
//!         .body(Full::from("{\"email\":\"ada@example.com\"}"))
//!         .unwrap()
//! };
//!
//! let first = service.ready().await?.call(create()).await?;
//! assert_eq!(first.status(), StatusCode::CREATED);
//! let retry = service.ready().await?.call(create()).await?;
//! assert_eq!(retry.status(), StatusCode::CREATED);
//! assert_eq!(retry.headers()["idempotent-replayed"], "true");
//!
//! let update = Request::patch("/users/1")
//!     .header("depends-on", "\"k1\"")
//!     .body(Full::from("{}"))?;
//! let answer = service.ready().await?.call(update).await?;
//! assert_eq!(answer.status(), StatusCode::OK);
//! # Ok(())
//! # }
//! ```

mod config;
mod depends_on;
mod fingerprint;
mod future;
mod key;
mod layer;
mod run;
mod scope;
mod service;
mod verdict;

pub use self::config::Degrade;
pub use self::depends_on::{DependsOn, DependsOnError};
pub use self::future::ResponseFuture;
pub use self::key::{IdempotencyKey, KeyError};
pub use self::layer::IdempotencyLayer;
pub use self::scope::{Credentials, KeyScope};
pub use self::service::Idempotency;
pub use self::verdict::Verdict;
