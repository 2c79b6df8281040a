use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::config::Config;
use super::ResponseFuture;
use crate::body::ResponseBody;
use crate::policy::ReplyTo;

/// The service built by
/// [`ErrorsAsProblemsLayer`](super::ErrorsAsProblemsLayer). See the
/// [module docs](crate::errors_as_problems).
#[derive(Debug, Clone)]
pub struct ErrorsAsProblems<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> ErrorsAsProblems<S> {
    pub(super) fn new(inner: S, config: Arc<Config>) -> Self {
        Self { inner, config }
    }

    inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ErrorsAsProblems<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: http_body::Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let config = &self.config;
        let reply_to = ReplyTo::of(&request, &config.request_id_header, &config.policy);
        ResponseFuture::new(self.inner.call(request), Arc::clone(config), reply_to)
    }
}
