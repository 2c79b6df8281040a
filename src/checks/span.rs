//! The tracing span of one check run: its name, outcome and duration, and
//! the check's future run inside it. Without the `tracing` feature the span
//! is empty.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::outcome::Failure;

/// One check run, from its start to its end.
pub(crate) struct CheckSpan {
    /// When the check started; read only when the span is enabled.
    #[cfg(feature = "tracing")]
    started: Option<std::time::Instant>,
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

impl CheckSpan {
    /// Opens the span of the check `name`.
    pub(crate) fn start(name: &str) -> Self {
        #[cfg(not(feature = "tracing"))]
        let _ = name;
        #[cfg(feature = "tracing")]
        {
            // Built only for a subscriber that takes debug spans: with
            // tracing's `log` feature (which axum turns on) a span built for
            // no one still costs hundreds of instructions.
            let span = if tracing::level_enabled!(tracing::Level::DEBUG) {
                tracing::debug_span!(
                    "check",
                    name,
                    outcome = tracing::field::Empty,
                    duration_us = tracing::field::Empty,
                )
            } else {
                tracing::Span::none()
            };
            let started = (!span.is_disabled()).then(std::time::Instant::now);
            Self { started, span }
        }
        #[cfg(not(feature = "tracing"))]
        Self {}
    }

    /// Runs `f` inside the span, so that the check's own events belong to it.
    pub(crate) fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        // A span no subscriber wants is not entered: with tracing's `log`
        // feature, entering it would still cost a log record check per poll.
        #[cfg(feature = "tracing")]
        let _entered = (!self.span.is_disabled()).then(|| self.span.enter());
        f()
    }

    /// Closes the span with the check's outcome. A failure is logged inside
    /// it as a debug event (the layer logs the problem it answers with).
    pub(crate) fn end(self, outcome: &'static str, failure: Option<&Failure>) {
        self.close(outcome);
        #[cfg(feature = "tracing")]
        if let Some(failure) = failure {
            let _entered = self.span.enter();
            let error = failure as &(dyn std::error::Error + 'static);
            tracing::debug!(error, "check failed");
        }
        #[cfg(not(feature = "tracing"))]
        let _ = failure;
    }

    /// Closes the span of a check that panicked, logging the panic's message
    /// inside it as an error.
    pub(crate) fn panicked(self, payload: &(dyn Any + Send)) {
        self.close("failed");
        #[cfg(feature = "tracing")]
        {
            let _entered = self.span.enter();
            let message = crate::outcome::Panicked::message(payload);
            tracing::error!(error = message, "check panicked");
        }
        #[cfg(not(feature = "tracing"))]
        let _ = payload;
    }

    fn close(&self, outcome: &'static str) {
        #[cfg(feature = "tracing")]
        if let Some(started) = self.started {
            let duration_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            self.span.record("outcome", outcome);
            self.span.record("duration_us", duration_us);
        }
        #[cfg(not(feature = "tracing"))]
        let _ = outcome;
    }
}

pin_project! {
    /// A check's future run inside its span: the span is closed with the
    /// outcome when the check ends, with "dropped" when it is dropped
    /// before (the answer was decided without it), and a panic is logged in
    /// it before it goes on to the schedule, which contains it.
    pub(crate) struct Traced<F> {
        #[pin]
        future: F,
        span: Option<CheckSpan>,
    }

    impl<F> PinnedDrop for Traced<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(span) = this.project().span.take() {
                span.end("dropped", None);
            }
        }
    }
}

impl<F> Traced<F> {
    pub(crate) fn new(future: F, span: CheckSpan) -> Self {
        Self {
            future,
            span: Some(span),
        }
    }
}

impl<F, T> Future for Traced<F>
where
    F: Future<Output = Result<T, Failure>>,
{
    type Output = Result<T, Failure>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let future = this.future;
        let polled = match this.span {
            Some(span) => span.in_scope(|| catch_unwind(AssertUnwindSafe(|| future.poll(cx)))),
            None => catch_unwind(AssertUnwindSafe(|| future.poll(cx))),
        };
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(result)) => {
                if let Some(span) = this.span.take() {
                    match &result {
                        Ok(_) => span.end("succeeded", None),
                        Err(failure) => span.end("failed", Some(failure)),
                    }
                }
                Poll::Ready(result)
            }
            Err(payload) => {
                if let Some(span) = this.span.take() {
                    span.panicked(&*payload);
                }
                resume_unwind(payload)
            }
        }
    }
}
