//! The tracing span of one check run: its name, outcome and duration. Without
//! the `tracing` feature it is empty.

use crate::Failure;

/// One check run, from its start to its end.
pub(crate) struct CheckSpan {
    #[cfg(feature = "tracing")]
    started: std::time::Instant,
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

impl CheckSpan {
    /// Opens the span of the check `name`.
    pub(crate) fn start(name: &str) -> Self {
        #[cfg(not(feature = "tracing"))]
        let _ = name;
        Self {
            #[cfg(feature = "tracing")]
            started: std::time::Instant::now(),
            #[cfg(feature = "tracing")]
            span: tracing::debug_span!(
                "check",
                name,
                outcome = tracing::field::Empty,
                duration_us = tracing::field::Empty,
            ),
        }
    }

    /// Runs `f` inside the span, so that the check's own events belong to it.
    pub(crate) fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        #[cfg(feature = "tracing")]
        let _entered = self.span.enter();
        f()
    }

    /// Closes the span with the check's outcome. A failure is logged inside
    /// it: as an error when the check panicked, as a debug event otherwise
    /// (the layer logs the problem it answers with).
    pub(crate) fn end(self, outcome: &'static str, failure: Option<&Failure>) {
        #[cfg(feature = "tracing")]
        {
            let duration_us = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
            self.span.record("outcome", outcome);
            self.span.record("duration_us", duration_us);
            let _entered = self.span.enter();
            if let Some(failure) = failure {
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
