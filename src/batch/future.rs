use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

use crate::body::ResponseBody;

/// A batch being answered: boxed, as its parts' futures are stored side by
/// side within it.
type Answering<B> = Pin<Box<dyn Future<Output = Response<ResponseBody<B>>> + Send>>;

pin_project! {
    /// The response future of [`Batch`](super::Batch).
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner { #[pin] future: F },
        Batch { future: Answering<B> },
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(super) fn inner(future: F) -> Self {
        Self {
            kind: Kind::Inner { future },
        }
    }

    pub(super) fn batch(future: Answering<B>) -> Self {
        Self {
            kind: Kind::Batch { future },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => future
                .poll(cx)
                .map(|result| result.map(|response| response.map(ResponseBody::inner))),
            KindProj::Batch { future } => future.as_mut().poll(cx).map(Ok),
        }
    }
}

impl<F, B> std::fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            Kind::Inner { .. } => "Inner",
            Kind::Batch { .. } => "Batch",
        };
        f.debug_tuple("ResponseFuture").field(&kind).finish()
    }
}
