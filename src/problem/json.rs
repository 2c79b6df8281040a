//! Serializing a problem to JSON in a body of exactly its size.

use std::cell::RefCell;

use bytes::Bytes;
use serde::Serialize;

/// A scratch buffer larger than this is not kept for the next problem.
const SCRATCH_KEPT: usize = 16 * 1024;

thread_local! {
    // Serializing into a reused buffer and copying the result out gives a
    // body allocated once at its exact size: a `Vec` whose length equals its
    // capacity becomes `Bytes` without a realloc or a shared header.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Serializes `value` as JSON into a buffer of exactly its length.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Bytes {
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut buffer) => {
            buffer.clear();
            let bytes = write_json(&mut buffer, value);
            if buffer.capacity() > SCRATCH_KEPT {
                *buffer = Vec::new();
            }
            bytes
        }
        Err(_) => write_json(&mut Vec::new(), value),
    })
}

fn write_json<T: Serialize + ?Sized>(buffer: &mut Vec<u8>, value: &T) -> Bytes {
    match serde_json::to_writer(&mut *buffer, value) {
        Ok(()) => Bytes::copy_from_slice(buffer),
        // The crate serializes only string-keyed maps of strings, numbers and
        // `serde_json::Value`s, which cannot fail. Were it ever to, an empty
        // object is still a valid problem (every member is optional), and
        // nothing half-written reaches the client.
        Err(_) => Bytes::from_static(b"{}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_body_is_exactly_sized() {
        let bytes = to_json(&serde_json::json!({"title": "x".repeat(300)}));
        assert_eq!(bytes.len(), 312);
        assert_eq!(&bytes[..10], b"{\"title\":\"");
    }

    #[test]
    fn a_large_scratch_buffer_is_not_kept() {
        let big = "y".repeat(SCRATCH_KEPT * 2);
        assert_eq!(to_json(&big).len(), big.len() + 2);
        SCRATCH.with(|s| assert!(s.borrow().capacity() <= SCRATCH_KEPT));
    }
}
