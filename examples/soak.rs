//! A bounded soak of the whole stack: the crate's layers as the showcase
//! stacks them among tower-http's (every error a problem, panics caught,
//! CORS, request ids, a timeout), `DependencyLayer`s (one running a check of
//! its own), `CatchErrorLayer` over a failing upstream call, problems in
//! JSON and XML, `IdempotencyLayer` with its in-memory store, and
//! `BatchLayer` around everything; a driver that
//! sends a mixed load over loopback, checks every answer and the server's
//! resident memory. `scripts/soak.sh` runs both; by hand:
//!
//! ```text
//! cargo run --release --example soak -- serve 127.0.0.1:0      # prints its address
//! cargo run --release --example soak -- drive 127.0.0.1:PORT SERVER_PID SECONDS
//! ```
//!
//! The driver fails when an answer differs from the expected one, or when
//! the server's largest resident set in the last 10 s exceeds the largest in
//! the 10 s after the warm-up (a fifth of the run, at most 60 s) by more
//! than 1 %.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tower::{service_fn, Layer, ServiceBuilder};
use tower_failed_dependency::batch::BatchLayer;
use tower_failed_dependency::catch_error::CatchErrorLayer;
use tower_failed_dependency::checks::RequestHead;
use tower_failed_dependency::idempotency::IdempotencyLayer;
use tower_failed_dependency::{Dependencies, DependencyLayer, Failure};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How much the resident set may grow after the warm-up, in thousandths.
const RSS_GROWTH_LIMIT_PER_MILLE: u64 = 10;
/// Keys each connection creates in turn, replayed ever after.
const KEYS_PER_CONNECTION: usize = 100;
/// Concurrent connections of the driver.
const CONNECTIONS: usize = 16;
/// An upper bound on requests, whatever the duration.
const MAX_REQUESTS: u64 = 50_000_000;

/// Records the outcomes an earlier layer would have: `auth` succeeded,
/// `inventory` refused (409), `pricing` down with a 7 s retry hint.
async fn record(mut request: Request) -> Request {
    let mut record = Dependencies::new();
    record.record_success("auth");
    record.record_failure("inventory", Failure::rejected(StatusCode::CONFLICT));
    record.record_failure(
        "pricing",
        Failure::unavailable().with_retry_after(Duration::from_secs(7)),
    );
    request.extensions_mut().insert(record);
    request
}

#[path = "../tests/apps/showcase.rs"]
mod showcase;

#[path = "../tests/apps/chains.rs"]
mod chains;

fn app() -> tower_failed_dependency::batch::Batch<Router> {
    let prerequisites = Router::new()
        .route(
            "/pass",
            get(|| async { "ok" }).route_layer(DependencyLayer::new().require("auth")),
        )
        .route(
            "/refused",
            get(|| async { "never" }).route_layer(DependencyLayer::new().require("inventory")),
        )
        .route(
            "/down",
            get(|| async { "never" }).route_layer(DependencyLayer::new().require("pricing")),
        )
        .route(
            "/checked",
            get(|| async { "never" }).route_layer(
                DependencyLayer::new()
                    .check("stock", |_: RequestHead| async {
                        Err::<(), _>(Failure::rejected(StatusCode::CONFLICT))
                    })
                    .build()
                    .expect("one check"),
            ),
        )
        .route_service(
            "/upstream",
            ServiceBuilder::new()
                .layer(CatchErrorLayer::new("pricing"))
                .service(service_fn(|_: Request| async {
                    Err::<http::Response<String>, _>(std::io::Error::from(
                        std::io::ErrorKind::ConnectionRefused,
                    ))
                })),
        )
        .layer(axum::middleware::map_request(record));
    // The users API behind IdempotencyLayer and its default memory store.
    let (users, _) = chains::app(IdempotencyLayer::new());
    let router = showcase::app(Duration::from_secs(5))
        .merge(prerequisites)
        .nest_service("/chain", users);
    BatchLayer::new().layer(router)
}

async fn serve(addr: &str) -> Result<(), BoxError> {
    // `/panic` panics on purpose, many times: its message is not wanted.
    std::panic::set_hook(Box::new(|_| {}));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("{}", listener.local_addr()?);
    let app = tower::ServiceBuilder::new()
        .map_response(|response: http::Response<_>| response.map(axum::body::Body::new))
        .service(app());
    axum::serve(
        listener,
        axum::ServiceExt::<Request>::into_make_service(app),
    )
    .await?;
    Ok(())
}

/// The kinds of request and what each must answer.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Pass,
    Refused,
    Down,
    Batch,
    Order,
    SoldOut,
    Panic,
    Preflight,
    Create,
    TakenCreate,
    Dependent,
    Checked,
    Upstream,
    Xml,
}

/// Each connection sends these in turn: a failed create before the request
/// that depends on it.
const KINDS: [Kind; 14] = [
    Kind::Pass,
    Kind::Refused,
    Kind::Down,
    Kind::Batch,
    Kind::Order,
    Kind::SoldOut,
    Kind::Panic,
    Kind::Preflight,
    Kind::Create,
    Kind::TakenCreate,
    Kind::Dependent,
    Kind::Checked,
    Kind::Upstream,
    Kind::Xml,
];

impl Kind {
    /// The request of connection `worker` on its `round`.
    fn request(self, addr: SocketAddr, worker: usize, round: usize) -> http::Request<Full<Bytes>> {
        let uri = |path: &str| format!("http://{addr}{path}");
        let json = |value: Value| Full::new(Bytes::from(value.to_string()));
        let empty = Full::new(Bytes::new());
        let request = match self {
            Kind::Pass => http::Request::get(uri("/pass")).body(empty),
            Kind::Refused => http::Request::get(uri("/refused")).body(empty),
            Kind::Down => http::Request::get(uri("/down")).body(empty),
            Kind::Batch => http::Request::post(uri("/$batch"))
                .header("content-type", "application/json")
                .body(json(json!({"requests": [
                    {"id": "1", "method": "GET", "url": "/pass"},
                    {"id": "2", "method": "GET", "url": "/refused"},
                    {"id": "3", "method": "GET", "url": "pass", "dependsOn": ["2"]}
                ]}))),
            Kind::Order => http::Request::post(uri("/orders?sku=tea&quantity=1"))
                .header("authorization", showcase::TOKEN)
                .body(empty),
            Kind::SoldOut => http::Request::post(uri("/orders?sku=sold-out&quantity=1"))
                .header("authorization", showcase::TOKEN)
                .body(empty),
            Kind::Panic => http::Request::get(uri("/panic")).body(empty),
            Kind::Preflight => http::Request::options(uri("/orders"))
                .header("origin", showcase::FRONT_END)
                .header("access-control-request-method", "POST")
                .body(empty),
            Kind::Create => {
                // Each connection's own keys, so no two run at once; each
                // runs once and is replayed ever after.
                let n = round % KEYS_PER_CONNECTION;
                http::Request::post(uri("/chain/users"))
                    .header("content-type", "application/json")
                    .header("idempotency-key", format!("w{worker}-k{n}"))
                    .body(json(json!({"email": format!("w{worker}-{n}@example.com")})))
            }
            Kind::TakenCreate => http::Request::post(uri("/chain/users"))
                .header("content-type", "application/json")
                .header("idempotency-key", format!("w{worker}-taken"))
                .body(json(json!({"email": "taken@example.com"}))),
            Kind::Dependent => http::Request::patch(uri("/chain/users/taken@example.com"))
                .header("content-type", "application/json")
                .header("depends-on", format!("\"w{worker}-taken\""))
                .body(json(json!({"display_name": "Taken"}))),
            Kind::Checked => http::Request::get(uri("/checked")).body(empty),
            Kind::Upstream => http::Request::get(uri("/upstream")).body(empty),
            Kind::Xml => http::Request::get(uri("/refused"))
                .header("accept", "application/problem+xml")
                .body(empty),
        };
        request.expect("a valid request")
    }

    /// Whether an answer is the expected one.
    fn expected(self, status: StatusCode, headers: &http::HeaderMap, body: &[u8]) -> bool {
        let json = || serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
        let problem = || {
            headers
                .get("content-type")
                .is_some_and(|v| v == "application/problem+json")
        };
        match self {
            Kind::Pass => status == StatusCode::OK && body == b"ok",
            Kind::Refused => {
                status == StatusCode::FAILED_DEPENDENCY && json()["dependency"] == "inventory"
            }
            Kind::Down => {
                status == StatusCode::SERVICE_UNAVAILABLE
                    && headers.get("retry-after").is_some_and(|v| v == "7")
                    && json()["dependency"] == "pricing"
            }
            Kind::Batch => {
                let statuses: Vec<Value> = json()["responses"]
                    .as_array()
                    .map(|parts| parts.iter().map(|p| p["status"].clone()).collect())
                    .unwrap_or_default();
                status == StatusCode::OK && statuses == [json!(200), json!(424), json!(424)]
            }
            Kind::Order => status == StatusCode::CREATED && headers.contains_key("x-request-id"),
            Kind::SoldOut => {
                status == StatusCode::FAILED_DEPENDENCY
                    && problem()
                    && json()["dependency"] == "inventory"
            }
            Kind::Panic => {
                status == StatusCode::INTERNAL_SERVER_ERROR
                    && problem()
                    && !String::from_utf8_lossy(body).contains("10.0.0.9")
            }
            Kind::Preflight => {
                status.is_success()
                    && headers
                        .get("access-control-allow-origin")
                        .is_some_and(|v| v == showcase::FRONT_END)
            }
            Kind::Create => status == StatusCode::CREATED,
            Kind::TakenCreate => status == StatusCode::CONFLICT && problem(),
            Kind::Dependent => {
                status == StatusCode::FAILED_DEPENDENCY
                    && json()["dependency"]
                        .as_str()
                        .is_some_and(|key| key.ends_with("-taken"))
                    && json()["dependency_status"] == 409
            }
            Kind::Checked => {
                status == StatusCode::FAILED_DEPENDENCY
                    && json()["dependency"] == "stock"
                    && json()["dependency_status"] == 409
            }
            Kind::Upstream => {
                status == StatusCode::SERVICE_UNAVAILABLE
                    && problem()
                    && json()["dependency"] == "pricing"
            }
            Kind::Xml => {
                let text = String::from_utf8_lossy(body);
                status == StatusCode::FAILED_DEPENDENCY
                    && headers
                        .get("content-type")
                        .is_some_and(|v| v == "application/problem+xml")
                    && text.contains("<dependency>inventory</dependency>")
            }
        }
    }
}

/// The server's resident set in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn drive(addr: SocketAddr, pid: u32, seconds: u64) -> Result<(), BoxError> {
    if !(20..=3600).contains(&seconds) {
        return Err("the duration must be 20 to 3600 seconds".into());
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let sent = Arc::new(AtomicU64::new(0));
    let per_kind: Arc<[AtomicU64; KINDS.len()]> = Arc::new(Default::default());
    let unexpected = Arc::new(AtomicUsize::new(0));
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();

    let mut workers = Vec::new();
    for worker in 0..CONNECTIONS {
        let (client, sent, per_kind, unexpected) = (
            client.clone(),
            Arc::clone(&sent),
            Arc::clone(&per_kind),
            Arc::clone(&unexpected),
        );
        workers.push(tokio::spawn(async move {
            let mut turn = 0;
            while Instant::now() < deadline && sent.fetch_add(1, Ordering::Relaxed) < MAX_REQUESTS {
                let index = turn % KINDS.len();
                let kind = KINDS[index];
                let round = turn / KINDS.len();
                turn += 1;
                let answer = async {
                    let response = client.request(kind.request(addr, worker, round)).await?;
                    let (parts, body) = response.into_parts();
                    let body = body.collect().await?.to_bytes();
                    Ok::<_, BoxError>(kind.expected(parts.status, &parts.headers, &body))
                };
                match tokio::time::timeout(Duration::from_secs(10), answer).await {
                    Ok(Ok(true)) => {}
                    other => {
                        if unexpected.fetch_add(1, Ordering::Relaxed) < 5 {
                            eprintln!("unexpected answer to {kind:?}: {other:?}");
                        }
                    }
                }
                per_kind[index].fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    // One sample a second: (seconds since start, KiB).
    let started = Instant::now();
    let mut samples = Vec::new();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rss = rss_kib(pid).ok_or("the server is gone")?;
        samples.push((started.elapsed().as_secs_f64(), rss));
    }
    for worker in workers {
        worker.await?;
    }

    let elapsed = started.elapsed().as_secs_f64();
    // The store and the allocator settle during the warm-up.
    let warm_up = (elapsed / 5.0).min(60.0);
    let first = samples
        .iter()
        .filter(|(t, _)| *t >= warm_up && *t <= warm_up + 10.0)
        .map(|s| s.1)
        .max();
    let last = samples
        .iter()
        .filter(|(t, _)| *t >= elapsed - 10.0)
        .map(|s| s.1)
        .max();
    let (Some(first), Some(last)) = (first, last) else {
        return Err("too few memory samples".into());
    };
    let counts: Vec<u64> = per_kind.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    let total: u64 = counts.iter().sum();
    let unexpected = unexpected.load(Ordering::Relaxed);
    println!(
        "soak: {elapsed:.0} s, {CONNECTIONS} connections, {total} requests ({:.0}/s)",
        total as f64 / elapsed
    );
    for (kind, count) in KINDS.iter().zip(&counts) {
        println!("  {kind:?}: {count}");
    }
    println!("  unexpected answers: {unexpected}");
    let limit = first * RSS_GROWTH_LIMIT_PER_MILLE / 1000;
    println!(
        "  server RSS: {first} KiB at most in the 10 s after a {warm_up:.0} s warm-up, {last} KiB \
         at most in the last 10 s ({:+.2} %; limit: +{limit} KiB, 1 %)",
        (last as f64 - first as f64) * 100.0 / first as f64
    );
    if unexpected > 0 {
        return Err(format!("{unexpected} answers were not the expected ones").into());
    }
    if last > first + limit {
        return Err(format!("the server's memory grew by {} KiB", last - first).into());
    }
    println!("soak passed");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["serve", addr] => serve(addr).await,
        ["drive", addr, pid, seconds] => drive(addr.parse()?, pid.parse()?, seconds.parse()?).await,
        _ => {
            eprintln!("usage: soak serve ADDR | soak drive ADDR SERVER_PID SECONDS");
            std::process::exit(2)
        }
    }
}
