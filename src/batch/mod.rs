//! A JSON batch endpoint with `dependsOn`: [`BatchLayer`].
//!
//! `POST /$batch` (the path is configurable) with
//! `{"requests": [{"id", "method", "url", "headers"?, "body"?, "dependsOn"?}]}`,
//! in the shape Microsoft Graph and OData JSON 4.01 §19 share, runs each part
//! as a real `http::Request` through the inner service (an axum `Router`,
//! typically), so every route, layer and extractor applies as if it came
//! alone. The answer is `{"responses": [{"id", "status", "headers", "body"}]}`,
//! in request order, with 200 when the batch was well-formed even if parts
//! failed. Every other request goes to the inner service untouched, its body
//! wrapped in [`RequestBody`](crate::RequestBody).
//!
//! # Reading a batch
//!
//! The batch must be sent as `application/json`; anything else answers 415
//! and nothing runs (a cross-site form may send `text/plain` with the user's
//! cookies, which are copied onto the parts). Its body is read within
//! [`body_timeout`](BatchLayer::body_timeout) (30 s, then 408) and up to
//! [`max_body`](BatchLayer::max_body) (1 MiB, then 413).
//!
//! Each part is read as Graph and OData write it:
//! - `url`: a path; a path relative to the batch's own URL (`users?$select=id`
//!   is `/users?...` for a batch at `/$batch`, `/v1.0/users?...` for one at
//!   `/v1.0/$batch`); an absolute URL whose origin is the batch request's own
//!   (its path is taken); `$<id>/rest` for below the `Location` part `<id>`
//!   answered (or its `OData-EntityId`). Characters a URI cannot hold
//!   (Graph's own examples have spaces) are percent-encoded. Nothing ever
//!   leaves the service.
//! - `$<id>` or `$<id>/<property>/...` in a query option's value: the value
//!   at that path in part `<id>`'s JSON answer body (OData 4.01 Part 1
//!   §11.7.6: `$filter=Building eq $1/Building`), as an OData literal
//!   (`'B 41'`, `3`, `true`, `null`) percent-encoded for the query.
//! - `If-Match` / `If-None-Match: $<id>`: part `<id>`'s `ETag`.
//!
//! A reference is `$` or `%24` followed by a part's id (in any case, as
//! written or percent-encoded) and by nothing that would go on with a name
//! (`$10` is not `$1`); a `$name` that names no part (`$metadata`,
//! `$filter`, `$top`) is left as it is. A reference must name a part in the
//! part's own `dependsOn`: one naming any other part of the batch refuses
//! the batch. A part whose reference cannot be resolved (no `Location`, a
//! value that is not in the answer or is an object, a reference elsewhere
//! in the path or in an option's name) answers 400 naming it and the
//! reference, without running, and its dependents 424: no part is sent
//! with a reference to a part of its batch left in it.
//! - `method` in any case; `dependsOn` also spelled `depends_on` (the Graph
//!   Python SDK's spelling): a dependency is never ignored.
//! - `body`: JSON for a JSON media type (`application/json`, `*+json`), a
//!   string for `text/*`, base64 (standard or base64url, padded or not) for
//!   anything else.
//! - `if`: not evaluated; the part answers 424 without running, as OData
//!   asks of a service that does not evaluate it.
//!
//! Nothing runs unless the whole batch is valid. Each refusal is a 400
//! problem naming the part (`part`) and the member (`field`): a missing,
//! duplicate (compared without case) or too long id
//! ([`max_id_len`](BatchLayer::max_id_len), 128 bytes), `dependsOn` naming an
//! unknown or a later id, a member the formats do not define or one given
//! twice (instance annotations, names with `@`, are allowed), a method that
//! is not a token, a `GET`, `DELETE` or `HEAD` with a body, a body without a
//! `Content-Type` or not in its encoding, a url on another origin or with
//! `.`/`..` segments, a nested batch, OData's `atomicityGroup` (not
//! supported), more parts than [`max_parts`](BatchLayer::max_parts) (20).
//! Malformed JSON answers 400 with the parse position; a part that is not an
//! object or nests too deep, with its position.
//!
//! # Execution
//!
//! A part runs only when every part it depends on answered 2xx; independent
//! parts run concurrently, at most [`concurrency`](BatchLayer::concurrency)
//! (4) at a time, each within [`part_timeout`](BatchLayer::part_timeout)
//! (30 s, then 504). A part whose dependency did not answer 2xx is not run:
//! it answers 424 with a problem naming that `dependency`, its
//! `dependency_status` and the `root_cause` (the first failed part of its
//! chain). These problems, like the 500 of a part that panicked or failed
//! and the 400 of a refused batch, are written by the layer's
//! [`StatusPolicy`](crate::StatusPolicy): its type base, its rule for server
//! details, its hook and the request id apply, though a part that was not
//! run stays a 424 whatever the policy maps refusals to, as the batch
//! formats require. Each part's request carries the outer request's
//! extensions, the [`copy_headers`](BatchLayer::copy_headers) of the outer
//! request it does not set itself (`authorization`, `cookie`,
//! `x-request-id`), and a [`Dependencies`](crate::Dependencies) record of the
//! parts it depends on (all succeeded), so a
//! [`DependencyLayer`](crate::DependencyLayer) inside sees them. A part that
//! panics or fails answers 500, nothing of why rendered (it is logged); the
//! others are unaffected. The batch response's extensions hold a record of
//! every part's outcome (skipped parts as
//! [`Skipped`](crate::Outcome::Skipped)).
//!
//! In the answers, a JSON body is embedded as JSON, a `text/*` body that is
//! UTF-8 as a string, and anything else as base64; header bytes 0x80-0xFF
//! are the characters of the same value. How header names are spelled and
//! which base64 alphabet is used depends on the [`Dialect`] (Graph's by
//! default).
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
//! The service is ready when the inner service is. For a batch, the
//! readiness it was given is released at once (a `ConcurrencyLimit`'s permit,
//! a `Buffer`'s slot), and each part drives its own clone of the inner
//! service to readiness before calling it, so a batch never waits for
//! itself. A batch is answered in a boxed future of its own (its parts'
//! futures are the inner service's and are stored side by side). The timers
//! are tokio's: the layer runs within a tokio runtime.
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

mod call;
mod config;
mod dialect;
mod encoding;
mod future;
mod layer;
mod members;
mod plan;
mod reference;
mod responses;
mod run;
mod service;
mod target;

pub use self::dialect::Dialect;
pub use self::future::ResponseFuture;
pub use self::layer::BatchLayer;
pub use self::plan::Invalid;
pub use self::service::Batch;
