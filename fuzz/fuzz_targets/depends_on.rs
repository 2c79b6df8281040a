//! The `Depends-On` parser: lines of an sf-list of keys. What it accepts is
//! at most the bound of distinct keys, each a valid key, and the list
//! written back (quoted, on one line) reads as the same list.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_failed_dependency::idempotency::{DependsOn, IdempotencyKey};

const MAX: usize = 8;

fuzz_target!(|data: &[u8]| {
    let lines = data.split(|&b| b == b'\n');
    let Ok(list) = DependsOn::parse(lines, MAX) else {
        return;
    };
    assert!(list.len() <= MAX);
    let keys: Vec<&IdempotencyKey> = list.iter().collect();
    for (at, key) in keys.iter().enumerate() {
        assert!(!keys[..at].contains(key), "a key is listed once");
        let text = key.as_str();
        assert!(!text.is_empty() && text.len() <= IdempotencyKey::MAX_LEN);
        assert!(text.bytes().all(|b| (0x20..=0x7e).contains(&b)));
    }
    let written: Vec<String> = keys
        .iter()
        .map(|key| {
            format!(
                "\"{}\"",
                key.as_str().replace('\\', "\\\\").replace('"', "\\\"")
            )
        })
        .collect();
    let line = written.join(", ");
    let again = DependsOn::parse([line.as_bytes()], MAX).expect("the list reads back");
    assert_eq!(again, list);
});
