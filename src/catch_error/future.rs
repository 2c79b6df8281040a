use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::{Extensions, Response};
use pin_project_lite::pin_project;

use super::config::Config;
use crate::body::ResponseBody;
use crate::outcome::{BoxError, Failure};
use crate::policy::{send, Incident, ReplyTo};

/// What the log event of a caught error says happened.
const SERVICE_ERROR: &str = "the service failed with an error";

pin_project! {
    /// The response future of [`CatchError`](super::CatchError).
    pub struct ResponseFuture<F> {
        #[pin]
        future: F,
        config: Arc<Config>,
        reply_to: ReplyTo,
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(future: F, config: Arc<Config>, reply_to: ReplyTo) -> Self {
        Self {
            future,
            config,
            reply_to,
        }
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
        let incident = Incident::new(Some(&config.dependency), &failure, SERVICE_ERROR);
        let serialized = this.reply_to.render(&config.policy, incident, true);
        let accept = this.reply_to.accept();
        let response = send(serialized, accept, Extensions::new(), ResponseBody::whole);
        Poll::Ready(Ok(response))
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("dependency", &self.config.dependency)
            .finish_non_exhaustive()
    }
}
