use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::prerequisite::RequestHead;
use super::run::Run;
use crate::body::ResponseBody;
use crate::policy::ReplyTo;
use crate::requirements::Requirements;

pin_project! {
    /// The response future of [`Checked`](super::Checked): runs the checks,
    /// then waits for the inner service's readiness and calls it.
    pub struct ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        // What every phase needs stays out of the phases, so that moving
        // from one to the next moves only what that phase holds.
        #[pin]
        state: State<S::Future, ReqBody>,
        inner: S,
        requirements: Arc<Requirements>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, ReqBody> {
        Checking {
            run: Run,
            // Taken as the checks end; `None` only for that moment.
            head: Option<RequestHead>,
            body: Option<ReqBody>,
        },
        Ready {
            // Taken as the inner service is called. Boxed: an inner service
            // is mostly ready at once, and the room for a whole request
            // would be moved with every future that never waits here.
            request: Option<Box<Request<ReqBody>>>,
            reply_to: ReplyTo,
        },
        Calling {
            #[pin]
            future: F,
            reply_to: ReplyTo,
        },
        Done,
    }
}

impl<S, ReqBody> ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    pub(super) fn new(
        run: Run,
        head: RequestHead,
        body: ReqBody,
        inner: S,
        requirements: Arc<Requirements>,
    ) -> Self {
        Self {
            state: State::Checking {
                run,
                head: Some(head),
                body: Some(body),
            },
            inner,
            requirements,
        }
    }
}

impl<S, ReqBody, ResBody> Future for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Output = Result<Response<ResponseBody<ResBody>>, S::Error>;

    #[allow(
        clippy::unreachable,
        clippy::panic,
        reason = "the head, body and request are taken once, as their state \
                  is left; polling a completed future breaks the `Future` \
                  contract, and tower's own futures panic on it too"
    )]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Checking { run, head, body } => {
                    let verdict = ready!(Pin::new(run).poll(cx));
                    let (Some(head), Some(body)) = (head.take(), body.take()) else {
                        unreachable!("the head and body are taken as the checks end");
                    };
                    // The checks' futures and their clones of the head go
                    // first, so that the parts are taken back, not cloned.
                    this.state.set(State::Done);
                    let mut parts = head.into_parts();
                    let passed = verdict.passed();
                    verdict.record_into(&mut parts.extensions);
                    let requirements = &**this.requirements;
                    // A verdict that passed has seen every requirement met;
                    // one that did not is answered as the layer answers.
                    if !passed {
                        let admitted = requirements.admit(
                            &parts.method,
                            &parts.uri,
                            &parts.headers,
                            &mut parts.extensions,
                        );
                        if let Err(refusal) = admitted {
                            return Poll::Ready(Ok(refusal));
                        }
                    }
                    let request = Request::from_parts(parts, body);
                    let reply_to = ReplyTo::of(
                        &request,
                        &requirements.request_id_header,
                        &requirements.policy,
                    );
                    // Mostly ready at once: then the request goes straight
                    // to the inner service, without waiting in `Ready`.
                    match this.inner.poll_ready(cx) {
                        Poll::Ready(Ok(())) => {
                            let future = this.inner.call(request);
                            this.state.set(State::Calling { future, reply_to });
                        }
                        Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                        Poll::Pending => {
                            this.state.set(State::Ready {
                                request: Some(Box::new(request)),
                                reply_to,
                            });
                            return Poll::Pending;
                        }
                    }
                }
                StateProj::Ready { request, reply_to } => {
                    ready!(this.inner.poll_ready(cx))?;
                    let Some(request) = request.take() else {
                        unreachable!("the request is taken as the inner service is called");
                    };
                    let reply_to = std::mem::take(reply_to);
                    let future = this.inner.call(*request);
                    this.state.set(State::Calling { future, reply_to });
                }
                StateProj::Calling { future, reply_to } => {
                    let response = ready!(future.poll(cx))?;
                    let response = this.requirements.finish(response, reply_to);
                    this.state.set(State::Done);
                    return Poll::Ready(Ok(response));
                }
                StateProj::Done => panic!("future polled after completion"),
            }
        }
    }
}

impl<S, ReqBody> std::fmt::Debug for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Checking { .. } => "Checking",
            State::Ready { .. } => "Ready",
            State::Calling { .. } => "Calling",
            State::Done => "Done",
        };
        f.debug_tuple("ResponseFuture").field(&state).finish()
    }
}
