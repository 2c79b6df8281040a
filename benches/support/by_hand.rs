//! What a user writes by hand instead of the crate's layers.

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use pin_project_lite::pin_project;
use serde::Serialize;
use tower::Service;

use super::Passed;

type Answer = Response<Full<Bytes>>;

/// The problem the hand-written service answers, with the members the
/// crate writes for the same refusal.
#[derive(Serialize)]
struct Problem {
    title: &'static str,
    status: u16,
    detail: &'static str,
    dependency: &'static str,
    dependency_status: u16,
    retryable: bool,
}

/// Reads the [`Passed`] flag an earlier layer left: calls the inner service
/// when it says yes, answers a 424 problem otherwise.
#[derive(Clone)]
pub(super) struct HandWritten<S> {
    inner: S,
}

impl<S> HandWritten<S> {
    pub(super) fn new(inner: S) -> Self {
        Self { inner }
    }
}

impl<S, B> Service<Request<B>> for HandWritten<S>
where
    S: Service<Request<B>, Response = Answer>,
{
    type Response = Answer;
    type Error = S::Error;
    type Future = Either<S::Future, Ready<Result<Answer, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if request.extensions().get::<Passed>().is_some_and(|p| p.0) {
            return Either::Left {
                future: self.inner.call(request),
            };
        }
        let problem = Problem {
            title: "Failed Dependency",
            status: 424,
            detail: "The prerequisite 'inventory' was refused (409 Conflict), so this request was not performed.",
            dependency: "inventory",
            dependency_status: 409,
            retryable: false,
        };
        let body = serde_json::to_vec(&problem).expect("a struct of strings and numbers");
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = StatusCode::FAILED_DEPENDENCY;
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        Either::Right {
            future: ready(Ok(response)),
        }
    }
}

pin_project! {
    /// One future or the other, in place (no allocation).
    #[project = EitherProj]
    pub(super) enum Either<L, R> {
        Left { #[pin] future: L },
        Right { #[pin] future: R },
    }
}

impl<L, R> Future for Either<L, R>
where
    L: Future,
    R: Future<Output = L::Output>,
{
    type Output = L::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<L::Output> {
        match self.project() {
            EitherProj::Left { future } => future.poll(cx),
            EitherProj::Right { future } => future.poll(cx),
        }
    }
}

/// One check under a timeout, in one boxed `async` block per request, then
/// the inner service; a 424 with no body when the check fails.
#[cfg(feature = "checks")]
#[derive(Clone)]
pub(super) struct HandWrittenCheck<S> {
    inner: S,
}

#[cfg(feature = "checks")]
impl<S> HandWrittenCheck<S> {
    pub(super) fn new(inner: S) -> Self {
        Self { inner }
    }
}

#[cfg(feature = "checks")]
impl<S, B> Service<Request<B>> for HandWrittenCheck<S>
where
    S: Service<Request<B>, Response = Answer> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = Answer;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Answer, S::Error>> + Send>>;

    /// The inner service's readiness, before the check.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone that was polled ready is the one called.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let check = async { Ok::<(), &'static str>(()) };
            match tokio::time::timeout(std::time::Duration::from_secs(10), check).await {
                Ok(Ok(())) => inner.call(request).await,
                _ => {
                    let mut refused = Response::new(Full::default());
                    *refused.status_mut() = StatusCode::FAILED_DEPENDENCY;
                    Ok(refused)
                }
            }
        })
    }
}
