//! [`MemoryStore`]: the answers of one process, in a bounded concurrent
//! cache (moka).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::ops::compute::{CompResult, Op};
use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use moka::Expiry;

use super::{Claim, Fingerprint, Slot, Store, StoreFuture, StoredAnswer, Token};

/// A store in this process's memory, the layer's default: for a service that
/// runs as one process. Several processes need a shared store
/// (`RedisStore`, feature `redis`).
///
/// Bounded twice: the bytes it holds (keys, bodies, headers, and
/// [`ENTRY_OVERHEAD`](Self::ENTRY_OVERHEAD) per entry for the cache's own
/// bookkeeping) stay within [`max_bytes`](Self::max_bytes), and each entry
/// weighs at least `max_bytes / max_entries`, so that no more than
/// [`max_entries`](Self::max_entries) are kept. Every new claim is kept;
/// when the store is full, the entries used least recently make room (moka's
/// LRU policy, not its default TinyLFU, which may refuse a new entry when
/// the store is full and so would let a duplicate of a running request run).
/// An evicted answer is then unknown, as an expired one is: size the bounds
/// so that expiry, not eviction, ends an answer. Each entry expires on its
/// own: a running claim after its lease, an answer after the layer's expiry.
///
/// Cloning gives another handle on the same entries; each builder method
/// ([`max_bytes`](Self::max_bytes), [`max_entries`](Self::max_entries))
/// gives a new, empty store, so configure it before use.
///
/// ```
/// use tower_failed_dependency::store::MemoryStore;
///
/// let store = MemoryStore::new().max_bytes(16 << 20).max_entries(50_000);
/// # let _ = store;
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    cache: Cache<String, Arc<Held>>,
    max_bytes: u64,
    max_entries: u64,
}

/// A slot with its time to live and its weight.
struct Held {
    slot: Slot,
    ttl: Duration,
}

impl MemoryStore {
    /// What one entry is counted to cost besides its key and answer: the
    /// cache's own structures for it (hash table bucket, access and write
    /// order nodes, timer wheel node, reference counts), rounded up.
    pub const ENTRY_OVERHEAD: u64 = 384;
    /// The default byte bound: 64 MiB.
    pub const DEFAULT_MAX_BYTES: u64 = 64 << 20;
    /// The default entry bound.
    pub const DEFAULT_MAX_ENTRIES: u64 = 100_000;

    /// A store of at most 64 MiB and 100 000 entries.
    pub fn new() -> Self {
        Self::build(Self::DEFAULT_MAX_BYTES, Self::DEFAULT_MAX_ENTRIES)
    }

    /// At most `bytes` held (at least 1 MiB).
    pub fn max_bytes(self, bytes: u64) -> Self {
        Self::build(bytes.max(1 << 20), self.max_entries)
    }

    /// At most `entries` kept (at least 1).
    pub fn max_entries(self, entries: u64) -> Self {
        Self::build(self.max_bytes, entries.max(1))
    }

    fn build(max_bytes: u64, max_entries: u64) -> Self {
        let floor = (max_bytes / max_entries).max(1);
        let cache = Cache::builder()
            .max_capacity(max_bytes)
            .eviction_policy(EvictionPolicy::lru())
            .weigher(move |key: &String, held: &Arc<Held>| {
                let weight = (key.len() as u64 + held.size() + Self::ENTRY_OVERHEAD).max(floor);
                u32::try_from(weight).unwrap_or(u32::MAX)
            })
            .expire_after(PerEntry)
            .build();
        Self {
            cache,
            max_bytes,
            max_entries,
        }
    }

    /// The bytes the store counts as held now (moka's weighted size, updated
    /// as the cache catches up with its writes).
    pub fn weighted_size(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.weighted_size()
    }

    /// How many entries the store holds now.
    pub fn entry_count(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }
}

impl Held {
    fn size(&self) -> u64 {
        match &self.slot {
            Slot::Running { .. } => 48,
            Slot::Completed { answer, .. } => 32 + answer.size() as u64,
        }
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("max_bytes", &self.max_bytes)
            .field("max_entries", &self.max_entries)
            .finish_non_exhaustive()
    }
}

/// Each entry lives for its own time to live, from when it was written.
struct PerEntry;

impl Expiry<String, Arc<Held>> for PerEntry {
    fn expire_after_create(&self, _: &String, held: &Arc<Held>, _: Instant) -> Option<Duration> {
        Some(held.ttl)
    }

    fn expire_after_update(
        &self,
        _: &String,
        held: &Arc<Held>,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(held.ttl)
    }
}

/// Whether `held` is the running claim `token` names.
fn claimed_by(held: &Held, token: &Token) -> bool {
    matches!(&held.slot, Slot::Running { token: own, .. } if own == token)
}

impl Store for MemoryStore {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        fingerprint: &'a Fingerprint,
        lease: Duration,
    ) -> StoreFuture<'a, Claim> {
        let token = Token::new();
        let entry = self.cache.entry(key.to_owned()).or_insert_with(|| {
            Arc::new(Held {
                slot: Slot::Running {
                    fingerprint: *fingerprint,
                    token,
                },
                ttl: lease,
            })
        });
        let claim = if entry.is_fresh() {
            Claim::Claimed(token)
        } else {
            Claim::Taken(entry.into_value().slot.clone())
        };
        Box::pin(std::future::ready(Ok(claim)))
    }

    fn complete<'a>(
        &'a self,
        key: &'a str,
        token: &'a Token,
        answer: &'a StoredAnswer,
        expiry: Duration,
    ) -> StoreFuture<'a, bool> {
        let result = self
            .cache
            .entry(key.to_owned())
            .and_compute_with(|held| match held {
                Some(held) if claimed_by(held.value(), token) => {
                    let fingerprint = *held.value().slot.fingerprint();
                    Op::Put(Arc::new(Held {
                        slot: Slot::Completed {
                            fingerprint,
                            answer: answer.clone(),
                        },
                        ttl: expiry,
                    }))
                }
                _ => Op::Nop,
            });
        let written = matches!(result, CompResult::ReplacedWith(_));
        Box::pin(std::future::ready(Ok(written)))
    }

    fn release<'a>(&'a self, key: &'a str, token: &'a Token) -> StoreFuture<'a, ()> {
        self.cache
            .entry(key.to_owned())
            .and_compute_with(|held| match held {
                Some(held) if claimed_by(held.value(), token) => Op::Remove,
                _ => Op::Nop,
            });
        Box::pin(std::future::ready(Ok(())))
    }

    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Slot>> {
        let slot = self.cache.get(key).map(|held| held.slot.clone());
        Box::pin(std::future::ready(Ok(slot)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    fn fingerprint() -> Fingerprint {
        Fingerprint::from_bytes([1; 32])
    }

    async fn claimed(store: &MemoryStore, key: &str, lease: Duration) -> Token {
        match store.claim(key, &fingerprint(), lease).await.unwrap() {
            Claim::Claimed(token) => token,
            Claim::Taken(slot) => panic!("taken: {slot:?}"),
        }
    }

    #[tokio::test]
    async fn a_late_writer_cannot_overwrite_a_newer_claim() {
        let store = MemoryStore::new();
        let old = claimed(&store, "k", Duration::from_millis(20)).await;
        std::thread::sleep(Duration::from_millis(40));
        let new = claimed(&store, "k", Duration::from_secs(30)).await;
        let answer = StoredAnswer::new(StatusCode::OK, Vec::new(), "late".into());
        let expiry = Duration::from_secs(60);
        assert!(!store.complete("k", &old, &answer, expiry).await.unwrap());
        store.release("k", &old).await.unwrap();
        assert!(matches!(
            store.get("k").await.unwrap(),
            Some(Slot::Running { token, .. }) if token == new
        ));
        assert!(store.complete("k", &new, &answer, expiry).await.unwrap());
    }

    #[tokio::test]
    async fn a_released_key_can_be_claimed_again() {
        let store = MemoryStore::new();
        let token = claimed(&store, "k", Duration::from_secs(30)).await;
        store.release("k", &token).await.unwrap();
        assert!(store.get("k").await.unwrap().is_none());
        claimed(&store, "k", Duration::from_secs(30)).await;
    }

    #[tokio::test]
    async fn a_full_store_keeps_every_new_claim_and_answer() {
        let store = MemoryStore::new().max_entries(100);
        for n in 0..1_000 {
            claimed(&store, &format!("old-{n}"), Duration::from_secs(30)).await;
        }
        store.cache.run_pending_tasks();
        // A key never seen before, claimed when the store is full, stays
        // claimed: a duplicate of it is refused, whatever the eviction did.
        let token = claimed(&store, "new", Duration::from_secs(30)).await;
        store.cache.run_pending_tasks();
        assert!(matches!(
            store
                .claim("new", &fingerprint(), Duration::from_secs(30))
                .await
                .unwrap(),
            Claim::Taken(Slot::Running { .. })
        ));
        let answer = StoredAnswer::new(StatusCode::CREATED, Vec::new(), "made".into());
        assert!(store
            .complete("new", &token, &answer, Duration::from_secs(60))
            .await
            .unwrap());
        store.cache.run_pending_tasks();
        assert!(matches!(
            store.get("new").await.unwrap(),
            Some(Slot::Completed { .. })
        ));
        assert!(store.entry_count() <= 100, "{}", store.entry_count());
    }

    #[tokio::test]
    async fn entries_stay_within_the_entry_bound() {
        let store = MemoryStore::new().max_entries(100);
        for n in 0..1_000 {
            claimed(&store, &format!("key-{n}"), Duration::from_secs(30)).await;
        }
        assert!(store.entry_count() <= 100, "{}", store.entry_count());
        assert!(store.weighted_size() <= store.max_bytes);
    }
}
