//! Hostile input against real servers on 127.0.0.1: every case gets a clear
//! 4xx problem (or a normal answer), nothing crafted is echoed, no panic, no
//! request leaves, and the server still answers afterwards.

#![cfg(all(
    feature = "axum",
    feature = "batch",
    feature = "checks",
    feature = "gateway"
))]

#[path = "apps/gateway.rs"]
mod gateway;
mod support;

use std::future::pending;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use http::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use support::send;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::{Layer, ServiceExt};
use tower_failed_dependency::batch::BatchLayer;
use tower_failed_dependency::checks::RequestHead;
use tower_failed_dependency::{DependencyLayer, Failure};

/// How many times `/count` ran, in any server of this file.
static COUNTED: AtomicUsize = AtomicUsize::new(0);

/// `/orders` needs an `auth` check that refuses everyone (so its 424 would
/// echo a request id), `/hang` a check that never returns, `/health` is
/// plain, `/count` counts; `/$batch` batches them.
async fn start() -> SocketAddr {
    let refuse = |_: RequestHead| async { Err::<(), _>(Failure::rejected(StatusCode::FORBIDDEN)) };
    let hang = |_: RequestHead| pending::<Result<(), Failure>>();
    let orders = DependencyLayer::new()
        .check("auth", refuse)
        .build()
        .unwrap();
    let hanging = DependencyLayer::new()
        .check("ledger", hang)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let router = Router::new()
        .route("/orders", get(|| async { "placed" }).route_layer(orders))
        .route("/hang", get(|| async { "never" }).route_layer(hanging))
        .route("/health", get(|| async { "up" }))
        .route(
            "/count",
            get(|| async {
                COUNTED.fetch_add(1, Ordering::SeqCst);
                "counted"
            }),
        );
    // hyper's own request body reaches the batch layer: nothing converts it.
    let app = ServiceExt::<Request<hyper::body::Incoming>>::map_response(
        BatchLayer::new().layer(router),
        |response: Response<_>| response.map(Body::new),
    );
    support::serve(app).await
}

/// The server still answers a plain request.
async fn assert_still_serving(addr: SocketAddr) {
    let answer = send(addr, Method::GET, "/health", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.text(), "up");
}

/// An answer read off a raw connection.
#[derive(Debug)]
struct Raw {
    status: u16,
    head: Vec<u8>,
    body: Vec<u8>,
}

impl Raw {
    fn problem(&self) -> Value {
        let head = String::from_utf8_lossy(&self.head).to_ascii_lowercase();
        assert!(
            head.contains("content-type: application/problem+json"),
            "{head}"
        );
        serde_json::from_slice(&self.body).expect("a problem+json body")
    }

    /// The body as JSON, whatever its type.
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// Writes `request` on a fresh connection (ignoring a write the server cut
/// short) and reads the answer until the server closes, within 10 s.
async fn raw(addr: SocketAddr, request: Vec<u8>) -> Raw {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(&request).await;
        let _ = writer.flush().await;
        writer
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut chunk = [0u8; 8192];
        loop {
            match reader.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server answered within 10 s");
    writing.abort();
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no answer head in {:?}", String::from_utf8_lossy(&answer)));
    let head = answer[..split].to_vec();
    let body = answer[split + 4..].to_vec();
    let status = std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap();
    Raw { status, head, body }
}

fn get_with_request_id(path: &str, id: &[u8]) -> Vec<u8> {
    let mut request =
        format!("GET {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\nx-request-id: ")
            .into_bytes();
    request.extend_from_slice(id);
    request.extend_from_slice(b"\r\n\r\n");
    request
}

#[tokio::test]
async fn crafted_request_ids_are_never_echoed() {
    let addr = start().await;
    let long = "a".repeat(10 * 1024);
    let crafted: [&[u8]; 5] = [
        b"abc\rINJECTED",
        b"abc\r\n INJECTED",
        b"abc\x00INJECTED",
        b"\xff\xfeINJECTED\xc3\x28",
        long.as_bytes(),
    ];
    for id in crafted {
        let answer = raw(addr, get_with_request_id("/orders", id)).await;
        // hyper refuses what HTTP/1.1 does not allow in a field value (CR,
        // NUL, obs-fold) with its own 400; what it lets through reaches the
        // layer, whose 424 leaves the id out.
        assert!(
            answer.status == 400 || answer.status == 424,
            "{}: {:?}",
            answer.status,
            String::from_utf8_lossy(&answer.head)
        );
        let everything = [answer.head.as_slice(), answer.body.as_slice()].concat();
        let text = String::from_utf8_lossy(&everything);
        assert!(!text.contains("INJECTED"), "echoed: {text}");
        assert!(!text.contains(&long[..200]), "a long id echoed");
        if answer.status == 424 {
            let problem = answer.problem();
            assert_eq!(problem["dependency"], "auth");
            assert!(problem.get("request_id").is_none(), "{problem}");
        }
        assert_still_serving(addr).await;
    }
    // A safe id is echoed, so the cases above show the sanitiser at work.
    let answer = raw(addr, get_with_request_id("/orders", b"req-42")).await;
    assert_eq!(answer.problem()["request_id"], "req-42");
}

fn batch_request(body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST /$batch HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

#[tokio::test]
async fn a_10_mb_batch_is_refused_413_after_reading_at_most_its_limit() {
    let addr = start().await;
    let mut body = b"{\"requests\": [".to_vec();
    body.resize(10 * 1024 * 1024, b' ');
    let started = Instant::now();
    let answer = raw(addr, batch_request(&body)).await;
    assert_eq!(answer.status, 413);
    // RFC 9110 §15.5.14's phrase, not the `http` crate's older one.
    assert_eq!(answer.problem()["title"], "Content Too Large");
    assert!(answer.problem()["detail"]
        .as_str()
        .unwrap()
        .contains("1048576"));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_still_serving(addr).await;
}

/// A batch of one part with `count` headers of distinct names.
fn many_headers(count: usize) -> Vec<u8> {
    let headers: serde_json::Map<String, Value> = (0..count)
        .map(|i| (format!("x-h{i}"), json!("1")))
        .collect();
    json!({"requests": [{"id": "a", "method": "GET", "url": "/count", "headers": headers}]})
        .to_string()
        .into_bytes()
}

#[tokio::test]
async fn hostile_batches_are_refused_400_and_nothing_runs() {
    let addr = start().await;
    let part = |id: &str, url: &str| json!({"id": id, "method": "GET", "url": url});
    let ten_thousand: Vec<Value> = (0..10_000)
        .map(|i| part(&i.to_string(), "/count"))
        .collect();
    let deep = format!(
        "{{\"requests\": [{}{}]}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let cases: Vec<(Vec<u8>, Option<&str>, &str)> = vec![
        (json!({"requests": ten_thousand}).to_string().into_bytes(), None, "at most 20"),
        (deep.into_bytes(), None, "Request 1 is not a valid request object"),
        (
            json!({"requests": [part("ok", "/count"),
                                {"id": "a", "method": "GET", "url": "/count", "dependsOn": ["a"]}]})
                .to_string()
                .into_bytes(),
            Some("a"),
            "dependsOn",
        ),
        (
            json!({"requests": [part("ok", "/count"), part("a", "https://user@169.254.169.254/latest")]})
                .to_string()
                .into_bytes(),
            Some("a"),
            "url",
        ),
        (json!({"requests": [part("a", "//169.254.169.254/")]}).to_string().into_bytes(), Some("a"), "url"),
        (json!({"requests": [part("a", "/health/%2E%2E/%2e%2e/admin")]}).to_string().into_bytes(), Some("a"), "url"),
        (json!({"requests": [part("a", "/\\\\evil.example/")]}).to_string().into_bytes(), Some("a"), "url"),
        (json!({"requests": [part("a", "/$batch?nested=1")]}).to_string().into_bytes(), Some("a"), "url"),
        (
            json!({"requests": [{"id": "a", "method": "GET\r\nx-injected: 1", "url": "/count"}]})
                .to_string()
                .into_bytes(),
            Some("a"),
            "method",
        ),
        (b"\xff\xfe not json".to_vec(), None, "JSON"),
        // More headers than a header map can hold (32,768), in 700 KB.
        (many_headers(40_000), Some("a"), "at most 100"),
        (many_headers(101), Some("a"), "at most 100"),
    ];
    for (body, part_id, mentions) in cases {
        let answer = raw(addr, batch_request(&body)).await;
        assert_eq!(
            answer.status,
            400,
            "{:?}",
            String::from_utf8_lossy(&answer.body)
        );
        let problem = answer.problem();
        assert_eq!(problem["part"].as_str(), part_id, "{problem}");
        let said = format!("{} {}", problem["detail"], problem["field"]);
        assert!(said.contains(mentions), "{said} should mention {mentions}");
        assert_still_serving(addr).await;
    }
    assert_eq!(
        COUNTED.load(Ordering::SeqCst),
        0,
        "a part of a refused batch ran"
    );
    // The counter counts: a valid batch runs its part.
    let valid = json!({"requests": [part("ok", "/count")]}).to_string();
    assert_eq!(raw(addr, batch_request(valid.as_bytes())).await.status, 200);
    assert_eq!(COUNTED.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_check_that_never_returns_is_bounded_by_its_timeout() {
    let addr = start().await;
    let started = Instant::now();
    let answer = send(addr, Method::GET, "/hang", &[]).await;
    let problem = answer.assert_problem(StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(problem["dependency"], "ledger");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_still_serving(addr).await;
}

#[tokio::test]
async fn an_upstream_sending_headers_forever_is_a_bounded_502() {
    let addr = gateway::start().await.unwrap();
    let started = Instant::now();
    let answer = send(addr, Method::GET, "/orders/endless-headers/reserve", &[]).await;
    let problem = answer.assert_problem(StatusCode::BAD_GATEWAY);
    assert_eq!(problem["dependency"], "inventory");
    assert!(started.elapsed() < Duration::from_secs(5));
    let again = send(addr, Method::GET, "/orders/ok/reserve", &[]).await;
    assert_eq!(again.status, StatusCode::OK, "the gateway still answers");
}

/// The batch layer passes anything that is not `POST /$batch` on untouched,
/// hostile paths included, and never panics on them.
#[tokio::test]
async fn odd_requests_pass_through_to_the_router() {
    let addr = start().await;
    let app = start_router_only();
    for path in ["/$batch/", "/%24batch", "/health/../health", "//health"] {
        let request = Request::post(path).body(Body::empty()).unwrap();
        let direct = app.clone().oneshot(request).await.unwrap().status();
        let answer = send(addr, Method::POST, path, &[]).await;
        assert_eq!(answer.status, direct, "{path}");
        assert!(answer.status.is_client_error(), "{path}: {}", answer.status);
    }
    assert_still_serving(addr).await;
}

fn start_router_only() -> Router {
    Router::new().route("/health", get(|| async { "up" }))
}

/// A batch of `parts` parts whose ids are `id_len` bytes long, each part
/// after the first depending on the one before; the first fails (404).
fn chain(parts: usize, id_len: usize) -> Vec<u8> {
    let id = |n: usize| {
        let n = n.to_string();
        format!("{}{n}", "0".repeat(id_len - n.len()))
    };
    let requests: Vec<Value> = (0..parts)
        .map(|n| match n {
            0 => json!({"id": id(n), "method": "GET", "url": "/nowhere"}),
            n => json!({"id": id(n), "method": "GET", "url": "/health", "dependsOn": [id(n - 1)]}),
        })
        .collect();
    json!({ "requests": requests }).to_string().into_bytes()
}

#[tokio::test]
async fn a_batch_cannot_make_the_answer_much_larger_than_itself() {
    let addr = start().await;
    // A megabyte id, to be echoed by every part of a chain on it: refused
    // by its position, the id nowhere in the answer.
    let root = "r".repeat(523_670);
    let body = json!({"requests": [
        {"id": root, "method": "GET", "url": "/nowhere"},
        {"id": "2", "method": "GET", "url": "/health", "dependsOn": [root]},
        {"id": "3", "method": "GET", "url": "/health", "dependsOn": ["2"]}
    ]})
    .to_string();
    let answer = raw(addr, batch_request(body.as_bytes())).await;
    assert_eq!(answer.status, 400);
    let problem = answer.problem();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .starts_with("Request 1 has an id of 523670 bytes; at most 128"),
        "{problem}"
    );
    assert!(answer.body.len() < 1024, "{} bytes", answer.body.len());

    // The most a valid batch can echo: 20 parts with ids of the longest
    // length allowed, 19 of them not run because of the first.
    let body = chain(20, 128);
    let answer = raw(addr, batch_request(&body)).await;
    assert_eq!(answer.status, 200);
    let parts = answer.json();
    assert_eq!(parts["responses"][19]["status"], 424);
    let ratio = answer.body.len() as f64 / body.len() as f64;
    println!(
        "a 20-part chain with 128-byte ids: {} bytes answered {} bytes ({ratio:.2}x)",
        body.len(),
        answer.body.len()
    );
    assert!(ratio < 4.0, "{ratio:.2}x");
    assert_still_serving(addr).await;
}

#[tokio::test]
async fn a_part_body_nests_126_levels_and_a_deeper_one_is_refused_naming_the_part() {
    let addr = start().await;
    let nested = |levels: usize| {
        format!(
            r#"{{"requests": [{{"id": "a", "method": "POST", "url": "/count", "headers": {{"content-type": "application/json"}}, "body": {}1{}}}]}}"#,
            "[".repeat(levels),
            "]".repeat(levels)
        )
    };
    // `/count` takes GET only: a planned part runs and answers 405.
    let answer = raw(addr, batch_request(nested(126).as_bytes())).await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let answer = raw(addr, batch_request(nested(127).as_bytes())).await;
    assert_eq!(answer.status, 400);
    let detail = answer.problem()["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.starts_with("Request 1 is not a valid request object: recursion limit exceeded"),
        "{detail}"
    );
}
