//! The header parsers' invariants (as the fuzz targets `idempotency_key` and
//! `depends_on` check them), over generated values drawn from the bytes that
//! matter: quotes, escapes, commas, spaces, tabs, controls and non-ASCII.

#![cfg(feature = "idempotency")]

use proptest::prelude::*;
use tower_failed_dependency::idempotency::{DependsOn, IdempotencyKey, KeyError};

fn value() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => prop::sample::select(b"abcXYZ019-_.:/".to_vec()),
        1 => prop::sample::select(b"\"\\, \t;=\x00\x01\x7f\xc3\xa9\n".to_vec()),
    ];
    prop::collection::vec(byte, 0..300)
}

/// A header line that is mostly a list: keys, bare or quoted, between
/// commas and spaces, now and then with a byte of `value`'s.
fn list() -> impl Strategy<Value = Vec<u8>> {
    let member = prop_oneof![
        "[a-z0-9-]{1,12}".prop_map(String::into_bytes),
        "[ -~]{0,12}".prop_map(|key| quoted(&key).into_bytes()),
        value().prop_map(|junk| junk.into_iter().take(3).collect()),
    ];
    (
        prop::collection::vec(member, 0..12),
        prop::sample::select(vec![",", ", ", " ,\t", ",,"]),
    )
        .prop_map(|(members, comma)| members.join(comma.as_bytes()))
}

fn quoted(key: &str) -> String {
    format!("\"{}\"", key.replace('\\', "\\\\").replace('"', "\\\""))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2048,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_key_read_is_bounded_printable_and_reads_back_quoted(data in value()) {
        let parsed = IdempotencyKey::parse(&data);
        let start = data.iter().position(|b| !matches!(b, b' ' | b'\t'));
        let end = data.iter().rposition(|b| !matches!(b, b' ' | b'\t'));
        let trimmed = match (start, end) {
            (Some(start), Some(end)) => &data[start..=end],
            _ => &data[..0],
        };
        let bare = !trimmed.is_empty()
            && trimmed.len() <= IdempotencyKey::MAX_LEN
            && trimmed.iter().all(|&b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b',');
        if bare {
            prop_assert_eq!(parsed.as_ref().map(|key| key.as_str().as_bytes()), Ok(trimmed));
        }
        if trimmed.is_empty() {
            prop_assert_eq!(parsed.clone(), Err(KeyError::Empty));
        }
        if let Ok(key) = parsed {
            let text = key.as_str();
            prop_assert!(!text.is_empty() && text.len() <= IdempotencyKey::MAX_LEN);
            prop_assert!(text.bytes().all(|b| (0x20..=0x7e).contains(&b)));
            prop_assert_eq!(IdempotencyKey::parse(quoted(text).as_bytes()), Ok(key));
        }
    }

    #[test]
    fn a_list_read_is_bounded_distinct_and_reads_back(
        lines in prop::collection::vec(prop_oneof![list(), value()], 0..4)
    ) {
        let Ok(list) = DependsOn::parse(lines.iter().map(Vec::as_slice), 8) else {
            return Ok(());
        };
        prop_assert!(list.len() <= 8);
        let keys: Vec<&IdempotencyKey> = list.iter().collect();
        for (at, key) in keys.iter().enumerate() {
            prop_assert!(!keys[..at].contains(key));
            prop_assert!(key.as_str().bytes().all(|b| (0x20..=0x7e).contains(&b)));
        }
        let line = keys.iter().map(|key| quoted(key.as_str())).collect::<Vec<_>>().join(", ");
        prop_assert_eq!(DependsOn::parse([line.as_bytes()], 8), Ok(list));
    }
}
