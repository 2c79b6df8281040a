//! [`Panicked`]: a panic, kept as a failure's source for the logs.

use std::any::Any;

/// A panic of the user's code (a check, a batch part, a handler); its
/// message is logged, never rendered.
#[derive(Debug, thiserror::Error)]
#[error("panicked: {0}")]
pub(crate) struct Panicked(String);

impl Panicked {
    /// The message of a panic's payload.
    pub(crate) fn message(payload: &(dyn Any + Send)) -> &str {
        payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("a panic without a message")
    }
}

impl From<&(dyn Any + Send)> for Panicked {
    fn from(payload: &(dyn Any + Send)) -> Self {
        Self(Self::message(payload).to_owned())
    }
}

impl From<Box<dyn Any + Send>> for Panicked {
    fn from(payload: Box<dyn Any + Send>) -> Self {
        Self::from(&*payload)
    }
}
