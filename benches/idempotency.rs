//! What `IdempotencyLayer` costs per keyed request, with each store, against
//! the same handler without it, under Criterion:
//!
//! ```text
//! cargo bench --features redis-cluster --bench idempotency
//! ```
//!
//! - `bare`: the handler alone;
//! - `no key`: the layer in front, the request without a key (it passes);
//! - `memory/first`, `memory/replay`: a new key each time (claim, run,
//!   complete), and a retry of one key (its answer replayed), in memory;
//! - `redis/...`: the same on a `redis-server` on loopback that the
//!   benchmark starts (skipped when none is installed);
//! - `redis wait_replicas(1)/...`: on a primary with one replica, each
//!   claim and answer waiting for the replica (`WAIT 1`);
//! - `redis cluster/...`, `redis cluster wait_replicas(1)/...` (feature
//!   `redis-cluster`): on a Redis Cluster of 3 primaries and 3 replicas on
//!   loopback (skipped without `redis-cli`).
//!
//! Each request carries a 64-byte JSON body, read whole by the layer to
//! fingerprint it. At the end, the median of each keyed variant is printed
//! as a ratio over the memory store's, from this one run.
//!
//! The README ("Performance", "Chains across requests") has one run's
//! figures and ratios.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
#[cfg(feature = "redis")]
use std::time::Duration;
use std::time::Instant;

use bytes::Bytes;
use criterion::Criterion;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::{service_fn, Layer, Service, ServiceExt};
use tower_failed_dependency::idempotency::IdempotencyLayer;

#[path = "../tests/support/redis.rs"]
#[allow(dead_code)]
mod redis;

#[cfg(feature = "redis-cluster")]
#[path = "../tests/support/redis_cluster.rs"]
#[allow(dead_code)]
mod redis_cluster;

const BODY: &str = r#"{"email":"ada@example.com","display_name":"Ada Lovelace","x":1}"#;

/// The time per request of each keyed variant, one figure per batch of
/// iterations Criterion ran, for the ratios printed at the end.
static TIMES: Mutex<Vec<(String, Vec<f64>)>> = Mutex::new(Vec::new());

fn request(key: Option<&str>) -> Request<Full<Bytes>> {
    let mut request = Request::post("/users")
        .header("authorization", "Bearer bench")
        .header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    request.body(Full::from(BODY)).unwrap()
}

async fn handler<B>(request: Request<B>) -> Result<Response<Full<Bytes>>, Infallible>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let body = request.into_body().collect().await.unwrap().to_bytes();
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

/// One request through `service`, its body read.
async fn once<S, B>(service: &mut S, request: Request<Full<Bytes>>) -> StatusCode
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible>,
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let response = service.ready().await.unwrap().call(request).await.unwrap();
    let status = response.status();
    response.into_body().collect().await.unwrap();
    status
}

/// Benchmarks `name`, each iteration `run`, and keeps its time per
/// iteration for the ratios.
fn measured(c: &mut Criterion, name: &str, mut run: impl FnMut()) {
    let mut times = Vec::new();
    c.bench_function(name, |b| {
        b.iter_custom(|iterations| {
            let started = Instant::now();
            for _ in 0..iterations {
                run();
            }
            let elapsed = started.elapsed();
            times.push(elapsed.as_secs_f64() / iterations as f64);
            elapsed
        })
    });
    TIMES.lock().unwrap().push((name.to_owned(), times));
}

fn keyed(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    store: &str,
    layer: IdempotencyLayer,
) {
    let fresh = AtomicU64::new(0);
    let mut service = layer.layer(service_fn(handler));
    measured(c, &format!("{store}/first"), || {
        let key = format!("k{}", fresh.fetch_add(1, Ordering::Relaxed));
        let status = runtime.block_on(once(&mut service, request(Some(&key))));
        assert_eq!(status, StatusCode::CREATED);
    });
    runtime.block_on(once(&mut service, request(Some("replayed"))));
    measured(c, &format!("{store}/replay"), || {
        let status = runtime.block_on(once(&mut service, request(Some("replayed"))));
        assert_eq!(status, StatusCode::CREATED);
    });
}

/// Whether `program` runs.
#[cfg(feature = "redis")]
fn installed(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok()
}

/// A layer on `store` (made on `runtime`), whose store timeout leaves room
/// for a loaded machine.
#[cfg(feature = "redis")]
fn layer_on<S: tower_failed_dependency::store::Store>(
    runtime: &tokio::runtime::Runtime,
    store: impl FnOnce() -> S,
) -> IdempotencyLayer {
    let _entered = runtime.enter();
    IdempotencyLayer::new()
        .store(store())
        .store_timeout(Duration::from_secs(2))
}

fn idempotency(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut bare = service_fn(handler);
    c.bench_function("bare", |b| {
        b.iter(|| runtime.block_on(once(&mut bare, request(None))))
    });
    let mut passing = IdempotencyLayer::new().layer(service_fn(handler));
    c.bench_function("no key", |b| {
        b.iter(|| runtime.block_on(once(&mut passing, request(None))))
    });
    keyed(c, &runtime, "memory", IdempotencyLayer::new());

    #[cfg(feature = "redis")]
    if installed("redis-server") {
        use tower_failed_dependency::store::RedisStore;
        let server = redis::RedisServer::start();
        let layer = layer_on(&runtime, || RedisStore::new(&server.url()).unwrap());
        keyed(c, &runtime, "redis", layer);
        drop(server);

        let primary = redis::RedisServer::start();
        let replica = redis::RedisServer::replica_of(&primary);
        let layer = layer_on(&runtime, || {
            RedisStore::new(&primary.url())
                .unwrap()
                .wait_replicas(1, Duration::from_millis(500))
        });
        keyed(c, &runtime, "redis wait_replicas(1)", layer);
        drop((replica, primary));

        #[cfg(feature = "redis-cluster")]
        if installed("redis-cli") {
            let cluster = redis_cluster::RedisCluster::start();
            let layer = layer_on(&runtime, || RedisStore::cluster(cluster.urls()).unwrap());
            keyed(c, &runtime, "redis cluster", layer);
            let layer = layer_on(&runtime, || {
                RedisStore::cluster(cluster.urls())
                    .unwrap()
                    .wait_replicas(1, Duration::from_millis(500))
            });
            keyed(c, &runtime, "redis cluster wait_replicas(1)", layer);
        } else {
            eprintln!("redis-cli is not installed (scripts/setup.sh): the cluster is not measured");
        }
    } else {
        eprintln!(
            "redis-server is not installed (scripts/setup.sh): the Redis store is not measured"
        );
    }
}

/// The median of `times`.
fn median(times: &[f64]) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Criterion's estimate of `name`'s time per iteration in seconds (the
/// slope it prints, else the mean), from the file this run wrote.
fn estimate(name: &str) -> Option<f64> {
    let home = std::env::var_os("CRITERION_HOME").map_or_else(
        || {
            std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| "target".into(), std::path::PathBuf::from)
                .join("criterion")
        },
        std::path::PathBuf::from,
    );
    // Criterion's directory for an id: these characters replaced by `_`.
    let directory: String = name
        .chars()
        .map(|c| if "?\"/\\*<>:|^".contains(c) { '_' } else { c })
        .collect();
    let file = home.join(directory).join("new").join("estimates.json");
    let estimates: serde_json::Value = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
    ["slope", "mean"]
        .iter()
        .find_map(|kind| estimates[kind]["point_estimate"].as_f64())
        .map(|nanos| nanos / 1e9)
}

/// Each keyed variant's time per request (Criterion's estimate, else the
/// median of its batches), and its ratio over the memory store's of the
/// same kind (`first` or `replay`).
fn ratios() {
    let times = TIMES.lock().unwrap();
    let time = |name: &str, batches: &[f64]| {
        if batches.is_empty() {
            // Not run (filtered out): a file from another run says nothing.
            return f64::NAN;
        }
        estimate(name).unwrap_or_else(|| median(batches))
    };
    let memory = |kind: &str| {
        times
            .iter()
            .find(|(name, _)| name == &format!("memory/{kind}"))
            .map_or(f64::NAN, |(name, batches)| time(name, batches))
    };
    println!("\nkeyed requests, over the memory store's, this run:");
    for (name, batches) in times.iter() {
        let kind = name.rsplit('/').next().unwrap_or_default();
        let time = time(name, batches);
        let ratio = time / memory(kind);
        println!("{name:>42}: {:>8.1} µs  {ratio:>6.2}x", time * 1e6);
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    idempotency(&mut criterion);
    criterion.final_summary();
    ratios();
}
