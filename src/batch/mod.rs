//! A JSON batch endpoint with `dependsOn`: [`BatchLayer`].
//!
//! `POST /$batch` (the path is configurable) with
//! `{"requests": [{"id", "method", "url", "headers"?, "body"?, "dependsOn"?}]}`
//! runs each part as a real `http::Request` through the inner service (an
//! axum `Router`, typically), so every route, layer and extractor applies as
//! if it came alone. The answer is
//! `{"responses": [{"id", "status", "headers", "body"}]}`, in request order,
//! with 200 when the batch was well-formed even if parts failed (or 207 with
//! [`multi_status`](BatchLayer::multi_status)). Every other request goes to
//! the inner service untouched.
//!
//! # Validation
//!
//! Nothing runs unless the whole batch is valid. Each refusal is a 400
//! problem naming the part (`part`) and the field (`field`): a missing or
//! duplicate id (compared without case), `dependsOn` naming an unknown or a
//! later id, a method that is not a token, a `url` that is not a path on
//! this service (absolute URLs, `//host` and `.`/`..` segments are refused,
//! so no request leaves the service), a body without a `Content-Type`, a
//! nested batch, more parts than [`max_parts`](BatchLayer::max_parts)
//! (20), and OData's `atomicityGroup` and `$<id>` references, which are not
//! supported. Malformed JSON answers 400 with the parse position; a body
//! over [`max_body`](BatchLayer::max_body) (1 MiB) answers 413.
//!
//! # Execution
//!
//! A part runs only when every part it depends on answered 2xx; independent
//! parts run concurrently, at most [`concurrency`](BatchLayer::concurrency)
//! (4) at a time. A part whose dependency did not answer 2xx is not run: it
//! answers 424 with a problem naming that `dependency`, its
//! `dependency_status` and the `root_cause` (the first failed part of its
//! chain). These problems, like the 500 of a part that panicked and the 400
//! of a refused batch, are written by the layer's
//! [`StatusPolicy`](crate::StatusPolicy): its type base, its rule for server
//! details, its hook and the request id apply, though a part that was not
//! run stays a 424 whatever the policy maps refusals to, as the batch
//! formats require. Each part's request carries the outer request's extensions, the
//! [`copy_headers`](BatchLayer::copy_headers) of the outer request it does
//! not set itself (`authorization`, `cookie`, `x-request-id`), and a
//! [`Dependencies`](crate::Dependencies) record of the parts it depends on
//! (all succeeded), so a [`DependencyLayer`](crate::DependencyLayer) inside
//! sees them. A part that panics or fails answers 500, nothing of why
//! rendered (it is logged); the others are unaffected. The batch response's extensions hold
//! a record of every part's outcome (skipped parts as
//! [`Skipped`](crate::Outcome::Skipped)).
//!
//! Bodies: a part's request `body` is sent as JSON when its `Content-Type`
//! is JSON (`application/json`, `*+json`), and must be a string (sent as
//! its UTF-8 text) otherwise. In the answers, a JSON body is embedded as
//! JSON, UTF-8 text as a string, and anything else as a base64 string.
//!
//! Atomicity is not promised: each part does what the inner service does
//! with it, and a failed part does not undo the parts before it.
//!
//! Wrap the whole router, not each route: `Router::layer` would put the
//! layer around every route, where `/$batch` is never seen. `axum::serve`
//! wants axum's body type back, hence the `map_response`.
//!
//! # Readiness
//!
//! The service is ready when the inner service is. A batch is answered in a
//! boxed future of its own (its parts' futures are the inner service's and
//! are stored side by side); each part drives its own clone of the inner
//! service to readiness before calling it.
//!
//! ```
//! use axum::{body::Body, routing::{get, post}, Router, ServiceExt};
//! use tower::ServiceBuilder;
//! use tower_failed_dependency::batch::BatchLayer;
//!
//! # async fn serve() -> std::io::Result<()> {
//! let router: Router = Router::new()
//!     .route("/users", post(|| async { "created" }))
//!     .route("/health", get(|| async { "ok" }));
//! let app = ServiceBuilder::new()
//!     .map_response(|response: http::Response<_>| response.map(Body::new))
//!     .layer(BatchLayer::new())
//!     .service(router);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! axum::serve(listener, ServiceExt::<http::Request<Body>>::into_make_service(app)).await
//! # }
//! ```

mod body;
mod config;
mod dialect;
mod encoding;
mod future;
mod layer;
mod plan;
mod responses;
mod run;
mod service;
mod target;

pub use self::body::RequestBody;
pub use self::dialect::Dialect;
pub use self::future::ResponseFuture;
pub use self::layer::BatchLayer;
pub use self::plan::Invalid;
pub use self::service::Batch;
