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

impl<S, ReqBody, B> Future for PartCall<S, Request<ReqBody>, S::Future, B>
where
    S: Service<Request<ReqBody>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    B: http_body::Body,
    B::Error: Into<BoxError>,
{
    /// The answer, or why there is none: the service failed, or reading
    /// its answer did (the body's own error, or its being past the limit).
    type Output = Result<Answer, BoxError>;

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

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::task::Poll;

    use bytes::Bytes;
    use http::{Request, Response, StatusCode};
    use http_body_util::{Empty, Full};
    use tower::service_fn;

    use super::*;

    fn request() -> Request<()> {
        Request::new(())
    }

    #[tokio::test]
    async fn an_answer_is_its_status_headers_and_body_read_whole() {
        let service = service_fn(|_: Request<()>| async {
            let mut answer = Response::new(Full::new(Bytes::from_static(b"made")));
            *answer.status_mut() = StatusCode::CREATED;
            answer
                .headers_mut()
                .insert("location", "/items/7".parse().unwrap());
            Ok::<_, Infallible>(answer)
        });
        let answer = PartCall::new(service, request(), 1024).await.unwrap();
        assert_eq!(answer.status, StatusCode::CREATED);
        assert_eq!(answer.headers["location"], "/items/7");
        assert_eq!(answer.body, "made");
        assert_eq!(answer.root, None);
    }

    #[tokio::test]
    async fn an_ended_body_is_an_empty_answer() {
        let service = service_fn(|_: Request<()>| async {
            Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new()))
        });
        let answer = PartCall::new(service, request(), 0).await.unwrap();
        assert_eq!(answer.status, StatusCode::OK);
        assert!(answer.body.is_empty());
    }

    #[tokio::test]
    async fn a_body_past_the_limit_is_a_failure() {
        let service = service_fn(|_: Request<()>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"12345"))))
        });
        assert!(PartCall::new(service, request(), 4).await.is_err());
    }

    /// A body that gives a few bytes, then fails.
    struct Reset(bool);

    impl http_body::Body for Reset {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
            if std::mem::replace(&mut self.0, true) {
                return Poll::Ready(Some(Err(std::io::Error::other("reset"))));
            }
            Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from_static(
                b"half",
            )))))
        }
    }

    #[tokio::test]
    async fn a_body_that_fails_is_a_failure() {
        let service =
            service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(Reset(false))) });
        let failed = PartCall::new(service, request(), 1024).await.unwrap_err();
        assert_eq!(failed.to_string(), "reset");
    }

    #[tokio::test]
    async fn a_service_that_fails_to_answer_is_a_failure() {
        let service = service_fn(|_: Request<()>| async {
            Err::<Response<Empty<Bytes>>, _>(std::io::Error::other("refused"))
        });
        let failed = PartCall::new(service, request(), 1024).await.unwrap_err();
        assert_eq!(failed.to_string(), "refused");
    }

    /// A service that is never ready: it fails when polled.
    struct Broken;

    impl Service<Request<()>> for Broken {
        type Response = Response<Empty<Bytes>>;
        type Error = std::io::Error;
        type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Err(std::io::Error::other("closed")))
        }

        fn call(&mut self, _: Request<()>) -> Self::Future {
            unreachable!("a service that is not ready is not called")
        }
    }

    #[tokio::test]
    async fn a_service_that_fails_to_be_ready_is_a_failure_and_is_not_called() {
        let failed = PartCall::new(Broken, request(), 1024).await.unwrap_err();
        assert_eq!(failed.to_string(), "closed");
    }
}
