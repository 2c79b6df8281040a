use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Extensions, HeaderMap, Request, Response, StatusCode};
use tower_service::Service;

use super::layer::Config;
use super::{DependencyLayer, ResponseBody, ResponseFuture};
use crate::negotiate::Accept;
use crate::render::{Incident, Rendered};
use crate::reply::ReplyTo;
use crate::request_id::sanitized;
use crate::{trace, Dependencies, DependencyError, Failure, Guard, Outcome};

/// The service built by [`DependencyLayer`]. See the [module docs](crate::layer).
#[derive(Debug, Clone)]
pub struct Dependency<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> Dependency<S> {
    pub(super) fn new(inner: S, config: Arc<Config>) -> Self {
        Self { inner, config }
    }

    /// A layer with no requirements yet; same as [`DependencyLayer::new`].
    pub fn layer() -> DependencyLayer {
        DependencyLayer::new()
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes the layer's service, returning the inner one.
    pub fn into_inner(self) -> S {
        self.inner
    }
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
        let config = &self.config;
        // Taken out (a pointer-sized move) so that, when the request is
        // refused, its storage becomes the response's without an allocation.
        let mut extensions = std::mem::take(request.extensions_mut());
        let record = extensions.get::<Dependencies>();
        let Some(unmet) = config.first_unmet(record) else {
            if record.is_none() {
                extensions.insert(Dependencies::new());
            }
            *request.extensions_mut() = extensions;
            let reply_to = ReplyTo::of(request.headers(), &config.request_id_header);
            let future = self.inner.call(request);
            return ResponseFuture::inner(future, Arc::clone(config), reply_to);
        };
        let rendered = config.reject(unmet, record, request.headers());
        extensions.clear();
        ResponseFuture::reject(mark_rendered(rendered, extensions))
    }
}

/// A required prerequisite that is not met, and how.
pub(crate) enum Unmet<'a> {
    Failed(&'a str, &'a Failure),
    Skipped(&'a str),
    Unevaluated(&'a str),
}

/// Marks a response whose problem a layer of this crate rendered, so that
/// enclosing layers neither render it again nor take its 424 for a bare one.
#[derive(Debug, Clone, Copy)]
struct RenderedHere;

impl Config {
    pub(crate) fn first_unmet<'a>(&'a self, record: Option<&'a Dependencies>) -> Option<Unmet<'a>> {
        let mut hint = 0;
        self.required.iter().find_map(|name| {
            match record.and_then(|record| record.find_from(hint, name)) {
                Some((at, Outcome::Succeeded)) => {
                    hint = at + 1;
                    None
                }
                Some((_, Outcome::Failed(failure))) => Some(Unmet::Failed(name, failure)),
                Some((_, Outcome::Skipped { .. })) => Some(Unmet::Skipped(name)),
                None => Some(Unmet::Unevaluated(name)),
            }
        })
    }

    /// The problem for a refused request, echoing the request id found in
    /// `headers`, in the form their `Accept` prefers.
    pub(crate) fn reject(
        &self,
        unmet: Unmet<'_>,
        record: Option<&Dependencies>,
        headers: &HeaderMap,
    ) -> Rendered {
        let request_id = sanitized(headers, &self.request_id_header);
        let incident = |dependency, failure, event| Incident {
            dependency: Some(dependency),
            failure,
            record,
            request_id,
            event,
        };
        let policy = &self.policy;
        let rendered = match unmet {
            Unmet::Failed(name, failure) => {
                policy.render_logged(&incident(name, failure, trace::PREREQUISITE_FAILED))
            }
            // A skipped prerequisite answers for the failure that caused the
            // skip: 424 when it was a refusal, 503 when a dependency is down.
            Unmet::Skipped(name) => match record.and_then(|record| record.cause_of(name)) {
                Some((root, failure)) => {
                    policy.render_logged(&incident(root, failure, trace::PREREQUISITE_FAILED))
                }
                None => policy.render_logged(&incident(
                    name,
                    &Failure::internal(),
                    trace::SKIPPED_WITHOUT_CAUSE,
                )),
            },
            Unmet::Unevaluated(name) => policy.render_logged(&incident(
                name,
                &Failure::new(policy.unevaluated()),
                trace::UNEVALUATED,
            )),
        };
        rendered.negotiated(&Accept::of(headers))
    }

    /// The way out: renders a [`DependencyError`] the inner service answered
    /// with, and guards against a 424 that names no dependency.
    pub(crate) fn finish<B>(
        &self,
        response: Response<B>,
        reply_to: &ReplyTo,
    ) -> Response<ResponseBody<B>> {
        let extensions = response.extensions();
        if extensions.get::<RenderedHere>().is_some() {
            return response.map(ResponseBody::inner);
        }
        let request_id = || reply_to.request_id();
        let rendered = if let Some(error) = extensions.get::<DependencyError>() {
            self.policy.render_logged(&error.incident(request_id()))
        } else if response.status() == StatusCode::FAILED_DEPENDENCY {
            match self.policy.guard() {
                Guard::Enforce => self.policy.render_logged(&Incident {
                    dependency: None,
                    failure: &Failure::internal(),
                    record: None,
                    request_id: request_id(),
                    event: trace::UNNAMED_424,
                }),
                Guard::Warn => {
                    trace::unnamed_424_let_through(request_id());
                    return response.map(ResponseBody::inner);
                }
            }
        } else {
            return response.map(ResponseBody::inner);
        };
        // The inner response is replaced whole; its extensions (with the
        // typed error, for outer layers and tests) are kept.
        let extensions = response.into_parts().0.extensions;
        mark_rendered(rendered.negotiated(reply_to.accept()), extensions)
    }
}

pub(crate) fn mark_rendered<B>(
    rendered: Rendered,
    mut extensions: Extensions,
) -> Response<ResponseBody<B>> {
    extensions.insert(RenderedHere);
    rendered.into_response(extensions, ResponseBody::problem)
}
