//! The bodies of the crate's middleware: [`ResponseBody`], of every answer
//! they give, and [`RequestBody`], of every request they pass on.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use pin_project_lite::pin_project;

pin_project! {
    /// The body of a response from one of the crate's middleware: the inner
    /// service's own body, or one the middleware wrote whole (a problem, a
    /// batch's answer).
    pub struct ResponseBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Inner { #[pin] body: B },
        Whole { #[pin] body: Full<Bytes> },
    }
}

impl<B> ResponseBody<B> {
    pub(crate) fn inner(body: B) -> Self {
        Self {
            kind: Kind::Inner { body },
        }
    }

    /// A body the middleware wrote whole: a problem, a batch's answer.
    pub(crate) fn whole(bytes: Bytes) -> Self {
        Self {
            kind: Kind::Whole {
                body: Full::new(bytes),
            },
        }
    }
}

/// An empty body the middleware wrote, for layers that answer on their own
/// (tower-http's `CorsLayer` answers a preflight with `Default::default()`).
impl<B> Default for ResponseBody<B> {
    fn default() -> Self {
        Self::whole(Bytes::new())
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            KindProj::Inner { body } => body.poll_frame(cx),
            KindProj::Whole { body } => match body.poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame))),
                Poll::Ready(Some(Err(never))) => match never {},
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Whole { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Whole { body } => body.size_hint(),
        }
    }
}

impl<B> fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Inner { .. } => "Inner",
            Kind::Whole { .. } => "Whole",
        };
        f.debug_tuple("ResponseBody").field(&kind).finish()
    }
}

pin_project! {
    /// The body of a request the crate's middleware passes on to the service
    /// they wrap: the request's own body, or one the middleware holds whole
    /// (a part of a batch, a keyed request's body read to fingerprint it).
    /// Any body can be in front of the middleware (hyper's `Incoming`,
    /// axum's `Body`, tower-http's `TimeoutBody`): nothing is converted.
    pub struct RequestBody<B> {
        #[pin]
        kind: RequestKind<B>,
    }
}

pin_project! {
    #[project = RequestKindProj]
    enum RequestKind<B> {
        Passed { #[pin] body: B },
        Whole { data: Option<Bytes> },
    }
}

// Each middleware that passes requests on uses its part of these.
#[cfg_attr(not(all(feature = "batch", feature = "idempotency")), allow(dead_code))]
impl<B> RequestBody<B> {
    /// The request's own body, passed on.
    pub(crate) fn passed(body: B) -> Self {
        Self {
            kind: RequestKind::Passed { body },
        }
    }

    /// A body the middleware holds whole.
    pub(crate) fn whole(data: Bytes) -> Self {
        Self {
            kind: RequestKind::Whole {
                data: Some(data).filter(|data| !data.is_empty()),
            },
        }
    }
}

impl<B> Body for RequestBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            RequestKindProj::Passed { body } => body.poll_frame(cx),
            RequestKindProj::Whole { data } => {
                Poll::Ready(data.take().map(|data| Ok(Frame::data(data))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            RequestKind::Passed { body } => body.is_end_stream(),
            RequestKind::Whole { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            RequestKind::Passed { body } => body.size_hint(),
            RequestKind::Whole { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |data| data.len() as u64))
            }
        }
    }
}

impl<B> fmt::Debug for RequestBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            RequestKind::Passed { .. } => "Passed",
            RequestKind::Whole { .. } => "Whole",
        };
        f.debug_tuple("RequestBody").field(&kind).finish()
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::{BodyExt, Empty};

    use super::*;

    #[test]
    fn a_whole_request_body_is_its_bytes_once() {
        let body = RequestBody::<Empty<Bytes>>::whole(Bytes::from_static(b"abc"));
        assert_eq!(body.size_hint().exact(), Some(3));
        assert!(!body.is_end_stream());
        let collected = collect_ready(body);
        assert_eq!(collected, "abc");
        let empty = RequestBody::<Empty<Bytes>>::whole(Bytes::new());
        assert!(empty.is_end_stream());
        assert_eq!(empty.size_hint().exact(), Some(0));
    }

    /// Collects a body whose frames are all ready.
    fn collect_ready<B: Body<Data = Bytes> + Unpin>(body: B) -> Bytes
    where
        B::Error: fmt::Debug,
    {
        use std::future::Future;

        let mut collect = std::pin::pin!(body.collect());
        let waker = std::task::Waker::noop();
        match collect.as_mut().poll(&mut Context::from_waker(waker)) {
            Poll::Ready(collected) => collected.unwrap().to_bytes(),
            Poll::Pending => unreachable!("every frame is ready"),
        }
    }
}
