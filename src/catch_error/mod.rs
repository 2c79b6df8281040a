//! [`CatchErrorLayer`]: a service's errors become problem responses.
//!
//! Tower's `TimeoutLayer` elapsing, `LoadShedLayer` shedding, an upstream
//! client failing: each error is classified by
//! [`Failure::from_error`](crate::Failure::from_error) and answered with the
//! problem it means, naming a dependency, through the layer's
//! [`StatusPolicy`](crate::StatusPolicy). It is the plain-tower counterpart
//! of axum's `HandleErrorLayer` with
//! [`error_handler`](crate::gateway::error_handler). The service it builds
//! never fails.
//!
//! # Readiness
//!
//! Like `HandleErrorLayer`, the service is always ready: each call clones the
//! inner service and drives it to readiness in the response future, so that
//! an error reported by `poll_ready` becomes a problem too.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use http::{Request, Response, StatusCode};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_failed_dependency::catch_error::CatchErrorLayer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let slow = service_fn(|_: Request<()>| async {
//!     tokio::time::sleep(Duration::from_secs(5)).await;
//!     Ok::<_, std::convert::Infallible>(Response::new(String::new()))
//! });
//! let service = ServiceBuilder::new()
//!     .layer(CatchErrorLayer::new("pricing"))
//!     .timeout(Duration::from_millis(10))
//!     .service(slow);
//! let response = service.oneshot(Request::new(())).await.unwrap();
//! assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
//! # }
//! ```

mod config;
mod future;
mod layer;
mod service;

pub use self::future::ResponseFuture;
pub use self::layer::CatchErrorLayer;
pub use self::service::CatchError;
