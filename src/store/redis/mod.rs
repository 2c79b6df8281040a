//! [`RedisStore`]: answers shared by every process that uses one Redis, or
//! one Redis Cluster.

mod connection;
mod value;

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};

use self::connection::Connection;
use self::value::{decode, encode_answer, running, running_head};
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
/// Keys are `{prefix}{{scope}:{key}}` (prefix `tfd:idem:` by default): the
/// braces are a hash tag, so that in a Redis Cluster everything one claim
/// touches lives in one slot, on one primary, and the scripts run there
/// whole. A value holds the request's fingerprint and, once answered, the
/// status, the headers kept for a replay and the body.
///
/// One Redis ([`new`](Self::new)), or a Redis Cluster
/// ([`cluster`](Self::cluster), feature `redis-cluster`). By default a
/// write counts once the primary holds it; [`wait_replicas`](Self::wait_replicas)
/// makes it count only once replicas hold it too, so that a failover loses
/// no claim. What each choice guarantees, and what it loses: SECURITY.md.
///
/// The connection is made on first use and made again after it breaks
/// (redis's `ConnectionManager`, or its cluster client, which also follows
/// `MOVED` and `ASK` and reads the cluster's slots again after a failover);
/// each command gives up after the store's response timeout (1 s by
/// default), and the layer bounds every operation by its own store timeout
/// too.
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
    connection: Connection,
    /// Opens another connection like `connection`, not yet connected.
    open: Arc<Open>,
    /// The connections of writes that wait for replicas, opened on first
    /// use: `WAIT` holds the connection it is sent on until it returns, so
    /// waiting writes take these in turn, rather than queue behind one
    /// another and everything else on `connection`.
    waiting: Arc<Waiting>,
    prefix: Arc<str>,
    scripts: Arc<Scripts>,
    durability: Durability,
}

type Open = dyn Fn() -> Option<Connection> + Send + Sync;

/// How many connections writes that wait for replicas take in turn.
const WAITING_CONNECTIONS: usize = 8;

#[derive(Default)]
struct Waiting {
    connections: [OnceLock<Option<Connection>>; WAITING_CONNECTIONS],
    next: AtomicUsize,
}

struct Scripts {
    complete: Lua,
    release: Lua,
}

/// A script's source and its SHA-1.
struct Lua {
    source: String,
    hash: String,
}

impl Lua {
    fn new(source: String) -> Self {
        let hash = Script::new(&source).get_hash().to_owned();
        Self { source, hash }
    }

    /// `EVAL` of the script on `key`, with `args`.
    fn eval(&self, key: &str, args: &[&[u8]]) -> redis::Cmd {
        let mut eval = redis::cmd("EVAL");
        eval.arg(&self.source).arg(1).arg(key).arg(args);
        eval
    }

    /// `EVALSHA` of the script on `key`, with `args`.
    fn evalsha(&self, key: &str, args: &[&[u8]]) -> redis::Cmd {
        let mut evalsha = redis::cmd("EVALSHA");
        evalsha.arg(&self.hash).arg(1).arg(key).arg(args);
        evalsha
    }
}

impl Scripts {
    /// The scripts, declared as writes (`#!lua`, Redis 7) for a cluster:
    /// redis-rs's cluster client sends `READONLY` on every connection, so a
    /// replica that a stale slot map still takes for the primary (a former
    /// primary, back as a replica) runs a script without flags as a read,
    /// and fails it as a write on a replica (`READONLY`, which the client
    /// does not retry); a script declared as a write is redirected to the
    /// primary (`MOVED`), as `SET` is.
    fn new(declared: bool) -> Self {
        let shebang = if declared { "#!lua\n" } else { "" };
        Self {
            complete: Lua::new(format!("{shebang}{COMPLETE}")),
            release: Lua::new(format!("{shebang}{RELEASE}")),
        }
    }
}

/// How many replicas must acknowledge a claim or an answer, and for how
/// long the store waits for them (`WAIT replicas timeout`).
#[derive(Debug, Clone, Copy)]
struct Durability {
    replicas: usize,
    timeout: Duration,
}

impl Durability {
    /// The `WAIT` that follows a write, when replicas are waited for.
    fn wait(&self) -> Option<redis::Cmd> {
        (self.replicas > 0).then(|| {
            let mut wait = redis::cmd("WAIT");
            wait.arg(self.replicas).arg(millis(self.timeout));
            wait
        })
    }

    /// `Ok` when `acknowledged` replicas are enough.
    fn check(&self, acknowledged: i64, what: &'static str) -> Result<(), StoreError> {
        if usize::try_from(acknowledged).is_ok_and(|acknowledged| acknowledged >= self.replicas) {
            return Ok(());
        }
        Err(unavailable(NotReplicated {
            what,
            acknowledged,
            wanted: self.replicas,
            timeout: self.timeout,
        }))
    }
}

/// A write that fewer replicas acknowledged than the store waits for.
#[derive(Debug, thiserror::Error)]
#[error("{acknowledged} of {wanted} replicas acknowledged the {what} within {timeout:?}")]
struct NotReplicated {
    what: &'static str,
    acknowledged: i64,
    wanted: usize,
    timeout: Duration,
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

/// The store's defaults: a connection within 1 s, each answer within 1 s.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(1);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);

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
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
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
        in_runtime()?;
        let connection = ConnectionManager::new_lazy_with_config(client.clone(), config.clone())
            .map_err(unavailable)?;
        let open = move || {
            ConnectionManager::new_lazy_with_config(client.clone(), config.clone())
                .ok()
                .map(Connection::Single)
        };
        Ok(Self::on(Connection::Single(connection), Arc::new(open)))
    }

    /// A store on the Redis Cluster that `nodes` belong to (`redis://host:port`
    /// URLs; any of its nodes will do, the client learns the others and
    /// which primary serves which slot from the first that answers).
    ///
    /// Each key lives on the primary of its slot; the client follows
    /// `MOVED` and `ASK` redirections, and reads the slots again when a node
    /// fails or a replica is promoted, within the store's timeouts: a
    /// connection within 1 s, each command within 1 s including its retries
    /// (at most 6, 10 to 200 ms apart). Nothing is sent until the first
    /// request, as with [`new`](Self::new).
    ///
    /// Redis 7 or later (Valkey too): the store's scripts declare
    /// themselves writes (`#!lua`), so that a replica taken for a primary
    /// by a stale slot map redirects them to the primary.
    ///
    /// A cluster spreads the keys, not the risk: a primary that fails a
    /// moment after it acknowledged a claim can take the claim with it, as
    /// one Redis can. [`wait_replicas`](Self::wait_replicas) closes that
    /// window.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use tower_failed_dependency::idempotency::IdempotencyLayer;
    /// use tower_failed_dependency::store::RedisStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tower_failed_dependency::store::StoreError> {
    /// let store = RedisStore::cluster([
    ///     "redis://10.0.0.1:6379",
    ///     "redis://10.0.0.2:6379",
    ///     "redis://10.0.0.3:6379",
    /// ])?
    /// // A claim counts once the key's primary and one replica hold it.
    /// .wait_replicas(1, Duration::from_millis(250));
    /// let layer = IdempotencyLayer::new().store(store);
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// When a node is not a Redis URL (or the URLs disagree on credentials,
    /// TLS or protocol), or when called outside a Tokio runtime.
    #[cfg(feature = "redis-cluster")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis-cluster")))]
    pub fn cluster<I>(nodes: I) -> Result<Self, StoreError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let nodes: Vec<String> = nodes
            .into_iter()
            .map(|node| node.as_ref().to_owned())
            .collect();
        let client = redis::cluster::ClusterClientBuilder::new(nodes)
            .connection_timeout(CONNECTION_TIMEOUT)
            .response_timeout(RESPONSE_TIMEOUT)
            .retries(6)
            .min_retry_wait(10)
            .max_retry_wait(200)
            .build()
            .map_err(unavailable)?;
        let config = redis::cluster::ClusterConfig::new()
            .set_connection_timeout(CONNECTION_TIMEOUT)
            .set_response_timeout(RESPONSE_TIMEOUT);
        Self::with_cluster_client(&client, config)
    }

    /// A store on `client`'s Redis Cluster, with connections configured by
    /// `config`. Its timeouts are the ones that count: a `config` without a
    /// response timeout leaves each node's answers unbounded (the client's
    /// overall response timeout, and the layer's store timeout, still bound
    /// each operation).
    ///
    /// # Errors
    ///
    /// When called outside a Tokio runtime.
    #[cfg(feature = "redis-cluster")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis-cluster")))]
    pub fn with_cluster_client(
        client: &redis::cluster::ClusterClient,
        config: redis::cluster::ClusterConfig,
    ) -> Result<Self, StoreError> {
        in_runtime()?;
        let connection = client.get_pending_async_connection_with_config(config.clone());
        let client = client.clone();
        let open = move || {
            Some(Connection::Cluster(
                client.get_pending_async_connection_with_config(config.clone()),
            ))
        };
        Ok(Self::on(Connection::Cluster(connection), Arc::new(open)))
    }

    fn on(connection: Connection, open: Arc<Open>) -> Self {
        Self {
            scripts: Arc::new(Scripts::new(connection.is_cluster())),
            connection,
            open,
            waiting: Arc::default(),
            prefix: Arc::from(Self::DEFAULT_PREFIX),
            durability: Durability {
                replicas: 0,
                timeout: Duration::ZERO,
            },
        }
    }

    /// Every key starts with `prefix` (default `tfd:idem:`): a namespace per
    /// service sharing one Redis. In a cluster, leave `{` out of it: the
    /// first braces of a key choose its slot, and a prefix with braces
    /// would put every key on one primary.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Arc::from(prefix.into());
        self
    }

    /// A claim, and an answer, count as written only once `replicas`
    /// replicas of the key's primary hold them: each write is followed, in
    /// the same pipeline on the same connection, by `WAIT replicas
    /// timeout`. For one Redis with replicas (`--replicaof`) and for a
    /// cluster alike. Default `0`: nothing is waited for.
    ///
    /// - `0`: a write counts once the primary holds it. Replication is
    ///   asynchronous, so a primary that fails a moment after a claim may
    ///   not have passed it on: the promoted replica does not hold it, and
    ///   a retry (on any instance) runs the request a second time. Replicas
    ///   that are slow or down cost nothing.
    /// - `1` or more: a new key's request runs only once the claim is on
    ///   the primary and on `replicas` replicas, so a failover to one of
    ///   them keeps it: a retry is told the request is running (409) or
    ///   gets its answer, and is not run again. The cost: a round trip from
    ///   the primary to its replicas on every keyed request. When fewer
    ///   acknowledge within `timeout` (a replica down, stopped, or cut off
    ///   from its primary), the claim is released (checked against its
    ///   fencing token), the handler does not run, and the store reports
    ///   itself unavailable: the layer answers 503 with `Retry-After`
    ///   (under [`Degrade::FailClosed`](crate::idempotency::Degrade)). So
    ///   a primary with fewer replicas than `replicas` refuses every new
    ///   key, and while a replica does not answer, each keyed request waits
    ///   up to `timeout`. An answer whose replicas do not acknowledge in
    ///   time is still sent, and stays on the primary; the layer logs that
    ///   it was not kept, since a failover before the replicas catch up
    ///   would lose it (its claim survives: a retry answers 409 until the
    ///   lease lapses, then runs again).
    ///
    /// `WAIT` holds the connection it is sent on until it returns, so the
    /// writes that wait take 8 connections of their own in turn (for a
    /// cluster, 8 more cluster connections, opened here): a replica
    /// that is slow holds up the waiting writes that share a connection,
    /// not the store's other commands (`Depends-On` lookups, releases).
    /// A retry's claim waits too (its `WAIT` is sent before the store
    /// knows the key is taken), then gets its answer replayed.
    ///
    /// Keep `timeout` below the store's response timeout (1 s with
    /// [`new`](Self::new) and [`cluster`](Self::cluster)) and the layer's
    /// [`store_timeout`](crate::idempotency::IdempotencyLayer::store_timeout):
    /// past either, the wait is cut short, and the request answers 503 all
    /// the same. Releasing a claim is not waited for.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use tower_failed_dependency::idempotency::IdempotencyLayer;
    /// use tower_failed_dependency::store::RedisStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tower_failed_dependency::store::StoreError> {
    /// // A primary started with one replica (`redis-server --replicaof ...`).
    /// let store = RedisStore::new("redis://10.0.0.1:6379/")?
    ///     .wait_replicas(1, Duration::from_millis(250));
    /// let layer = IdempotencyLayer::new().store(store);
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait_replicas(mut self, replicas: usize, timeout: Duration) -> Self {
        self.durability = Durability { replicas, timeout };
        // Opened now, inside a runtime: a cluster connection opened later,
        // while a node does not answer, would wait for it.
        if replicas > 0 && in_runtime().is_ok() {
            for connection in &self.waiting.connections {
                connection.get_or_init(|| (self.open)());
            }
        }
        self
    }

    fn key(&self, key: &str) -> String {
        format!("{}{{{key}}}", self.prefix)
    }

    /// The connection of the next write that waits for replicas.
    fn waiting_connection(&self) -> Connection {
        let next = self.waiting.next.fetch_add(1, Ordering::Relaxed) % WAITING_CONNECTIONS;
        self.waiting.connections[next]
            .get_or_init(|| (self.open)())
            .clone()
            // A connection that cannot be opened (never, once the first
            // was): the shared one.
            .unwrap_or_else(|| self.connection.clone())
    }

    /// Runs `script` on `key`'s node: `EVALSHA`, or, when the node does not
    /// know the script (it just started, or was just promoted), `EVAL`,
    /// which teaches it. Never `SCRIPT LOAD`: a cluster client sends that
    /// to every node, and waits for any that does not answer.
    async fn run(&self, script: &Lua, key: &str, args: &[&[u8]]) -> Result<i64, StoreError> {
        let mut connection = self.connection.clone();
        match script.evalsha(key, args).query_async(&mut connection).await {
            Err(error) if error.kind() == redis::ServerErrorKind::NoScript.into() => script
                .eval(key, args)
                .query_async(&mut connection)
                .await
                .map_err(unavailable),
            done => done.map_err(unavailable),
        }
    }

    /// Deletes the claim `token` names under the stored key `key`.
    async fn release_stored(&self, key: &str, token: &Token) -> Result<(), StoreError> {
        let head = running_head(token);
        self.run(&self.scripts.release, key, &[head.as_bytes()])
            .await
            .map(drop)
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("on", &self.connection.kind())
            .field("prefix", &self.prefix)
            .field("wait_replicas", &self.durability.replicas)
            .field("wait_timeout", &self.durability.timeout)
            .finish_non_exhaustive()
    }
}

fn in_runtime() -> Result<(), StoreError> {
    match tokio::runtime::Handle::try_current() {
        Ok(_) => Ok(()),
        Err(_) => Err(unavailable("a Redis store is made inside a Tokio runtime")),
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

/// A claim that may have been written and is not (yet) the caller's: when
/// it is dropped still armed (the layer's store timeout cut the claim
/// short, or a command failed after the `SET` may have been applied), the
/// claim is released in the background, so that the key is free for the
/// retry rather than held until its lease lapses. The release is fenced by
/// the token: when the `SET` never happened, it removes nothing.
struct Unclaimed<'a> {
    store: &'a RedisStore,
    key: &'a str,
    token: Option<Token>,
}

impl Unclaimed<'_> {
    /// The claim is the caller's, or was never written.
    fn disarm(&mut self) {
        self.token = None;
    }

    /// Releases the claim now.
    async fn release(mut self) {
        if let Some(token) = self.token.take() {
            // Best effort: a claim not released lapses after its lease.
            let _ = self.store.release_stored(self.key, &token).await;
        }
    }
}

impl Drop for Unclaimed<'_> {
    fn drop(&mut self) {
        let Some(token) = self.token.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let store = self.store.clone();
            let key = self.key.to_owned();
            runtime.spawn(async move {
                let _ = store.release_stored(&key, &token).await;
            });
        }
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
            let wait = self.durability.wait();
            // A key that expires between the SET and the GET is free again:
            // try once more, then give up rather than loop.
            for _ in 0..3 {
                let token = Token::new();
                let mut unclaimed = Unclaimed {
                    store: self,
                    key: &key,
                    token: Some(token),
                };
                let mut set = redis::cmd("SET");
                set.arg(&key)
                    .arg(running(&token, fingerprint))
                    .arg("NX")
                    .arg("PX")
                    .arg(millis(lease));
                // With replicas to wait for, the WAIT goes in one pipeline
                // with the SET: on the same connection (WAIT counts the
                // replicas that hold this connection's writes) and to the
                // same node (a cluster routes the pipeline by its key).
                let (written, acknowledged): (Option<String>, Option<i64>) = match &wait {
                    None => (
                        set.query_async(&mut connection)
                            .await
                            .map_err(unavailable)?,
                        None,
                    ),
                    Some(wait) => {
                        let (written, acknowledged): (Option<String>, i64) = redis::pipe()
                            .add_command(set)
                            .add_command(wait.clone())
                            .query_async(&mut self.waiting_connection())
                            .await
                            .map_err(unavailable)?;
                        (written, Some(acknowledged))
                    }
                };
                if written.is_some() {
                    if let Some(acknowledged) = acknowledged {
                        if let Err(error) = self.durability.check(acknowledged, "claim") {
                            unclaimed.release().await;
                            return Err(error);
                        }
                    }
                    unclaimed.disarm();
                    return Ok(Claim::Claimed(token));
                }
                let held: Option<Vec<u8>> = redis::cmd("GET")
                    .arg(&key)
                    .query_async(&mut connection)
                    .await
                    .map_err(unavailable)?;
                let Some(held) = held else {
                    unclaimed.disarm();
                    continue;
                };
                let slot = decode(&held).ok_or(StoreError::Corrupt);
                match slot {
                    // This very SET, applied before a connection broke and
                    // sent again by the cluster client: the claim is ours.
                    Ok(Slot::Running { token: held, .. }) if held == token => {
                        if wait.is_none() {
                            unclaimed.disarm();
                            return Ok(Claim::Claimed(token));
                        }
                        // Its WAIT followed a SET that wrote nothing, on
                        // another connection: no proof that a replica holds
                        // the claim.
                        unclaimed.release().await;
                        return Err(unavailable(
                            "a claim was written on a connection that broke before its replicas \
                             acknowledged it",
                        ));
                    }
                    slot => {
                        unclaimed.disarm();
                        return slot.map(Claim::Taken);
                    }
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
            let key = self.key(key);
            let head = running_head(token);
            let encoded = encode_answer(answer);
            let expiry = millis(expiry).to_string();
            let args: [&[u8]; 3] = [head.as_bytes(), &encoded, expiry.as_bytes()];
            let Some(wait) = self.durability.wait() else {
                let written = self.run(&self.scripts.complete, &key, &args).await?;
                return Ok(written == 1);
            };
            // EVAL, not EVALSHA: in a pipeline, a script the node does not
            // know (a replica just promoted) would fail the pipeline.
            let (written, acknowledged): (i64, i64) = redis::pipe()
                .add_command(self.scripts.complete.eval(&key, &args))
                .add_command(wait)
                .query_async(&mut self.waiting_connection())
                .await
                .map_err(unavailable)?;
            if written == 1 {
                self.durability.check(acknowledged, "answer")?;
            }
            Ok(written == 1)
        })
    }

    fn release<'a>(&'a self, key: &'a str, token: &'a Token) -> StoreFuture<'a, ()> {
        Box::pin(async move { self.release_stored(&self.key(key), token).await })
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
    fn every_key_of_a_claim_is_in_one_slot() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let _entered = runtime.enter();
        let store = RedisStore::new("redis://127.0.0.1:1/").unwrap();
        let key = store.key("0123456789abcdef0123456789abcdef:k1");
        assert_eq!(key, "tfd:idem:{0123456789abcdef0123456789abcdef:k1}");
        // A key with braces of its own keeps the first pair: still one key,
        // one slot.
        assert_eq!(store.key("s:a{b}"), "tfd:idem:{s:a{b}}");
    }

    #[test]
    fn enough_replicas_or_unavailable() {
        let durability = Durability {
            replicas: 2,
            timeout: Duration::from_millis(50),
        };
        assert!(durability.check(2, "claim").is_ok());
        assert!(durability.check(3, "claim").is_ok());
        let error = durability.check(1, "claim").unwrap_err();
        assert!(matches!(error, StoreError::Unavailable(_)));
        let source = std::error::Error::source(&error).unwrap().to_string();
        assert_eq!(source, "1 of 2 replicas acknowledged the claim within 50ms");
        assert!(durability.check(-1, "answer").is_err());
        let none = Durability {
            replicas: 0,
            timeout: Duration::ZERO,
        };
        assert!(none.wait().is_none());
        assert!(durability.wait().is_some());
    }
}
