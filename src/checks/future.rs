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
        #[pin]
        state: State<S, ReqBody>,
    }
}

pin_project! {
    #[project = StateProj]
    #[project_replace = StateOwned]
    enum State<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        Checking {
            run: Run,
            head: RequestHead,
            body: ReqBody,
            inner: S,
            requirements: Arc<Requirements>,
        },
        Ready {
            inner: S,
            request: Request<ReqBody>,
            requirements: Arc<Requirements>,
            reply_to: ReplyTo,
        },
        Calling {
            #[pin]
            future: S::Future,
            requirements: Arc<Requirements>,
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
                head,
                body,
                inner,
                requirements,
            },
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
        reason = "each state is taken out right after a match found it; \
                  polling a completed future breaks the `Future` contract, \
                  and tower's own futures panic on it too"
    )]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Checking { run, .. } => {
                    let verdict = ready!(Pin::new(run).poll(cx));
                    let StateOwned::Checking {
                        run,
                        head,
                        body,
                        inner,
                        requirements,
                    } = state.as_mut().project_replace(State::Done)
                    else {
                        unreachable!("the state was Checking a moment ago");
                    };
                    // The checks' futures and their clones of the head go
                    // first, so that the parts are taken back, not cloned.
                    drop(run);
                    let mut parts = head.into_parts();
                    verdict.record_into(&mut parts.extensions);
                    let admitted = requirements.admit(
                        &parts.method,
                        &parts.uri,
                        &parts.headers,
                        &mut parts.extensions,
                    );
                    if let Err(refusal) = admitted {
                        return Poll::Ready(Ok(refusal));
                    }
                    let request = Request::from_parts(parts, body);
                    let reply_to = ReplyTo::of(
                        &request,
                        &requirements.request_id_header,
                        &requirements.policy,
                    );
                    state.set(State::Ready {
                        inner,
                        request,
                        requirements,
                        reply_to,
                    });
                }
                StateProj::Ready { inner, .. } => {
                    ready!(inner.poll_ready(cx))?;
                    let StateOwned::Ready {
                        mut inner,
                        request,
                        requirements,
                        reply_to,
                    } = state.as_mut().project_replace(State::Done)
                    else {
                        unreachable!("the state was Ready a moment ago");
                    };
                    let future = inner.call(request);
                    state.set(State::Calling {
                        future,
                        requirements,
                        reply_to,
                    });
                }
                StateProj::Calling {
                    future,
                    requirements,
                    reply_to,
                } => {
                    let response = ready!(future.poll(cx))?;
                    let response = requirements.finish(response, reply_to);
                    state.set(State::Done);
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
