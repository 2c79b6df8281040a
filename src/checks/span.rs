//! The tracing span of one check run: its name, outcome and duration. Without
//! the `tracing` feature it is empty.

use crate::Failure;

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
    /// it: as an error when the check panicked, as a debug event otherwise
    /// (the layer logs the problem it answers with).
    pub(crate) fn end(self, outcome: &'static str, failure: Option<&Failure>) {
        #[cfg(feature = "tracing")]
        {
            if let Some(started) = self.started {
                let duration_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                self.span.record("outcome", outcome);
                self.span.record("duration_us", duration_us);
            }
            if let Some(failure) = failure {
                let _entered = self.span.enter();
                let error = failure as &(dyn std::error::Error + 'static);
                if is_panic(failure) {
                    tracing::error!(error, "check panicked");
                } else {
                    tracing::debug!(error, "check failed");
                }
            }
        }
        #[cfg(not(feature = "tracing"))]
        let _ = (outcome, failure);
    }
}

#[cfg(feature = "tracing")]
fn is_panic(failure: &Failure) -> bool {
    std::error::Error::source(failure).is_some_and(|source| source.is::<super::run::Panicked>())
}
