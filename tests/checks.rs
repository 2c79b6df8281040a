//! Checks the layer runs itself: order, concurrency, skips, bounds, panics
//! and backpressure.

#![cfg(feature = "checks")]

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};
use tower::{service_fn, Service, ServiceBuilder, ServiceExt};
use tower_failed_dependency::checks::{CheckedLayer, GraphError, Prerequisite, RequestHead};
use tower_failed_dependency::{Dependencies, DependencyLayer, Failure, Outcome};
use tower_test::mock;

/// What happened, in order: "start x", "end x", "handler".
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, event: impl Into<String>) {
        self.0.lock().unwrap().push(event.into());
    }

    fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    fn position(&self, event: &str) -> usize {
        let events = self.events();
        events
            .iter()
            .position(|e| e == event)
            .unwrap_or_else(|| panic!("no {event:?} in {events:?}"))
    }
}

/// A check that logs its start and end, waits `wait`, then answers `result`.
fn step(
    log: &Log,
    name: &'static str,
    wait: Duration,
    result: Result<(), Failure>,
) -> impl Prerequisite<Value = ()> {
    let log = log.clone();
    move |_: RequestHead| {
        let log = log.clone();
        let result = result.clone();
        async move {
            log.push(format!("start {name}"));
            tokio::time::sleep(wait).await;
            log.push(format!("end {name}"));
            result
        }
    }
}

type Handler = tower::util::BoxCloneService<Request<()>, Response<Full<Bytes>>, Infallible>;

/// A handler that logs its call and answers 200 with the record it saw.
fn handler(log: &Log) -> Handler {
    let log = log.clone();
    tower::util::BoxCloneService::new(service_fn(move |request: Request<()>| {
        log.push("handler");
        let record: Vec<String> = request
            .extensions()
            .get::<Dependencies>()
            .map(|record| {
                record
                    .iter()
                    .map(|(name, outcome)| format!("{name}: {}", describe(outcome)))
                    .collect()
            })
            .unwrap_or_default();
        async move {
            let body = serde_json::to_vec(&record).unwrap();
            Ok(Response::new(Full::from(body)))
        }
    }))
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Succeeded => "succeeded".to_owned(),
        Outcome::Failed(failure) => format!("failed ({})", failure.kind()),
        Outcome::Skipped { because } => format!("skipped because {because}"),
        _ => "other".to_owned(),
    }
}

async fn call(layer: CheckedLayer, handler: Handler, request: Request<()>) -> (StatusCode, Value) {
    let response = ServiceBuilder::new()
        .layer(layer)
        .service(handler)
        .oneshot(request)
        .await
        .unwrap();
    decode(response).await
}

async fn decode<B>(response: Response<B>) -> (StatusCode, Value)
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body =
        serde_json::from_slice(&body).unwrap_or_else(|_| json!(String::from_utf8_lossy(&body)));
    (status, body)
}

const MS: Duration = Duration::from_millis(1);

#[tokio::test(start_paused = true)]
async fn independent_checks_run_concurrently_and_dependents_wait() {
    let log = Log::default();
    let layer = DependencyLayer::new()
        .check("auth", step(&log, "auth", MS, Ok(())))
        .check("inventory", step(&log, "inventory", 200 * MS, Ok(())))
        .after(["auth"])
        .check(
            "payment_limit",
            step(&log, "payment_limit", 200 * MS, Ok(())),
        )
        .after(["auth"])
        .build()
        .unwrap();

    let started = tokio::time::Instant::now();
    let (status, body) = call(layer, handler(&log), Request::new(())).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!([
            "auth: succeeded",
            "inventory: succeeded",
            "payment_limit: succeeded"
        ])
    );
    // Both 200 ms checks started before either ended, after "auth" ended.
    assert!(log.position("end auth") < log.position("start inventory"));
    assert!(log.position("end auth") < log.position("start payment_limit"));
    assert!(log.position("start inventory") < log.position("end payment_limit"));
    assert!(log.position("start payment_limit") < log.position("end inventory"));
    assert_eq!(log.events().last().unwrap(), "handler");
    // The paused clock advanced by the longest chain, not the sum.
    assert!(started.elapsed() < 300 * MS, "{:?}", started.elapsed());
}

#[tokio::test(start_paused = true)]
async fn a_refused_first_check_skips_every_dependent_and_names_the_root_cause() {
    let log = Log::default();
    let layer = DependencyLayer::new()
        .check(
            "auth",
            step(
                &log,
                "auth",
                MS,
                Err(Failure::rejected(StatusCode::UNAUTHORIZED)),
            ),
        )
        .check("inventory", step(&log, "inventory", MS, Ok(())))
        .after(["auth"])
        .check("payment_limit", step(&log, "payment_limit", MS, Ok(())))
        .after(["auth"])
        .check("receipt", step(&log, "receipt", MS, Ok(())))
        .after(["inventory", "payment_limit"])
        .build()
        .unwrap();

    let (status, body) = call(layer, handler(&log), Request::new(())).await;

    assert_eq!(status, StatusCode::FAILED_DEPENDENCY);
    assert_eq!(body["dependency"], "auth");
    assert_eq!(body["dependency_status"], 401);
    assert_eq!(body["status"], 424);
    assert_eq!(
        body["skipped"],
        json!(["inventory", "payment_limit", "receipt"])
    );
    assert_eq!(log.events(), ["start auth", "end auth"], "nothing else ran");
}

#[tokio::test(start_paused = true)]
async fn the_root_cause_follows_declaration_order_not_completion_order() {
    let log = Log::default();
    let layer = DependencyLayer::new()
        .check(
            "lock",
            step(
                &log,
                "lock",
                50 * MS,
                Err(Failure::rejected(StatusCode::LOCKED)),
            ),
        )
        .check(
            "quota",
            step(
                &log,
                "quota",
                MS,
                Err(Failure::rejected(StatusCode::FORBIDDEN)),
            ),
        )
        .build()
        .unwrap();

    let (status, body) = call(layer, handler(&log), Request::new(())).await;

    assert!(log.position("end quota") < log.position("end lock"));
    assert_eq!(status, StatusCode::FAILED_DEPENDENCY);
    assert_eq!(body["dependency"], "lock");
    assert_eq!(body["dependency_status"], 423);
}

/// Sets its flag when dropped: a check's future that was cancelled.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn checks_that_cannot_change_a_decided_answer_are_dropped() {
    let log = Log::default();
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&dropped);
    let layer = DependencyLayer::new()
        .check(
            "auth",
            step(
                &log,
                "auth",
                5 * MS,
                Err(Failure::rejected(StatusCode::FORBIDDEN)),
            ),
        )
        .check("audit", move |_: RequestHead| {
            let guard = DropFlag(Arc::clone(&flag));
            async move {
                let _guard = guard;
                std::future::pending::<Result<(), Failure>>().await
            }
        })
        .build()
        .unwrap();

    let started = tokio::time::Instant::now();
    let (status, body) = call(layer, handler(&log), Request::new(())).await;

    assert_eq!(status, StatusCode::FAILED_DEPENDENCY);
    assert_eq!(body["dependency"], "auth");
    assert_eq!(body["skipped"], json!(["audit"]));
    assert!(
        dropped.load(Ordering::SeqCst),
        "the running check was dropped"
    );
    assert_eq!(
        started.elapsed(),
        5 * MS,
        "answered at the decisive failure"
    );
}

#[tokio::test(start_paused = true)]
async fn a_slow_check_times_out_as_504_and_the_deadline_bounds_them_all() {
    let log = Log::default();
    let layer = DependencyLayer::new()
        .check("pricing", step(&log, "pricing", 10 * MS, Ok(())))
        .check("inventory", step(&log, "inventory", 10_000 * MS, Ok(())))
        .timeout(100 * MS)
        .build()
        .unwrap();
    let (status, body) = call(layer, handler(&log), Request::new(())).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body["dependency"], "inventory");
    assert_eq!(body["retryable"], true);
    assert!(!log.events().contains(&"handler".to_owned()));

    let log = Log::default();
    let started = tokio::time::Instant::now();
    let layer = DependencyLayer::new()
        .check("pricing", step(&log, "pricing", 60 * MS, Ok(())))
        .check("inventory", step(&log, "inventory", 60 * MS, Ok(())))
        .after(["pricing"])
        .deadline(100 * MS)
        .build()
        .unwrap();
    let (status, body) = call(layer, handler(&log), Request::new(())).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body["dependency"], "inventory");
    assert_eq!(started.elapsed(), 100 * MS);
}

#[tokio::test]
async fn a_panicking_check_answers_500_and_the_service_keeps_serving() {
    let log = Log::default();
    let layer = DependencyLayer::new()
        .check("auth", step(&log, "auth", MS, Ok(())))
        .check("fraud", |head: RequestHead| {
            let explode = head.headers.contains_key("x-explode-early");
            if explode {
                panic!("secret connection string in the panic message");
            }
            let explode = head.headers.contains_key("x-explode");
            async move {
                if explode {
                    panic!("secret connection string in the panic message");
                }
                Ok(())
            }
        })
        .build()
        .unwrap();
    let mut service = ServiceBuilder::new().layer(layer).service(handler(&log));

    for header in ["x-explode", "x-explode-early"] {
        let request = Request::builder().header(header, "1").body(()).unwrap();
        let response = service.ready().await.unwrap().call(request).await.unwrap();
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let (status, body) = decode(response).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{header}");
        assert_eq!(body["dependency"], "fraud");
        assert!(!body.to_string().contains("secret"), "{body}");
        assert!(!body.to_string().contains("panic"), "{body}");
    }

    let response = service
        .ready()
        .await
        .unwrap()
        .call(Request::new(()))
        .await
        .unwrap();
    let (status, body) = decode(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!(["auth: succeeded", "fraud: succeeded"]));
}

#[derive(Debug, Clone, PartialEq)]
struct Reservation(u32);

#[tokio::test]
async fn the_handler_reads_the_value_a_check_produced() {
    let layer = DependencyLayer::new()
        .check("inventory", |head: RequestHead| async move {
            let count = head.uri.query().map_or(1, |q| q.len() as u32);
            Ok(Reservation(count))
        })
        .build()
        .unwrap();
    let service =
        ServiceBuilder::new()
            .layer(layer)
            .service(service_fn(|request: Request<()>| async move {
                let reservation = request.extensions().get::<Reservation>().cloned();
                let body = format!("{reservation:?}");
                Ok::<_, Infallible>(Response::new(Full::from(body)))
            }));
    let request = Request::get("/orders?n=3").body(()).unwrap();
    let (status, body) = decode(service.oneshot(request).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "Some(Reservation(3))");
}

#[tokio::test]
async fn requirements_and_checks_mix() {
    let log = Log::default();
    let layer = DependencyLayer::new()
        .require("session")
        .check("inventory", step(&log, "inventory", MS, Ok(())))
        .after(["session"])
        .build()
        .unwrap();

    let mut request = Request::new(());
    request
        .extensions_mut()
        .get_or_insert_with(Dependencies::new)
        .record_success("session");
    let (status, body) = call(layer.clone(), handler(&log), request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!(["session: succeeded", "inventory: succeeded"]));

    let log = Log::default();
    let mut request = Request::new(());
    request
        .extensions_mut()
        .get_or_insert_with(Dependencies::new)
        .record_failure("session", Failure::rejected(StatusCode::UNAUTHORIZED));
    let (status, body) = call(layer.clone(), handler(&log), request).await;
    assert_eq!(status, StatusCode::FAILED_DEPENDENCY);
    assert_eq!(body["dependency"], "session");
    assert_eq!(body["skipped"], json!(["inventory"]));
    assert!(log.events().is_empty(), "{:?}", log.events());

    // Nobody recorded "session": a wiring bug, 500 by default.
    let (status, body) = call(layer, handler(&log), Request::new(())).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["dependency"], "session");
}

#[test]
fn a_bad_graph_is_refused_when_the_layer_is_built() {
    let ok = |_: RequestHead| async { Ok(()) };

    let error = DependencyLayer::new()
        .check("a", ok)
        .after(["c"])
        .check("b", ok)
        .after(["a"])
        .check("c", ok)
        .after(["b"])
        .build()
        .unwrap_err();
    assert!(matches!(error, GraphError::Cycle(_)));
    assert_eq!(
        error.to_string(),
        "checks wait for each other in a cycle: a -> c -> b -> a"
    );

    let error = DependencyLayer::new()
        .check("a", ok)
        .after(["nope"])
        .build()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "check 'a' runs after 'nope', which is neither a check nor a requirement of this layer"
    );

    let error = DependencyLayer::new()
        .require("auth")
        .check("auth", ok)
        .build()
        .unwrap_err();
    assert_eq!(error.to_string(), "prerequisite 'auth' is declared twice");

    let error = DependencyLayer::new()
        .check("a", ok)
        .check("a", ok)
        .build()
        .unwrap_err();
    assert!(matches!(error, GraphError::Duplicate(name) if name == "a"));
}

fn locked(held: bool) -> Request<()> {
    let mut request = Request::new(());
    if held {
        request.headers_mut().insert("x-lock", "1".parse().unwrap());
    }
    request
}

#[tokio::test]
async fn refused_requests_complete_while_the_inner_service_is_not_ready() {
    let layer = DependencyLayer::new()
        .check("lock", |head: RequestHead| {
            let held = head.headers.contains_key("x-lock");
            async move {
                match held {
                    true => Ok(()),
                    false => Err(Failure::rejected(StatusCode::LOCKED)),
                }
            }
        })
        .build()
        .unwrap();
    let (mut service, mut handle) =
        mock::spawn_layer::<Request<()>, Response<Full<Bytes>>, _>(layer);
    handle.allow(0);

    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
    let admitted = tokio::spawn(service.call(locked(true)));
    for _ in 0..3 {
        assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
        let refused = service.call(locked(false)).await.unwrap();
        assert_eq!(refused.status(), StatusCode::FAILED_DEPENDENCY);
        let (_, body) = decode(refused).await;
        assert_eq!(body["dependency"], "lock");
    }
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(!admitted.is_finished(), "waits for the inner service");
    assert!(handle.poll_request().is_pending(), "no request reached it");

    handle.allow(1);
    let (request, send) = handle.next_request().await.unwrap();
    assert!(request.headers().contains_key("x-lock"));
    let record = request.extensions().get::<Dependencies>().unwrap();
    assert!(record.get("lock").unwrap().is_success());
    send.send_response(Response::new(Full::from("ran")));
    let response = admitted.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
