use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Response};
use tower_service::Service;

use super::config::Config;
use super::ResponseFuture;
use crate::body::{RequestBody, ResponseBody};
use crate::outcome::BoxError;

/// The service built by [`BatchLayer`](super::BatchLayer). See the [module docs](crate::batch).
#[derive(Debug, Clone)]
pub struct Batch<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> Batch<S> {
    pub(super) fn new(inner: S, config: Arc<Config>) -> Self {
        Self { inner, config }
    }

    inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Batch<S>
where
    S: Service<Request<RequestBody<ReqBody>>, Response = Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ReqBody: http_body::Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<BoxError>,
    ResBody: http_body::Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if request.method() != Method::POST || request.uri().path() != self.config.path {
            return ResponseFuture::inner(self.inner.call(request.map(RequestBody::passed)));
        }
        // The parts drive clones of the inner service to readiness one by
        // one; the readiness this service was given (a `ConcurrencyLimit`'s
        // permit, a `Buffer`'s slot) is released now, not held while the
        // parts wait for it.
        let clone = self.inner.clone();
        drop(std::mem::replace(&mut self.inner, clone));
        let inner = self.inner.clone();
        let config = Arc::clone(&self.config);
        let (head, body) = request.into_parts();
        ResponseFuture::batch(Box::pin(super::run::answer(inner, head, body, config)))
    }
}
