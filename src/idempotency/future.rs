use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

use crate::body::ResponseBody;

/// The future of a keyed request, or of one that names earlier ones.
///
/// Boxed: it awaits the store's futures (a user's store among them, behind
/// `dyn Store`), reads the body, may wait for earlier requests, and then
/// runs the inner service; one `async` block sequences those steps. A
/// request that is neither keyed nor dependent does not pay for it.
pub(super) type Keyed<B, E> =
    Pin<Box<dyn Future<Output = Result<Response<ResponseBody<B>>, E>> + Send>>;

pin_project! {
    /// The response future of [`Idempotency`](super::Idempotency).
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        kind: Kind<F, B, E>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B, E> {
        Inner { #[pin] future: F },
        Keyed { future: Keyed<B, E> },
        Reject { response: Option<Response<ResponseBody<B>>> },
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    pub(super) fn inner(future: F) -> Self {
        Self {
            kind: Kind::Inner { future },
        }
    }

    pub(super) fn keyed(future: Keyed<B, E>) -> Self {
        Self {
            kind: Kind::Keyed { future },
        }
    }

    pub(super) fn reject(response: Response<ResponseBody<B>>) -> Self {
        Self {
            kind: Kind::Reject {
                response: Some(response),
            },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    #[allow(
        clippy::expect_used,
        reason = "polling a completed future breaks the `Future` contract, \
                  and tower's own futures panic on it too"
    )]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => {
                let response = ready!(future.poll(cx))?;
                Poll::Ready(Ok(response.map(ResponseBody::inner)))
            }
            KindProj::Keyed { future } => future.as_mut().poll(cx),
            KindProj::Reject { response } => {
                let response = response.take().expect("future polled after completion");
                Poll::Ready(Ok(response))
            }
        }
    }
}

impl<F, B, E> std::fmt::Debug for ResponseFuture<F, B, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            Kind::Inner { .. } => "Inner",
            Kind::Keyed { .. } => "Keyed",
            Kind::Reject { .. } => "Reject",
        };
        f.debug_tuple("ResponseFuture").field(&kind).finish()
    }
}
