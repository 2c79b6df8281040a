//! One part's call: the inner service once it is ready, then its answer's
//! body up to a limit.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::response::Parts;
use http::{Request, Response};
use http_body_util::combinators::Collect;
use http_body_util::{BodyExt, Limited};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::responses::Answer;
use crate::outcome::BoxError;

pin_project! {
    /// A part's call, written out by hand rather than as an `async` block:
    /// such a block keeps the request it captured in every state, where
    /// here it is held only until the service takes it, and the inner
    /// service's future and the answer's body take its place in turn. The
    /// future is a little more than the largest of the three.
    #[project = Proj]
    #[project_replace = Replaced]
    pub(super) enum PartCall<S, Req, F, B>
    where
        B: http_body::Body,
        B::Error: Into<BoxError>,
    {
        /// Waiting for the service to be ready.
        Ready {
            service: S,
            // Taken when the service is called.
            request: Option<Req>,
            limit: usize,
        },
        /// The service's answer, still to come.
        Calling {
            #[pin]
            future: F,
            limit: usize,
        },
        /// The answer's body, being read.
        Reading {
            head: Parts,
            #[pin]
            body: Collect<Limited<B>>,
        },
        /// Done, or between two of the states above.
        Done,
    }
}

impl<S, ReqBody, B> PartCall<S, Request<ReqBody>, S::Future, B>
where
    S: Service<Request<ReqBody>, Response = Response<B>>,
    B: http_body::Body,
    B::Error: Into<BoxError>,
{
    /// Calls `service` with `request` once it is ready, and reads its
    /// answer's body up to `limit` bytes.
    pub(super) fn new(service: S, request: Request<ReqBody>, limit: usize) -> Self {
        Self::Ready {
            service,
            request: Some(request),
            limit,
        }
    }
}

/// Why a call has no answer: the service failed, or reading its answer
/// did (the body's own error, or its being longer than the limit).
pub(super) type Failed = BoxError;

impl<S, ReqBody, B> Future for PartCall<S, Request<ReqBody>, S::Future, B>
where
    S: Service<Request<ReqBody>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    B: http_body::Body,
    B::Error: Into<BoxError>,
{
    type Output = Result<Answer, Failed>;

    #[allow(
        clippy::panic,
        reason = "polling a completed future breaks the `Future` contract, \
                  and tower's own futures panic on it too"
    )]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            match self.as_mut().project() {
                Proj::Ready {
                    service,
                    request,
                    limit,
                } => {
                    if let Err(error) = ready!(service.poll_ready(cx)) {
                        self.set(Self::Done);
                        return Poll::Ready(Err(error.into()));
                    }
                    let limit = *limit;
                    // The request is taken only here, and the state is
                    // `Calling` from then on: it is always there.
                    match request.take() {
                        Some(request) => {
                            let future = service.call(request);
                            self.set(Self::Calling { future, limit });
                        }
                        None => self.set(Self::Done),
                    }
                }
                Proj::Calling { future, limit } => {
                    let limit = *limit;
                    let response = match ready!(future.poll(cx)) {
                        Ok(response) => response,
                        Err(error) => {
                            self.set(Self::Done);
                            return Poll::Ready(Err(error.into()));
                        }
                    };
                    let (head, body) = response.into_parts();
                    // A body that says it has ended (a 204's, an empty
                    // 200's) has nothing to read.
                    if body.is_end_stream() {
                        self.set(Self::Done);
                        return Poll::Ready(Ok(answer(head, Bytes::new())));
                    }
                    let body = Limited::new(body, limit).collect();
                    self.set(Self::Reading { head, body });
                }
                Proj::Reading { body, .. } => {
                    let read = ready!(body.poll(cx));
                    if let Replaced::Reading { head, .. } =
                        self.as_mut().project_replace(Self::Done)
                    {
                        return Poll::Ready(read.map(|body| answer(head, body.to_bytes())));
                    }
                }
                Proj::Done => panic!("a part's call polled after it completed"),
            }
        }
    }
}

/// The answer of a call whose head is `head` and whose body read `body`.
fn answer(head: Parts, body: Bytes) -> Answer {
    Answer {
        status: head.status,
        headers: head.headers,
        body,
        root: None,
    }
}
