//! [`ProblemBody`]: the bytes of one serialized problem, sent in one frame.

use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;

/// The body of a problem response: the serialized problem, sent in one frame
/// whose length is known in advance.
pub struct ProblemBody {
    inner: Full<Bytes>,
}

impl ProblemBody {
    pub(crate) fn new(bytes: Bytes) -> Self {
        Self {
            inner: Full::new(bytes),
        }
    }
}

impl fmt::Debug for ProblemBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProblemBody")
            .field("len", &self.inner.size_hint().exact())
            .finish()
    }
}

impl Body for ProblemBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Reads a whole body, for tests.
#[cfg(test)]
pub(crate) async fn collect<B>(body: B) -> Bytes
where
    B: Body,
    B::Error: fmt::Debug,
{
    use http_body_util::BodyExt;
    body.collect().await.expect("body").to_bytes()
}
