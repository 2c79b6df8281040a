//! Tower middleware for requests whose prerequisites failed.
//!
//! A request often depends on earlier actions: an auth step, a created
//! record, a lock, an inventory reservation. When one of them fails, the
//! dependent request must not run, and the client must learn *which*
//! prerequisite failed and why, in a form machines can read.
//!
//! - Outcomes are recorded by name in the request's [`Dependencies`] record.
//! - [`DependencyLayer`] runs the inner service only when the required names
//!   succeeded. Otherwise it answers with an RFC 9457 [`Problem`]
//!   (`application/problem+json`) that names the failed dependency, its own
//!   status, the root cause and what was skipped.
//! - A [`StatusPolicy`] picks the status. 424 Failed Dependency is kept for a
//!   prerequisite that was attempted and refused; a dependency that is down is
//!   503 with `Retry-After`, a timeout 504, a bad upstream answer 502, bad
//!   input 400 or 422, a missing precondition 428, our own fault 500 with
//!   nothing internal in the body. A 424 that names no dependency never
//!   leaves.
//! - Handlers report failures by returning a [`DependencyError`].
//!
//! # Example
//!
//! ```
//! use http::{Request, Response, StatusCode};
//! use http_body_util::{BodyExt, Full};
//! use tower::{service_fn, ServiceExt};
//! use tower_failed_dependency::{Dependencies, DependencyLayer, Failure};
//! use tower_layer::Layer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let handler = service_fn(|_: Request<()>| async {
//!     Ok::<_, std::convert::Infallible>(Response::new(Full::from("order placed")))
//! });
//! let service = DependencyLayer::new()
//!     .require("auth")
//!     .require("inventory")
//!     .layer(handler);
//!
//! let mut request = Request::new(());
//! let record = request
//!     .extensions_mut()
//!     .get_or_insert_with(Dependencies::new);
//! record.record_success("auth");
//! record.record_failure(
//!     "inventory",
//!     Failure::rejected(StatusCode::CONFLICT).with_detail("Out of stock."),
//! );
//!
//! let response = service.oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::FAILED_DEPENDENCY);
//! let body: serde_json::Value =
//!     serde_json::from_slice(&response.into_body().collect().await?.to_bytes())?;
//! assert_eq!(body["dependency"], "inventory");
//! assert_eq!(body["dependency_status"], 409);
//! assert_eq!(body["detail"], "Out of stock.");
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! - `tracing` (default): one event per problem rendered, a warning for a
//!   client error and an error (with the source error) for a server error.
//! - `axum`: axum's `IntoResponse` for [`Problem`] and [`DependencyError`].
//! - `checks`: prerequisite checks the layer runs itself (`checks`).
//! - `gateway`: tower, Tokio and hyper errors recognised by
//!   [`Failure::from_error`], and the middleware for gateways (`catch_error`,
//!   `gateway`).
//! - `batch`: a JSON batch endpoint with `dependsOn` (`batch`).
//! - `xml`: problems in RFC 9457's XML form for clients that prefer it
//!   (`problem::ProblemFormat`), and WebDAV 207 bodies (`multistatus`).
//! - `utoipa`: utoipa 5's `ToSchema` for [`Problem`], the problem body as
//!   an OpenAPI 3.1 schema named `Problem`.
//! - `catch-panic`: a panic caught by tower-http's `CatchPanicLayer`
//!   answered with a 500 problem (`panic::PanicProblem`).
//! - `opentelemetry`: problems carry the trace id of the current span's
//!   OpenTelemetry context.
//! - `idempotency`: `Idempotency-Key` and `Depends-On` across requests
//!   (`idempotency`), with an in-memory store (`store`).
//! - `redis`: the idempotency store in Redis, for several processes.
//! - `derive`: `#[derive(Failure)]`, an error type of your own mapped to the
//!   problem it answers, with misused statuses refused at compile time
//!   ([`Failure`](macro@Failure)).
//!
//! # The tree
//!
//! The modules follow the order of the work, and each imports only those
//! before it: [`problem`] (the RFC 9457 document, its JSON and XML forms,
//! the response that carries it), [`outcome`] (what happened to each
//! prerequisite), [`policy`] (which status, and the problem written), then
//! one module per middleware: [`dependency`], `checks`, `batch`,
//! `catch_error`, [`errors_as_problems`], `idempotency` (over its `store`);
//! [`upstream`], `multistatus` and `panic` are leaves.

#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// The request path must not panic: every `unwrap`, `expect` or `panic!`
// left in library code says why it cannot fire (tests may use them freely).
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

#[macro_use]
mod macros;

// The tiers, from the bottom: the RFC 9457 document and its forms; what
// happened to prerequisites; the policy that turns it into a problem; then
// the middleware, each in its own module, and the leaves beside them.
pub mod problem;

pub mod outcome;

pub mod policy;

mod body;
#[cfg(any(feature = "batch", feature = "idempotency"))]
mod collect;
mod requirements;
#[cfg(any(feature = "checks", feature = "batch"))]
mod schedule;

#[cfg(feature = "batch")]
#[cfg_attr(docsrs, doc(cfg(feature = "batch")))]
pub mod batch;
#[cfg(feature = "gateway")]
#[cfg_attr(docsrs, doc(cfg(feature = "gateway")))]
pub mod catch_error;
#[cfg(feature = "checks")]
#[cfg_attr(docsrs, doc(cfg(feature = "checks")))]
pub mod checks;
pub mod dependency;
pub mod errors_as_problems;
#[cfg(feature = "gateway")]
#[cfg_attr(docsrs, doc(cfg(feature = "gateway")))]
pub mod gateway;
#[cfg(feature = "idempotency")]
#[cfg_attr(docsrs, doc(cfg(feature = "idempotency")))]
pub mod idempotency;
#[cfg(feature = "xml")]
#[cfg_attr(docsrs, doc(cfg(feature = "xml")))]
pub mod multistatus;
#[cfg(feature = "catch-panic")]
#[cfg_attr(docsrs, doc(cfg(feature = "catch-panic")))]
pub mod panic;
#[cfg(feature = "idempotency")]
#[cfg_attr(docsrs, doc(cfg(feature = "idempotency")))]
pub mod store;
pub mod upstream;

// axum's `IntoResponse`, as private glue: no public module named `axum`.
#[cfg(feature = "axum")]
mod axum;
// utoipa's `ToSchema` for `Problem`, likewise private glue.
#[cfg(feature = "utoipa")]
#[cfg_attr(docsrs, doc(cfg(feature = "utoipa")))]
mod openapi;
// What the code of `#[derive(Failure)]` calls: hidden, not an API.
#[cfg(feature = "derive")]
#[doc(hidden)]
#[path = "derive.rs"]
pub mod __private;

#[doc(inline)]
pub use crate::body::{RequestBody, ResponseBody};
#[doc(inline)]
pub use crate::dependency::{Dependency, DependencyLayer};
#[doc(inline)]
pub use crate::outcome::{
    BoxError, Cause, Dependencies, Failure, FailureKind, FieldError, Name, Outcome,
};
#[doc(inline)]
pub use crate::policy::{
    DependencyError, DependencyResultExt, Guard, PolicyError, RequestParts, StatusPolicy,
    StatusPolicyBuilder,
};
#[doc(inline)]
pub use crate::problem::{MemberNameError, Problem, ProblemBody};
#[cfg(feature = "derive")]
#[cfg_attr(docsrs, doc(cfg(feature = "derive")))]
#[doc(inline)]
#[doc = include_str!("derive.md")]
pub use tower_failed_dependency_derive::Failure;

// The README's examples are compiled and run as doc tests.
#[cfg(all(
    doctest,
    feature = "axum",
    feature = "batch",
    feature = "catch-panic",
    feature = "checks",
    feature = "derive",
    feature = "gateway",
    feature = "idempotency"
))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
