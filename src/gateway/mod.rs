//! For gateways and backends-for-frontends: errors of tower layers and
//! upstream clients become the right problem response.
//!
//! - [`Failure::from_error`](crate::Failure::from_error) classifies an error
//!   by walking its source chain (tower's timeout and load shedding, hyper,
//!   `io::Error`), never by its message.
//! - [`error_handler`] is a ready-made handler for axum's
//!   `HandleErrorLayer`;
//!   [`CatchErrorLayer`](crate::catch_error::CatchErrorLayer) does the same
//!   for plain tower.
//! - [`forward_request_id`] carries the request id to upstream requests.
//!
//! Classifying an upstream's *answer* (status, `Retry-After`, problem body)
//! is [`Upstream`](crate::upstream::Upstream)'s job and needs no feature.

mod forward;
mod handler;

pub use self::forward::{forward_request_id, forward_request_id_as};
pub use self::handler::error_handler;
