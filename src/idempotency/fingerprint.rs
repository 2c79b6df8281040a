//! What makes two keyed requests the same request, and the store key of a
//! scoped idempotency key: both SHA-256 digests.

use std::fmt::Write;

use http::{Method, Uri};
use sha2::{Digest, Sha256};

use super::key::IdempotencyKey;
use crate::store::Fingerprint;

/// The fingerprint of a request: its method, its path and query, and its
/// body, each length-prefixed so that no two different requests run into
/// the same input.
pub(super) fn fingerprint(method: &Method, uri: &Uri, body: &[u8]) -> Fingerprint {
    let target = uri.path_and_query().map_or("/", |target| target.as_str());
    let mut digest = Sha256::new();
    for part in [method.as_str().as_bytes(), target.as_bytes(), body] {
        digest.update((part.len() as u64).to_be_bytes());
        digest.update(part);
    }
    Fingerprint::from_bytes(digest.finalize().into())
}

/// The store key of `key` in `scope`: the first 128 bits of the scope's
/// SHA-256 in hex, then the key. The scope (credentials, by default) is
/// never stored in clear.
pub(super) fn store_key(scope: &[u8], key: &IdempotencyKey) -> String {
    let digest = Sha256::digest(scope);
    let mut out = String::with_capacity(33 + key.as_str().len());
    for byte in &digest[..16] {
        let _ = write!(out, "{byte:02x}");
    }
    out.push(':');
    out.push_str(key.as_str());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_part_changes_the_fingerprint() {
        let uri = |u: &str| u.parse::<Uri>().unwrap();
        let base = fingerprint(&Method::POST, &uri("/users?x=1"), b"{}");
        assert_eq!(base, fingerprint(&Method::POST, &uri("/users?x=1"), b"{}"));
        assert_ne!(base, fingerprint(&Method::PATCH, &uri("/users?x=1"), b"{}"));
        assert_ne!(base, fingerprint(&Method::POST, &uri("/users?x=2"), b"{}"));
        assert_ne!(base, fingerprint(&Method::POST, &uri("/users?x=1"), b"{ }"));
        // Lengths keep the parts apart.
        assert_ne!(
            fingerprint(&Method::POST, &uri("/a"), b"b"),
            fingerprint(&Method::POST, &uri("/ab"), b"")
        );
    }

    #[test]
    fn scopes_keep_keys_apart_and_out_of_sight() {
        let key = IdempotencyKey::parse(b"k1").unwrap();
        let alice = store_key(b"Bearer alice-secret", &key);
        let bob = store_key(b"Bearer bob-secret", &key);
        assert_ne!(alice, bob);
        assert!(!alice.contains("alice"));
        assert!(alice.ends_with(":k1"));
        assert_eq!(alice.len(), 32 + 1 + 2);
    }
}
