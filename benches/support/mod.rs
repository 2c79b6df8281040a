//! The services and requests both benchmarks measure.

#![allow(dead_code)]

#[path = "../../tests/support/immediate.rs"]
mod immediate;

pub use immediate::{call, noop_waker};

use std::convert::Infallible;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request as AxumRequest;
use axum::middleware::{from_fn, Next};
use axum::response::{IntoResponse, Response as AxumResponse};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use serde::Serialize;
use tower::{service_fn, Service};
use tower_failed_dependency::{Dependencies, DependencyLayer, Failure, Outcome};
use tower_layer::Layer;

pub const NAMES: [&str; 8] = [
    "auth",
    "tenant",
    "quota",
    "lock",
    "inventory",
    "payment",
    "fraud",
    "shipping",
];

pub type Body = Full<Bytes>;

fn handle(_: Request<()>) -> Ready<Result<Response<Body>, Infallible>> {
    ready(Ok(Response::new(Full::new(Bytes::from_static(b"ok")))))
}

/// The handler alone.
pub fn bare() -> impl Service<
    Request<()>,
    Response = Response<Body>,
    Error = Infallible,
    Future = Ready<Result<Response<Body>, Infallible>>,
> + Clone {
    service_fn(handle)
}

/// `DependencyLayer` requiring the first `required` names.
pub fn layer(required: usize) -> DependencyLayer {
    NAMES[..required]
        .iter()
        .fold(DependencyLayer::new(), |layer, name| layer.require(*name))
}

/// A record in which the first `required` names succeeded.
pub fn passing(required: usize) -> Dependencies {
    let mut record = Dependencies::new();
    for name in &NAMES[..required] {
        record.record_success(*name);
    }
    record
}

/// A record in which `inventory` was refused and `payment` skipped.
pub fn refused() -> Dependencies {
    let mut record = Dependencies::new();
    record
        .record_success("auth")
        .record_failure(
            "inventory",
            Failure::rejected(StatusCode::CONFLICT)
                .with_detail("Only 0 left of sold-out.")
                .with_code("OUT_OF_STOCK"),
        )
        .record_skipped("payment", "inventory");
    record
}

/// A request carrying `record`, as an earlier layer would leave it.
pub fn request<B>(record: &Dependencies, body: B) -> Request<B> {
    let mut request = Request::new(body);
    request
        .headers_mut()
        .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    request.extensions_mut().insert(record.clone());
    request
}

/// The problem the 424 short-circuit sends, as a plain derived struct.
#[derive(Serialize)]
pub struct Floor<'a> {
    pub title: &'a str,
    pub status: u16,
    pub detail: &'a str,
    pub dependency: &'a str,
    pub dependency_status: u16,
    pub code: &'a str,
    pub retryable: bool,
    pub skipped: [&'a str; 1],
}

pub const FLOOR: Floor<'static> = Floor {
    title: "Failed Dependency",
    status: 424,
    detail: "Only 0 left of sold-out.",
    dependency: "inventory",
    dependency_status: 409,
    code: "OUT_OF_STOCK",
    retryable: false,
    skipped: ["payment"],
};

/// What a user would write by hand: check one name, pass, or answer 424 with
/// a serde_json body.
#[derive(Clone)]
pub struct HandWritten<S> {
    inner: S,
}

impl<S> HandWritten<S> {
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

impl<S> Service<Request<()>> for HandWritten<S>
where
    S: Service<Request<()>, Response = Response<Body>, Error = Infallible>,
    S::Future: Unpin,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = HandWrittenFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        let passed = request
            .extensions()
            .get::<Dependencies>()
            .and_then(|record| record.get("inventory"))
            .is_some_and(Outcome::is_success);
        if passed {
            return HandWrittenFuture::Inner(self.inner.call(request));
        }
        let body = serde_json::to_vec(&FLOOR).unwrap_or_default();
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = StatusCode::FAILED_DEPENDENCY;
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        HandWrittenFuture::Reject(Some(response))
    }
}

pub enum HandWrittenFuture<F> {
    Inner(F),
    Reject(Option<Response<Body>>),
}

impl<F: Future<Output = Result<Response<Body>, Infallible>> + Unpin> Future
    for HandWrittenFuture<F>
{
    type Output = Result<Response<Body>, Infallible>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            HandWrittenFuture::Inner(future) => Pin::new(future).poll(cx),
            HandWrittenFuture::Reject(response) => {
                Poll::Ready(Ok(response.take().expect("polled once")))
            }
        }
    }
}

/// A plain axum router.
pub fn router() -> Router {
    Router::new().route("/", get(|| async { "ok" }))
}

async fn check_auth(request: AxumRequest, next: Next) -> AxumResponse {
    let passed = request
        .extensions()
        .get::<Dependencies>()
        .and_then(|record| record.get("auth"))
        .is_some_and(Outcome::is_success);
    if passed {
        next.run(request).await
    } else {
        StatusCode::FAILED_DEPENDENCY.into_response()
    }
}

/// The router with `middleware::from_fn` doing the same check.
pub fn router_from_fn() -> Router {
    router().layer(from_fn(check_auth))
}

/// The router with `DependencyLayer` doing the same check.
pub fn router_layer() -> Router {
    router().layer(DependencyLayer::new().require("auth"))
}

pub fn layered<S>(layer: DependencyLayer, inner: S) -> tower_failed_dependency::Dependency<S> {
    layer.layer(inner)
}

/// Checks that pass at once, for the `checks` feature's benchmarks.
#[cfg(feature = "checks")]
pub mod checks {
    use std::time::Duration;

    use tower_failed_dependency::checks::{CheckedLayer, RequestHead};
    use tower_failed_dependency::{DependencyLayer, Failure};

    use super::*;

    async fn pass(_: RequestHead) -> Result<(), Failure> {
        Ok(())
    }

    /// One check.
    pub fn one() -> CheckedLayer {
        DependencyLayer::new()
            .check("auth", pass)
            .build()
            .expect("a valid graph")
    }

    /// `auth`, then `inventory` and `payment` concurrently.
    pub fn graph() -> CheckedLayer {
        DependencyLayer::new()
            .check("auth", pass)
            .check("inventory", pass)
            .after(["auth"])
            .check("payment", pass)
            .after(["auth"])
            .build()
            .expect("a valid graph")
    }

    async fn ok() -> Result<(), Failure> {
        Ok(())
    }

    /// What a user writes by hand for the same graph: one boxed async block
    /// per request, each check under a timeout, the independent two joined.
    /// It records nothing and renders nothing.
    #[derive(Clone)]
    pub struct HandWrittenChecks<S> {
        inner: S,
    }

    impl<S> HandWrittenChecks<S> {
        pub fn new(inner: S) -> Self {
            Self { inner }
        }
    }

    impl<S> Service<Request<()>> for HandWrittenChecks<S>
    where
        S: Service<Request<()>, Response = Response<Body>, Error = Infallible>
            + Clone
            + Send
            + 'static,
        S::Future: Send,
    {
        type Response = Response<Body>;
        type Error = Infallible;
        type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: Request<()>) -> Self::Future {
            let mut inner = self.inner.clone();
            Box::pin(async move {
                let limit = Duration::from_secs(10);
                let refused = || Response::builder().status(424).body(Body::default());
                if !matches!(tokio::time::timeout(limit, ok()).await, Ok(Ok(()))) {
                    return Ok(refused().unwrap_or_default());
                }
                let (inventory, payment) = tokio::join!(
                    tokio::time::timeout(limit, ok()),
                    tokio::time::timeout(limit, ok())
                );
                if !matches!((inventory, payment), (Ok(Ok(())), Ok(Ok(())))) {
                    return Ok(refused().unwrap_or_default());
                }
                inner.call(request).await
            })
        }
    }
}
