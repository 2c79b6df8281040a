//! What `IdempotencyLayer` costs per keyed request, with each store, against
//! the same handler without it, under Criterion:
//!
//! ```text
//! cargo bench --features redis --bench idempotency
//! ```
//!
//! - `bare`: the handler alone;
//! - `no key`: the layer in front, the request without a key (it passes);
//! - `memory/first`, `memory/replay`: a new key each time (claim, run,
//!   complete), and a retry of one key (its answer replayed), in memory;
//! - `redis/first`, `redis/replay`: the same on a `redis-server` on loopback
//!   that the benchmark starts (skipped when none is installed).
//!
//! Each request carries a 64-byte JSON body, read whole by the layer to
//! fingerprint it.
//!
//! Measured on the project's 2-core machine (shared with another build),
//! `--warm-up-time 1 --measurement-time 3`, medians: bare 1.0 µs; no key
//! 1.16 µs; memory first 22.7 µs, replay 4.0 µs; Redis on loopback first
//! 72.5 µs (a `SET NX PX` and the completing script: two round trips),
//! replay 49.2 µs (`SET NX PX` and `GET`).

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
#[cfg(feature = "redis")]
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::{service_fn, Layer, Service, ServiceExt};
use tower_failed_dependency::idempotency::IdempotencyLayer;

#[path = "../tests/support/redis.rs"]
#[allow(dead_code)]
mod redis;

const BODY: &str = r#"{"email":"ada@example.com","display_name":"Ada Lovelace","x":1}"#;

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

fn keyed(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    store: &str,
    layer: IdempotencyLayer,
) {
    let fresh = AtomicU64::new(0);
    let mut service = layer.layer(service_fn(handler));
    c.bench_function(&format!("{store}/first"), |b| {
        b.iter(|| {
            let key = format!("k{}", fresh.fetch_add(1, Ordering::Relaxed));
            let status = runtime.block_on(once(&mut service, request(Some(&key))));
            assert_eq!(status, StatusCode::CREATED);
        })
    });
    runtime.block_on(once(&mut service, request(Some("replayed"))));
    c.bench_function(&format!("{store}/replay"), |b| {
        b.iter(|| {
            let status = runtime.block_on(once(&mut service, request(Some("replayed"))));
            assert_eq!(status, StatusCode::CREATED);
        })
    });
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
    {
        let installed = std::process::Command::new("redis-server")
            .arg("--version")
            .output()
            .is_ok();
        if installed {
            let server = redis::RedisServer::start();
            let store = runtime.block_on(async {
                tower_failed_dependency::store::RedisStore::new(&server.url()).unwrap()
            });
            let layer = IdempotencyLayer::new()
                .store(store)
                .store_timeout(Duration::from_secs(2));
            keyed(c, &runtime, "redis", layer);
        } else {
            eprintln!(
                "redis-server is not installed (scripts/setup.sh): the Redis store is not measured"
            );
        }
    }
}

criterion_group!(benches, idempotency);
criterion_main!(benches);
