//! Two server processes of the `chains` example's API share one real
//! `redis-server`: a keyed create runs once across both, a retry on one
//! replays the other's answer, a dependent request on one names the key
//! whose create failed on the other, and with Redis stopped no request is
//! answered as if it had run when it did not.

#[path = "../../tests/support/redis.rs"]
#[allow(dead_code)]
mod redis;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use redis::RedisServer;
use serde_json::{json, Value};

/// One `chains_server` process.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Starts one on Redis at `url` and waits (at most 20 s) for its address.
    /// The guard owns the process from the moment it is spawned, so that a
    /// server that answers late or oddly is stopped by the panic's unwinding.
    fn start(url: &str) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_chains_server"))
            .env("REDIS_URL", url)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the chains_server binary starts");
        let mut server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let stdout = server.child.stdout.take().expect("piped stdout");
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let line = receiver
            .recv_timeout(Duration::from_secs(20))
            .expect("the server says where it listens within 20 s");
        server.addr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }

    fn problem(&self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "{:?}", self.body);
        assert_eq!(self.headers["content-type"], "application/problem+json");
        let body = self.json();
        assert_eq!(body["status"], status.as_u16());
        body
    }
}

async fn send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("authorization", "Bearer client-1")
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), client.request(request))
        .await
        .expect("an answer within 10 s")
        .expect("the server answers");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body,
    }
}

async fn create(addr: SocketAddr, path: &str, key: &str, email: &str) -> Answer {
    let body = json!({ "email": email }).to_string();
    send(addr, Method::POST, path, &[("idempotency-key", key)], &body).await
}

async fn runs(servers: &[&Server]) -> u64 {
    let mut total = 0;
    for server in servers {
        let stats = send(server.addr, Method::GET, "/stats", &[], "").await;
        total += stats.json()["runs"].as_u64().expect("a count");
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_redis() {
    let mut redis = RedisServer::start();
    let first = Server::start(&redis.url());
    let second = Server::start(&redis.url());
    let both = [&first, &second];

    // One keyed create sent to both at once runs once.
    let slow = "/users?delay_ms=500";
    let (a, b) = tokio::join!(
        create(first.addr, slow, "\"k-ada\"", "ada@example.com"),
        create(second.addr, slow, "\"k-ada\"", "ada@example.com"),
    );
    let (created, refused) = match (a.status, b.status) {
        (StatusCode::CREATED, StatusCode::CONFLICT) => (a, b),
        (StatusCode::CONFLICT, StatusCode::CREATED) => (b, a),
        other => panic!("expected one 201 and one 409, got {other:?}"),
    };
    let problem = refused.problem(StatusCode::CONFLICT);
    assert_eq!(problem["code"], "IDEMPOTENCY_KEY_IN_USE");
    assert_eq!(refused.headers["retry-after"], "1");
    assert_eq!(runs(&both).await, 1, "the handler ran exactly once");

    // A retry on the second replays the answer, whichever process ran it.
    for server in both {
        let retry = create(server.addr, slow, "k-ada", "ada@example.com").await;
        assert_eq!(retry.status, StatusCode::CREATED);
        assert_eq!(retry.headers["idempotent-replayed"], "true");
        assert_eq!(retry.body, created.body);
    }
    assert_eq!(runs(&both).await, 1);

    // A create refused on the first; the dependent PATCH on the second.
    let taken = create(first.addr, "/users", "k-taken", "taken@example.com").await;
    taken.problem(StatusCode::CONFLICT);
    let patch = send(
        second.addr,
        Method::PATCH,
        "/users/taken@example.com",
        &[("depends-on", "\"k-taken\"")],
        r#"{"display_name":"Ada"}"#,
    )
    .await;
    let problem = patch.problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(problem["dependency"], "k-taken");
    assert_eq!(problem["dependency_status"], 409);
    assert_eq!(problem["detail"], "The email is already taken.");
    assert_eq!(runs(&both).await, 2);

    // Redis stops while a keyed create runs: it ran, so its client gets its
    // answer; nothing after is answered as if it ran.
    let running = tokio::spawn(create(
        first.addr,
        "/users?delay_ms=600",
        "k-grace",
        "grace@example.com",
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;
    redis.stop();
    let answer = running.await.unwrap();
    assert_eq!(
        answer.status,
        StatusCode::CREATED,
        "it ran: {:?}",
        answer.body
    );
    assert_eq!(runs(&both).await, 3);

    let started = Instant::now();
    for server in both {
        for (key, email) in [("k-ada", "ada@example.com"), ("k-new", "new@example.com")] {
            let path = if key == "k-ada" { slow } else { "/users" };
            let answer = create(server.addr, path, key, email).await;
            let problem = answer.problem(StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(problem["dependency"], "idempotency_store");
            assert!(answer.headers.get("idempotent-replayed").is_none());
            assert_eq!(answer.headers["retry-after"], "1");
        }
        let dependent = send(
            server.addr,
            Method::PATCH,
            "/users/ada@example.com",
            &[("depends-on", "k-ada")],
            r#"{"display_name":"Ada"}"#,
        )
        .await;
        dependent.problem(StatusCode::SERVICE_UNAVAILABLE);
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "every answer came within the store's bounds: {:?}",
        started.elapsed()
    );
    assert_eq!(runs(&both).await, 3, "nothing ran while Redis was down");
}
