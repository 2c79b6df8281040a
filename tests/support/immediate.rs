//! Driving services whose futures complete on their first poll, without a
//! runtime: shared by `tests/allocations.rs` and the benchmarks.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use http::{Request, Response};
use tower::Service;

struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

/// A waker that does nothing.
pub fn noop_waker() -> Waker {
    Waker::from(Arc::new(Noop))
}

/// Calls a service whose future completes on its first poll.
pub fn call<S, R, B>(service: &mut S, request: Request<R>, cx: &mut Context<'_>) -> Response<B>
where
    S: Service<Request<R>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
{
    assert!(matches!(service.poll_ready(cx), Poll::Ready(Ok(()))));
    let mut future = std::pin::pin!(service.call(request));
    match future.as_mut().poll(cx) {
        Poll::Ready(response) => response.expect("these services do not fail"),
        Poll::Pending => unreachable!("these services complete on their first poll"),
    }
}
