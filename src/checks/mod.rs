//! Prerequisite checks that the layer runs itself: a graph of named checks,
//! concurrent where independent, bounded in time, and panic-safe.
//!
//! [`DependencyLayer::check`](crate::DependencyLayer::check) starts a
//! [`ChecksBuilder`]; [`after`](ChecksBuilder::after) orders a check after
//! others, [`timeout`](ChecksBuilder::timeout) bounds it, and
//! [`build`](ChecksBuilder::build) validates the graph (an unknown name, a
//! name declared twice or a cycle is a [`GraphError`]) and gives a
//! [`CheckedLayer`].
//!
//! A check is a [`Prerequisite`]: any `Fn(RequestHead) -> impl Future<Output
//! = Result<T, Failure>>`. When `T` is not `()`, the value is inserted into
//! the request's extensions for the handler.
//!
//! # What happens to a request
//!
//! 1. Every check whose prerequisites succeeded starts; independent checks
//!    run concurrently, within the request's task.
//! 2. Each outcome is recorded in the request's
//!    [`Dependencies`](crate::Dependencies) under the check's name (replacing
//!    whatever an outer layer recorded there), in declaration order, so
//!    handlers and inner layers see them. A check whose prerequisite failed
//!    is not run and is recorded as skipped.
//! 3. The answer is decided in declaration order, requirements and checks
//!    alike: the first prerequisite not met names the root cause, whichever
//!    finished first. Once that is known, checks still running are dropped
//!    and recorded as skipped. Declare cheap checks that often fail first.
//! 4. When every prerequisite succeeded, the inner service is called. When
//!    one did not, the layer answers as
//!    [`DependencyLayer`](crate::DependencyLayer) does: 424 for a refusal,
//!    the policy's status otherwise, with the skipped checks in `skipped`.
//!
//! A check that takes longer than its timeout ([`DEFAULT_TIMEOUT`] unless
//! set) fails as a timeout (504 by default); so does every check still
//! running when the optional [`deadline`](ChecksBuilder::deadline) for all
//! of them passes. A check that panics fails as an internal error (500): the
//! panic's message is logged, never rendered, and the service keeps serving.
//!
//! # Readiness and backpressure
//!
//! [`Checked`] is always ready. Each call clones the inner service (so it
//! must be `Clone`, as an axum `Router` is) and waits for its readiness only
//! once the checks passed: a request the checks refuse never waits for, nor
//! holds, a concurrency permit or a rate-limit slot of the inner service.
//! For admission control before the checks run, put a limit outside this
//! layer.
//!
//! # Runtime and cost
//!
//! Timeouts use Tokio's timer: the checks run on a Tokio runtime with time
//! enabled (as axum and hyper servers are). Each check's future is boxed
//! once per request, next to its timer; the record and the shared request
//! head allocate once each. A layer's only check is polled in place; a
//! graph of checks runs on a schedule that is boxed once per request. The
//! require-only
//! [`DependencyLayer`](crate::DependencyLayer) is untouched by this and
//! allocates nothing on its pass path.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//!
//! use http::{Request, Response, StatusCode};
//! use tower::{service_fn, ServiceExt};
//! use tower_failed_dependency::checks::RequestHead;
//! use tower_failed_dependency::{DependencyLayer, Failure};
//!
//! #[derive(Clone)]
//! struct Reservation(u64);
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let layer = DependencyLayer::new()
//!     .check("auth", |head: RequestHead| async move {
//!         match head.headers.get("authorization") {
//!             Some(_) => Ok(()),
//!             None => Err(Failure::rejected(StatusCode::UNAUTHORIZED)),
//!         }
//!     })
//!     .check("inventory", |_: RequestHead| async { Ok(Reservation(7)) })
//!     .after(["auth"])
//!     .check("payment_limit", |_: RequestHead| async { Ok(()) })
//!     .after(["auth"])
//!     .timeout(Duration::from_millis(300))
//!     .build()?;
//!
//! let service = tower::ServiceBuilder::new()
//!     .layer(layer)
//!     .service(service_fn(|request: Request<()>| async move {
//!         let Reservation(id) = request.extensions().get().cloned().unwrap_or(Reservation(0));
//!         Ok::<_, std::convert::Infallible>(Response::new(format!("reservation {id}")))
//!     }));
//!
//! // Without a token, "auth" is refused and its dependents never run.
//! let response = service.clone().oneshot(Request::new(())).await?;
//! assert_eq!(response.status(), StatusCode::FAILED_DEPENDENCY);
//! let body = http_body_util::BodyExt::collect(response.into_body()).await?.to_bytes();
//! let problem: serde_json::Value = serde_json::from_slice(&body)?;
//! assert_eq!(problem["dependency"], "auth");
//! assert_eq!(problem["skipped"], serde_json::json!(["inventory", "payment_limit"]));
//!
//! // With one, the handler reads the reservation "inventory" made.
//! let request = Request::builder().header("authorization", "Bearer t").body(())?;
//! let response = service.oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//! # Ok(())
//! # }
//! ```

mod builder;
mod future;
mod graph;
mod layer;
mod prerequisite;
mod run;
mod service;
mod span;

pub use self::builder::{ChecksBuilder, DEFAULT_TIMEOUT};
pub use self::future::ResponseFuture;
pub use self::graph::GraphError;
pub use self::layer::CheckedLayer;
pub use self::prerequisite::{Prerequisite, RequestHead};
pub use self::service::Checked;
