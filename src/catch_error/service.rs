use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower::ServiceExt;
use tower_service::Service;

use super::config::Config;
use super::ResponseFuture;
use crate::body::ResponseBody;
use crate::outcome::BoxError;
use crate::policy::ReplyTo;

/// The service built by [`CatchErrorLayer`](super::CatchErrorLayer). See the
/// [module docs](crate::catch_error).
#[derive(Debug, Clone)]
pub struct CatchError<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> CatchError<S> {
    pub(super) fn new(inner: S, config: Arc<Config>) -> Self {
        Self { inner, config }
    }

    inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CatchError<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    S::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = Infallible;
    type Future = ResponseFuture<tower::util::Oneshot<S, Request<ReqBody>>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let config = &self.config;
        let reply_to = ReplyTo::of(&request, &config.request_id_header, &config.policy);
        ResponseFuture::new(
            self.inner.clone().oneshot(request),
            Arc::clone(&self.config),
            reply_to,
        )
    }
}
