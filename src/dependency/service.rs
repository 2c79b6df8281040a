use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::ResponseFuture;
use crate::body::ResponseBody;
use crate::policy::ReplyTo;
use crate::requirements::Requirements;

/// The service built by [`DependencyLayer`](super::DependencyLayer). See the
/// [module docs](crate::dependency).
#[derive(Debug, Clone)]
pub struct Dependency<S> {
    inner: S,
    requirements: Arc<Requirements>,
}

impl<S> Dependency<S> {
    pub(super) fn new(inner: S, requirements: Arc<Requirements>) -> Self {
        Self {
            inner,
            requirements,
        }
    }

    inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Dependency<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let requirements = &self.requirements;
        // Taken out (a pointer-sized move) so that, when the request is
        // refused, its storage becomes the response's without an allocation.
        let mut extensions = std::mem::take(request.extensions_mut());
        let admitted = requirements.admit(
            request.method(),
            request.uri(),
            request.headers(),
            &mut extensions,
        );
        if let Err(refusal) = admitted {
            return ResponseFuture::reject(refusal);
        }
        *request.extensions_mut() = extensions;
        let reply_to = ReplyTo::of(
            &request,
            &requirements.request_id_header,
            &requirements.policy,
        );
        let future = self.inner.call(request);
        ResponseFuture::inner(future, Arc::clone(requirements), reply_to)
    }
}
