use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::prerequisite::RequestHead;
use super::run::{Plan, Run};
use super::ResponseFuture;
use crate::body::ResponseBody;
use crate::outcome::Dependencies;
use crate::requirements::Requirements;

/// The service built by [`CheckedLayer`](super::CheckedLayer). See the
/// [module docs](super).
#[derive(Debug, Clone)]
pub struct Checked<S> {
    inner: S,
    requirements: Arc<Requirements>,
    plan: Arc<Plan>,
}

impl<S> Checked<S> {
    pub(super) fn new(inner: S, requirements: Arc<Requirements>, plan: Arc<Plan>) -> Self {
        Self {
            inner,
            requirements,
            plan,
        }
    }

    inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Checked<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    /// Always ready: the inner service's readiness is awaited in the response
    /// future, and only once the checks passed.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let inner = self.inner.clone();
        let (mut parts, body) = request.into_parts();
        parts.extensions.get_or_insert_with(Dependencies::new);
        let head = RequestHead::new(parts);
        let run = Run::new(Arc::clone(&self.plan), head.clone());
        ResponseFuture::new(run, head, body, inner, Arc::clone(&self.requirements))
    }
}
