use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, Method, Uri};
use tower_layer::Layer;

use super::config::{Config, Degrade, KeyRequired};
use super::scope::KeyScope;
use super::Idempotency;
use crate::policy::StatusPolicy;
use crate::store::Store;

/// Runs each keyed request once and answers its retries with the kept
/// answer; records the outcomes of the keyed requests a request names in
/// `Depends-On`. See the [module docs](super).
#[derive(Debug, Clone)]
pub struct IdempotencyLayer {
    config: Arc<Config>,
}

impl IdempotencyLayer {
    /// A layer with an in-memory store ([`MemoryStore::new`](crate::store::MemoryStore::new))
    /// and the defaults listed in the [module docs](super#defaults).
    pub fn new() -> Self {
        Self {
            config: Arc::new(Config::default()),
        }
    }

    fn config(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.config)
    }

    /// Where answers are kept.
    pub fn store(mut self, store: impl Store) -> Self {
        self.config().store = Arc::new(store);
        self
    }

    /// A store shared with other code (a test reading it, two layers on one
    /// store).
    pub fn shared_store(mut self, store: Arc<dyn Store>) -> Self {
        self.config().store = store;
        self
    }

    /// The methods whose requests are keyed (default `POST` and `PATCH`).
    /// Requests of other methods ignore `Idempotency-Key`; any request may
    /// name earlier ones in `Depends-On`.
    pub fn methods(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.config().methods = methods.into_iter().collect();
        self
    }

    /// Whether a request of a keyed method must carry a key (default
    /// `false`). When it must, a request without one answers 400.
    pub fn require_key(mut self, required: bool) -> Self {
        self.config().require_key = match required {
            true => KeyRequired::Always,
            false => KeyRequired::Never,
        };
        self
    }

    /// Requires a key of the requests of a keyed method for which
    /// `required` is true: the routes that need one, when the layer wraps a
    /// whole router.
    ///
    /// ```
    /// use tower_failed_dependency::idempotency::IdempotencyLayer;
    ///
    /// let layer = IdempotencyLayer::new()
    ///     .require_key_for(|_method, uri| uri.path().starts_with("/payments"));
    /// # let _ = layer;
    /// ```
    pub fn require_key_for<F>(mut self, required: F) -> Self
    where
        F: Fn(&Method, &Uri) -> bool + Send + Sync + 'static,
    {
        self.config().require_key = KeyRequired::When(Arc::new(required));
        self
    }

    /// How long an answer is kept, from when it was stored (default 24 h).
    pub fn expiry(mut self, expiry: Duration) -> Self {
        self.config().expiry = expiry;
        self
    }

    /// How long a claim holds its key while its request runs (default
    /// 60 s). A request that runs longer, or whose process dies, loses the
    /// claim: its key is free again, and its late answer is not stored (the
    /// claim's fencing token no longer matches).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.config().lease = lease;
        self
    }

    /// How long one store operation may take (default 1 s). Past it, the
    /// store counts as down for that request.
    pub fn store_timeout(mut self, timeout: Duration) -> Self {
        self.config().store_timeout = timeout;
        self
    }

    /// The largest request body read to fingerprint a keyed request
    /// (default 1 MiB); a larger one answers 413.
    pub fn max_request_body(mut self, bytes: usize) -> Self {
        self.config().max_request_body = bytes;
        self
    }

    /// How long reading a keyed request's body, or its answer's, may take
    /// (default 10 s); past it, the request answers 408.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.config().body_timeout = timeout;
        self
    }

    /// The largest answer body kept (default 64 KiB). A larger one, or one
    /// whose length is not known before it is read (streamed), is too large
    /// to keep: see [`Degrade`].
    pub fn max_stored_body(mut self, bytes: usize) -> Self {
        self.config().max_stored_body = bytes;
        self
    }

    /// What to do when the store is down or an answer is too large to keep
    /// (default [`Degrade::FailClosed`]).
    pub fn degrade(mut self, degrade: Degrade) -> Self {
        self.config().degrade = degrade;
        self
    }

    /// Whose keys a request's key is among (default
    /// [`Credentials`](super::Credentials)).
    pub fn scope(mut self, scope: impl KeyScope) -> Self {
        self.config().scope = Arc::new(scope);
        self
    }

    /// The header that carries the key (default `idempotency-key`).
    pub fn key_header(mut self, header: HeaderName) -> Self {
        self.config().key_header = header;
        self
    }

    /// The header that names earlier keyed requests (default `depends-on`).
    pub fn depends_on_header(mut self, header: HeaderName) -> Self {
        self.config().depends_on_header = header;
        self
    }

    /// The most keys a `Depends-On` may name (default
    /// [`DependsOn::DEFAULT_MAX`](super::DependsOn::DEFAULT_MAX)); more
    /// answer 400.
    pub fn max_depends_on(mut self, max: usize) -> Self {
        self.config().max_depends_on = max;
        self
    }

    /// How long a request waits, in all, for the earlier requests it names
    /// that are still running (default 2 s); then each still running is a
    /// refusal (409, so 424 under the default policy).
    pub fn depends_on_wait(mut self, wait: Duration) -> Self {
        self.config().depends_on_wait = wait;
        self
    }

    /// The header that marks a replayed answer (default
    /// `idempotent-replayed`, sent as `idempotent-replayed: true`).
    pub fn replayed_header(mut self, header: HeaderName) -> Self {
        self.config().replayed_header = header;
        self
    }

    /// The policy that writes the layer's problems and answers for the
    /// `Depends-On` keys that failed.
    pub fn policy(mut self, policy: StatusPolicy) -> Self {
        self.config().requirements.policy = policy;
        self
    }

    /// The request header whose id is echoed as `request_id` in problems
    /// (default `x-request-id`).
    pub fn request_id_header(mut self, header: HeaderName) -> Self {
        self.config().requirements.request_id_header = header;
        self
    }
}

impl Default for IdempotencyLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Idempotency<S> {
    /// A layer with the defaults; same as [`IdempotencyLayer::new`].
    pub fn layer() -> IdempotencyLayer {
        IdempotencyLayer::new()
    }
}

impl<S> Layer<S> for IdempotencyLayer {
    type Service = Idempotency<S>;

    fn layer(&self, inner: S) -> Idempotency<S> {
        Idempotency::new(inner, Arc::clone(&self.config))
    }
}
