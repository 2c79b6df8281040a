//! The `Idempotency-Key` parser: a key it accepts is 1 to 255 characters of
//! printable ASCII; a bare value of visible ASCII (no `"` or `,`) is that
//! key itself; and a key written back as an sf-string reads as itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_failed_dependency::idempotency::IdempotencyKey;

fuzz_target!(|data: &[u8]| {
    let parsed = IdempotencyKey::parse(data);
    let trimmed =
        data.iter()
            .position(|b| !matches!(b, b' ' | b'\t'))
            .map_or(&data[..0], |start| {
                let end = data
                    .iter()
                    .rposition(|b| !matches!(b, b' ' | b'\t'))
                    .unwrap_or(start);
                &data[start..=end]
            });
    let bare = !trimmed.is_empty()
        && trimmed.len() <= IdempotencyKey::MAX_LEN
        && trimmed
            .iter()
            .all(|&b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b',');
    if bare {
        let key = parsed.as_ref().expect("a bare visible-ASCII key is read");
        assert_eq!(key.as_str().as_bytes(), trimmed);
    }
    let Ok(key) = parsed else {
        return;
    };
    let text = key.as_str();
    assert!(!text.is_empty() && text.len() <= IdempotencyKey::MAX_LEN);
    assert!(text.bytes().all(|b| (0x20..=0x7e).contains(&b)));
    let quoted = format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""));
    let again = IdempotencyKey::parse(quoted.as_bytes()).expect("a quoted key reads back");
    assert_eq!(again, key);
});
