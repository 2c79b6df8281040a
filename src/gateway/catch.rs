//! [`CatchErrorLayer`]: a service's errors become problem responses.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::{Extensions, HeaderName, Request, Response};
use pin_project_lite::pin_project;
use tower::util::Oneshot;
use tower::ServiceExt;
use tower_layer::Layer;
use tower_service::Service;

use crate::layer::{mark_rendered, ResponseBody};
use crate::render::Incident;
use crate::reply::ReplyTo;
use crate::request_id::X_REQUEST_ID;
use crate::{trace, BoxError, Failure, Name, StatusPolicy};

/// Turns the errors of the service it wraps (tower's `TimeoutLayer`
/// elapsing, `LoadShedLayer` shedding, an upstream client failing) into the
/// problem responses they mean, naming a dependency: the plain-tower
/// counterpart of axum's `HandleErrorLayer` with
/// [`error_handler`](super::error_handler). The service it builds never
/// fails.
///
/// Like `HandleErrorLayer`, the service is always ready and each call clones
/// the inner service and drives it to readiness in the response future, so
/// that an error reported by `poll_ready` becomes a problem too.
///
/// ```
/// use std::time::Duration;
/// use http::{Request, Response, StatusCode};
/// use tower::{service_fn, ServiceBuilder, ServiceExt};
/// use tower_failed_dependency::gateway::CatchErrorLayer;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let slow = service_fn(|_: Request<()>| async {
///     tokio::time::sleep(Duration::from_secs(5)).await;
///     Ok::<_, std::convert::Infallible>(Response::new(String::new()))
/// });
/// let service = ServiceBuilder::new()
///     .layer(CatchErrorLayer::new("pricing"))
///     .timeout(Duration::from_millis(10))
///     .service(slow);
/// let response = service.oneshot(Request::new(())).await.unwrap();
/// assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct CatchErrorLayer {
    config: Arc<Config>,
}

#[derive(Debug, Clone)]
struct Config {
    dependency: Name,
    policy: StatusPolicy,
    request_id_header: HeaderName,
}

impl CatchErrorLayer {
    /// Errors are answered as failures of `dependency`, with the default
    /// policy.
    pub fn new(dependency: impl Into<Name>) -> Self {
        Self {
            config: Arc::new(Config {
                dependency: dependency.into(),
                policy: StatusPolicy::default(),
                request_id_header: X_REQUEST_ID.clone(),
            }),
        }
    }

    /// The policy that maps failures to statuses.
    pub fn policy(self, policy: StatusPolicy) -> Self {
        self.with(|config| config.policy = policy)
    }

    /// The request header whose id is echoed as `request_id` (default
    /// `x-request-id`).
    pub fn request_id_header(self, header: HeaderName) -> Self {
        self.with(|config| config.request_id_header = header)
    }

    fn with(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(Arc::make_mut(&mut self.config));
        self
    }
}

impl<S> Layer<S> for CatchErrorLayer {
    type Service = CatchError<S>;

    fn layer(&self, inner: S) -> CatchError<S> {
        CatchError {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service built by [`CatchErrorLayer`].
#[derive(Debug, Clone)]
pub struct CatchError<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> CatchError<S> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Consumes the layer's service, returning the inner one.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CatchError<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    S::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = Infallible;
    type Future = ResponseFuture<Oneshot<S, Request<ReqBody>>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let reply_to = ReplyTo::of(request.headers(), &self.config.request_id_header);
        ResponseFuture {
            future: self.inner.clone().oneshot(request),
            config: Arc::clone(&self.config),
            reply_to,
        }
    }
}

pin_project! {
    /// The response future of [`CatchError`].
    pub struct ResponseFuture<F> {
        #[pin]
        future: F,
        config: Arc<Config>,
        reply_to: ReplyTo,
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<Response<ResponseBody<B>>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let error = match ready!(this.future.poll(cx)) {
            Ok(response) => return Poll::Ready(Ok(response.map(ResponseBody::inner))),
            Err(error) => error,
        };
        let failure = Failure::from_error(error);
        let config = &**this.config;
        let rendered = config.policy.render_logged(&Incident {
            dependency: Some(&config.dependency),
            failure: &failure,
            record: None,
            request_id: this.reply_to.request_id(),
            event: trace::SERVICE_ERROR,
        });
        let rendered = rendered.negotiated(this.reply_to.accept());
        Poll::Ready(Ok(mark_rendered(rendered, Extensions::new())))
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("dependency", &self.config.dependency)
            .finish_non_exhaustive()
    }
}
