use std::time::Duration;

use http::HeaderName;

use super::Dialect;
use crate::policy::StatusPolicy;

/// What a layer and every service it builds share.
#[derive(Debug, Clone)]
pub(super) struct Config {
    pub(super) path: String,
    pub(super) max_parts: usize,
    pub(super) max_body: usize,
    pub(super) max_id_len: usize,
    pub(super) part_body_limit: usize,
    pub(super) concurrency: usize,
    pub(super) body_timeout: Duration,
    pub(super) part_timeout: Duration,
    pub(super) copy_headers: Vec<HeaderName>,
    pub(super) dialect: Dialect,
    pub(super) policy: StatusPolicy,
    pub(super) request_id_header: HeaderName,
}
