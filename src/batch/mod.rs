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
//! chain). Each part's request carries the outer request's extensions, the
//! [`copy_headers`](BatchLayer::copy_headers) of the outer request it does
//! not set itself (`authorization`, `cookie`, `x-request-id`), and a
//! [`Dependencies`](crate::Dependencies) record of the parts it depends on
//! (all succeeded), so a [`DependencyLayer`](crate::DependencyLayer) inside
//! sees them. A part that panics or fails answers 500, nothing of why
//! rendered; the others are unaffected. The batch response's extensions hold
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

mod plan;
mod run;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Either, Full, LengthLimitError, Limited};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

pub use self::plan::Invalid;
use self::plan::Limits;
use self::run::{Responses, Settings};
use crate::{BoxError, Problem};

/// Answers `POST` on the batch path by running its parts through the inner
/// service. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct BatchLayer {
    config: Arc<Config>,
}

#[derive(Debug, Clone)]
struct Config {
    path: String,
    max_parts: usize,
    max_body: usize,
    part_body_limit: usize,
    concurrency: usize,
    copy_headers: Vec<HeaderName>,
    multi_status: bool,
}

impl BatchLayer {
    /// A batch endpoint at `/$batch` with the default limits.
    pub fn new() -> Self {
        Self {
            config: Arc::new(Config {
                path: "/$batch".to_owned(),
                max_parts: 20,
                max_body: 1024 * 1024,
                part_body_limit: 1024 * 1024,
                concurrency: 4,
                copy_headers: vec![
                    http::header::AUTHORIZATION,
                    http::header::COOKIE,
                    HeaderName::from_static("x-request-id"),
                ],
                multi_status: false,
            }),
        }
    }

    fn with(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(Arc::make_mut(&mut self.config));
        self
    }

    /// The path the batch endpoint answers on (default `/$batch`).
    pub fn path(self, path: impl Into<String>) -> Self {
        self.with(|config| config.path = path.into())
    }

    /// The most parts a batch may have (default 20).
    pub fn max_parts(self, max: usize) -> Self {
        self.with(|config| config.max_parts = max)
    }

    /// The largest batch body read, in bytes (default 1 MiB); larger is 413.
    pub fn max_body(self, bytes: usize) -> Self {
        self.with(|config| config.max_body = bytes)
    }

    /// The largest answer read from one part, in bytes (default 1 MiB); a
    /// larger one makes that part a 500.
    pub fn max_part_answer(self, bytes: usize) -> Self {
        self.with(|config| config.part_body_limit = bytes)
    }

    /// How many parts run at once (default 4, at least 1).
    pub fn concurrency(self, parts: usize) -> Self {
        self.with(|config| config.concurrency = parts.max(1))
    }

    /// The headers of the outer request copied onto each part that does not
    /// set them (default `authorization`, `cookie`, `x-request-id`).
    pub fn copy_headers(self, headers: impl IntoIterator<Item = HeaderName>) -> Self {
        self.with(|config| config.copy_headers = headers.into_iter().collect())
    }

    /// Answers a well-formed batch with 207 Multi-Status instead of 200.
    pub fn multi_status(self, yes: bool) -> Self {
        self.with(|config| config.multi_status = yes)
    }
}

impl Default for BatchLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for BatchLayer {
    type Service = Batch<S>;

    fn layer(&self, inner: S) -> Batch<S> {
        Batch {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service built by [`BatchLayer`].
#[derive(Debug, Clone)]
pub struct Batch<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> Batch<S> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Consumes the layer's service, returning the inner one.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// The body of a [`Batch`] response: the inner service's, or the batch's own.
pub type BatchBody<B> = Either<B, Full<Bytes>>;

type BatchFuture = Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Batch<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ReqBody: http_body::Body + From<Bytes> + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
    ResBody: http_body::Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<BatchBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if request.method() != Method::POST || request.uri().path() != self.config.path {
            return ResponseFuture {
                kind: Kind::Inner {
                    future: self.inner.call(request),
                },
            };
        }
        let inner = self.inner.clone();
        let config = Arc::clone(&self.config);
        ResponseFuture {
            kind: Kind::Batch {
                future: Box::pin(answer(inner, request, config)),
            },
        }
    }
}

pin_project! {
    /// The response future of [`Batch`].
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Inner { #[pin] future: F },
        Batch { future: BatchFuture },
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<BatchBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => future
                .poll(cx)
                .map(|result| result.map(|response| response.map(Either::Left))),
            KindProj::Batch { future } => future
                .as_mut()
                .poll(cx)
                .map(|response| Ok(response.map(Either::Right))),
        }
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            Kind::Inner { .. } => "Inner",
            Kind::Batch { .. } => "Batch",
        };
        f.debug_tuple("ResponseFuture").field(&kind).finish()
    }
}

/// Reads, validates and runs one batch.
async fn answer<S, ReqBody, ResBody>(
    inner: S,
    request: Request<ReqBody>,
    config: Arc<Config>,
) -> Response<Full<Bytes>>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ReqBody: http_body::Body + From<Bytes> + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
    ResBody: http_body::Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    let (head, body) = request.into_parts();
    let body = match Limited::new(body, config.max_body).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => {
            return refuse(Invalid::too_large(config.max_body), &head.headers)
        }
        Err(_) => return refuse(Invalid::unreadable(), &head.headers),
    };
    let limits = Limits {
        max_parts: config.max_parts,
        batch_path: config.path.clone(),
    };
    let parts = match plan::plan(&body, &limits) {
        Ok(parts) => parts,
        Err(invalid) => return refuse(invalid, &head.headers),
    };
    let settings = Settings {
        concurrency: config.concurrency,
        part_body_limit: config.part_body_limit,
        copy_headers: &config.copy_headers,
    };
    let (parts, answers) = run::run(inner, parts, &head.headers, &head.extensions, &settings).await;
    let record = run::record(&parts, &answers);
    let body = crate::response::to_json(&Responses {
        parts: &parts,
        answers: &answers,
    });
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = if config.multi_status {
        StatusCode::MULTI_STATUS
    } else {
        StatusCode::OK
    };
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.extensions_mut().insert(record);
    response
}

/// The problem answering a batch refused before anything ran, in the form
/// the outer request's `Accept` prefers.
#[cfg_attr(not(feature = "xml"), allow(unused_variables))]
fn refuse(invalid: Invalid, headers: &HeaderMap) -> Response<Full<Bytes>> {
    let mut problem = Problem::new(invalid.status()).with_detail(invalid.to_string());
    if let Some(title) = invalid.status().canonical_reason() {
        problem = problem.with_title(title);
    }
    let members = [("part", invalid.part_id()), ("field", invalid.field())];
    for (name, value) in members {
        if let Some(value) = value {
            problem = problem
                .with_member(name, value)
                .unwrap_or_else(|_| Problem::new(invalid.status()));
        }
    }
    #[cfg(feature = "xml")]
    let response = problem.into_response_as(crate::problem::ProblemFormat::preferred(headers));
    #[cfg(not(feature = "xml"))]
    let response = problem.into_response();
    response.map(crate::ProblemBody::into_full)
}
