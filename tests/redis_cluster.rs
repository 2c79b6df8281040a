//! `RedisStore` on real Redis servers that the tests start on 127.0.0.1
//! and stop: a Redis Cluster (3 primaries, 3 replicas) through the failover
//! of a primary killed mid-run, a replica that stops acknowledging
//! (`SIGSTOP`), and one primary with one replica without cluster mode.
//!
//! Every rule of the store tests runs on the cluster too, in
//! `tests/idempotency.rs` (`redis_cluster::*`).
//!
//! The failover tests print their counts on stderr, past the test harness's
//! capture, so that `scripts/test.sh` shows them.

#![cfg(feature = "redis-cluster")]

mod support;

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sha2::{Digest, Sha256};
use support::redis::RedisServer;
use support::redis_cluster::RedisCluster;
use tower::{service_fn, Layer};
use tower_failed_dependency::idempotency::IdempotencyLayer;
use tower_failed_dependency::store::RedisStore;
use tower_failed_dependency::RequestBody;

/// The scope of every key: the layers' own, not the credentials'.
const SCOPE: &[u8] = b"failover";

/// One test at a time: each starts six or more `redis-server`s, and a
/// failover measured on a machine busy with another cluster's would
/// measure the machine.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A line for `scripts/test.sh`'s output: written to stderr itself, which
/// the test harness does not capture (only `print!` and `eprint!` are).
fn report(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Where the store keeps `key`: the layer's scoped key (the first 128 bits
/// of [`SCOPE`]'s SHA-256, then the key) after the default prefix, in its
/// hash tag.
fn stored_key(key: &str) -> String {
    let digest = Sha256::digest(SCOPE);
    let scope: String = digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("{}{{{scope}:{key}}}", RedisStore::DEFAULT_PREFIX)
}

/// How many times the handler ran for each key.
#[derive(Default)]
struct Runs {
    per_key: HashMap<String, AtomicU64>,
    all: AtomicU64,
}

impl Runs {
    fn new<'a>(keys: impl IntoIterator<Item = &'a String>) -> Arc<Self> {
        Arc::new(Self {
            per_key: keys
                .into_iter()
                .map(|key| (key.clone(), AtomicU64::new(0)))
                .collect(),
            all: AtomicU64::new(0),
        })
    }

    fn of(&self, key: &str) -> u64 {
        self.per_key[key].load(Ordering::SeqCst)
    }
}

/// One instance of the service: `POST /orders` behind `layer`, whose
/// handler counts its runs per key and answers 201 with the run's number
/// (unique across instances), after `work` (a request's own time, during
/// which a primary can die).
async fn instance(layer: IdempotencyLayer, runs: Arc<Runs>, work: Duration) -> SocketAddr {
    let handler = service_fn(
        move |request: Request<RequestBody<hyper::body::Incoming>>| {
            let runs = Arc::clone(&runs);
            async move {
                let key = request.headers()["idempotency-key"]
                    .to_str()
                    .expect("an ASCII key")
                    .to_owned();
                runs.per_key[&key].fetch_add(1, Ordering::SeqCst);
                let run = runs.all.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(work).await;
                let mut response =
                    Response::new(Full::from(format!("{{\"key\":\"{key}\",\"run\":{run}}}")));
                *response.status_mut() = StatusCode::CREATED;
                Ok::<_, Infallible>(response)
            }
        },
    );
    let layer = layer.scope(|_: &http::request::Parts| SCOPE.to_vec());
    support::serve(layer.layer(handler)).await
}

/// An HTTP client of the instances, its connections kept open.
#[derive(Clone)]
struct Caller(Client<HttpConnector, Full<Bytes>>);

/// What one keyed request was answered.
#[derive(Debug, Clone)]
struct Answered {
    status: StatusCode,
    replayed: bool,
    retry_after: bool,
    body: Bytes,
}

impl Caller {
    fn new() -> Self {
        Self(Client::builder(TokioExecutor::new()).build_http())
    }

    async fn create(&self, addr: SocketAddr, key: &str) -> Answered {
        let request = Request::post(format!("http://{addr}/orders"))
            .header("idempotency-key", key)
            .header("content-type", "application/json")
            .body(Full::from("{\"sku\":\"book\",\"quantity\":1}"))
            .unwrap();
        let response = self.0.request(request).await.expect("the instance answers");
        let status = response.status();
        let replayed = response.headers().contains_key("idempotent-replayed");
        let retry_after = response.headers().contains_key("retry-after");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Answered {
            status,
            replayed,
            retry_after,
            body,
        }
    }
}

/// A store on `cluster` with a client of its own, which waits for
/// `replicas`, and whose client rides out a failover: each attempt within
/// 1 s, a command with its retries within 5 s.
fn cluster_store(cluster: &RedisCluster, replicas: usize) -> RedisStore {
    let client = redis::cluster::ClusterClientBuilder::new(cluster.urls())
        .connection_timeout(Duration::from_secs(1))
        .response_timeout(Duration::from_secs(1))
        .overall_response_timeout(Some(Duration::from_secs(5)))
        .retries(30)
        .min_retry_wait(10)
        .max_retry_wait(200)
        .build()
        .expect("cluster URLs");
    let config = redis::cluster::ClusterConfig::new()
        .set_connection_timeout(Duration::from_secs(1))
        .set_response_timeout(Duration::from_secs(1));
    RedisStore::with_cluster_client(&client, config)
        .expect("in a runtime")
        .wait_replicas(replicas, Duration::from_millis(500))
}

/// What the failover run counted.
#[derive(Debug, Default)]
struct Counts {
    keys: usize,
    requests: usize,
    answered: usize,
    ran_twice: usize,
    /// Answered keys for which an instance answered something else than
    /// the first answer (another run's).
    other_answer: usize,
    /// Answered keys that an instance now says are still running (409):
    /// their answer was lost, their claim was not.
    answer_lost: usize,
    refused_503: usize,
    in_use_409: usize,
    unanswered: usize,
}

/// How the primary dies.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Failure {
    /// Killed (`SIGKILL`), its replica up to date.
    Killed,
    /// Cut off from its replica, then killed: the replica is stopped
    /// (`SIGSTOP`, so that it cannot connect again), the primary drops its
    /// link (`CLIENT KILL TYPE replica`) and goes on serving for 300 ms,
    /// then is killed, and the replica let go (`SIGCONT`). What the
    /// primary took in those 300 ms is not on the replica that is promoted.
    KilledCutOffFromItsReplica,
}

/// Keyed creates and retries from two instances, each key sent to both at
/// once and then retried until it is answered (bounded); the primary with
/// the most keys dies once a third of the keys are done, its replica is
/// promoted at once (`CLUSTER FAILOVER TAKEOVER`), and 1.5 s later a new,
/// empty node takes the killed one's place as the replica. Then every
/// answered key is sent again to both instances.
async fn failover_under_load(replicas: usize, failure: Failure) -> Counts {
    const KEYS: usize = 1200;
    const WORKERS: usize = 32;
    let started = Instant::now();
    let mut cluster = RedisCluster::start();
    let keys: Vec<String> = (0..KEYS).map(|key| format!("order-{key}")).collect();
    let runs = Runs::new(&keys);
    let work = Duration::from_millis(3);
    let layer = |store| {
        IdempotencyLayer::new()
            .store(store)
            // A store operation may span the failover.
            .store_timeout(Duration::from_secs(6))
    };
    let instances = [
        instance(
            layer(cluster_store(&cluster, replicas)),
            Arc::clone(&runs),
            work,
        )
        .await,
        instance(
            layer(cluster_store(&cluster, replicas)),
            Arc::clone(&runs),
            work,
        )
        .await,
    ];
    let caller = Caller::new();
    let requests = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    let keys = Arc::new(keys);

    let load: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (caller, requests, done, next, keys) = (
                caller.clone(),
                Arc::clone(&requests),
                Arc::clone(&done),
                Arc::clone(&next),
                Arc::clone(&keys),
            );
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(key) = keys.get(index) else {
                        return outcomes;
                    };
                    let (here, there) = (instances[index % 2], instances[1 - index % 2]);
                    let (first, second) =
                        tokio::join!(caller.create(here, key), caller.create(there, key));
                    let mut answers = vec![first, second];
                    let deadline = Instant::now() + Duration::from_secs(20);
                    let mut attempt = 0;
                    while !answers.iter().any(|a| a.status == StatusCode::CREATED)
                        && Instant::now() < deadline
                    {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        attempt += 1;
                        answers.push(caller.create(instances[attempt % 2], key).await);
                    }
                    requests.fetch_add(answers.len(), Ordering::SeqCst);
                    done.fetch_add(1, Ordering::SeqCst);
                    outcomes.push((key.clone(), answers));
                }
            })
        })
        .collect();

    // A third of the way in: the busiest primary dies.
    while done.load(Ordering::SeqCst) < KEYS / 3 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let primaries = cluster.primaries();
    assert_eq!(primaries.len(), 3);
    for &primary in &primaries {
        assert!(
            cluster.keys_on(primary) > 0,
            "the keys are spread over every primary"
        );
    }
    let busiest = *primaries
        .iter()
        .max_by_key(|&&primary| cluster.keys_on(primary))
        .unwrap();
    let replica = cluster
        .replica_of(busiest)
        .expect("every primary has a replica");
    let keys_held = cluster.keys_on(busiest);
    let busiest_id = cluster.id(busiest);
    let killed_at = done.load(Ordering::SeqCst);
    if failure == Failure::KilledCutOffFromItsReplica {
        cluster.node(replica).pause();
        let dropped = cluster
            .node(busiest)
            .query(&["CLIENT", "KILL", "TYPE", "replica"]);
        assert_eq!(dropped.as_deref(), Some("1"), "the replica's link dropped");
        std::thread::sleep(Duration::from_millis(300));
    }
    cluster.node_mut(busiest).kill();
    if failure == Failure::KilledCutOffFromItsReplica {
        cluster.node(replica).resume();
    }
    cluster.take_over(replica);
    let promoted = started.elapsed();
    // Longer than a claim waits for replicas: for a while, the promoted
    // primary has none.
    std::thread::sleep(Duration::from_millis(1500));
    cluster.replace(busiest, &busiest_id, replica);
    let replaced = started.elapsed();

    let mut outcomes = Vec::new();
    for worker in load {
        outcomes.extend(worker.await.unwrap());
    }
    let load_done = started.elapsed();

    let mut counts = Counts {
        keys: KEYS,
        ..Counts::default()
    };
    for (key, answers) in &outcomes {
        counts.refused_503 += answers
            .iter()
            .filter(|a| a.status == StatusCode::SERVICE_UNAVAILABLE)
            .inspect(|a| assert!(a.retry_after, "a 503 says when to retry"))
            .count();
        counts.in_use_409 += answers
            .iter()
            .filter(|a| a.status == StatusCode::CONFLICT)
            .count();
        let ran = runs.of(key);
        let Some(first) = answers.iter().find(|a| a.status == StatusCode::CREATED) else {
            counts.unanswered += 1;
            assert_eq!(ran, 0, "{key}: no request answered, so none ran");
            continue;
        };
        counts.answered += 1;
        // Every answer given for the key is its first one, and so is what
        // both instances answer now.
        let mut other_answer = answers
            .iter()
            .any(|a| a.status == StatusCode::CREATED && a.body != first.body);
        let mut lost = false;
        for addr in instances {
            let mut again = caller.create(addr, key).await;
            counts.requests += 1;
            for _ in 0..20 {
                if again.status != StatusCode::SERVICE_UNAVAILABLE {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                again = caller.create(addr, key).await;
                counts.requests += 1;
            }
            match again.status {
                StatusCode::CREATED => {
                    other_answer |= !again.replayed || again.body != first.body;
                }
                StatusCode::CONFLICT => lost = true,
                status => panic!("{key}: {status} {:?}", again.body),
            }
        }
        counts.other_answer += usize::from(other_answer);
        counts.answer_lost += usize::from(lost);
    }
    counts.requests += requests.load(Ordering::SeqCst);
    counts.ran_twice = outcomes.iter().filter(|(key, _)| runs.of(key) > 1).count();
    report(&format!(
        "failover ({failure:?}), wait_replicas({replicas}): {} keys, {} keyed requests from 2 instances; \
         primary {busiest} (holding {keys_held} keys) killed after {killed_at} keys were done, \
         its replica promoted at {promoted:.1?}, a new replica of it at \
         {replaced:.1?}, load done at {load_done:.1?}, all done at {:.1?}",
        counts.keys,
        counts.requests,
        started.elapsed(),
    ));
    report(&format!(
        "failover ({failure:?}), wait_replicas({replicas}): answered {}, ran twice {}, \
         answered keys then answered otherwise {}, answered keys whose answer was lost (409 \
         until the lease lapses) {}, never answered {}; 503 answers {}, 409 answers {}",
        counts.answered,
        counts.ran_twice,
        counts.other_answer,
        counts.answer_lost,
        counts.unanswered,
        counts.refused_503,
        counts.in_use_409,
    ));
    assert!(
        started.elapsed() < Duration::from_secs(110),
        "bounded: {:?}",
        started.elapsed()
    );
    assert!(counts.requests >= 2000, "{counts:?}");
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[allow(clippy::await_holding_lock)] // The lock only keeps other tests out.
async fn a_killed_primary_runs_no_key_twice_when_claims_wait_for_a_replica() {
    let _serial = one_at_a_time();
    let counts = failover_under_load(1, Failure::Killed).await;
    assert_eq!(counts.ran_twice, 0, "{counts:?}");
    assert_eq!(counts.other_answer, 0, "{counts:?}");
    assert_eq!(counts.answer_lost, 0, "{counts:?}");
    assert_eq!(counts.unanswered, 0, "{counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[allow(clippy::await_holding_lock)]
async fn a_killed_primary_without_waiting_for_replicas_is_counted() {
    let _serial = one_at_a_time();
    let counts = failover_under_load(0, Failure::Killed).await;
    // What a failover costs without `wait_replicas`: counted and printed,
    // not asserted (its window is a replication lag, often nothing on
    // loopback).
    assert_eq!(counts.unanswered, 0, "{counts:?}");
}

/// A double fault: the primary is cut off from its replica, then dies.
/// Claims that waited for the replica were refused meanwhile, so none is
/// lost and no key runs twice; an answer written meanwhile is lost with the
/// primary (counted), and its key says it is running until its lease lapses.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[allow(clippy::await_holding_lock)]
async fn a_primary_killed_cut_off_from_its_replica_runs_no_key_twice_when_claims_wait() {
    let _serial = one_at_a_time();
    let counts = failover_under_load(1, Failure::KilledCutOffFromItsReplica).await;
    assert_eq!(counts.ran_twice, 0, "{counts:?}");
    assert_eq!(counts.other_answer, 0, "{counts:?}");
    assert!(counts.refused_503 > 0, "refused while cut off: {counts:?}");
}

/// The same without waiting: what the primary took while it was cut off
/// is gone, and those keys run again when they are retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[allow(clippy::await_holding_lock)]
async fn a_primary_killed_cut_off_from_its_replica_runs_keys_twice_without_waiting() {
    let _serial = one_at_a_time();
    let counts = failover_under_load(0, Failure::KilledCutOffFromItsReplica).await;
    assert!(counts.ran_twice > 0, "{counts:?}");
    assert_eq!(counts.refused_503, 0, "{counts:?}");
}

/// The keys `count` of `prefix` that live on the primary at `on` (`true`)
/// or elsewhere (`false`).
fn keys_where(
    cluster: &RedisCluster,
    prefix: &str,
    primary: usize,
    on: bool,
    count: usize,
) -> Vec<String> {
    (0..)
        .map(|n| format!("{prefix}-{n}"))
        .filter(|key| (cluster.primary_for(&stored_key(key)) == primary) == on)
        .take(count)
        .collect()
}

/// With `wait_replicas(1)`: every answer is on `replica` when the client
/// gets it; while `replica` is stopped (`SIGSTOP`), a keyed request for a
/// key of its primary answers 503 with `Retry-After` within the bound and
/// does not run, while keys of other primaries (`elsewhere`) are served;
/// after `SIGCONT`, the refused keys run, once.
async fn a_stopped_replica_refuses_new_keys_until_it_answers(
    replica: &RedisServer,
    read_on_replica: impl Fn(&str) -> Option<String>,
    store: impl Fn() -> RedisStore,
    on_its_primary: Vec<String>,
    elsewhere: Vec<String>,
) {
    let all: Vec<String> = on_its_primary.iter().chain(&elsewhere).cloned().collect();
    let runs = Runs::new(&all);
    // The layer's store timeout well above the wait's 200 ms, so that the
    // 503s below are the wait's, not a timeout's, also on a loaded machine.
    let layer = || {
        IdempotencyLayer::new()
            .store(store())
            .store_timeout(Duration::from_secs(5))
    };
    let addr = instance(layer(), Arc::clone(&runs), Duration::ZERO).await;
    let other = instance(layer(), Arc::clone(&runs), Duration::ZERO).await;
    let caller = Caller::new();

    // Healthy: the answer is on the replica by the time the client has it.
    // (4 keys: a claim and an answer each, so that each of the store's 8
    // connections for waiting writes has connected to every node before
    // one of them stops: a cluster connection made while a node does not
    // answer waits for it.)
    let (durable, refused) = on_its_primary.split_at(4);
    for key in durable {
        let answer = caller.create(addr, key).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{key}");
        let held = read_on_replica(&stored_key(key)).expect("the replica answers");
        assert!(held.starts_with("C "), "{key}: the replica holds {held:?}");
    }

    replica.pause();
    let started = Instant::now();
    let answers = futures_join(&caller, addr, refused).await;
    let elapsed = started.elapsed();
    for (key, answer) in refused.iter().zip(&answers) {
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{key}");
        assert!(answer.retry_after, "{key}: a 503 says when to retry");
        assert_eq!(runs.of(key), 0, "{key} did not run");
    }
    // The wait is 200 ms, the layer's store timeout 5 s: refused by the wait.
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    // Another instance is told the same, and does not run them either.
    for answer in futures_join(&caller, other, refused).await {
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    }
    // A retry of an answered key is still answered (a replay writes
    // nothing), once the wait has passed.
    let replay = caller.create(other, &durable[0]).await;
    assert_eq!(replay.status, StatusCode::CREATED);
    assert!(replay.replayed);
    // Keys of the other primaries are served.
    for key in &elsewhere {
        let answer = caller.create(addr, key).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{key}");
    }
    replica.resume();

    for key in refused {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut answer = caller.create(other, key).await;
        while answer.status == StatusCode::SERVICE_UNAVAILABLE && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
            answer = caller.create(other, key).await;
        }
        assert_eq!(answer.status, StatusCode::CREATED, "{key}");
        let replay = caller.create(addr, key).await;
        assert!(replay.replayed && replay.body == answer.body, "{key}");
    }
    for key in &all {
        assert_eq!(runs.of(key), 1, "{key} ran once");
    }
}

/// The replies of `keys`, sent to `addr` all at once.
async fn futures_join(caller: &Caller, addr: SocketAddr, keys: &[String]) -> Vec<Answered> {
    let sends: Vec<_> = keys
        .iter()
        .map(|key| {
            let (caller, key) = (caller.clone(), key.clone());
            tokio::spawn(async move { caller.create(addr, &key).await })
        })
        .collect();
    let mut answers = Vec::new();
    for send in sends {
        answers.push(send.await.unwrap());
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::await_holding_lock)]
async fn a_stopped_replica_of_a_cluster_refuses_its_primarys_new_keys() {
    let _serial = one_at_a_time();
    let cluster = RedisCluster::start();
    let primary = cluster.primary_for(&stored_key("stop-0"));
    let replica = cluster
        .replica_of(primary)
        .expect("every primary has a replica");
    let on_its_primary = keys_where(&cluster, "stop", primary, true, 8);
    let elsewhere = keys_where(&cluster, "stop", primary, false, 4);
    let store = || {
        RedisStore::cluster(cluster.urls())
            .unwrap()
            .wait_replicas(1, Duration::from_millis(200))
    };
    a_stopped_replica_refuses_new_keys_until_it_answers(
        cluster.node(replica),
        |key| cluster.read_on_replica(replica, key),
        store,
        on_its_primary,
        elsewhere,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::await_holding_lock)]
async fn a_stopped_replica_of_one_primary_refuses_new_keys() {
    let _serial = one_at_a_time();
    let primary = RedisServer::start();
    let replica = RedisServer::replica_of(&primary);
    let store = || {
        RedisStore::new(&primary.url())
            .unwrap()
            .wait_replicas(1, Duration::from_millis(200))
    };
    let keys = (0..8).map(|n| format!("stop-{n}")).collect();
    a_stopped_replica_refuses_new_keys_until_it_answers(
        &replica,
        |key| replica.query(&["GET", key]),
        store,
        keys,
        Vec::new(),
    )
    .await;
}

/// One primary and no replica: with `wait_replicas(1)`, no new key runs,
/// and the claim is released (the next try finds the key free, not in
/// use); with `0`, it runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::await_holding_lock)]
async fn a_primary_without_replicas_refuses_new_keys_when_replicas_are_waited_for() {
    let _serial = one_at_a_time();
    let primary = RedisServer::start();
    let runs = Runs::new(&["k1".to_owned()]);
    let waiting = RedisStore::new(&primary.url())
        .unwrap()
        .wait_replicas(1, Duration::from_millis(100));
    let addr = instance(
        IdempotencyLayer::new().store(waiting),
        Arc::clone(&runs),
        Duration::ZERO,
    )
    .await;
    let caller = Caller::new();
    for _ in 0..2 {
        let answer = caller.create(addr, "k1").await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(answer.retry_after);
    }
    assert_eq!(runs.of("k1"), 0);
    assert_eq!(
        primary.query(&["EXISTS", &stored_key("k1")]).as_deref(),
        Some("0"),
        "released"
    );
    let plain = RedisStore::new(&primary.url()).unwrap();
    let addr = instance(
        IdempotencyLayer::new().store(plain),
        Arc::clone(&runs),
        Duration::ZERO,
    )
    .await;
    assert_eq!(caller.create(addr, "k1").await.status, StatusCode::CREATED);
    assert_eq!(runs.of("k1"), 1);
    assert_eq!(
        primary.query(&["EXISTS", &stored_key("k1")]).as_deref(),
        Some("1")
    );
}

/// A node that does not know the store's scripts (just started, just
/// promoted, or flushed) is taught them by `EVAL` when `EVALSHA` fails, on
/// that node alone: not by `SCRIPT LOAD`, which a cluster client sends to
/// every node and which would wait for one that does not answer (the test
/// above stops one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::await_holding_lock)]
async fn a_node_without_the_scripts_is_taught_them() {
    use tower_failed_dependency::store::{Claim, Fingerprint, Slot, Store, StoredAnswer};

    let _serial = one_at_a_time();
    let server = RedisServer::start();
    let store = RedisStore::new(&server.url()).unwrap();
    let fingerprint = Fingerprint::from_bytes([3; 32]);
    let lease = Duration::from_secs(30);
    let answer = StoredAnswer::new(StatusCode::CREATED, Vec::new(), "created".into());
    for key in ["k1", "k2"] {
        let Claim::Claimed(token) = store.claim(key, &fingerprint, lease).await.unwrap() else {
            panic!("{key} is free");
        };
        assert_eq!(server.query(&["SCRIPT", "FLUSH"]).as_deref(), Some("OK"));
        if key == "k1" {
            let expiry = Duration::from_secs(60);
            assert!(store.complete(key, &token, &answer, expiry).await.unwrap());
            assert!(matches!(
                store.get(key).await.unwrap(),
                Some(Slot::Completed { .. })
            ));
        } else {
            store.release(key, &token).await.unwrap();
            assert!(store.get(key).await.unwrap().is_none());
        }
    }
}
