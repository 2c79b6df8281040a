//! Reading a request body whole, as the batch and keyed requests must:
//! bounded in bytes and in time, and with each way it can fail told apart,
//! so that each gets its own status.

use std::error::Error as StdError;
use std::time::Duration;

use bytes::Bytes;
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::outcome::BoxError;

/// Why a body was not read whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unread {
    /// It is longer than the bound (413).
    TooLarge,
    /// It did not arrive in time: the total deadline passed, or a timeout in
    /// front of the layer (tower-http's `TimeoutBody`, hyper's, an I/O
    /// timeout) ended it. The client was slow, not wrong (408).
    TimedOut,
    /// It could not be read for another reason (400).
    Failed,
}

/// Reads `body` whole: at most `max` bytes, all of them within `deadline`
/// from the first poll. A body whose size hint already says it is longer
/// is refused before any of it is read.
pub(crate) async fn collect<B>(body: B, max: usize, deadline: Duration) -> Result<Bytes, Unread>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    if body.size_hint().lower() > max as u64 {
        return Err(Unread::TooLarge);
    }
    match tokio::time::timeout(deadline, Limited::new(body, max).collect()).await {
        Err(_) => Err(Unread::TimedOut),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) if error.is::<LengthLimitError>() => Err(Unread::TooLarge),
        Ok(Err(error)) if timed_out(&*error) => Err(Unread::TimedOut),
        Ok(Err(_)) => Err(Unread::Failed),
    }
}

/// Whether a body error is, or was caused by, a timeout: tower-http's
/// `TimeoutBody` in front of the layer, hyper's own timeouts, or an I/O
/// timeout, anywhere in its chain of sources.
fn timed_out(error: &(dyn StdError + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        let io_timeout = error
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut);
        let hyper_timeout = error
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_timeout);
        if io_timeout || hyper_timeout || error.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        next = error.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use http_body::Frame;
    use http_body_util::Full;
    use tower_http::timeout::TimeoutBody;

    use super::*;

    /// A body that yields its frames in turn, then waits forever.
    struct Script(VecDeque<Result<Frame<Bytes>, BoxError>>);

    impl Script {
        /// One frame of data, then `error`.
        fn failing(error: BoxError) -> Self {
            Self(VecDeque::from([
                Ok(Frame::data(Bytes::from_static(b"{"))),
                Err(error),
            ]))
        }
    }

    impl Body for Script {
        type Data = Bytes;
        type Error = BoxError;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
            match self.0.pop_front() {
                Some(frame) => Poll::Ready(Some(frame)),
                None => Poll::Pending,
            }
        }
    }

    /// An error caused by `source`, as a framework wraps a body's error.
    #[derive(Debug)]
    struct Wrapped(BoxError);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("the body failed")
        }
    }

    impl StdError for Wrapped {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&*self.0)
        }
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[tokio::test]
    async fn a_body_is_read_whole_within_its_bound() {
        let body = Full::new(Bytes::from_static(b"{}"));
        assert_eq!(
            collect(body, 2, SECOND).await,
            Ok(Bytes::from_static(b"{}"))
        );
        let body = Full::new(Bytes::from_static(b"{}"));
        assert_eq!(collect(body, 1, SECOND).await, Err(Unread::TooLarge));
    }

    #[tokio::test]
    async fn a_timeout_anywhere_in_the_chain_is_told_from_another_failure() {
        let io: BoxError = std::io::Error::from(std::io::ErrorKind::TimedOut).into();
        let wrapped: BoxError = Box::new(Wrapped(io));
        assert_eq!(
            collect(Script::failing(wrapped), 16, SECOND).await,
            Err(Unread::TimedOut)
        );
        let reset: BoxError = std::io::Error::from(std::io::ErrorKind::ConnectionReset).into();
        assert_eq!(
            collect(Script::failing(reset), 16, SECOND).await,
            Err(Unread::Failed)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn tower_https_body_timeout_is_a_timeout() {
        let body = TimeoutBody::new(Duration::from_millis(10), Script(VecDeque::new()));
        assert_eq!(collect(body, 16, SECOND).await, Err(Unread::TimedOut));
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_never_ends_is_cut_at_the_deadline() {
        let started = tokio::time::Instant::now();
        assert_eq!(
            collect(Script(VecDeque::new()), 16, SECOND).await,
            Err(Unread::TimedOut)
        );
        assert_eq!(started.elapsed(), SECOND);
    }
}
