//! [`RequestBody`]: what the inner service of a batch endpoint reads.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

pin_project! {
    /// The body of a request the inner service of a
    /// [`Batch`](super::Batch) is called with: a request's own body when it
    /// is not a batch and passes through, or the body of one part of a
    /// batch. Any body can sit in front of the batch endpoint (hyper's
    /// `Incoming`, axum's `Body`, tower-http's `TimeoutBody` or `Limited`):
    /// nothing has to be converted for the parts.
    pub struct RequestBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Passed { #[pin] body: B },
        Part { data: Option<Bytes> },
    }
}

impl<B> RequestBody<B> {
    /// The body of a request that passes through.
    pub(super) fn passed(body: B) -> Self {
        Self {
            kind: Kind::Passed { body },
        }
    }

    /// The body of a part, whole.
    pub(super) fn part(data: Bytes) -> Self {
        Self {
            kind: Kind::Part {
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
            KindProj::Passed { body } => body.poll_frame(cx),
            KindProj::Part { data } => Poll::Ready(data.take().map(|data| Ok(Frame::data(data)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Passed { body } => body.is_end_stream(),
            Kind::Part { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Passed { body } => body.size_hint(),
            Kind::Part { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |data| data.len() as u64))
            }
        }
    }
}

impl<B> fmt::Debug for RequestBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Passed { .. } => "Passed",
            Kind::Part { .. } => "Part",
        };
        f.debug_tuple("RequestBody").field(&kind).finish()
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::{BodyExt, Empty};

    use super::*;

    #[tokio::test]
    async fn a_part_body_is_its_bytes_once() {
        let body = RequestBody::<Empty<Bytes>>::part(Bytes::from_static(b"abc"));
        assert_eq!(body.size_hint().exact(), Some(3));
        assert!(!body.is_end_stream());
        assert_eq!(body.collect().await.unwrap().to_bytes(), "abc");
        let empty = RequestBody::<Empty<Bytes>>::part(Bytes::new());
        assert!(empty.is_end_stream());
    }
}
