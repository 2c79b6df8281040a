use http::HeaderName;

use crate::policy::StatusPolicy;

/// What a layer and every service it builds share.
#[derive(Debug, Clone)]
pub(super) struct Config {
    pub(super) path: String,
    pub(super) max_parts: usize,
    pub(super) max_body: usize,
    pub(super) part_body_limit: usize,
    pub(super) concurrency: usize,
    pub(super) copy_headers: Vec<HeaderName>,
    pub(super) multi_status: bool,
    pub(super) policy: StatusPolicy,
    pub(super) request_id_header: HeaderName,
}
