//! Where the answers of keyed requests are kept: the [`Store`] trait, and
//! its two implementations, [`MemoryStore`] (one process, the default) and,
//! with the `redis` feature, `RedisStore`
//! (several processes or machines sharing one Redis, or, with
//! `redis-cluster`, a Redis Cluster).
//!
//! A store that cannot keep its promise for a request (it is down, or, for
//! a `RedisStore` that waits for replicas, too few of them acknowledged a
//! claim) fails the operation with [`StoreError::Unavailable`]; the layer
//! then answers as its [`Degrade`](crate::idempotency::Degrade) setting
//! says (by default 503 with `Retry-After`, the request not run).
//!
//! The [`IdempotencyLayer`](crate::idempotency::IdempotencyLayer) asks a
//! store four things, each bounded by the layer's store timeout:
//!
//! 1. [`claim`](Store::claim) a key for a request about to run: atomically,
//!    either the key was free and is now [`Running`](Slot::Running) under a
//!    fresh fencing [`Token`], or the store gives what it already holds;
//! 2. [`complete`](Store::complete) the claim with the request's answer, only
//!    if the claim is still the one that token names (a late writer whose
//!    claim lapsed and was taken over cannot overwrite the newer one);
//! 3. [`release`](Store::release) a claim whose request did not run (the
//!    client may then send it again), under the same fencing rule;
//! 4. [`get`](Store::get) what a key holds, for `Depends-On`.
//!
//! A running claim lapses after its lease; a completed answer after the
//! expiry. Keys reach the store already scoped (see
//! [`KeyScope`](crate::idempotency::KeyScope)).
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use http::StatusCode;
//! use tower_failed_dependency::store::{Claim, Fingerprint, MemoryStore, Slot, Store, StoredAnswer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), tower_failed_dependency::store::StoreError> {
//! let store = MemoryStore::new();
//! let fingerprint = Fingerprint::from_bytes([7; 32]);
//! let lease = Duration::from_secs(30);
//! let Claim::Claimed(token) = store.claim("k1", &fingerprint, lease).await? else {
//!     unreachable!("a new key is free");
//! };
//! // A second claim while the first request runs sees it running.
//! let Claim::Taken(Slot::Running { .. }) = store.claim("k1", &fingerprint, lease).await? else {
//!     unreachable!("the key is claimed");
//! };
//! let answer = StoredAnswer::new(StatusCode::CREATED, Vec::new(), "created".into());
//! assert!(store.complete("k1", &token, &answer, Duration::from_secs(60)).await?);
//! let Some(Slot::Completed { answer, .. }) = store.get("k1").await? else {
//!     unreachable!("the answer is kept");
//! };
//! assert_eq!(answer.status(), StatusCode::CREATED);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};

mod memory;
#[cfg(feature = "redis")]
mod redis;

pub use self::memory::MemoryStore;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::RedisStore;

/// The future of a store operation.
///
/// Boxed: the layer holds its store as `Arc<dyn Store>`, so that any store
/// (the user's own included) fits one layer type, and a trait object's
/// async methods must return a type of known size.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A place to keep the answers of keyed requests.
///
/// Every method must be atomic with respect to the others on the same key,
/// across every process that shares the store.
pub trait Store: Send + Sync + 'static {
    /// Claims `key` for a request with `fingerprint` about to run, for
    /// `lease` (after which an unfinished claim lapses).
    ///
    /// # Errors
    ///
    /// When the store cannot be reached or answers something unreadable.
    fn claim<'a>(
        &'a self,
        key: &'a str,
        fingerprint: &'a Fingerprint,
        lease: Duration,
    ) -> StoreFuture<'a, Claim>;

    /// Replaces the claim `token` names with `answer`, kept for `expiry`.
    /// `false` when the key no longer holds that claim (it lapsed, and
    /// perhaps another request claimed the key since): nothing is written.
    ///
    /// # Errors
    ///
    /// When the store cannot be reached.
    fn complete<'a>(
        &'a self,
        key: &'a str,
        token: &'a Token,
        answer: &'a StoredAnswer,
        expiry: Duration,
    ) -> StoreFuture<'a, bool>;

    /// Removes the claim `token` names, if the key still holds it.
    ///
    /// # Errors
    ///
    /// When the store cannot be reached.
    fn release<'a>(&'a self, key: &'a str, token: &'a Token) -> StoreFuture<'a, ()>;

    /// What `key` holds, if anything.
    ///
    /// # Errors
    ///
    /// When the store cannot be reached or holds something unreadable.
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Slot>>;
}

/// What claiming a key gave.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Claim {
    /// The key was free: the request may run, and its answer is completed
    /// under this token.
    Claimed(Token),
    /// The key is taken: what it holds.
    Taken(Slot),
}

/// What a store holds under a key.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Slot {
    /// A request claimed the key and has not answered yet.
    Running {
        /// The fingerprint of the request that claimed it.
        fingerprint: Fingerprint,
        /// The claim's fencing token.
        token: Token,
    },
    /// The request answered; its answer is kept.
    Completed {
        /// The fingerprint of the request that answered.
        fingerprint: Fingerprint,
        /// The answer.
        answer: StoredAnswer,
    },
}

impl Slot {
    /// The fingerprint of the request the slot belongs to.
    pub fn fingerprint(&self) -> &Fingerprint {
        match self {
            Slot::Running { fingerprint, .. } | Slot::Completed { fingerprint, .. } => fingerprint,
        }
    }
}

/// A digest of what makes two requests the same request: method, path and
/// query, and body (SHA-256, computed by the layer).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// A fingerprint from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Its 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Lower-case hex.
impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

/// The fencing token of one claim: unique across processes (128 bits drawn
/// from the standard library's per-process random hash keys, a counter and
/// the clock), so that a claim taken over after its lease lapsed is never
/// mistaken for the new one.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Token(u128);

impl Token {
    /// A fresh token.
    pub fn new() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        let draw = |salt: u64| {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u64(salt);
            hasher.write_u64(count);
            hasher.write_u128(nanos);
            hasher.write_u32(std::process::id());
            hasher.finish()
        };
        Self((u128::from(draw(1)) << 64) | u128::from(draw(2)))
    }

    /// A token as [`Display`](fmt::Display) wrote it (32 hex digits).
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != 32 {
            return None;
        }
        u128::from_str_radix(text, 16).ok().map(Self)
    }
}

impl Default for Token {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({self})")
    }
}

/// 32 lower-case hex digits.
impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// An answer as the store keeps it: status, the headers a replay needs, and
/// the body (unless it was too large to keep).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<Bytes>,
}

impl StoredAnswer {
    /// An answer with its body.
    pub fn new(status: StatusCode, headers: Vec<(HeaderName, HeaderValue)>, body: Bytes) -> Self {
        Self {
            status,
            headers,
            body: Some(body),
        }
    }

    /// An answer whose body was too large to keep: its status and headers
    /// only. It still tells a dependent request whether it succeeded, but it
    /// cannot be replayed.
    pub fn without_body(status: StatusCode, headers: Vec<(HeaderName, HeaderValue)>) -> Self {
        Self {
            status,
            headers,
            body: None,
        }
    }

    /// The answer's status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers kept for a replay.
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    /// The body, if it was kept.
    pub fn body(&self) -> Option<&Bytes> {
        self.body.as_ref()
    }

    /// How many bytes the answer takes: body, headers and a fixed part.
    pub fn size(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum();
        16 + headers + self.body.as_ref().map_or(0, Bytes::len)
    }
}

/// A store operation that failed: the layer answers as its
/// [`Degrade`](crate::idempotency::Degrade) setting says.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be reached or failed the operation.
    #[error("the idempotency store is unavailable")]
    Unavailable(#[source] crate::BoxError),
    /// The store did not answer within the layer's store timeout.
    #[error("the idempotency store did not answer within {0:?}")]
    Timeout(Duration),
    /// The store holds something that is not a slot this crate wrote.
    #[error("the idempotency store holds an unreadable entry")]
    Corrupt,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ_and_read_back() {
        let first = Token::new();
        let second = Token::new();
        assert_ne!(first, second);
        assert_eq!(Token::parse(&first.to_string()), Some(first));
        assert_eq!(Token::parse("xyz"), None);
    }

    #[test]
    fn a_fingerprint_prints_as_hex() {
        let fingerprint = Fingerprint::from_bytes([0xab; 32]);
        assert_eq!(fingerprint.to_string(), "ab".repeat(32));
    }
}
