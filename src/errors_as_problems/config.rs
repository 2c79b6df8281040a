use http::HeaderName;

use crate::policy::StatusPolicy;

/// What a layer and every service it builds share.
#[derive(Debug, Clone)]
pub(super) struct Config {
    pub(super) policy: StatusPolicy,
    pub(super) request_id_header: HeaderName,
}
