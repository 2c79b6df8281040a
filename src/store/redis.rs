//! [`RedisStore`]: answers shared by every process that uses one Redis.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};

use super::{Claim, Fingerprint, Slot, Store, StoreError, StoreFuture, StoredAnswer, Token};

/// A store in Redis, for a service that runs as several processes or on
/// several machines: one key answers once across all of them.
///
/// - Claiming is one `SET key value NX PX lease`: atomic, and only one
///   process wins.
/// - Completing and releasing are Lua scripts that first check the claim's
///   fencing token, so a process whose claim lapsed (its lease passed while
///   its request ran) cannot overwrite or remove a newer claim.
/// - Expiry is Redis's own: the claim's `PX` lease, then the answer's `PX`
///   expiry.
///
/// Keys are `{prefix}{scope}:{key}` (prefix `tfd:idem:` by default). A value
/// holds the request's fingerprint and, once answered, the status, the
/// headers kept for a replay and the body.
///
/// The connection is made on first use and made again after it breaks
/// (redis's `ConnectionManager`); each command gives up after the store's
/// response timeout (1 s by default), and the layer bounds every operation
/// by its own store timeout too.
///
/// ```no_run
/// use tower_failed_dependency::idempotency::IdempotencyLayer;
/// use tower_failed_dependency::store::RedisStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tower_failed_dependency::store::StoreError> {
/// let store = RedisStore::new("redis://127.0.0.1:6379/")?;
/// let layer = IdempotencyLayer::new().store(store);
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: Arc<str>,
    scripts: Arc<Scripts>,
}

struct Scripts {
    complete: Script,
    release: Script,
}

/// Replaces the claim whose value starts with ARGV[1] by the completed
/// answer ARGV[2] (after `C <fingerprint>`), kept ARGV[3] milliseconds.
const COMPLETE: &str = r"
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 35) == ARGV[1] then
  redis.call('SET', KEYS[1], 'C ' .. string.sub(v, 36, 99) .. ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
";

/// Deletes the claim whose value starts with ARGV[1].
const RELEASE: &str = r"
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 35) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

impl RedisStore {
    /// The default key prefix.
    pub const DEFAULT_PREFIX: &'static str = "tfd:idem:";

    /// A store on the Redis at `url` (`redis://host:port/db`). Nothing is
    /// sent until the first request: a Redis that is down at start-up
    /// makes requests follow the layer's
    /// [`Degrade`](crate::idempotency::Degrade) setting, not the start fail.
    ///
    /// # Errors
    ///
    /// When `url` is not a Redis URL, or when called outside a Tokio
    /// runtime (the connection runs on it).
    pub fn new(url: &str) -> Result<Self, StoreError> {
        let client = Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(200));
        Self::with_client(client, config)
    }

    /// A store on `client`'s Redis with a connection configured by `config`.
    ///
    /// # Errors
    ///
    /// When called outside a Tokio runtime, or when the configuration is
    /// refused by redis.
    pub fn with_client(
        client: Client,
        config: ConnectionManagerConfig,
    ) -> Result<Self, StoreError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(unavailable("a Redis store is made inside a Tokio runtime"));
        }
        let connection =
            ConnectionManager::new_lazy_with_config(client, config).map_err(unavailable)?;
        Ok(Self {
            connection,
            prefix: Arc::from(Self::DEFAULT_PREFIX),
            scripts: Arc::new(Scripts {
                complete: Script::new(COMPLETE),
                release: Script::new(RELEASE),
            }),
        })
    }

    /// Every key starts with `prefix` (default `tfd:idem:`): a namespace per
    /// service sharing one Redis.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Arc::from(prefix.into());
        self
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn unavailable(error: impl Into<crate::BoxError>) -> StoreError {
    StoreError::Unavailable(error.into())
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// `R <token> `: the start of a running claim's value, before its
/// fingerprint (35 bytes, which the scripts compare).
fn running_head(token: &Token) -> String {
    format!("R {token} ")
}

/// `C <fingerprint>` is written by the script; this is the rest:
/// `\n<status>\n<1 if the body is kept>\n<name>:<value>\n...\n\n<body>`.
/// Header values cannot hold a line break, so lines separate them.
fn encode_answer(answer: &StoredAnswer) -> Vec<u8> {
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
fn decode(value: &[u8]) -> Option<Slot> {
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

impl Store for RedisStore {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        fingerprint: &'a Fingerprint,
        lease: Duration,
    ) -> StoreFuture<'a, Claim> {
        Box::pin(async move {
            let key = self.key(key);
            let mut connection = self.connection.clone();
            // A key that expires between the SET and the GET is free again:
            // try once more, then give up rather than loop.
            for _ in 0..3 {
                let token = Token::new();
                let value = format!("R {token} {fingerprint}");
                let set: Option<String> = redis::cmd("SET")
                    .arg(&key)
                    .arg(&value)
                    .arg("NX")
                    .arg("PX")
                    .arg(millis(lease))
                    .query_async(&mut connection)
                    .await
                    .map_err(unavailable)?;
                if set.is_some() {
                    return Ok(Claim::Claimed(token));
                }
                let held: Option<Vec<u8>> = redis::cmd("GET")
                    .arg(&key)
                    .query_async(&mut connection)
                    .await
                    .map_err(unavailable)?;
                if let Some(held) = held {
                    return decode(&held).map(Claim::Taken).ok_or(StoreError::Corrupt);
                }
            }
            Err(unavailable("the key kept expiring between SET NX and GET"))
        })
    }

    fn complete<'a>(
        &'a self,
        key: &'a str,
        token: &'a Token,
        answer: &'a StoredAnswer,
        expiry: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let written: i64 = self
                .scripts
                .complete
                .key(self.key(key))
                .arg(running_head(token))
                .arg(encode_answer(answer))
                .arg(millis(expiry))
                .invoke_async(&mut connection)
                .await
                .map_err(unavailable)?;
            Ok(written == 1)
        })
    }

    fn release<'a>(&'a self, key: &'a str, token: &'a Token) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let _: i64 = self
                .scripts
                .release
                .key(self.key(key))
                .arg(running_head(token))
                .invoke_async(&mut connection)
                .await
                .map_err(unavailable)?;
            Ok(())
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Slot>> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let held: Option<Vec<u8>> = redis::cmd("GET")
                .arg(self.key(key))
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
            match held {
                None => Ok(None),
                Some(held) => decode(&held).map(Some).ok_or(StoreError::Corrupt),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back() {
        let fingerprint = Fingerprint::from_bytes([0x5a; 32]);
        let token = Token::new();
        let running = format!("R {token} {fingerprint}");
        assert_eq!(running_head(&token).len(), 35);
        assert!(matches!(
            decode(running.as_bytes()),
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
