//! What `DependencyLayer` answers, decided from the request's record.

mod support;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderName, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};
use tower::{service_fn, ServiceBuilder, ServiceExt};
use tower_failed_dependency::{
    Dependencies, DependencyError, DependencyLayer, Failure, FailureKind, Guard, StatusPolicy,
};

type Handler = tower::util::BoxCloneService<Request<()>, Response<Full<Bytes>>, Infallible>;

/// A handler that counts its calls and answers 200 "ran".
fn counting(calls: &Arc<AtomicUsize>) -> Handler {
    let calls = Arc::clone(calls);
    tower::util::BoxCloneService::new(service_fn(move |_: Request<()>| {
        calls.fetch_add(1, Ordering::SeqCst);
        async { Ok(Response::new(Full::from("ran"))) }
    }))
}

fn answering(response: fn() -> Response<Full<Bytes>>) -> Handler {
    tower::util::BoxCloneService::new(service_fn(
        move |_: Request<()>| async move { Ok(response()) },
    ))
}

fn request(record: impl FnOnce(&mut Dependencies)) -> Request<()> {
    let mut dependencies = Dependencies::new();
    record(&mut dependencies);
    let mut request = Request::new(());
    request.extensions_mut().insert(dependencies);
    request
}

async fn call(
    layer: DependencyLayer,
    handler: Handler,
    request: Request<()>,
) -> (StatusCode, Value) {
    let response = ServiceBuilder::new()
        .layer(layer)
        .service(handler)
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body =
        serde_json::from_slice(&body).unwrap_or_else(|_| json!(String::from_utf8_lossy(&body)));
    (status, body)
}

#[tokio::test]
async fn the_inner_service_is_not_called_when_a_prerequisite_is_unmet() {
    let calls = Arc::new(AtomicUsize::new(0));
    let layer = DependencyLayer::new().require("auth").require("lock");
    type Recorder = fn(&mut Dependencies);
    let unmet: [(&str, Recorder, u16); 4] = [
        (
            "refused",
            |r| {
                r.record_success("auth")
                    .record_failure("lock", Failure::rejected(StatusCode::LOCKED));
            },
            424,
        ),
        (
            "down",
            |r| {
                r.record_failure("auth", Failure::unavailable());
            },
            503,
        ),
        (
            "skipped",
            |r| {
                r.record_failure("x", Failure::timeout())
                    .record_skipped("auth", "x");
            },
            504,
        ),
        (
            "unrecorded",
            |r| {
                r.record_success("auth");
            },
            500,
        ),
    ];
    for (case, record, status) in unmet {
        let (got, _) = call(layer.clone(), counting(&calls), request(record)).await;
        assert_eq!(got.as_u16(), status, "{case}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    let (status, body) = call(
        layer,
        counting(&calls),
        request(|r| {
            r.record_success("lock").record_success("auth");
        }),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!("ran")));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_first_unmet_requirement_in_require_order_decides() {
    let layer = DependencyLayer::new().require("auth").require("inventory");
    let (status, body) = call(
        layer,
        counting(&Arc::default()),
        request(|r| {
            r.record_failure("inventory", Failure::rejected(StatusCode::CONFLICT))
                .record_failure("auth", Failure::unavailable());
        }),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["dependency"], "auth");
}

#[tokio::test]
async fn a_skipped_requirement_answers_for_its_root_cause() {
    let layer = DependencyLayer::new().require("payment");
    let (status, body) = call(
        layer,
        counting(&Arc::default()),
        request(|r| {
            r.record_failure("inventory", Failure::rejected(StatusCode::CONFLICT))
                .record_skipped("shipping", "inventory")
                .record_skipped("payment", "inventory");
        }),
    )
    .await;
    assert_eq!(status, StatusCode::FAILED_DEPENDENCY);
    assert_eq!(body["dependency"], "inventory");
    assert_eq!(body["dependency_status"], 409);
    assert_eq!(body["skipped"], json!(["shipping", "payment"]));
}

#[tokio::test]
async fn a_skip_with_no_recorded_cause_is_our_fault() {
    let layer = DependencyLayer::new().require("payment");
    let (status, body) = call(
        layer,
        counting(&Arc::default()),
        request(|r| {
            r.record_skipped("payment", "inventory");
        }),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["dependency"], "payment");
}

#[tokio::test]
async fn an_unevaluated_requirement_is_500_unless_the_policy_says_otherwise() {
    let (status, body) = call(
        DependencyLayer::new().require("auth"),
        counting(&Arc::default()),
        Request::new(()),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["dependency"], "auth");

    let policy = StatusPolicy::builder()
        .unevaluated(FailureKind::PreconditionRequired)
        .build()
        .unwrap();
    let layer = DependencyLayer::new().require("lock").policy(policy);
    let (status, body) = call(layer, counting(&Arc::default()), Request::new(())).await;
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(body["dependency"], "lock");
}

#[tokio::test]
async fn the_layer_gives_inner_services_a_record_to_write_into() {
    let seen = service_fn(|request: Request<()>| async move {
        let present = request.extensions().get::<Dependencies>().is_some();
        Ok::<_, Infallible>(Response::new(Full::from(present.to_string())))
    });
    let (status, body) = call(
        DependencyLayer::new(),
        tower::util::BoxCloneService::new(seen),
        Request::new(()),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!(true)));
}

#[tokio::test]
async fn a_dependency_error_is_rendered_with_the_enclosing_layers_policy() {
    let failing = service_fn(|_: Request<()>| async {
        let error = DependencyError::new("inventory", Failure::rejected(StatusCode::CONFLICT));
        Ok::<_, Infallible>(Response::from(error))
    });
    let strict = DependencyLayer::new().policy(StatusPolicy::strict());
    let mut request = Request::new(());
    request
        .headers_mut()
        .insert("x-request-id", "abc-1".parse().unwrap());
    let response = ServiceBuilder::new()
        .layer(strict)
        .service(failing)
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let error = response
        .extensions()
        .get::<DependencyError>()
        .expect("typed error kept");
    assert_eq!(error.name(), "inventory");
    let body: Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["status"], 409);
    assert_eq!(body["dependency"], "inventory");
    assert_eq!(body["request_id"], "abc-1");
}

#[tokio::test]
async fn the_guard_enforces_or_warns_about_bare_424s() {
    let bare = || {
        answering(|| {
            let mut response = Response::new(Full::from("nope"));
            *response.status_mut() = StatusCode::FAILED_DEPENDENCY;
            response
        })
    };
    let (status, body) = call(DependencyLayer::new(), bare(), Request::new(())).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["status"], 500);

    let warn = StatusPolicy::builder().guard(Guard::Warn).build().unwrap();
    let (status, body) = call(
        DependencyLayer::new().policy(warn),
        bare(),
        Request::new(()),
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::FAILED_DEPENDENCY, json!("nope"))
    );
}

#[tokio::test]
async fn an_inner_layers_424_passes_an_outer_layer_unchanged() {
    let service = ServiceBuilder::new()
        .layer(DependencyLayer::new())
        .layer(DependencyLayer::new().require("lock"))
        .service(counting(&Arc::default()));
    let response = service
        .oneshot(request(|r| {
            r.record_failure("lock", Failure::rejected(StatusCode::LOCKED));
        }))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FAILED_DEPENDENCY);
    let body: Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["dependency"], "lock");
    assert_eq!(body["dependency_status"], 423);
}

#[tokio::test]
async fn request_ids_are_echoed_only_when_safe_and_from_the_configured_header() {
    let refused = || {
        request(|r| {
            r.record_failure("auth", Failure::rejected(StatusCode::FORBIDDEN));
        })
    };
    let layer = DependencyLayer::new().require("auth");
    for (value, echoed) in [
        (&b"3f2a9c1e-7b4d"[..], Some("3f2a9c1e-7b4d")),
        (b"a b", None),
        (b"<script>alert(1)</script>", None),
        (b"\xffid", None),
        (&[b'x'; 129][..], None),
    ] {
        let mut request = refused();
        request.headers_mut().insert(
            "x-request-id",
            http::HeaderValue::from_bytes(value).unwrap(),
        );
        let (_, body) = call(layer.clone(), counting(&Arc::default()), request).await;
        assert_eq!(
            body.get("request_id").and_then(Value::as_str),
            echoed,
            "{value:?}"
        );
    }

    let custom = layer.request_id_header(HeaderName::from_static("x-correlation-id"));
    let mut request = refused();
    request
        .headers_mut()
        .insert("x-correlation-id", "corr-9".parse().unwrap());
    let (_, body) = call(custom, counting(&Arc::default()), request).await;
    assert_eq!(body["request_id"], "corr-9");
}

#[tokio::test]
async fn the_policys_hook_and_type_base_shape_every_problem() {
    let policy = StatusPolicy::builder()
        .type_base("https://errors.example.com/")
        .on_problem(|problem| {
            problem
                .insert_member("docs_url", "https://docs.example.com/errors")
                .unwrap();
        })
        .build()
        .unwrap();
    let layer = DependencyLayer::new().require("db").policy(policy);
    let (status, body) = call(
        layer,
        counting(&Arc::default()),
        request(|r| {
            r.record_failure("db", Failure::timeout());
        }),
    )
    .await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body["type"], "https://errors.example.com/timeout");
    assert_eq!(body["title"], "Dependency timed out");
    assert_eq!(body["docs_url"], "https://docs.example.com/errors");
}

#[tokio::test]
async fn a_plain_hyper_server_answers_through_the_layer() {
    let service = ServiceBuilder::new()
        .map_request(|mut request: Request<hyper::body::Incoming>| {
            let held = request
                .headers()
                .get("lock-token")
                .is_some_and(|t| t == "mine");
            let record = request
                .extensions_mut()
                .get_or_insert_with(Dependencies::new);
            if held {
                record.record_success("lock");
            } else {
                record.record_failure("lock", Failure::rejected(StatusCode::LOCKED));
            }
            request
        })
        .layer(DependencyLayer::new().require("lock"))
        .service(service_fn(|_| async {
            Ok::<_, Infallible>(Response::new(Full::from("saved")))
        }));
    let addr = support::serve(service).await;

    let answer = support::send(addr, Method::PUT, "/doc", &[("lock-token", "theirs")]).await;
    let body = answer.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(body["dependency_status"], 423);
    let answer = support::send(addr, Method::PUT, "/doc", &[("lock-token", "mine")]).await;
    assert_eq!(
        (answer.status, answer.text().as_str()),
        (StatusCode::OK, "saved")
    );
}

#[tokio::test]
async fn tower_https_request_id_reaches_the_problem() {
    use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

    let service = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(DependencyLayer::new().require("auth"))
        .service(counting(&Arc::default()));
    let response = service.oneshot(Request::new(())).await.unwrap();
    let propagated = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["request_id"], propagated.as_str());
    assert_eq!(propagated.len(), 36, "a UUID: {propagated}");
}
