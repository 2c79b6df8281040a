//! What an [`IdempotencyLayer`](super::IdempotencyLayer) is configured with.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, Method, Uri};

use super::scope::{Credentials, KeyScope};
use crate::requirements::Requirements;
use crate::store::{MemoryStore, Store};

/// What the layer does when it cannot keep its promise: the store is down
/// (or does not answer within the store timeout) when a keyed request
/// arrives, or an answer is too large to keep. Either way it is logged (a
/// warning with the `tracing` feature).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Degrade {
    /// Keep the promise or refuse (the default). A keyed request that finds
    /// the store down is not run: it answers 503 with `Retry-After`, naming
    /// the dependency `idempotency_store`. An answer too large to keep is
    /// sent to its client, and the key keeps the answer's status and
    /// headers: a dependent request still learns whether it succeeded, and
    /// a retry is not run again; it answers 500, saying the answer was not
    /// kept.
    #[default]
    FailClosed,
    /// Serve without the promise. A keyed request that finds the store down
    /// runs as if it had no key (a retry may run it again). An answer too
    /// large to keep releases the key: a retry runs again.
    RunWithoutGuarantee,
}

/// A predicate on a request's method and target.
type Predicate = dyn Fn(&Method, &Uri) -> bool + Send + Sync;

/// Which requests of a keyed method must carry a key.
#[derive(Clone)]
pub(crate) enum KeyRequired {
    Never,
    Always,
    When(Arc<Predicate>),
}

impl KeyRequired {
    pub(crate) fn of(&self, method: &Method, uri: &Uri) -> bool {
        match self {
            KeyRequired::Never => false,
            KeyRequired::Always => true,
            KeyRequired::When(required) => required(method, uri),
        }
    }
}

impl fmt::Debug for KeyRequired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyRequired::Never => "Never",
            KeyRequired::Always => "Always",
            KeyRequired::When(_) => "When(..)",
        })
    }
}

#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) methods: Vec<Method>,
    pub(crate) require_key: KeyRequired,
    pub(crate) expiry: Duration,
    pub(crate) lease: Duration,
    pub(crate) store_timeout: Duration,
    pub(crate) max_request_body: usize,
    pub(crate) body_timeout: Duration,
    pub(crate) max_stored_body: usize,
    pub(crate) degrade: Degrade,
    pub(crate) scope: Arc<dyn KeyScope>,
    pub(crate) key_header: HeaderName,
    pub(crate) depends_on_header: HeaderName,
    pub(crate) max_depends_on: usize,
    pub(crate) depends_on_wait: Duration,
    pub(crate) replayed_header: HeaderName,
    /// The policy and the request id header; its required names are those
    /// of each request's `Depends-On`, so this holds none.
    pub(crate) requirements: Requirements,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            store: Arc::new(MemoryStore::new()),
            methods: vec![Method::POST, Method::PATCH],
            require_key: KeyRequired::Never,
            expiry: Duration::from_secs(24 * 60 * 60),
            lease: Duration::from_secs(60),
            store_timeout: Duration::from_secs(1),
            max_request_body: 1 << 20,
            body_timeout: Duration::from_secs(10),
            max_stored_body: 64 << 10,
            degrade: Degrade::FailClosed,
            scope: Arc::new(Credentials),
            key_header: HeaderName::from_static("idempotency-key"),
            depends_on_header: HeaderName::from_static("depends-on"),
            max_depends_on: super::DependsOn::DEFAULT_MAX,
            depends_on_wait: Duration::from_secs(2),
            replayed_header: HeaderName::from_static("idempotent-replayed"),
            requirements: Requirements::default(),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("methods", &self.methods)
            .field("require_key", &self.require_key)
            .field("expiry", &self.expiry)
            .field("lease", &self.lease)
            .field("store_timeout", &self.store_timeout)
            .field("max_request_body", &self.max_request_body)
            .field("body_timeout", &self.body_timeout)
            .field("max_stored_body", &self.max_stored_body)
            .field("degrade", &self.degrade)
            .field("key_header", &self.key_header)
            .field("depends_on_header", &self.depends_on_header)
            .field("max_depends_on", &self.max_depends_on)
            .field("depends_on_wait", &self.depends_on_wait)
            .finish_non_exhaustive()
    }
}
