//! What a [`RedisStore`](super::RedisStore) writes under a key, and reads
//! back: `R <token> <fingerprint>` while a claim runs, then
//! `C <fingerprint>` and the answer.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};

use crate::store::{Fingerprint, Slot, StoredAnswer, Token};

/// The value of a running claim.
pub(super) fn running(token: &Token, fingerprint: &Fingerprint) -> String {
    format!("R {token} {fingerprint}")
}

/// `R <token> `: the start of a running claim's value, before its
/// fingerprint (35 bytes, which the scripts compare).
pub(super) fn running_head(token: &Token) -> String {
    format!("R {token} ")
}

/// `C <fingerprint>` is written by the script; this is the rest:
/// `\n<status>\n<1 if the body is kept>\n<name>:<value>\n...\n\n<body>`.
/// Header values cannot hold a line break, so lines separate them.
pub(super) fn encode_answer(answer: &StoredAnswer) -> Vec<u8> {
    let body = answer.body();
    let mut out = Vec::with_capacity(answer.size() + 8);
    out.extend_from_slice(
        format!(
            "\n{}\n{}\n",
            answer.status().as_u16(),
            u8::from(body.is_some())
        )
        .as_bytes(),
    );
    for (name, value) in answer.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.push(b':');
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
    if let Some(body) = body {
        out.extend_from_slice(body);
    }
    out
}

fn fingerprint_of(hex: &[u8]) -> Option<Fingerprint> {
    if hex.len() != 64 {
        return None;
    }
    let mut bytes = [0; 32];
    for (byte, pair) in bytes.iter_mut().zip(hex.chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(Fingerprint::from_bytes(bytes))
}

/// A value this store wrote.
pub(super) fn decode(value: &[u8]) -> Option<Slot> {
    match value {
        [b'R', b' ', rest @ ..] => {
            let token = Token::parse(std::str::from_utf8(rest.get(..32)?).ok()?)?;
            let fingerprint = fingerprint_of(rest.get(33..)?)?;
            Some(Slot::Running { fingerprint, token })
        }
        [b'C', b' ', rest @ ..] => {
            let fingerprint = fingerprint_of(rest.get(..64)?)?;
            let mut lines = rest.get(64..)?.strip_prefix(b"\n")?;
            let mut line = || {
                let end = lines.iter().position(|&b| b == b'\n')?;
                let (head, tail) = lines.split_at(end);
                lines = &tail[1..];
                Some(head)
            };
            let status = StatusCode::from_bytes(line()?).ok()?;
            let kept = line()? == b"1";
            let mut headers = Vec::new();
            loop {
                let header = line()?;
                if header.is_empty() {
                    break;
                }
                let colon = header.iter().position(|&b| b == b':')?;
                let name = HeaderName::from_bytes(&header[..colon]).ok()?;
                let value = HeaderValue::from_bytes(&header[colon + 1..]).ok()?;
                headers.push((name, value));
            }
            let answer = if kept {
                StoredAnswer::new(status, headers, Bytes::copy_from_slice(lines))
            } else {
                StoredAnswer::without_body(status, headers)
            };
            Some(Slot::Completed {
                fingerprint,
                answer,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back() {
        let fingerprint = Fingerprint::from_bytes([0x5a; 32]);
        let token = Token::new();
        let value = running(&token, &fingerprint);
        assert_eq!(running_head(&token).len(), 35);
        assert!(value.starts_with(&running_head(&token)));
        assert!(matches!(
            decode(value.as_bytes()),
            Some(Slot::Running { token: t, fingerprint: f }) if t == token && f == fingerprint
        ));
        let answer = StoredAnswer::new(
            StatusCode::CREATED,
            vec![
                (
                    HeaderName::from_static("content-type"),
                    HeaderValue::from_static("application/json"),
                ),
                (
                    HeaderName::from_static("location"),
                    HeaderValue::from_static("/users/1"),
                ),
            ],
            Bytes::from_static(b"{\"id\":1}\n\nwith blank lines\n"),
        );
        let mut completed = format!("C {fingerprint}").into_bytes();
        completed.extend(encode_answer(&answer));
        match decode(&completed) {
            Some(Slot::Completed {
                fingerprint: f,
                answer: read,
            }) => {
                assert_eq!(f, fingerprint);
                assert_eq!(read, answer);
            }
            other => panic!("{other:?}"),
        }
        let dropped = StoredAnswer::without_body(StatusCode::OK, Vec::new());
        let mut completed = format!("C {fingerprint}").into_bytes();
        completed.extend(encode_answer(&dropped));
        assert!(
            matches!(decode(&completed), Some(Slot::Completed { answer, .. }) if answer == dropped)
        );
        assert!(decode(b"something else").is_none());
    }
}
