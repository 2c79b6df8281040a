//! A flood of 10^6 distinct keys keeps the memory store within its byte
//! bound, as the store counts it and as the process's resident memory shows.

#![cfg(feature = "idempotency")]

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use tower_failed_dependency::store::{Claim, Fingerprint, MemoryStore, Store, StoredAnswer};

/// The process's resident set size, in bytes (Linux).
fn resident() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[tokio::test(flavor = "current_thread")]
async fn a_million_keys_stay_within_the_byte_bound() {
    const BOUND: u64 = 32 << 20;
    const KEYS: usize = 1_000_000;
    let store = MemoryStore::new().max_bytes(BOUND).max_entries(1_000_000);
    let before = resident();
    let answer = StoredAnswer::new(
        StatusCode::CREATED,
        vec![(
            HeaderName::from_static("content-type"),
            HeaderValue::from_static("application/json"),
        )],
        Bytes::from(format!("{{\"id\":\"{}\"}}", "x".repeat(180))),
    );
    let fingerprint = Fingerprint::from_bytes([3; 32]);
    let mut peak = 0;
    for n in 0..KEYS {
        // As the layer writes them: a scope digest, then the client's key.
        let key = format!("0123456789abcdef0123456789abcdef:{n:036}");
        let Claim::Claimed(token) = store
            .claim(&key, &fingerprint, Duration::from_secs(60))
            .await
            .unwrap()
        else {
            panic!("key {n} is new");
        };
        assert!(store
            .complete(&key, &token, &answer, Duration::from_secs(3600))
            .await
            .unwrap());
        if n % 100_000 == 99_999 {
            let held = store.weighted_size();
            peak = peak.max(held);
            assert!(held <= BOUND, "{held} bytes held after {} keys", n + 1);
        }
    }
    let grown = resident()
        .zip(before)
        .map(|(after, before)| after.saturating_sub(before));
    println!(
        "{KEYS} keys: the store holds {} entries, {} bytes as it counts them (bound {BOUND}, \
         peak {peak}); the process grew by {} bytes of resident memory",
        store.entry_count(),
        store.weighted_size(),
        grown.map_or("an unknown number of".to_owned(), |grown| grown.to_string()),
    );
    if let Some(grown) = grown {
        // The allocator keeps freed pages and moka's own structures are
        // counted by estimate: allow twice the bound, far below what a
        // million answers (over 300 MB) would take.
        assert!(grown <= 2 * BOUND, "resident memory grew by {grown} bytes");
    }
}
