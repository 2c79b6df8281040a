//! For any interleaving of keyed requests and their retries, the handler runs
//! at most once per (scope, key), and every answer a client gets for a key
//! is the kept one, or a 409 (still running) or 422 (another request under
//! that key).

#![cfg(feature = "idempotency")]

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use proptest::prelude::*;
use tower::{service_fn, Layer, Service, ServiceExt};
use tower_failed_dependency::idempotency::IdempotencyLayer;
use tower_failed_dependency::RequestBody;

/// One request: whose, which key, which body, and how many times its
/// handler yields (so that runs overlap in every order).
#[derive(Debug, Clone)]
struct Op {
    scope: u8,
    key: u8,
    body: u8,
    yields: u8,
}

fn op() -> impl Strategy<Value = Op> {
    (0..2u8, 0..3u8, 0..2u8, 0..4u8).prop_map(|(scope, key, body, yields)| Op {
        scope,
        key,
        body,
        yields,
    })
}

type Runs = Arc<Mutex<HashMap<(String, String), usize>>>;

/// Sends `batches` (each batch at once, batches one after the other) and
/// returns every answer by (scope, key), with the handler's runs.
async fn play(
    batches: Vec<Vec<Op>>,
) -> (HashMap<(String, String), Vec<(StatusCode, Bytes)>>, Runs) {
    let runs: Runs = Arc::default();
    let counter = Arc::new(AtomicUsize::new(0));
    let handler = {
        let runs = Arc::clone(&runs);
        service_fn(move |request: Request<RequestBody<Full<Bytes>>>| {
            let runs = Arc::clone(&runs);
            let run = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                let header = |name| {
                    request.headers()[name]
                        .to_str()
                        .unwrap_or_default()
                        .to_owned()
                };
                let id = (header("authorization"), header("idempotency-key"));
                *runs.lock().unwrap().entry(id).or_default() += 1;
                let yields: u8 = header("x-yields").parse().unwrap_or(0);
                for _ in 0..yields {
                    tokio::task::yield_now().await;
                }
                let body = request.into_body().collect().await.unwrap().to_bytes();
                let status = if body.as_ref() == b"body-1" {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::CREATED
                };
                let mut response = Response::new(Full::new(Bytes::from(format!("run {run}"))));
                *response.status_mut() = status;
                Ok::<_, Infallible>(response)
            }
        })
    };
    let service = IdempotencyLayer::new().layer(handler);
    let mut answers: HashMap<_, Vec<_>> = HashMap::new();
    for batch in batches {
        let mut tasks = tokio::task::JoinSet::new();
        for op in batch {
            let mut service = service.clone();
            tasks.spawn(async move {
                let scope = format!("Bearer client-{}", op.scope);
                let key = format!("key-{}", op.key);
                let request = Request::post("/things")
                    .header("authorization", &scope)
                    .header("idempotency-key", &key)
                    .header("x-yields", op.yields.to_string())
                    .body(Full::new(Bytes::from(format!("body-{}", op.body))))
                    .unwrap();
                let response = service.ready().await.unwrap().call(request).await.unwrap();
                let status = response.status();
                let body = response.into_body().collect().await.unwrap().to_bytes();
                ((scope, key), (status, body))
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (id, answer) = done.unwrap();
            answers.entry(id).or_default().push(answer);
        }
    }
    (answers, runs)
}

/// Whether `body` is the layer's own problem with `code`.
fn layer_problem(body: &[u8], code: &str) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|problem| problem["code"] == code)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn each_key_runs_at_most_once_and_answers_only_its_kept_answer(
        batches in prop::collection::vec(prop::collection::vec(op(), 1..6), 1..6)
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
            .unwrap();
        let (answers, runs) = runtime.block_on(play(batches));
        let runs = runs.lock().unwrap();
        for (id, count) in runs.iter() {
            prop_assert!(*count <= 1, "{id:?} ran {count} times");
        }
        for (id, answers) in &answers {
            let kept: Vec<_> = answers
                .iter()
                .filter(|(status, body)| {
                    let in_use = *status == StatusCode::CONFLICT
                        && layer_problem(body, "IDEMPOTENCY_KEY_IN_USE");
                    let reused = *status == StatusCode::UNPROCESSABLE_ENTITY
                        && layer_problem(body, "IDEMPOTENCY_KEY_REUSED");
                    !(in_use || reused)
                })
                .collect();
            if let Some(first) = kept.first() {
                prop_assert!(runs.contains_key(id), "{id:?} answered without a run");
                for answer in &kept {
                    prop_assert_eq!(answer, first, "{:?} answered two different answers", id);
                }
                prop_assert!(
                    first.1.starts_with(b"run "),
                    "{:?}: {:?} is no handler's answer", id, first
                );
            }
        }
    }
}
