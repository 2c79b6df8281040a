//! [`DependencyLayer`]: run a service only when its prerequisites succeeded.
//!
//! For each required name, in the order required, the layer reads the
//! request's [`Dependencies`](crate::Dependencies) record:
//!
//! - [`Succeeded`](crate::Outcome::Succeeded): next name; when all pass, the
//!   inner service is called.
//! - [`Failed`](crate::Outcome::Failed): the policy's answer for that failure
//!   (424 for a refusal, 503 for a dependency that is down, ...). The inner
//!   service is not called.
//! - [`Skipped`](crate::Outcome::Skipped): the policy's answer for the root
//!   cause (the first failure recorded), listing what was skipped.
//! - never recorded: no one evaluated the prerequisite, a wiring bug of the
//!   server's; the policy's [unevaluated](crate::StatusPolicy::unevaluated)
//!   answer (500 by default), logged as an error.
//!
//! On the way out, a response carrying a [`DependencyError`](crate::DependencyError)
//! is rendered with this layer's policy, and a 424 that names no dependency
//! meets the policy's [`Guard`](crate::Guard).
//!
//! # Readiness
//!
//! The service is ready when the inner service is: deciding costs no I/O, so
//! `poll_ready` is passed through and a refused request leaves the readiness
//! it was given for the next call.
//!
//! # Cost
//!
//! The pass path allocates nothing when the record already exists (the
//! request id header, if any, is kept by reference count). A short-circuit
//! allocates the body once at its exact size, and the header map.
//!
//! # Body
//!
//! Responses carry [`ResponseBody`](crate::ResponseBody): the inner
//! service's body, or the problem the layer wrote.
//!
//! # Example
//!
//! ```
//! use http::{Request, Response, StatusCode};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_failed_dependency::{Dependencies, DependencyLayer, Failure};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let service = ServiceBuilder::new()
//!     // An earlier layer (here: a closure) records the outcome of "auth".
//!     .map_request(|mut request: Request<String>| {
//!         let authorized = request.headers().contains_key("authorization");
//!         let record = request.extensions_mut().get_or_insert_with(Dependencies::new);
//!         if authorized {
//!             record.record_success("auth");
//!         } else {
//!             record.record_failure("auth", Failure::rejected(StatusCode::FORBIDDEN));
//!         }
//!         request
//!     })
//!     .layer(DependencyLayer::new().require("auth"))
//!     .service(service_fn(|_: Request<String>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(http_body_util::Full::new(bytes::Bytes::from("created"))))
//!     }));
//!
//! let response = service.oneshot(Request::new(String::new())).await?;
//! assert_eq!(response.status(), StatusCode::FAILED_DEPENDENCY);
//! assert_eq!(response.headers()["content-type"], "application/problem+json");
//! # Ok(())
//! # }
//! ```

mod future;
mod layer;
mod service;

pub use self::future::ResponseFuture;
pub use self::layer::DependencyLayer;
pub use self::service::Dependency;
