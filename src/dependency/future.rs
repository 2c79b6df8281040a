use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

use crate::body::ResponseBody;
use crate::policy::ReplyTo;
use crate::requirements::Requirements;

pin_project! {
    /// The response future of [`Dependency`](super::Dependency).
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner {
            #[pin]
            future: F,
            requirements: Arc<Requirements>,
            reply_to: ReplyTo,
        },
        Reject {
            response: Option<Response<ResponseBody<B>>>,
        },
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(super) fn inner(future: F, requirements: Arc<Requirements>, reply_to: ReplyTo) -> Self {
        Self {
            kind: Kind::Inner {
                future,
                requirements,
                reply_to,
            },
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

impl<F, B, E> Future for ResponseFuture<F, B>
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
            KindProj::Inner {
                future,
                requirements,
                reply_to,
            } => {
                let response = ready!(future.poll(cx))?;
                Poll::Ready(Ok(requirements.finish(response, reply_to)))
            }
            KindProj::Reject { response } => {
                let response = response.take().expect("future polled after completion");
                Poll::Ready(Ok(response))
            }
        }
    }
}

impl<F, B> std::fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            Kind::Inner { .. } => "Inner",
            Kind::Reject { .. } => "Reject",
        };
        f.debug_tuple("ResponseFuture").field(&kind).finish()
    }
}
