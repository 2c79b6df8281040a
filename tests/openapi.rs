//! The `utoipa` feature: an OpenAPI 3.1 document holding the `Problem`
//! schema, and the problem bodies the crate renders validated against that
//! schema as a JSON Schema (2020-12, the dialect of OpenAPI 3.1).

#![cfg(feature = "utoipa")]

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};
use tower::{service_fn, ServiceExt};
use tower_failed_dependency::{
    Cause, Dependencies, DependencyLayer, Failure, Problem, ProblemBody, StatusPolicy,
};
use tower_layer::Layer;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(components(schemas(Problem)))]
struct ApiDoc;

/// The document as JSON, after checking that it reads back as an OpenAPI
/// 3.1 document.
fn document() -> Value {
    let json = ApiDoc::openapi().to_pretty_json().unwrap();
    let parsed: utoipa::openapi::OpenApi =
        serde_json::from_str(&json).expect("the JSON reads back as an OpenAPI document");
    assert!(parsed
        .components
        .as_ref()
        .is_some_and(|components| components.schemas.contains_key("Problem")));
    let document: Value = serde_json::from_str(&json).unwrap();
    let version = document["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1"), "OpenAPI {version}");
    document
}

/// Every `$ref` found in `value`.
fn refs(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                found.insert(target.clone());
            }
            map.values().for_each(|value| refs(value, found));
        }
        Value::Array(items) => items.iter().for_each(|value| refs(value, found)),
        _ => {}
    }
}

/// A validator for the `Problem` component: the whole document is the root
/// schema, so that the components' `#/components/schemas/...` references
/// resolve, and the root's own `$ref` points at `Problem` (the document's
/// other members are not JSON Schema keywords, and are ignored). Formats are
/// asserted, not only annotated.
fn validator() -> jsonschema::Validator {
    let mut root = document();
    root["$ref"] = json!("#/components/schemas/Problem");
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .expect("the Problem component compiles as a JSON Schema")
}

fn assert_valid(validator: &jsonschema::Validator, body: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{body}\n{errors:#?}");
}

fn assert_invalid(validator: &jsonschema::Validator, body: &Value) {
    assert!(!validator.is_valid(body), "accepted: {body}");
}

/// A response's body as JSON, after checking the problem's content type.
async fn problem_of<B>(response: Response<B>) -> Value
where
    B: Body,
    B::Error: std::fmt::Debug,
{
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    json_of(response).await
}

async fn json_of<B>(response: Response<B>) -> Value
where
    B: Body,
    B::Error: std::fmt::Debug,
{
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

async fn rendered(response: Response<ProblemBody>) -> Value {
    problem_of(response).await
}

#[test]
fn the_document_holds_every_component_it_refers_to() {
    let document = document();
    let schemas = document["components"]["schemas"].as_object().unwrap();
    assert_eq!(
        schemas.keys().collect::<Vec<_>>(),
        ["Problem", "ProblemCause"]
    );
    let mut found = BTreeSet::new();
    refs(&document, &mut found);
    assert!(found.contains("#/components/schemas/ProblemCause"));
    for target in found {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{target} is not a component"));
        assert!(schemas.contains_key(name), "{target} is missing");
    }
    for (name, schema) in schemas {
        assert!(
            jsonschema::draft202012::meta::is_valid(schema),
            "{name} is not a valid JSON Schema"
        );
    }

    let problem = &schemas["Problem"];
    assert_eq!(problem["type"], "object");
    assert_eq!(problem["additionalProperties"], true);
    let members = problem["properties"].as_object().unwrap();
    for member in [
        "type",
        "title",
        "status",
        "detail",
        "instance",
        "dependency",
        "dependency_status",
        "code",
        "retryable",
        "request_id",
        "trace_id",
        "skipped",
        "root_cause",
        "part",
        "field",
        "errors",
        "cause",
    ] {
        let description = members[member]["description"].as_str().unwrap_or_default();
        assert!(!description.is_empty(), "{member} has no description");
    }
    assert_eq!(members["type"]["default"], "about:blank");
    assert_eq!(members["status"]["minimum"], 100);
    assert_eq!(members["status"]["maximum"], 599);
}

#[test]
fn the_schema_example_and_rfc_9457s_own_examples_are_valid() {
    let validator = validator();
    let document = document();
    for example in document["components"]["schemas"]["Problem"]["examples"]
        .as_array()
        .unwrap()
    {
        assert_valid(&validator, example);
    }
    // RFC 9457 §3, with the validation errors of its second example.
    assert_valid(
        &validator,
        &json!({
            "type": "https://example.com/probs/out-of-credit",
            "title": "You do not have enough credit.",
            "detail": "Your current balance is 30, but that costs 50.",
            "instance": "/account/12345/msgs/abc",
            "balance": 30,
            "accounts": ["/account/12345", "/account/67890"]
        }),
    );
    assert_valid(
        &validator,
        &json!({
            "type": "https://example.net/validation-error",
            "title": "Your request is not valid.",
            "status": 422,
            "errors": [
                {"detail": "must be a positive integer", "pointer": "#/age"},
                {"detail": "must be 'green', 'red' or 'blue'", "pointer": "#/profile/color"}
            ],
            "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
            "request_id": "req-42"
        }),
    );
}

#[test]
fn bodies_of_the_wrong_shape_are_invalid() {
    let validator = validator();
    let base = json!({"title": "Failed Dependency", "status": 424, "dependency": "inventory"});
    assert_valid(&validator, &base);
    for (member, value) in [
        ("status", json!("424")),
        ("status", json!(99)),
        ("status", json!(600)),
        ("type", json!(5)),
        ("type", json!("not a uri reference")),
        ("instance", json!(["/orders/7"])),
        ("dependency", json!(null)),
        ("dependency_status", json!("409")),
        ("code", json!(7)),
        ("retryable", json!("no")),
        ("request_id", json!("")),
        ("request_id", json!("has space")),
        ("request_id", json!("a".repeat(129))),
        ("trace_id", json!("4BF92F3577B34DA6A3CE929D0E0E4736")),
        ("trace_id", json!("4bf92f3577b34da6")),
        ("skipped", json!("payment")),
        ("skipped", json!([1])),
        ("root_cause", json!(1)),
        ("part", json!(2)),
        ("field", json!(false)),
        ("errors", json!([{"pointer": 3}])),
        (
            "errors",
            json!([{"detail": "must be a positive integer", "pointer": 3}]),
        ),
        ("errors", json!([{"pointer": "#/age"}])),
        ("errors", json!({"detail": "not an array"})),
        ("cause", json!("ledger closed")),
        ("cause", json!({"status": "409"})),
        ("cause", json!({"cause": {"cause": {"dependency": 7}}})),
    ] {
        let mut body = base.clone();
        body[member] = value;
        assert_invalid(&validator, &body);
    }
    assert_invalid(&validator, &json!(["not", "an", "object"]));
}

#[tokio::test]
async fn a_424_with_a_skipped_prerequisite_and_a_request_id_is_valid() {
    let handler = service_fn(|_: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::from("order placed")))
    });
    let service = DependencyLayer::new()
        .require("inventory")
        .require("payment")
        .layer(handler);
    let mut request = Request::builder()
        .header("x-request-id", "req-42")
        .body(Full::default())
        .unwrap();
    let mut record = Dependencies::new();
    record.record_failure(
        "inventory",
        Failure::rejected(StatusCode::CONFLICT)
            .with_detail("Only 0 left of sold-out.")
            .with_code("OUT_OF_STOCK"),
    );
    record.record_skipped("payment", "inventory");
    request.extensions_mut().insert(record);

    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FAILED_DEPENDENCY);
    let body = problem_of(response).await;
    assert_eq!(body["dependency"], "inventory");
    assert_eq!(body["dependency_status"], 409);
    assert_eq!(body["code"], "OUT_OF_STOCK");
    assert_eq!(body["request_id"], "req-42");
    assert_eq!(body["skipped"], json!(["payment"]));
    assert_valid(&validator(), &body);
}

#[tokio::test]
async fn a_503_with_retry_after_and_typed_problems_are_valid() {
    let validator = validator();

    let unavailable = Failure::unavailable().with_retry_after(Duration::from_secs(7));
    let response = StatusPolicy::default().response("ledger", &unavailable);
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "7");
    let body = rendered(response).await;
    assert_eq!(body["retryable"], true);
    assert_valid(&validator, &body);

    let typed = StatusPolicy::builder()
        .type_base("https://errors.example.com/")
        .build()
        .unwrap();
    let response = typed.response("search", &Failure::timeout());
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    let body = rendered(response).await;
    assert_eq!(body["type"], "https://errors.example.com/timeout");
    assert_valid(&validator, &body);

    let own = Problem::new(StatusCode::FORBIDDEN)
        .with_type("https://example.com/probs/out-of-credit")
        .with_detail("Your current balance is 30, but that costs 50.")
        .with_instance("/account/12345/msgs/abc")
        .with_member("balance", 30)
        .unwrap();
    let body = rendered(Response::from(own)).await;
    assert_eq!(body["instance"], "/account/12345/msgs/abc");
    assert_valid(&validator, &body);
}

#[tokio::test]
async fn a_problem_with_nested_upstream_causes_is_valid() {
    let upstream = json!({
        "type": "https://ledger.example/probs/failed-dependency",
        "title": "Failed Dependency",
        "status": 424,
        "detail": "The account could not be debited.",
        "dependency": "accounts",
        "cause": {
            "title": "Conflict",
            "status": 409,
            "detail": "Account 7 is closed.",
            "dependency": "account-7",
            "cause": {"detail": "Closed by its owner."}
        }
    });
    let cause = Cause::from_json(upstream.to_string().as_bytes()).unwrap();
    let failure = Failure::rejected(StatusCode::FAILED_DEPENDENCY).with_cause(cause);
    let policy = StatusPolicy::builder().show_causes(4).build().unwrap();
    let body = rendered(policy.response("ledger", &failure)).await;
    assert_eq!(body["cause"]["dependency"], "accounts");
    assert_eq!(body["cause"]["cause"]["dependency"], "account-7");
    assert_eq!(
        body["cause"]["cause"]["cause"]["detail"],
        "Closed by its owner."
    );
    let validator = validator();
    assert_valid(&validator, &body);

    // The recursion is checked too: a wrong type three levels down.
    let mut broken = body.clone();
    broken["cause"]["cause"]["cause"]["detail"] = json!(false);
    assert_invalid(&validator, &broken);
}

/// A batch sent to a `BatchLayer` over a service that answers `/parts/{n}`
/// with status `n` and a JSON body.
#[cfg(feature = "batch")]
async fn batch(body: Value) -> Response<impl Body<Error: std::fmt::Debug>> {
    use http::header::CONTENT_TYPE;
    use tower_failed_dependency::batch::BatchLayer;
    use tower_failed_dependency::RequestBody;

    let inner = service_fn(|request: Request<RequestBody<Full<Bytes>>>| async move {
        let status: u16 = request.uri().path()["/parts/".len()..].parse().unwrap();
        let mut response = Response::new(Full::new(Bytes::from_static(b"{\"ok\":true}")));
        *response.status_mut() = StatusCode::from_u16(status).unwrap();
        response
            .headers_mut()
            .insert(CONTENT_TYPE, "application/json".parse().unwrap());
        Ok::<_, Infallible>(response)
    });
    let request = Request::post("/$batch")
        .header(CONTENT_TYPE, "application/json")
        .header("x-request-id", "batch-1")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    BatchLayer::new()
        .layer(inner)
        .oneshot(request)
        .await
        .unwrap()
}

#[cfg(feature = "batch")]
#[tokio::test]
async fn a_refused_batch_is_valid() {
    let response = batch(json!({"requests": [
        {"id": "1", "method": "GET", "url": "/parts/200"},
        {"id": "1", "method": "GET", "url": "/parts/200"}
    ]}))
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = problem_of(response).await;
    assert_eq!(body["part"], "1");
    assert!(body["field"].is_string(), "{body}");
    assert_eq!(body["request_id"], "batch-1");
    assert_valid(&validator(), &body);
}

#[cfg(feature = "batch")]
#[tokio::test]
async fn a_batch_part_not_run_is_valid() {
    let response = batch(json!({"requests": [
        {"id": "create", "method": "POST", "url": "/parts/409"},
        {"id": "update", "method": "PATCH", "url": "/parts/200", "dependsOn": ["create"]},
        {"id": "notify", "method": "POST", "url": "/parts/200", "dependsOn": ["update"]}
    ]}))
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer = json_of(response).await;
    let validator = validator();
    for (index, dependency, dependency_status) in [(1, "create", 409), (2, "update", 424)] {
        let part = &answer["responses"][index];
        assert_eq!(part["status"], 424, "{part}");
        let body = &part["body"];
        assert_eq!(body["dependency"], dependency);
        assert_eq!(body["dependency_status"], dependency_status);
        assert_eq!(body["root_cause"], "create");
        assert_valid(&validator, body);
    }
}
