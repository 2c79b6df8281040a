//! Classifying errors: [`Failure::from_error`]. The errors of tower, Tokio
//! and hyper are recognised with the `gateway` feature, which brings them in.

use std::error::Error as StdError;
use std::io;

use super::failure::{BoxError, Failure, FailureKind};

impl Failure {
    /// The failure an error means, found by walking its source chain: the
    /// first error this crate recognises decides, and the error is kept as
    /// the failure's [source](StdError::source) for the logs.
    ///
    /// | error | kind |
    /// |---|---|
    /// | a [`Failure`] itself | that failure |
    /// | tower's `timeout::error::Elapsed`, Tokio's `time::error::Elapsed` | [`Timeout`](FailureKind::Timeout) |
    /// | tower's `load_shed::error::Overloaded` | [`Unavailable`](FailureKind::Unavailable) |
    /// | `hyper::Error`: a timeout | [`Timeout`](FailureKind::Timeout) |
    /// | `hyper::Error`: a malformed or incomplete answer | [`BadGateway`](FailureKind::BadGateway) |
    /// | `hyper::Error`: the connection closed or the request was canceled | [`Unavailable`](FailureKind::Unavailable) |
    /// | `io::Error` `TimedOut` | [`Timeout`](FailureKind::Timeout) |
    /// | `io::Error` `ConnectionRefused`, `ConnectionReset`, `ConnectionAborted`, `NotConnected`, `BrokenPipe`, `AddrNotAvailable`, `HostUnreachable`, `NetworkUnreachable` | [`Unavailable`](FailureKind::Unavailable) |
    /// | `io::Error` `InvalidData`, `UnexpectedEof` | [`BadGateway`](FailureKind::BadGateway) |
    /// | anything else | [`Internal`](FailureKind::Internal) |
    ///
    /// The rows of tower, Tokio and hyper need the `gateway` feature; without
    /// it those errors are [`Internal`](FailureKind::Internal) unless an
    /// `io::Error` is found behind them. hyper-util's client errors carry the
    /// `hyper::Error` or `io::Error` behind them as their source, so a
    /// refused connection is found there. No error message is read.
    ///
    /// ```
    /// use tower_failed_dependency::{Failure, FailureKind};
    ///
    /// let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
    /// assert_eq!(Failure::from_error(refused).kind(), FailureKind::Unavailable);
    /// ```
    pub fn from_error(error: impl Into<BoxError>) -> Self {
        match error.into().downcast::<Failure>() {
            Ok(failure) => *failure,
            Err(error) => Failure::new(classify(&*error)).with_source(error),
        }
    }
}

/// The kind of failure an error means; see [`Failure::from_error`].
pub(crate) fn classify(error: &(dyn StdError + 'static)) -> FailureKind {
    let mut next = Some(error);
    // Bounded: a source chain that loops back on itself ends here.
    for _ in 0..64 {
        let Some(error) = next else { break };
        if let Some(kind) = recognise(error) {
            return kind;
        }
        next = error.source();
    }
    FailureKind::Internal
}

fn recognise(error: &(dyn StdError + 'static)) -> Option<FailureKind> {
    if let Some(kind) = stack_kind(error) {
        return Some(kind);
    }
    error
        .downcast_ref::<io::Error>()
        .and_then(|error| io_kind(error.kind()))
}

/// The errors of the tower stack: tower's layers, Tokio's timer, hyper.
#[cfg(feature = "gateway")]
fn stack_kind(error: &(dyn StdError + 'static)) -> Option<FailureKind> {
    if error.is::<tower::timeout::error::Elapsed>() || error.is::<tokio::time::error::Elapsed>() {
        return Some(FailureKind::Timeout);
    }
    if error.is::<tower::load_shed::error::Overloaded>() {
        return Some(FailureKind::Unavailable);
    }
    error.downcast_ref::<hyper::Error>().and_then(hyper_kind)
}

#[cfg(not(feature = "gateway"))]
fn stack_kind(_error: &(dyn StdError + 'static)) -> Option<FailureKind> {
    None
}

#[cfg(feature = "gateway")]
fn hyper_kind(error: &hyper::Error) -> Option<FailureKind> {
    if error.is_timeout() {
        Some(FailureKind::Timeout)
    } else if error.is_parse() || error.is_parse_status() || error.is_incomplete_message() {
        Some(FailureKind::BadGateway)
    } else if error.is_canceled() || error.is_closed() {
        Some(FailureKind::Unavailable)
    } else {
        // Whatever hyper wraps (an io::Error, say) may still say more.
        None
    }
}

fn io_kind(kind: io::ErrorKind) -> Option<FailureKind> {
    use io::ErrorKind::*;
    match kind {
        TimedOut => Some(FailureKind::Timeout),
        ConnectionRefused | ConnectionReset | ConnectionAborted | NotConnected | BrokenPipe
        | AddrNotAvailable | HostUnreachable | NetworkUnreachable => Some(FailureKind::Unavailable),
        InvalidData | UnexpectedEof => Some(FailureKind::BadGateway),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error that wraps another, as clients and layers do.
    #[derive(Debug, thiserror::Error)]
    #[error("request failed")]
    struct Wrapped(#[source] BoxError);

    #[test]
    fn recognises_errors_anywhere_in_the_chain() {
        let mut cases: Vec<(BoxError, FailureKind)> = vec![
            (
                io::Error::from(io::ErrorKind::ConnectionRefused).into(),
                FailureKind::Unavailable,
            ),
            (
                io::Error::from(io::ErrorKind::TimedOut).into(),
                FailureKind::Timeout,
            ),
            (
                io::Error::from(io::ErrorKind::InvalidData).into(),
                FailureKind::BadGateway,
            ),
            (
                io::Error::from(io::ErrorKind::PermissionDenied).into(),
                FailureKind::Internal,
            ),
            (
                Wrapped(Wrapped(io::Error::from(io::ErrorKind::ConnectionReset).into()).into())
                    .into(),
                FailureKind::Unavailable,
            ),
            ("connection refused".into(), FailureKind::Internal),
        ];
        let tower_errors: [(BoxError, FailureKind); 2] = [
            (
                tower::timeout::error::Elapsed::new().into(),
                FailureKind::Timeout,
            ),
            (
                tower::load_shed::error::Overloaded::new().into(),
                FailureKind::Unavailable,
            ),
        ];
        for (error, kind) in tower_errors {
            // Without the feature that brings tower in, its errors are ours.
            let kind = if cfg!(feature = "gateway") {
                kind
            } else {
                FailureKind::Internal
            };
            cases.push((error, kind));
        }
        for (error, kind) in cases {
            let shown = error.to_string();
            let failure = Failure::from_error(error);
            assert_eq!(failure.kind(), kind, "{shown}");
            assert!(
                StdError::source(&failure).is_some(),
                "the error is kept for the logs"
            );
        }
    }

    #[test]
    fn a_failure_stays_itself() {
        let failure = Failure::rejected(http::StatusCode::CONFLICT).with_detail("Taken.");
        let again = Failure::from_error(failure);
        assert_eq!(
            again.kind(),
            FailureKind::Rejected(http::StatusCode::CONFLICT)
        );
        assert_eq!(again.detail(), Some("Taken."));
    }
}
