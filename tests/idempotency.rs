//! Idempotency-Key and Depends-On over loopback, each rule for every store:
//! the memory store, the Redis store on one `redis-server`, on a primary
//! with one replica (`wait_replicas(1)`), and (feature `redis-cluster`) on a
//! Redis Cluster of 3 primaries and 3 replicas served by two instances of
//! the service, each with its own cluster client. Every Redis a test uses is
//! its own, started for it and stopped after it.

#![cfg(feature = "idempotency")]

#[path = "apps/chains.rs"]
mod chains;
mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use serde_json::json;
use support::redis::RedisServer;
use support::redis_cluster::RedisCluster;
use support::{send_body, Answer};
use tower::util::Oneshot;
use tower::{Service, ServiceExt};
use tower_failed_dependency::idempotency::{Degrade, IdempotencyLayer};
use tower_failed_dependency::store::{
    Claim, Fingerprint, Slot, Store, StoreError, StoreFuture, StoredAnswer, Token,
};

const ALICE: (&str, &str) = ("authorization", "Bearer alice");
const BOB: (&str, &str) = ("authorization", "Bearer bob");

/// Where the layer keeps its answers in one test.
#[derive(Default)]
struct Backend {
    /// One Redis, or the primary of `replica`.
    redis: Option<RedisServer>,
    replica: Option<RedisServer>,
    #[cfg_attr(not(feature = "redis-cluster"), allow(dead_code))]
    cluster: Option<RedisCluster>,
}

impl Backend {
    fn memory() -> Self {
        Self::default()
    }

    fn redis() -> Self {
        Self {
            redis: Some(RedisServer::start()),
            ..Self::default()
        }
    }

    /// A primary with one replica; the store waits for the replica.
    fn replicated() -> Self {
        let primary = RedisServer::start();
        let replica = RedisServer::replica_of(&primary);
        Self {
            redis: Some(primary),
            replica: Some(replica),
            ..Self::default()
        }
    }

    #[cfg_attr(not(feature = "redis-cluster"), allow(dead_code))]
    fn cluster() -> Self {
        Self {
            cluster: Some(RedisCluster::start()),
            ..Self::default()
        }
    }

    /// A store of this backend's (a new client each time), if it is not
    /// the memory store.
    #[cfg(feature = "redis")]
    fn store(&self) -> Option<tower_failed_dependency::store::RedisStore> {
        use tower_failed_dependency::store::RedisStore;
        #[cfg(feature = "redis-cluster")]
        if let Some(cluster) = &self.cluster {
            return Some(RedisStore::cluster(cluster.urls()).expect("cluster URLs"));
        }
        let store = RedisStore::new(&self.redis.as_ref()?.url()).expect("a Redis URL");
        Some(match &self.replica {
            Some(_) => store.wait_replicas(1, Duration::from_millis(500)),
            None => store,
        })
    }

    /// A layer on this backend's store.
    fn layer(&self) -> IdempotencyLayer {
        let layer = IdempotencyLayer::new();
        #[cfg(feature = "redis")]
        if let Some(store) = self.store() {
            return layer.store(store);
        }
        layer
    }

    /// The users API behind `layer`, served on loopback: by one instance,
    /// or, on a cluster, by two that take turns (each request goes to the
    /// other), the second a copy of `layer` on a store with its own cluster
    /// client. Both run the same handlers, so the API's state and its count
    /// of runs are shared, as a service's database would be.
    async fn serve(&self, layer: IdempotencyLayer) -> (SocketAddr, Arc<chains::Users>) {
        #[cfg(feature = "redis-cluster")]
        if self.cluster.is_some() {
            use tower::Layer;
            let second = layer.clone().store(self.store().expect("a cluster store"));
            let (first, users) = chains::app(layer);
            let second = second.layer(first.get_ref().clone());
            let instances = TakeTurns {
                instances: [first, second],
                next: Arc::new(AtomicUsize::new(0)),
            };
            return (support::serve(instances).await, users);
        }
        serve(layer).await
    }
}

/// Two instances of one service: each request goes to the next in turn.
#[cfg_attr(not(feature = "redis-cluster"), allow(dead_code))]
#[derive(Clone)]
struct TakeTurns<S> {
    instances: [S; 2],
    next: Arc<AtomicUsize>,
}

impl<S, R> Service<R> for TakeTurns<S>
where
    S: Service<R> + Clone,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Oneshot<S, R>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Each call drives its instance's readiness itself.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: R) -> Self::Future {
        let turn = self.next.fetch_add(1, Ordering::Relaxed) % 2;
        self.instances[turn].clone().oneshot(request)
    }
}

/// The users API behind `layer`, served on loopback by one instance.
async fn serve(layer: IdempotencyLayer) -> (SocketAddr, Arc<chains::Users>) {
    let (service, users) = chains::app(layer);
    (support::serve(service).await, users)
}

fn email(address: &str) -> String {
    json!({ "email": address }).to_string()
}

async fn create(addr: SocketAddr, key: &str, address: &str, extra: &[(&str, &str)]) -> Answer {
    create_at(addr, "/users", key, address, extra).await
}

async fn create_at(
    addr: SocketAddr,
    path: &str,
    key: &str,
    address: &str,
    extra: &[(&str, &str)],
) -> Answer {
    let mut headers = vec![
        ALICE,
        ("idempotency-key", key),
        ("content-type", "application/json"),
    ];
    headers.extend_from_slice(extra);
    send_body(addr, Method::POST, path, &headers, email(address)).await
}

async fn rename(addr: SocketAddr, depends_on: &str) -> Answer {
    let headers = [
        ALICE,
        ("depends-on", depends_on),
        ("content-type", "application/json"),
    ];
    let body = json!({"display_name": "Ada"}).to_string();
    send_body(
        addr,
        Method::PATCH,
        "/users/ada@example.com",
        &headers,
        body,
    )
    .await
}

async fn a_retry_gets_the_stored_answer_marked_as_a_replay(backend: Backend) {
    let (addr, users) = backend.serve(backend.layer()).await;
    let first = create(addr, "\"k1\"", "ada@example.com", &[]).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    assert_eq!(first.json(), json!({"email": "ada@example.com", "run": 1}));
    assert!(first.headers.get("idempotent-replayed").is_none());
    // The bare spelling most clients send is the same key.
    let retry = create(addr, "k1", "ada@example.com", &[]).await;
    assert_eq!(retry.status, StatusCode::CREATED);
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    assert_eq!(retry.headers["location"], "/users/ada@example.com");
    assert_eq!(retry.headers["content-type"], "application/json");
    assert_eq!(retry.body, first.body);
    assert_eq!(users.runs(), 1, "the handler ran once");
}

async fn an_error_is_replayed_too(backend: Backend) {
    let (addr, users) = backend.serve(backend.layer()).await;
    let first = create(addr, "k1", "taken@example.com", &[]).await;
    let problem = first.assert_problem(StatusCode::CONFLICT);
    assert_eq!(problem["code"], "EMAIL_TAKEN");
    let retry = create(addr, "k1", "taken@example.com", &[]).await;
    assert_eq!(retry.assert_problem(StatusCode::CONFLICT), problem);
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    assert_eq!(users.runs(), 1);
}

async fn a_key_reused_with_another_body_is_422(backend: Backend) {
    let (addr, users) = backend.serve(backend.layer()).await;
    create(addr, "k1", "ada@example.com", &[]).await;
    let reused = create(addr, "k1", "grace@example.com", &[]).await;
    let problem = reused.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["code"], "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(problem["idempotency_key"], "k1");
    assert!(reused.headers.get("idempotent-replayed").is_none());
    // Another target is another request too.
    let elsewhere = create_at(addr, "/users?x=1", "k1", "ada@example.com", &[]).await;
    elsewhere.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(users.runs(), 1);
}

async fn the_same_key_while_running_is_409_with_retry_after(backend: Backend) {
    let (addr, users) = backend.serve(backend.layer()).await;
    let slow = tokio::spawn(async move {
        create_at(addr, "/users?delay_ms=600", "k1", "ada@example.com", &[]).await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let duplicate = create_at(addr, "/users?delay_ms=600", "k1", "ada@example.com", &[]).await;
    let problem = duplicate.assert_problem(StatusCode::CONFLICT);
    assert_eq!(problem["code"], "IDEMPOTENCY_KEY_IN_USE");
    assert_eq!(problem["idempotency_key"], "k1");
    assert_eq!(duplicate.headers["retry-after"], "1");
    assert_eq!(slow.await.unwrap().status, StatusCode::CREATED);
    assert_eq!(users.runs(), 1);
}

async fn keys_that_are_missing_or_unreadable_are_400(backend: Backend) {
    let (addr, users) = backend.serve(backend.layer().require_key(true)).await;
    let headers = [ALICE, ("content-type", "application/json")];
    let missing = send_body(addr, Method::POST, "/users", &headers, email("a@x")).await;
    let problem = missing.assert_problem(StatusCode::BAD_REQUEST);
    assert_eq!(problem["code"], "IDEMPOTENCY_KEY_MISSING");
    assert_eq!(
        problem["detail"],
        "This request must carry an idempotency-key header."
    );
    let long = "k".repeat(256);
    for bad in ["\"k1\", \"k2\"", "a b", long.as_str(), "\"\""] {
        let answer = create(addr, bad, "a@x", &[]).await;
        let problem = answer.assert_problem(StatusCode::BAD_REQUEST);
        assert_eq!(problem["code"], "IDEMPOTENCY_KEY_INVALID", "{bad}");
    }
    // A method that is not keyed needs none.
    let read = support::send(addr, Method::GET, "/stats", &[ALICE]).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(users.runs(), 0);

    // Required on one route only.
    let layer = backend
        .layer()
        .require_key_for(|_, uri| uri.path() == "/reports");
    let (addr, users) = backend.serve(layer).await;
    let headers = [ALICE, ("content-type", "application/json")];
    let report = send_body(addr, Method::POST, "/reports?kib=1", &headers, "").await;
    let problem = report.assert_problem(StatusCode::BAD_REQUEST);
    assert_eq!(problem["code"], "IDEMPOTENCY_KEY_MISSING");
    let created = send_body(addr, Method::POST, "/users", &headers, email("a@x")).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(users.runs(), 1);
}

async fn keys_are_scoped_to_the_callers_credentials(backend: Backend) {
    let (addr, users) = backend.serve(backend.layer()).await;
    let alice = create(addr, "k1", "ada@example.com", &[]).await;
    assert_eq!(alice.status, StatusCode::CREATED);
    // Bob's key "k1" is not Alice's: his request runs, and is no replay.
    let headers = [
        BOB,
        ("idempotency-key", "k1"),
        ("content-type", "application/json"),
    ];
    let bob = send_body(
        addr,
        Method::POST,
        "/users",
        &headers,
        email("ada@example.com"),
    )
    .await;
    bob.assert_problem(StatusCode::CONFLICT);
    assert!(bob.headers.get("idempotent-replayed").is_none());
    // Nor can he depend on one of hers.
    create(addr, "k-alice", "grace@example.com", &[]).await;
    let headers = [
        BOB,
        ("depends-on", "k-alice"),
        ("content-type", "application/json"),
    ];
    let body = json!({"display_name": "Bob"}).to_string();
    let dependent = send_body(addr, Method::PATCH, "/users/x", &headers, body).await;
    let problem = dependent.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["dependency"], "k-alice");
    assert_eq!(users.runs(), 3);
}

async fn a_dependent_of_a_failed_create_answers_424_with_its_status(backend: Backend) {
    let (addr, _) = backend.serve(backend.layer()).await;
    create(addr, "k-taken", "taken@example.com", &[]).await;
    let dependent = rename(addr, "\"k-taken\"").await;
    let problem = dependent.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(problem["dependency"], "k-taken");
    assert_eq!(problem["dependency_status"], 409);
    assert_eq!(problem["detail"], "The email is already taken.");

    let created = create(addr, "k-ada", "ada@example.com", &[]).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let dependent = rename(addr, "\"k-ada\"").await;
    assert_eq!(dependent.status, StatusCode::OK, "{}", dependent.text());
    assert_eq!(dependent.json()["display_name"], "Ada");
    // Both must have succeeded; the first that did not decides.
    let both = rename(addr, "\"k-ada\", \"k-taken\"").await;
    let problem = both.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(problem["dependency"], "k-taken");
}

async fn a_chain_names_its_first_failure(backend: Backend) {
    let (addr, users) = backend.serve(backend.layer()).await;
    create(addr, "k1", "taken@example.com", &[]).await;
    // k2 depends on k1: refused, and that refusal is k2's kept answer.
    let second = create(addr, "k2", "ada@example.com", &[("depends-on", "k1")]).await;
    let problem = second.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(problem["dependency"], "k1");
    let replay = create(addr, "k2", "ada@example.com", &[("depends-on", "k1")]).await;
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(
        replay.assert_problem(StatusCode::FAILED_DEPENDENCY),
        problem
    );
    // k3 depends on k2: the chain names k1, the first failure, with its 409.
    let third = rename(addr, "k2").await;
    let problem = third.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(problem["dependency"], "k1");
    assert_eq!(problem["dependency_status"], 409);
    assert_eq!(problem["detail"], "The email is already taken.");
    assert_eq!(problem["skipped"], json!(["k2"]));
    assert_eq!(users.runs(), 1, "only k1's handler ran");
}

async fn a_dependent_waits_for_a_running_create_within_a_bound(backend: Backend) {
    let layer = backend.layer().depends_on_wait(Duration::from_millis(300));
    let (addr, _) = backend.serve(layer).await;
    let slow = tokio::spawn(async move {
        create_at(addr, "/users?delay_ms=1500", "k1", "ada@example.com", &[]).await
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let started = Instant::now();
    let impatient = rename(addr, "k1").await;
    assert!(started.elapsed() < Duration::from_millis(1200));
    let problem = impatient.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(problem["dependency"], "k1");
    assert_eq!(problem["dependency_status"], 409);
    assert_eq!(problem["code"], "DEPENDENCY_RUNNING");
    assert_eq!(slow.await.unwrap().status, StatusCode::CREATED);
    // Within the bound, the dependent waits and runs.
    let (addr, _) = backend.serve(backend.layer()).await;
    tokio::spawn(async move {
        create_at(addr, "/users?delay_ms=300", "k1", "ada@example.com", &[]).await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(rename(addr, "k1").await.status, StatusCode::OK);
}

async fn an_unknown_or_expired_key_is_422_naming_it(backend: Backend) {
    let layer = backend.layer().expiry(Duration::from_millis(400));
    let (addr, users) = backend.serve(layer).await;
    let unknown = rename(addr, "nobody").await;
    let problem = unknown.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["dependency"], "nobody");
    assert_eq!(problem["code"], "DEPENDENCY_UNKNOWN");

    create(addr, "k1", "ada@example.com", &[]).await;
    assert_eq!(rename(addr, "k1").await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let expired = rename(addr, "k1").await;
    let problem = expired.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["dependency"], "k1");
    // An expired key runs again: its answer is gone.
    let again = create(addr, "k1", "grace@example.com", &[]).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(users.runs(), 2);
}

async fn an_answer_too_large_to_keep_follows_the_policy(backend: Backend) {
    let (addr, users) = backend.serve(backend.layer()).await;
    let first = create_at(addr, "/reports", "r1", "-", &[]).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body.len(), 128 * 1024, "the client gets all of it");
    // Failing closed: the retry does not run again, and says why.
    let retry = create_at(addr, "/reports", "r1", "-", &[]).await;
    let problem = retry.assert_problem(StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(problem["code"], "ANSWER_NOT_KEPT");
    assert_eq!(problem["original_status"], "200");
    // A dependent still learns it succeeded.
    assert_eq!(rename(addr, "r1").await.status, StatusCode::OK);
    assert_eq!(users.runs(), 1);
    // A small one is kept.
    let small = create_at(addr, "/reports?kib=1", "r2", "-", &[]).await;
    let again = create_at(addr, "/reports?kib=1", "r2", "-", &[]).await;
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body, small.body);
    assert_eq!(users.runs(), 2);

    // Running without the guarantee: the key is released, the retry runs.
    let (addr, users) = backend
        .serve(backend.layer().degrade(Degrade::RunWithoutGuarantee))
        .await;
    for _ in 0..2 {
        let answer = create_at(addr, "/reports", "r3", "-", &[]).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(answer.headers.get("idempotent-replayed").is_none());
    }
    assert_eq!(users.runs(), 2);
}

async fn request_bodies_and_depends_on_are_bounded(backend: Backend) {
    let layer = backend.layer().max_request_body(1024).max_depends_on(2);
    let (addr, users) = backend.serve(layer).await;
    let large = "x".repeat(2048);
    let answer = create(addr, "k1", &large, &[]).await;
    let problem = answer.assert_problem(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(problem["title"], "Content Too Large");
    let many = rename(addr, "a, b, c").await;
    let problem = many.assert_problem(StatusCode::BAD_REQUEST);
    assert_eq!(problem["code"], "DEPENDS_ON_INVALID");
    assert_eq!(
        problem["detail"],
        "The depends-on header is not valid: more than 2 keys are named."
    );
    let itself = create(
        addr,
        "k1",
        "ada@example.com",
        &[("depends-on", "k0, \"k1\"")],
    )
    .await;
    let problem = itself.assert_problem(StatusCode::BAD_REQUEST);
    assert_eq!(problem["code"], "DEPENDS_ON_INVALID");
    assert_eq!(
        problem["detail"],
        "The depends-on header names this request's own key, 'k1': a request cannot \
         depend on itself."
    );
    assert_eq!(users.runs(), 0);
}

async fn a_keyed_body_that_trickles_in_is_408_and_does_not_run(backend: Backend) {
    // RFC 9110 §15.5.9: a body that does not arrive in time is the client's
    // slowness (408), and the request never ran, so its key is free again.
    let deadline = Duration::from_secs(2);
    let (addr, users) = backend.serve(backend.layer().body_timeout(deadline)).await;
    let head = b"POST /users HTTP/1.1\r\nhost: test\r\nauthorization: Bearer alice\r\n\
        idempotency-key: \"slow\"\r\ncontent-type: application/json\r\n\
        content-length: 1000\r\n\r\n{";
    let answer = support::trickle(addr, head, Duration::from_secs(30)).await;
    let answer = support::assert_timed_out(answer, deadline);
    assert!(answer.contains("\"code\":\"BODY_TIMEOUT\""), "{answer}");
    assert_eq!(users.runs(), 0);
    let retried = create(addr, "slow", "ada@example.com", &[]).await;
    assert_eq!(retried.status, StatusCode::CREATED, "{}", retried.text());
    assert_eq!(users.runs(), 1);
}

async fn a_dependent_of_a_server_error_answers_as_the_policy_maps_it(backend: Backend) {
    // The module docs' table: an earlier 5xx is a
    // dependency that was down, not a refusal of the client's chain, so the
    // dependent is not a 424 but the 503 the policy maps it to.
    let (addr, _) = backend.serve(backend.layer()).await;
    let earlier = create(addr, "k-down", "unavailable@example.com", &[]).await;
    assert_eq!(earlier.status, StatusCode::SERVICE_UNAVAILABLE);
    let dependent = rename(addr, "k-down").await;
    let problem = dependent.assert_problem(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(problem["dependency"], "k-down");
}

async fn scope_header_names_and_methods_are_the_configured_ones(backend: Backend) {
    use http::HeaderName;

    // Keys scoped by a tenant header instead of the credentials, read from
    // `x-key`, prerequisites named in `x-after`, and only PATCH guarded.
    let layer = backend
        .layer()
        .scope(|request: &http::request::Parts| {
            request
                .headers
                .get("x-tenant")
                .map_or_else(Vec::new, |tenant| tenant.as_bytes().to_vec())
        })
        .key_header(HeaderName::from_static("x-key"))
        .depends_on_header(HeaderName::from_static("x-after"))
        .methods([Method::POST, Method::PATCH]);
    let (addr, users) = backend.serve(layer).await;
    let post = |tenant: &'static str, who: (&'static str, &'static str)| async move {
        let headers = [
            who,
            ("x-tenant", tenant),
            ("x-key", "k1"),
            ("content-type", "application/json"),
        ];
        send_body(
            addr,
            Method::POST,
            "/users",
            &headers,
            email(&format!("{tenant}@example.com")),
        )
        .await
    };
    assert_eq!(post("acme", ALICE).await.status, StatusCode::CREATED);
    // Bob of the same tenant shares its scope: his retry is a replay.
    let replay = post("acme", BOB).await;
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    // Another tenant's k1 is another key.
    assert_eq!(post("initech", ALICE).await.status, StatusCode::CREATED);
    assert_eq!(users.runs(), 2);

    let patch = |after: &'static str| async move {
        let headers = [
            ALICE,
            ("x-tenant", "acme"),
            ("x-after", after),
            ("content-type", "application/json"),
        ];
        let body = json!({"display_name": "Ada"}).to_string();
        send_body(
            addr,
            Method::PATCH,
            "/users/acme@example.com",
            &headers,
            body,
        )
        .await
    };
    assert_eq!(patch("k1").await.status, StatusCode::OK);
    let unknown = patch("k-nobody").await;
    assert_eq!(
        unknown.assert_problem(StatusCode::UNPROCESSABLE_ENTITY)["dependency"],
        "k-nobody"
    );
    // The default header names mean nothing here.
    let headers = [
        ALICE,
        ("x-tenant", "acme"),
        ("depends-on", "k-nobody"),
        ("content-type", "application/json"),
    ];
    let body = json!({"display_name": "Ada"}).to_string();
    let ignored = send_body(
        addr,
        Method::PATCH,
        "/users/acme@example.com",
        &headers,
        body,
    )
    .await;
    assert_eq!(ignored.status, StatusCode::OK);

    // Methods: with only PUT guarded, a keyed POST runs every time.
    let (addr, users) = backend.serve(backend.layer().methods([Method::PUT])).await;
    for _ in 0..2 {
        let answer = create(addr, "k1", "bea@example.com", &[]).await;
        assert!(answer.headers.get("idempotent-replayed").is_none());
    }
    assert_eq!(users.runs(), 2);
}

/// One test per rule and store.
macro_rules! for_each_store {
    ($($rule:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $rule() {
                    super::$rule(super::Backend::memory()).await
                }
            )*
        }

        #[cfg(feature = "redis")]
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $rule() {
                    super::$rule(super::Backend::redis()).await
                }
            )*
        }

        #[cfg(feature = "redis")]
        mod redis_replicated {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $rule() {
                    super::$rule(super::Backend::replicated()).await
                }
            )*
        }

        #[cfg(feature = "redis-cluster")]
        mod redis_cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $rule() {
                    super::$rule(super::Backend::cluster()).await
                }
            )*
        }
    };
}

for_each_store!(
    a_retry_gets_the_stored_answer_marked_as_a_replay,
    an_error_is_replayed_too,
    a_key_reused_with_another_body_is_422,
    the_same_key_while_running_is_409_with_retry_after,
    keys_that_are_missing_or_unreadable_are_400,
    keys_are_scoped_to_the_callers_credentials,
    a_dependent_of_a_failed_create_answers_424_with_its_status,
    a_chain_names_its_first_failure,
    a_dependent_waits_for_a_running_create_within_a_bound,
    an_unknown_or_expired_key_is_422_naming_it,
    an_answer_too_large_to_keep_follows_the_policy,
    request_bodies_and_depends_on_are_bounded,
    a_keyed_body_that_trickles_in_is_408_and_does_not_run,
    a_dependent_of_a_server_error_answers_as_the_policy_maps_it,
    scope_header_names_and_methods_are_the_configured_ones,
);

/// A store that is down: every operation fails at once, or never answers.
#[derive(Debug, Clone, Copy)]
enum Broken {
    Failing,
    Hanging,
}

impl Broken {
    fn fail<'a, T: Send + 'a>(self) -> StoreFuture<'a, T> {
        match self {
            Broken::Failing => {
                Box::pin(async { Err(StoreError::Unavailable("connection refused".into())) })
            }
            Broken::Hanging => Box::pin(std::future::pending()),
        }
    }
}

impl Store for Broken {
    fn claim<'a>(&'a self, _: &'a str, _: &'a Fingerprint, _: Duration) -> StoreFuture<'a, Claim> {
        self.fail()
    }
    fn complete<'a>(
        &'a self,
        _: &'a str,
        _: &'a Token,
        _: &'a StoredAnswer,
        _: Duration,
    ) -> StoreFuture<'a, bool> {
        self.fail()
    }
    fn release<'a>(&'a self, _: &'a str, _: &'a Token) -> StoreFuture<'a, ()> {
        self.fail()
    }
    fn get<'a>(&'a self, _: &'a str) -> StoreFuture<'a, Option<Slot>> {
        self.fail()
    }
}

/// With the store down, a keyed request fails closed (503, not run) or runs
/// without the guarantee, a dependent answers 503, and every answer comes
/// within the store timeout.
async fn a_store_that_is_down_follows_the_policy(layer: IdempotencyLayer) {
    let layer = layer.store_timeout(Duration::from_millis(300));
    let (addr, users) = serve(layer.clone()).await;
    let started = Instant::now();
    let refused = create(addr, "k1", "ada@example.com", &[]).await;
    let problem = refused.assert_problem(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(problem["dependency"], "idempotency_store");
    assert_eq!(refused.headers["retry-after"], "1");
    let dependent = rename(addr, "k1").await;
    let problem = dependent.assert_problem(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(problem["dependency"], "idempotency_store");
    assert_eq!(problem["skipped"], json!(["k1"]));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(users.runs(), 0, "no request ran");

    let (addr, users) = serve(layer.degrade(Degrade::RunWithoutGuarantee)).await;
    let ran = create(addr, "k1", "ada@example.com", &[]).await;
    assert_eq!(ran.status, StatusCode::CREATED);
    assert!(ran.headers.get("idempotent-replayed").is_none());
    assert_eq!(users.runs(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_fails_follows_the_policy() {
    a_store_that_is_down_follows_the_policy(IdempotencyLayer::new().store(Broken::Failing)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_never_answers_is_bounded_by_the_store_timeout() {
    a_store_that_is_down_follows_the_policy(IdempotencyLayer::new().store(Broken::Hanging)).await;
}

/// A claim whose lease lapsed can be taken by another request; the first
/// request's late answer then neither overwrites the new claim nor frees
/// it (its fencing token is no longer the key's), and the new claim's answer
/// is kept.
async fn a_late_writer_cannot_overwrite_a_newer_claim(store: impl Store) {
    let fingerprint = Fingerprint::from_bytes([7; 32]);
    let claim = |lease| store.claim("k", &fingerprint, lease);
    let Claim::Claimed(old) = claim(Duration::from_millis(100)).await.unwrap() else {
        panic!("a fresh key is free");
    };
    assert!(matches!(
        claim(Duration::from_secs(30)).await.unwrap(),
        Claim::Taken(Slot::Running { .. })
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let Claim::Claimed(new) = claim(Duration::from_secs(30)).await.unwrap() else {
        panic!("a lapsed lease frees the key");
    };
    assert_ne!(old, new);
    let expiry = Duration::from_secs(60);
    let late = StoredAnswer::new(StatusCode::CREATED, Vec::new(), "late".into());
    assert!(!store.complete("k", &old, &late, expiry).await.unwrap());
    store.release("k", &old).await.unwrap();
    assert!(matches!(
        store.get("k").await.unwrap(),
        Some(Slot::Running { token, .. }) if token == new
    ));
    let own = StoredAnswer::new(StatusCode::CREATED, Vec::new(), "own".into());
    assert!(store.complete("k", &new, &own, expiry).await.unwrap());
    match store.get("k").await.unwrap() {
        Some(Slot::Completed { answer, .. }) => assert_eq!(answer, own),
        other => panic!("the new claim's answer is kept: {other:?}"),
    }
}

mod fencing {
    use super::*;

    #[tokio::test]
    async fn memory() {
        let store = tower_failed_dependency::store::MemoryStore::new();
        a_late_writer_cannot_overwrite_a_newer_claim(store).await;
    }

    #[cfg(feature = "redis")]
    #[tokio::test]
    async fn redis() {
        let server = RedisServer::start();
        let store = tower_failed_dependency::store::RedisStore::new(&server.url()).unwrap();
        a_late_writer_cannot_overwrite_a_newer_claim(store).await;
    }

    #[cfg(feature = "redis")]
    #[tokio::test]
    async fn redis_replicated() {
        let backend = Backend::replicated();
        a_late_writer_cannot_overwrite_a_newer_claim(backend.store().unwrap()).await;
    }

    #[cfg(feature = "redis-cluster")]
    #[tokio::test]
    async fn redis_cluster() {
        let backend = Backend::cluster();
        a_late_writer_cannot_overwrite_a_newer_claim(backend.store().unwrap()).await;
    }
}

#[cfg(feature = "redis")]
mod redis_down {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stopped_redis_follows_the_policy() {
        let mut backend = Backend::redis();
        let layer = backend.layer();
        let (addr, users) = serve(layer.clone().store_timeout(Duration::from_millis(500))).await;
        assert_eq!(
            create(addr, "k0", "ada@example.com", &[]).await.status,
            StatusCode::CREATED
        );
        backend.redis.as_mut().unwrap().stop();
        a_store_that_is_down_follows_the_policy(layer).await;
        let refused = create(addr, "k0", "ada@example.com", &[]).await;
        refused.assert_problem(StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(users.runs(), 1, "nothing ran after Redis stopped");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_redis_that_accepts_but_never_answers_bounds_every_request() {
        let backend = Backend::redis();
        let layer = backend.layer().store_timeout(Duration::from_millis(300));
        let (addr, users) = serve(layer).await;
        assert_eq!(
            create(addr, "k0", "ada@example.com", &[]).await.status,
            StatusCode::CREATED
        );
        let server = backend.redis.as_ref().unwrap();
        server.pause();
        let started = Instant::now();
        let (retry, fresh, dependent) = tokio::join!(
            create(addr, "k0", "ada@example.com", &[]),
            create(addr, "k1", "grace@example.com", &[]),
            rename(addr, "k0"),
        );
        let elapsed = started.elapsed();
        server.resume();
        for answer in [&retry, &fresh, &dependent] {
            let problem = answer.assert_problem(StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(problem["dependency"], "idempotency_store");
        }
        assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
        assert_eq!(users.runs(), 1, "nothing ran while Redis was paused");
        // Once it answers again, so does the layer.
        let mut replay = create(addr, "k0", "ada@example.com", &[]).await;
        for _ in 0..20 {
            if replay.status == StatusCode::CREATED {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            replay = create(addr, "k0", "ada@example.com", &[]).await;
        }
        assert_eq!(replay.status, StatusCode::CREATED);
        assert_eq!(replay.headers["idempotent-replayed"], "true");
    }
}

/// Readiness is the inner service's; a keyed request releases the readiness
/// it was given and drives its own to call the inner service, and a replay
/// never reaches the inner service.
#[tokio::test]
async fn readiness_is_the_inner_services_and_a_replay_never_reaches_it() {
    use bytes::Bytes;
    use http::{Request, Response};
    use http_body_util::{BodyExt, Full};
    use std::task::Poll;
    use tower_failed_dependency::idempotency::Verdict;
    use tower_failed_dependency::RequestBody;
    use tower_test::mock;

    let keyed = || {
        Request::post("/users")
            .header("idempotency-key", "k1")
            .body(Full::from("{\"email\":\"ada@example.com\"}"))
            .unwrap()
    };
    let (mut service, mut handle) =
        mock::spawn_layer::<Request<RequestBody<Full<Bytes>>>, Response<Full<Bytes>>, _>(
            IdempotencyLayer::new(),
        );

    handle.allow(0);
    assert!(service.poll_ready().is_pending());
    handle.allow(1);
    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
    // The mock forgets the readiness the layer releases: one more for the
    // keyed request's own.
    handle.allow(1);
    let (first, ()) = tokio::join!(service.call(keyed()), async {
        let (request, send) = handle.next_request().await.expect("the request arrives");
        let body = request.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            body, "{\"email\":\"ada@example.com\"}",
            "the body read whole"
        );
        send.send_response(Response::new(Full::from("created")));
    });
    let first = first.unwrap();
    assert_eq!(
        first.into_body().collect().await.unwrap().to_bytes(),
        "created"
    );

    handle.allow(1);
    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
    let replay = service.call(keyed()).await.unwrap();
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(
        replay.extensions().get::<Verdict>(),
        Some(&Verdict::Replayed)
    );
    assert!(
        matches!(handle.poll_request(), Poll::Pending),
        "a replay does not run"
    );
}

/// A body whose bytes arrive when the test sends them.
struct Trickle(tokio::sync::mpsc::Receiver<bytes::Bytes>);

impl http_body::Body for Trickle {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|data| data.map(|data| Ok(http_body::Frame::data(data))))
    }
}

/// A keyed request whose body is still arriving does not hold the
/// readiness of the service inside: behind `ConcurrencyLimit(1)`, a plain
/// request is answered meanwhile.
#[tokio::test]
async fn a_keyed_request_reading_its_body_holds_no_permit_of_the_service_inside() {
    use http::{Request, Response};
    use http_body_util::{BodyExt, Full};
    use tower::{service_fn, ServiceBuilder, ServiceExt};
    use tower_failed_dependency::RequestBody;

    let handler = service_fn(|request: Request<RequestBody<Trickle>>| async move {
        let body = request.into_body().collect().await.unwrap().to_bytes();
        Ok::<_, std::convert::Infallible>(Response::new(Full::new(body)))
    });
    let service = ServiceBuilder::new()
        .layer(IdempotencyLayer::new())
        .concurrency_limit(1)
        .service(handler);

    let (send, receive) = tokio::sync::mpsc::channel(1);
    let keyed = Request::post("/users")
        .header("idempotency-key", "slow")
        .body(Trickle(receive))
        .unwrap();
    let slow = tokio::spawn(service.clone().oneshot(keyed));
    send.send(bytes::Bytes::from_static(b"half")).await.unwrap();

    let (_unused, plain_body) = tokio::sync::mpsc::channel(1);
    drop(_unused);
    let plain = Request::get("/health").body(Trickle(plain_body)).unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), service.clone().oneshot(plain))
        .await
        .expect("a plain request is answered while the keyed body arrives")
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);

    send.send(bytes::Bytes::from_static(b" and half"))
        .await
        .unwrap();
    drop(send);
    let created = tokio::time::timeout(Duration::from_secs(5), slow)
        .await
        .expect("the keyed request ends")
        .unwrap()
        .unwrap();
    assert_eq!(
        created.into_body().collect().await.unwrap().to_bytes(),
        "half and half"
    );
}
