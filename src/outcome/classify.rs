//! Classifying errors, with the `gateway` feature: [`Failure::from_error`].

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
    /// hyper-util's client errors carry the `hyper::Error` or `io::Error`
    /// behind them as their source, so a refused connection is found there.
    /// No error message is read.
    ///
    /// ```
    /// use tower_failed_dependency::{Failure, FailureKind};
    ///
    /// let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
    /// assert_eq!(Failure::from_error(refused).kind(), FailureKind::Unavailable);
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "gateway")))]
    pub fn from_error(error: impl Into<BoxError>) -> Self {
        let error = error.into();
        Failure::new(classify(&*error)).with_source(error)
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
    if error.is::<tower::timeout::error::Elapsed>() || error.is::<tokio::time::error::Elapsed>() {
        return Some(FailureKind::Timeout);
    }
    if error.is::<tower::load_shed::error::Overloaded>() {
        return Some(FailureKind::Unavailable);
    }
    if let Some(error) = error.downcast_ref::<hyper::Error>() {
        return hyper_kind(error);
    }
    if let Some(error) = error.downcast_ref::<io::Error>() {
        return io_kind(error.kind());
    }
    None
}

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
        let cases: Vec<(BoxError, FailureKind)> = vec![
            (
                tower::timeout::error::Elapsed::new().into(),
                FailureKind::Timeout,
            ),
            (
                tower::load_shed::error::Overloaded::new().into(),
                FailureKind::Unavailable,
            ),
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
}
