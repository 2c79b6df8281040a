use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::Body;
use tower_service::Service;

use super::config::Config;
use super::depends_on::DependsOn;
use super::key::IdempotencyKey;
use super::run::{problem, run, Reply};
use super::verdict::Verdict;
use crate::body::RequestBody;
use crate::outcome::BoxError;
use crate::policy::RequestParts;

/// The service built by [`IdempotencyLayer`](super::IdempotencyLayer). See
/// the [module docs](super).
#[derive(Debug, Clone)]
pub struct Idempotency<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> Idempotency<S> {
    pub(super) fn new(inner: S, config: Arc<Config>) -> Self {
        Self { inner, config }
    }

    inner_service_accessors!();
}

/// A 400 for a header the layer cannot read, before anything else is done.
fn refuse<B, T>(
    config: &Config,
    request: &Request<T>,
    detail: &str,
    code: &str,
    verdict: Verdict,
) -> Response<crate::ResponseBody<B>> {
    let reply = Reply::of(request.headers(), config);
    let parts = RequestParts::new(
        request.method(),
        request.uri(),
        request.headers(),
        request.extensions(),
    );
    problem(
        config,
        &reply,
        Some(&parts),
        StatusCode::BAD_REQUEST,
        detail,
        &[("code", code)],
        verdict,
    )
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Idempotency<S>
where
    S: Service<Request<RequestBody<ReqBody>>, Response = Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    S::Error: Send + 'static,
    ReqBody: Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<BoxError>,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<crate::ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = super::ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let config = &self.config;
        let keyed = config.methods.contains(request.method());
        let headers = request.headers();
        let key = match keyed {
            true => IdempotencyKey::from_header(headers.get_all(&config.key_header)),
            false => Ok(None),
        };
        let depends_on = DependsOn::from_header(
            headers.get_all(&config.depends_on_header),
            config.max_depends_on,
        );
        let refused = |detail: String, code, verdict| {
            let response = refuse::<ResBody, _>(config, &request, &detail, code, verdict);
            super::ResponseFuture::reject(response)
        };
        let (key, depends_on) = match (key, depends_on) {
            (Err(error), _) => {
                let detail = format!("The {} header is not valid: {error}.", config.key_header);
                return refused(
                    detail,
                    "IDEMPOTENCY_KEY_INVALID",
                    Verdict::KeyInvalid(error),
                );
            }
            (_, Err(error)) => {
                let detail = format!(
                    "The {} header is not valid: {error}.",
                    config.depends_on_header
                );
                return refused(
                    detail,
                    "DEPENDS_ON_INVALID",
                    Verdict::DependsOnInvalid(error),
                );
            }
            (Ok(None), _) if keyed && config.require_key.of(request.method(), request.uri()) => {
                let detail = format!("This request must carry an {} header.", config.key_header);
                return refused(detail, "IDEMPOTENCY_KEY_MISSING", Verdict::KeyMissing);
            }
            (Ok(None), Ok(depends_on)) if depends_on.is_empty() => {
                let future = self.inner.call(request.map(RequestBody::passed));
                return super::ResponseFuture::inner(future);
            }
            (Ok(Some(key)), Ok(depends_on)) if depends_on.iter().any(|named| *named == key) => {
                let detail = format!(
                    "The {} header names this request's own key, '{key}': a request \
                     cannot depend on itself.",
                    config.depends_on_header
                );
                return refused(detail, "DEPENDS_ON_INVALID", Verdict::DependsOnItself);
            }
            (Ok(key), Ok(depends_on)) => (key, depends_on),
        };
        // The readiness this service was given (a concurrency permit, a
        // buffer slot) is released now: a keyed request reads its body and
        // consults the store before it may run, and must not hold what
        // others need while it waits. It drives a clone of its own to
        // readiness when it is about to call it.
        let clone = self.inner.clone();
        drop(std::mem::replace(&mut self.inner, clone));
        let inner = self.inner.clone();
        let config = Arc::clone(config);
        super::ResponseFuture::keyed(Box::pin(run(config, inner, request, key, depends_on)))
    }
}
