//! The batch endpoint against the rules of the formats it speaks (OData JSON
//! 4.01 §19, Microsoft Graph's JSON batching), over real loopback
//! connections. Each test names the rule it checks.

#![cfg(all(feature = "axum", feature = "batch"))]

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, patch, post};
use axum::{Json, Router};
use http::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::{Layer, ServiceBuilder};
use tower_failed_dependency::batch::{BatchLayer, Dialect};

/// What one handler call received.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    uri: String,
    headers: HeaderMap,
    body: Bytes,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// Records the request, answers 200 with JSON.
async fn record(State(log): State<Log>, request: Request) -> Json<Value> {
    let (head, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    log.lock().unwrap().push(Seen {
        method: head.method,
        uri: head.uri.to_string(),
        headers: head.headers,
        body,
    });
    Json(json!({"recorded": true}))
}

fn typed(content_type: &'static str, body: impl Into<Body>) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body.into()).into_response()
}

/// A service with routes for each rule, and what its handlers saw.
fn app() -> (Router, Log) {
    let log = Log::default();
    let router = Router::new()
        .route("/echo", any(record))
        .route("/orders/{id}", any(record))
        .route("/orders/{id}/lines", any(record))
        .route(
            "/orders",
            post(|State(log): State<Log>, request: Request| async move {
                let _ = record(State(log), request).await;
                (
                    StatusCode::CREATED,
                    [(header::LOCATION, "/orders/7"), (header::ETAG, "\"v1\"")],
                    Json(json!({"id": 7})),
                )
            }),
        )
        .route(
            "/anonymous",
            post(|| async { (StatusCode::CREATED, Json(json!({"id": "unknown"}))) }),
        )
        .route(
            "/bytes/utf8",
            get(|| async { typed("application/octet-stream", "hello") }),
        )
        .route(
            "/bytes/raw",
            get(|| async { typed("application/octet-stream", vec![0xfb, 0xff, 0xbf, 0x00]) }),
        )
        .route(
            "/text",
            get(|| async { typed("text/plain; charset=utf-8", "hi there") }),
        )
        .route(
            "/latin1",
            get(|| async {
                let mut headers = HeaderMap::new();
                headers.insert("x-raw", HeaderValue::from_bytes(b"caf\xe9").unwrap());
                (headers, Json(json!({})))
            }),
        )
        // An employee, as OData's own example of value references reads
        // one, and a property answered in OData's `{"value": ...}`.
        .route(
            "/employees/{id}",
            get(|| async {
                Json(
                    json!({"@odata.context": "$metadata#Employees/$entity", "ID": 0,
                            "Building": "B 41 & O'Hare", "Floor": 3, "Remote": false,
                            "Address": {"City": "Z\u{fc}rich"}, "Tags": ["a"]}),
                )
            }),
        )
        .route(
            "/employees/{id}/Floor",
            get(|| async { Json(json!({"@odata.context": "$metadata#Edm.Int32", "value": 3})) }),
        )
        .route(
            "/minimal",
            post(|| async { (StatusCode::NO_CONTENT, [("odata-entityid", "/orders/9")]) }),
        )
        .route("/never", get(std::future::pending::<()>))
        .route("/big", get(|| async { "x".repeat(4096) }))
        .route("/conflict", post(|| async { StatusCode::CONFLICT }))
        // The routes of Graph's own example batch.
        .route(
            "/me/drive/{*file}",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, "https://files.example/y23vmagahszhxzlcvh")],
                )
            }),
        )
        .route(
            "/me/planner/tasks",
            get(|| async { Json(json!({"value": []})) }),
        )
        .route(
            "/groups/{id}/events",
            get(|| async {
                (
                    StatusCode::UNAUTHORIZED,
                    Json(json!({"error": {"code": "Forbidden", "message": "..."}})),
                )
            }),
        )
        .route(
            "/me",
            patch(|State(log): State<Log>, request: Request| async move {
                let _ = record(State(log), request).await;
                StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/users",
            get(|State(log): State<Log>, request: Request| async move {
                let _ = record(State(log), request).await;
                (
                    [("odata-version", "4.0")],
                    Json(json!({"@odata.count": 1, "value": [{"id": "u1"}]})),
                )
            }),
        )
        .with_state(log.clone());
    (router, log)
}

async fn serve_with(layer: BatchLayer) -> (SocketAddr, Log) {
    let (router, log) = app();
    let service = ServiceBuilder::new()
        .map_response(|response: Response<_>| response.map(Body::new))
        .service(layer.layer(router));
    (support::serve(service).await, log)
}

async fn serve() -> (SocketAddr, Log) {
    serve_with(BatchLayer::new()).await
}

async fn batch(addr: SocketAddr, body: Value) -> support::Answer {
    support::send_body(
        addr,
        Method::POST,
        "/$batch",
        &[("content-type", "application/json")],
        body.to_string(),
    )
    .await
}

/// The parts of a batch answer by id.
fn parts(answer: &support::Answer) -> std::collections::HashMap<String, Value> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    answer.json()["responses"]
        .as_array()
        .expect("a responses array")
        .iter()
        .map(|part| (part["id"].as_str().unwrap().to_owned(), part.clone()))
        .collect()
}

fn seen(log: &Log) -> Vec<Seen> {
    log.lock().unwrap().clone()
}

#[tokio::test]
async fn the_graph_documentation_batch_runs_as_documented() {
    // Graph's JSON batching page, its first batch as printed: relative urls,
    // a url with spaces, its headers and bodies.
    let (addr, log) = serve().await;
    let answer = batch(
        addr,
        json!({"requests": [
            {"id": "1", "method": "GET", "url": "/me/drive/root:/{file}:/content"},
            {"id": "2", "method": "GET", "url": "/me/planner/tasks"},
            {"id": "3", "method": "GET", "url": "/groups/{id}/events"},
            {"id": "4", "url": "/me", "method": "PATCH", "body": {"city": "Redmond"},
             "headers": {"Content-Type": "application/json"}},
            {"id": "5", "url": "users?$select=id,displayName,userPrincipalName&$filter=city eq null&$count=true",
             "method": "GET", "headers": {"ConsistencyLevel": "eventual"}}
        ]}),
    )
    .await;
    let parts = parts(&answer);
    assert_eq!(parts["1"]["status"], 302);
    assert_eq!(
        parts["1"]["headers"]["Location"],
        "https://files.example/y23vmagahszhxzlcvh"
    );
    assert_eq!(parts["2"]["status"], 200);
    assert_eq!(parts["2"]["body"], json!({"value": []}));
    assert_eq!(parts["3"]["status"], 401);
    assert_eq!(parts["3"]["body"]["error"]["code"], "Forbidden");
    assert_eq!(parts["4"]["status"], 204);
    assert_eq!(parts["5"]["status"], 200);
    assert_eq!(parts["5"]["headers"]["OData-Version"], "4.0");
    assert_eq!(parts["5"]["body"]["@odata.count"], 1);
    let seen = seen(&log);
    assert_eq!(seen.len(), 2);
    let me = seen
        .iter()
        .find(|seen| seen.uri == "/me")
        .expect("part 4 ran");
    assert_eq!(me.method, Method::PATCH);
    assert_eq!(me.headers["content-type"], "application/json");
    assert_eq!(
        serde_json::from_slice::<Value>(&me.body).unwrap(),
        json!({"city": "Redmond"})
    );
    let users = seen
        .iter()
        .find(|seen| seen.uri.starts_with("/users"))
        .expect("part 5 ran");
    assert_eq!(
        users.uri,
        "/users?$select=id,displayName,userPrincipalName&$filter=city%20eq%20null&$count=true"
    );
    assert_eq!(users.headers["consistencylevel"], "eventual");
}

#[tokio::test]
async fn odata_methods_are_case_insensitive() {
    // OData JSON 4.01 §19.1: `method` is case-insensitive (`get`, `patch`).
    let (addr, log) = serve().await;
    let parts = parts(
        &batch(
            addr,
            json!({"requests": [
                {"id": "1", "method": "get", "url": "/echo"},
                {"id": "2", "method": "Patch", "url": "echo",
                 "headers": {"content-type": "application/json"}, "body": {"a": 1}}
            ]}),
        )
        .await,
    );
    assert_eq!(parts["1"]["status"], 200);
    assert_eq!(parts["2"]["status"], 200);
    let mut methods: Vec<Method> = seen(&log).into_iter().map(|seen| seen.method).collect();
    methods.sort_by_key(|method| method.to_string());
    assert_eq!(methods, [Method::GET, Method::PATCH]);
}

#[tokio::test]
async fn request_bodies_are_read_by_their_media_type() {
    // OData JSON 4.01 §19.1 and Graph: JSON as JSON, text/* as a string,
    // anything else base64url (the Graph SDKs send standard base64).
    let (addr, log) = serve().await;
    let parts = parts(
        &batch(
            addr,
            json!({"requests": [
                {"id": "json", "method": "POST", "url": "/echo",
                 "headers": {"content-type": "application/merge-patch+json"}, "body": {"a": [1, 2]}},
                {"id": "text", "method": "POST", "url": "/echo", "dependsOn": ["json"],
                 "headers": {"content-type": "text/csv"}, "body": "a,b\n1,2"},
                {"id": "standard", "method": "POST", "url": "/echo", "dependsOn": ["text"],
                 "headers": {"content-type": "application/octet-stream"}, "body": "+/+/AA=="},
                {"id": "url-safe", "method": "POST", "url": "/echo", "dependsOn": ["standard"],
                 "headers": {"content-type": "image/png"}, "body": "-_-_AA"}
            ]}),
        )
        .await,
    );
    for id in ["json", "text", "standard", "url-safe"] {
        assert_eq!(parts[id]["status"], 200, "{id}");
    }
    let bodies: Vec<(String, Bytes)> = seen(&log)
        .into_iter()
        .map(|seen| {
            let content_type = seen.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .to_owned();
            (content_type, seen.body)
        })
        .collect();
    assert_eq!(
        serde_json::from_slice::<Value>(&bodies[0].1).unwrap(),
        json!({"a": [1, 2]})
    );
    assert_eq!(
        bodies[1],
        ("text/csv".to_owned(), Bytes::from_static(b"a,b\n1,2"))
    );
    assert_eq!(bodies[2].1, [0xfb, 0xff, 0xbf, 0x00][..]);
    assert_eq!(
        bodies[3],
        (
            "image/png".to_owned(),
            Bytes::from_static(&[0xfb, 0xff, 0xbf, 0x00])
        )
    );
}

#[tokio::test]
async fn answers_follow_the_dialect_graph_by_default() {
    // Graph: `Content-Type`, standard base64. OData JSON 4.01: lower-case
    // header names, base64url. Both: JSON embedded, text/* a string, and
    // a binary body never raw, even when its bytes are UTF-8.
    let requests = json!({"requests": [
        {"id": "utf8", "method": "GET", "url": "/bytes/utf8"},
        {"id": "raw", "method": "GET", "url": "/bytes/raw"},
        {"id": "text", "method": "GET", "url": "/text"},
        {"id": "json", "method": "GET", "url": "/echo"}
    ]});

    let (addr, _) = serve().await;
    let graph = parts(&batch(addr, requests.clone()).await);
    assert_eq!(
        graph["utf8"]["headers"]["Content-Type"],
        "application/octet-stream"
    );
    assert_eq!(graph["utf8"]["body"], "aGVsbG8=");
    assert_eq!(graph["raw"]["body"], "+/+/AA==");
    assert_eq!(graph["text"]["body"], "hi there");
    assert_eq!(graph["json"]["headers"]["Content-Type"], "application/json");
    assert_eq!(graph["json"]["body"], json!({"recorded": true}));

    let (addr, _) = serve_with(BatchLayer::new().dialect(Dialect::OData)).await;
    let odata = parts(&batch(addr, requests).await);
    assert_eq!(
        odata["utf8"]["headers"]["content-type"],
        "application/octet-stream"
    );
    assert!(odata["utf8"]["headers"].get("Content-Type").is_none());
    assert_eq!(odata["utf8"]["body"], "aGVsbG8");
    assert_eq!(odata["raw"]["body"], "-_-_AA");
    assert_eq!(odata["text"]["body"], "hi there");
    assert_eq!(odata["json"]["body"], json!({"recorded": true}));
}

#[tokio::test]
async fn header_bytes_survive_both_ways() {
    // fetch's ByteString: each byte 0x80-0xFF is the code point of the same
    // value, so `caf\xE9` reads `café` and goes back as the same byte.
    let (addr, log) = serve().await;
    let parts = parts(
        &batch(
            addr,
            json!({"requests": [
                {"id": "out", "method": "GET", "url": "/latin1"},
                {"id": "in", "method": "GET", "url": "/echo", "headers": {"x-raw": "caf\u{e9}"}}
            ]}),
        )
        .await,
    );
    assert_eq!(parts["out"]["headers"]["X-Raw"], "caf\u{e9}");
    assert_eq!(seen(&log)[0].headers["x-raw"].as_bytes(), b"caf\xe9");
}

#[tokio::test]
async fn dollar_references_resolve_to_what_the_earlier_part_gave() {
    // OData JSON 4.01 §19.1: `$1` as the first segment of a url is what
    // request 1 created (its Location), and as the value of If-Match its
    // ETag; the referenced request must be in dependsOn.
    let (addr, log) = serve().await;
    let parts = parts(
        &batch(
            addr,
            json!({"requests": [
                {"id": "1", "method": "POST", "url": "/orders",
                 "headers": {"content-type": "application/json"}, "body": {"item": "tea"}},
                {"id": "2", "method": "PATCH", "url": "$1/lines", "dependsOn": ["1"],
                 "headers": {"content-type": "application/json", "if-match": "$1"}, "body": {"qty": 2}},
                {"id": "3", "method": "GET", "url": "/$1?$select=id", "dependsOn": ["1"]},
                {"id": "4", "method": "POST", "url": "/anonymous"},
                {"id": "5", "method": "GET", "url": "$4/lines", "dependsOn": ["4"]},
                {"id": "6", "method": "GET", "url": "/echo", "dependsOn": ["5"]},
                {"id": "7", "method": "GET", "url": "/echo", "dependsOn": ["1"],
                 "headers": {"If-None-Match": "$1"}}
            ]}),
        )
        .await,
    );
    assert_eq!(parts["1"]["status"], 201);
    assert_eq!(parts["2"]["status"], 200);
    assert_eq!(parts["3"]["status"], 200);
    let seen = seen(&log);
    let lines = seen
        .iter()
        .find(|seen| seen.method == Method::PATCH)
        .unwrap();
    assert_eq!(lines.uri, "/orders/7/lines");
    assert_eq!(lines.headers["if-match"], "\"v1\"");
    assert!(seen.iter().any(|seen| seen.uri == "/orders/7?$select=id"));
    assert_eq!(parts["7"]["status"], 200);
    let conditional = seen
        .iter()
        .find(|seen| seen.headers.contains_key("if-none-match"))
        .expect("request 7 ran");
    assert_eq!(conditional.headers["if-none-match"], "\"v1\"");

    // Request 4 created something without saying where: `$4` cannot be
    // resolved, so 5 does not run and says why; 6 depends on 5.
    assert_eq!(parts["5"]["status"], 400);
    let problem = &parts["5"]["body"];
    assert_eq!(problem["part"], "5");
    assert!(
        problem["detail"].as_str().unwrap().contains("'$4'"),
        "{problem}"
    );
    assert_eq!(parts["6"]["status"], 424);
    assert_eq!(parts["6"]["body"]["dependency"], "5");
    assert!(!seen
        .iter()
        .any(|seen| seen.uri.contains("lines") && seen.method == Method::GET));
}

#[tokio::test]
async fn a_reference_outside_depends_on_refuses_the_batch() {
    // OData JSON 4.01 §19.1: a request referenced with `$<id>` must be one
    // the referencing request depends on.
    let (addr, log) = serve().await;
    for reference in [
        json!({"id": "2", "method": "GET", "url": "$1/lines"}),
        json!({"id": "2", "method": "GET", "url": "/echo", "headers": {"If-Match": "$1"}}),
    ] {
        let answer = batch(
            addr,
            json!({"requests": [{"id": "1", "method": "POST", "url": "/orders"}, reference]}),
        )
        .await;
        let problem = answer.assert_problem(StatusCode::BAD_REQUEST);
        assert_eq!(problem["part"], "2");
        assert!(
            problem["detail"].as_str().unwrap().contains("dependsOn"),
            "{problem}"
        );
    }
    assert!(seen(&log).is_empty(), "nothing ran");
}

#[tokio::test]
async fn an_etag_reference_to_no_earlier_request_refuses_the_batch() {
    // OData JSON 4.01 §19.1: `$<id>` in If-Match or If-None-Match is the
    // ETag of an earlier request. An entity-tag is quoted (RFC 9110 §8.8.3),
    // so `$9` can only be a reference: one that names no earlier request is
    // refused, not forwarded as a tag that never matches.
    let (addr, log) = serve().await;
    for (header, reference) in [("If-Match", "$9"), ("if-none-match", "$2")] {
        let answer = batch(
            addr,
            json!({"requests": [
                {"id": "1", "method": "POST", "url": "/orders"},
                {"id": "2", "method": "GET", "url": "/echo", "dependsOn": ["1"],
                 "headers": {header: reference}}
            ]}),
        )
        .await;
        let problem = answer.assert_problem(StatusCode::BAD_REQUEST);
        assert_eq!(problem["part"], "2", "{problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(&format!("'{reference}'")), "{detail}");
        assert!(detail.contains("no earlier request"), "{detail}");
    }
    assert!(seen(&log).is_empty(), "nothing ran");
}

#[tokio::test]
async fn an_encoded_first_segment_reference_and_odata_entity_id_resolve_too() {
    // OData JSON 4.01 §19.1: the first segment `$<id>` is "the URL of the
    // entity created by or returned from" the earlier request: its
    // Location, or OData-EntityId (OData 4.01 §8.3.4) when a create
    // answered 204 without one. RFC 3986 §2.1: `%24` is `$`.
    let (addr, log) = serve().await;
    let parts = parts(
        &batch(
            addr,
            json!({"requests": [
                {"id": "1", "method": "POST", "url": "/orders"},
                {"id": "2", "method": "GET", "url": "%241/lines", "dependsOn": ["1"]},
                {"id": "m", "method": "POST", "url": "/minimal"},
                {"id": "3", "method": "GET", "url": "/%24M/lines", "dependsOn": ["m"]}
            ]}),
        )
        .await,
    );
    for id in ["2", "3"] {
        assert_eq!(parts[id]["status"], 200, "{id}: {}", parts[id]);
    }
    let uris: Vec<String> = seen(&log).into_iter().map(|seen| seen.uri).collect();
    assert!(uris.contains(&"/orders/7/lines".to_owned()), "{uris:?}");
    assert!(uris.contains(&"/orders/9/lines".to_owned()), "{uris:?}");
}

/// The uri request `id` reached the service with: the log holds it in its
/// `x-part` header.
fn uri_of(log: &Log, id: &str) -> Option<String> {
    seen(log)
        .into_iter()
        .find(|seen| seen.headers.get("x-part").is_some_and(|v| v == id))
        .map(|seen| seen.uri)
}

#[tokio::test]
async fn a_value_reference_in_the_query_is_the_value_of_the_earlier_answer() {
    // OData 4.01 Part 1 §11.7.6: `$1/Building` in the query stands for the
    // value at `Building` in request 1's answer body, and `$1` alone for
    // the value that body is; Part 2 §5.1.1.6.1: a string literal is
    // quoted, its quotes doubled; RFC 3986 §3.4: a query component is
    // percent-encoded, so `&`, `=` and `+` of a value never split it. Both
    // dialects read requests alike.
    for dialect in [Dialect::Graph, Dialect::OData] {
        let (addr, log) = serve_with(BatchLayer::new().dialect(dialect)).await;
        let parts = parts(
            &batch(
                addr,
                json!({"requests": [
                    {"id": "1", "method": "get", "url": "/employees/0?$select=Building"},
                    {"id": "f", "method": "get", "url": "/employees/0/Floor"},
                    {"id": "2", "method": "get", "dependsOn": ["1", "f"],
                     "headers": {"x-part": "2"},
                     "url": "/echo?$filter=Building eq $1/Building and Floor eq $F&$top=$1/Floor"},
                    {"id": "3", "method": "get", "dependsOn": ["1"], "headers": {"x-part": "3"},
                     "url": "echo?city=%241%2FAddress%2FCity&remote=$1/Remote"}
                ]}),
            )
            .await,
        );
        for id in ["1", "f", "2", "3"] {
            assert_eq!(parts[id]["status"], 200, "{dialect:?} {id}: {}", parts[id]);
        }
        assert_eq!(
            uri_of(&log, "2").unwrap(),
            "/echo?$filter=Building%20eq%20'B%2041%20%26%20O''Hare'%20and%20Floor%20eq%203&$top=3"
        );
        assert_eq!(
            uri_of(&log, "3").unwrap(),
            "/echo?city='Z%C3%BCrich'&remote=false"
        );
    }
}

#[tokio::test]
async fn a_value_reference_that_cannot_be_given_is_400_naming_it_and_its_dependents_424() {
    // OData 4.01 Part 1 §11.7.6: a value reference is a value of the
    // earlier answer; one it does not have, or one that is no primitive
    // value, has no literal: the request is not sent with the reference
    // left in it, and what depends on it fails (RFC 4918 §11.4).
    let (addr, log) = serve().await;
    let parts = parts(
        &batch(
            addr,
            json!({"requests": [
                {"id": "1", "method": "GET", "url": "/employees/0"},
                {"id": "2", "method": "GET", "url": "/echo?x=$1/Address", "dependsOn": ["1"]},
                {"id": "3", "method": "GET", "url": "/echo?x=$1/Tags", "dependsOn": ["1"]},
                {"id": "4", "method": "GET", "url": "/echo?x=$1/Wing", "dependsOn": ["1"]},
                {"id": "t", "method": "GET", "url": "/text"},
                {"id": "5", "method": "GET", "url": "/echo?x=$T/id", "dependsOn": ["t"]},
                {"id": "6", "method": "GET", "url": "/echo", "dependsOn": ["2"]}
            ]}),
        )
        .await,
    );
    for (id, reference, why) in [
        ("2", "$1/Address", "an object"),
        ("3", "$1/Tags", "a collection"),
        ("4", "$1/Wing", "no member 'Wing'"),
        ("5", "$T/id", "request 't' answered no JSON body"),
    ] {
        assert_eq!(parts[id]["status"], 400, "{id}");
        let problem = &parts[id]["body"];
        assert_eq!(problem["part"], id);
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(&format!("'{reference}'")), "{detail}");
        assert!(detail.contains(why), "{detail}");
    }
    assert_eq!(parts["6"]["status"], 424);
    assert_eq!(parts["6"]["body"]["dependency"], "2");
    let uris: Vec<String> = seen(&log).into_iter().map(|seen| seen.uri).collect();
    assert!(!uris.iter().any(|uri| uri.starts_with("/echo")), "{uris:?}");
}

#[tokio::test]
async fn a_reference_in_the_path_past_its_first_segment_or_in_an_option_name_is_400() {
    // OData JSON 4.01 §19.1 resolves `$<id>` in the path only as its first
    // segment, and OData 4.01 Part 1 §11.7.6 a value reference only in the
    // query: anywhere else the request is refused, naming the reference,
    // rather than sent with it as text; its dependents answer 424.
    let (addr, log) = serve().await;
    let parts = parts(
        &batch(
            addr,
            json!({"requests": [
                {"id": "1", "method": "POST", "url": "/orders"},
                {"id": "2", "method": "GET", "url": "/orders/$1/lines", "dependsOn": ["1"]},
                {"id": "3", "method": "GET", "url": "/echo?$1=x", "dependsOn": ["1"]},
                {"id": "4", "method": "GET", "url": format!("http://{addr}/orders/%241"), "dependsOn": ["1"]},
                {"id": "5", "method": "GET", "url": "/echo", "dependsOn": ["2"]}
            ]}),
        )
        .await,
    );
    for (id, reference, place) in [
        ("2", "$1", "path"),
        ("3", "$1", "name of a query option"),
        ("4", "%241", "path"),
    ] {
        assert_eq!(parts[id]["status"], 400, "{id}");
        let problem = &parts[id]["body"];
        assert_eq!(problem["part"], id);
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(&format!("'{reference}'")), "{detail}");
        assert!(detail.contains(place), "{detail}");
    }
    assert_eq!(parts["5"]["status"], 424);
    assert_eq!(seen(&log).len(), 1, "only request 1 ran");
}

#[tokio::test]
async fn a_reference_to_a_later_request_or_itself_refuses_the_batch_and_odata_names_stay() {
    // OData JSON 4.01 §19.1: a referenced request precedes and is in
    // dependsOn, and forward references are not allowed. A `$name` that
    // names no request (`$metadata`, `$filter`, `$top`) is OData's own,
    // left as written.
    let (addr, log) = serve().await;
    for (url, named) in [
        ("/echo?x=$3", "'3'"),
        ("/echo?x=$2", "'2' itself"),
        ("$3/x", "'3'"),
    ] {
        let answer = batch(
            addr,
            json!({"requests": [
                {"id": "1", "method": "GET", "url": "/echo"},
                {"id": "2", "method": "GET", "url": url, "dependsOn": ["1"]},
                {"id": "3", "method": "GET", "url": "/echo"}
            ]}),
        )
        .await;
        let problem = answer.assert_problem(StatusCode::BAD_REQUEST);
        assert_eq!(
            (problem["part"].as_str(), problem["field"].as_str()),
            (Some("2"), Some("url"))
        );
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains(named) && detail.contains("dependsOn"),
            "{url}: {detail}"
        );
    }
    assert!(seen(&log).is_empty(), "nothing ran");

    let parts = parts(
        &batch(
            addr,
            json!({"requests": [
                {"id": "1", "method": "GET", "url": "/echo?$filter=a eq $it&$top=$10&$select=id"},
            ]}),
        )
        .await,
    );
    assert_eq!(parts["1"]["status"], 200);
    assert_eq!(
        seen(&log)[0].uri,
        "/echo?$filter=a%20eq%20$it&$top=$10&$select=id"
    );
}

#[tokio::test]
async fn a_part_with_if_is_answered_424_and_not_run() {
    // OData JSON 4.01 §19.1: a service that does not evaluate `if` answers
    // the request 424.
    let (addr, log) = serve().await;
    let parts = parts(
        &batch(
            addr,
            json!({"requests": [
                {"id": "1", "method": "GET", "url": "/echo"},
                {"id": "2", "method": "POST", "url": "/echo", "dependsOn": ["1"], "if": "$1/recorded"},
                {"id": "3", "method": "GET", "url": "/echo", "dependsOn": ["2"]}
            ]}),
        )
        .await,
    );
    assert_eq!(parts["1"]["status"], 200);
    assert_eq!(parts["2"]["status"], 424);
    assert_eq!(parts["2"]["body"]["dependency"], "if");
    assert_eq!(parts["2"]["body"]["condition"], "$1/recorded");
    assert_eq!(parts["3"]["status"], 424);
    assert_eq!(parts["3"]["body"]["root_cause"], "2");
    assert_eq!(seen(&log).len(), 1, "only request 1 ran");
}

#[tokio::test]
async fn depends_on_is_a_dependency_whatever_its_spelling_and_unknown_members_are_refused() {
    // OData JSON 4.01 §19.1 defines a request object's members; the Graph
    // Python SDK writes `depends_on`: its dependents of a failed create must
    // not run (RFC 4918 §11.4: they answer 424). Any other unknown member
    // refuses the batch; OData's instance annotations (names with `@`) are
    // allowed.
    let (addr, log) = serve().await;
    let parts = parts(
        &batch(
            addr,
            json!({"requests": [
                {"id": "create", "method": "POST", "url": "/conflict"},
                {"id": "update", "method": "PATCH", "url": "/orders/1", "depends_on": ["create"],
                 "@odata.type": "#update"},
                {"id": "read", "method": "GET", "url": "/orders/1", "depends_on": ["update"]}
            ]}),
        )
        .await,
    );
    assert_eq!(parts["create"]["status"], 409);
    for (id, dependency) in [("update", "create"), ("read", "update")] {
        assert_eq!(parts[id]["status"], 424, "{id}");
        assert_eq!(parts[id]["body"]["dependency"], dependency);
        assert_eq!(parts[id]["body"]["root_cause"], "create");
    }
    assert!(seen(&log).is_empty(), "no dependent ran");

    let answer = batch(
        addr,
        json!({"requests": [
            {"id": "1", "method": "GET", "url": "/echo"},
            {"id": "2", "method": "GET", "url": "/echo", "dependencies": ["1"]}
        ]}),
    )
    .await;
    let problem = answer.assert_problem(StatusCode::BAD_REQUEST);
    assert_eq!(
        (problem["part"].as_str(), problem["field"].as_str()),
        (Some("2"), Some("member"))
    );
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("'dependencies'"));

    // A member given twice is refused, not silently taken.
    let twice =
        r#"{"requests": [{"id": "1", "method": "GET", "url": "/echo", "url": "/orders/1"}]}"#;
    let answer = support::send_body(
        addr,
        Method::POST,
        "/$batch",
        &[("content-type", "application/json")],
        twice,
    )
    .await;
    let problem = answer.assert_problem(StatusCode::BAD_REQUEST);
    assert_eq!(problem["field"], "member");
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("'url' is given twice"));
    assert!(seen(&log).is_empty(), "nothing ran");
}

#[tokio::test]
async fn absolute_urls_run_only_on_the_batchs_own_origin() {
    // OData JSON 4.01 §19.1 allows absolute urls; one of this service's
    // origin (RFC 6454: scheme, host and port) is that path here, every
    // other origin is refused, and nothing leaves the service.
    let (addr, log) = serve().await;
    let parts = parts(
        &batch(
            addr,
            json!({"requests": [{"id": "1", "method": "GET", "url": format!("http://{addr}/echo?x=1")}]}),
        )
        .await,
    );
    assert_eq!(parts["1"]["status"], 200);
    assert_eq!(seen(&log)[0].uri, "/echo?x=1");

    for foreign in [
        "http://evil.example/echo".to_owned(),
        format!("http://127.0.0.1:{}/echo", addr.port() + 1),
        "//evil.example/echo".to_owned(),
    ] {
        let answer = batch(
            addr,
            json!({"requests": [{"id": "1", "method": "GET", "url": foreign}]}),
        )
        .await;
        let problem = answer.assert_problem(StatusCode::BAD_REQUEST);
        assert_eq!(problem["field"], "url", "{foreign}");
    }
    assert_eq!(seen(&log).len(), 1, "no foreign url ran");
}

#[tokio::test]
async fn a_batch_that_is_not_json_is_415_and_nothing_runs() {
    // OData JSON 4.01 §19: a JSON batch request is `application/json`;
    // RFC 9110 §15.5.16: any other type is 415. A cross-site form may post
    // text/plain without a CORS preflight (Fetch's CORS-safelisted request
    // headers), with the user's cookies: such a batch must never run.
    let (addr, log) = serve().await;
    let body = json!({"requests": [{"id": "1", "method": "POST", "url": "/echo"}]}).to_string();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut headers = vec![("cookie", "session=victim")];
        headers.extend(content_type.map(|value| ("content-type", value)));
        let answer =
            support::send_body(addr, Method::POST, "/$batch", &headers, body.clone()).await;
        let problem = answer.assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(problem["title"], "Unsupported Media Type");
        assert!(problem["detail"]
            .as_str()
            .unwrap()
            .contains("application/json"));
    }
    assert!(seen(&log).is_empty(), "nothing ran");
}

#[tokio::test]
async fn a_part_that_never_answers_is_504_within_its_bound_and_its_dependents_424() {
    // RFC 9110 §15.6.5: a part whose service did not answer in time is a
    // gateway timeout; RFC 4918 §11.4: what depended on it failed with 424.
    let (addr, _) = serve_with(BatchLayer::new().part_timeout(Duration::from_millis(200))).await;
    let started = std::time::Instant::now();
    let answer = tokio::time::timeout(
        Duration::from_secs(20),
        batch(
            addr,
            json!({"requests": [
                {"id": "stuck", "method": "GET", "url": "/never"},
                {"id": "after", "method": "GET", "url": "/echo", "dependsOn": ["stuck"]},
                {"id": "free", "method": "GET", "url": "/echo"}
            ]}),
        ),
    )
    .await
    .expect("the batch answers although a part never does");
    // The bound is 200 ms; 5 s leaves room for a loaded machine and still
    // shows that the batch did not wait for the part.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let parts = parts(&answer);
    assert_eq!(parts["stuck"]["status"], 504);
    assert_eq!(parts["stuck"]["body"]["status"], 504);
    assert_eq!(parts["stuck"]["body"]["title"], "Gateway Timeout");
    assert_eq!(parts["after"]["status"], 424);
    assert_eq!(parts["after"]["body"]["dependency"], "stuck");
    assert_eq!(parts["after"]["body"]["dependency_status"], 504);
    assert_eq!(parts["after"]["body"]["root_cause"], "stuck");
    assert_eq!(parts["free"]["status"], 200);
}

#[tokio::test]
async fn a_part_answer_over_its_bound_is_a_500_that_says_nothing_of_why() {
    // RFC 9457 §5: a server error renders no internals. The batch holds at
    // most `max_part_answer` of each part's answer.
    let (addr, _) = serve_with(BatchLayer::new().max_part_answer(1024)).await;
    let parts = parts(
        &batch(
            addr,
            json!({"requests": [
                {"id": "big", "method": "GET", "url": "/big"},
                {"id": "after", "method": "GET", "url": "/echo", "dependsOn": ["big"]},
                {"id": "small", "method": "GET", "url": "/text"}
            ]}),
        )
        .await,
    );
    assert_eq!(parts["big"]["status"], 500);
    let problem = &parts["big"]["body"];
    assert_eq!(problem["status"], 500);
    assert_eq!(problem["title"], "Internal Server Error");
    let written = problem.to_string();
    assert!(!written.contains("length limit"), "{written}");
    assert!(!written.contains("xxxx"), "{written}");
    assert_eq!(parts["after"]["status"], 424);
    assert_eq!(parts["after"]["body"]["dependency"], "big");
    assert_eq!(parts["after"]["body"]["dependency_status"], 500);
    assert_eq!(parts["small"]["status"], 200);
    assert_eq!(parts["small"]["body"], "hi there");
}

#[tokio::test]
async fn a_batch_over_a_service_that_admits_one_request_at_a_time_answers() {
    // tower's `Service` contract: a `call` spends the readiness that
    // `poll_ready` gave. The batch releases it before its parts run, so it
    // does not hold the readiness its own parts wait for.
    let requests = json!({"requests": [
        {"id": "1", "method": "GET", "url": "/echo"},
        {"id": "2", "method": "GET", "url": "/echo"},
        {"id": "3", "method": "GET", "url": "/echo", "dependsOn": ["1"]}
    ]});

    let (router, log) = app();
    let limited = ServiceBuilder::new()
        .map_response(|response: Response<_>| response.map(Body::new))
        .layer(BatchLayer::new())
        .concurrency_limit(1)
        .service(router.clone());
    let addr = support::serve(limited).await;
    let answer = tokio::time::timeout(Duration::from_secs(20), batch(addr, requests.clone()))
        .await
        .expect("answers behind ConcurrencyLimit(1)");
    assert!(parts(&answer).values().all(|part| part["status"] == 200));

    let buffered = ServiceBuilder::new()
        .map_response(|response: Response<_>| response.map(Body::new))
        .layer(BatchLayer::new())
        .layer(axum::error_handling::HandleErrorLayer::new(
            |_: tower::BoxError| async { StatusCode::SERVICE_UNAVAILABLE },
        ))
        .buffer(1)
        .concurrency_limit(1)
        .service(router);
    let addr = support::serve(buffered).await;
    let answer = tokio::time::timeout(Duration::from_secs(20), batch(addr, requests))
        .await
        .expect("answers behind Buffer(1) and ConcurrencyLimit(1)");
    assert!(parts(&answer).values().all(|part| part["status"] == 200));
    assert_eq!(seen(&log).len(), 6);
}

#[tokio::test]
async fn a_body_that_trickles_in_is_408_within_the_deadline() {
    // RFC 9110 §15.5.9: a request the server did not receive in time is a
    // 408. One byte a second never leaves a gap long enough for a per-frame
    // timeout, and is far too slow for the whole body.
    let deadline = Duration::from_secs(2);
    let (addr, log) = serve_with(BatchLayer::new().body_timeout(deadline)).await;
    let head = b"POST /$batch HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{";
    // Answered at the deadline, long before the body would have been
    // complete (1,000 s).
    let answer = support::trickle(addr, head, Duration::from_secs(30)).await;
    support::assert_timed_out(answer, deadline);
    assert!(seen(&log).is_empty());
}

#[tokio::test]
async fn a_get_or_delete_with_a_body_is_refused_naming_the_part() {
    // Microsoft Graph JSON batching: GET and DELETE requests carry no body
    // (OData JSON 4.01 §19.1 gives a body only to requests that have one).
    let (addr, log) = serve().await;
    for method in ["GET", "delete", "Delete"] {
        let answer = batch(
            addr,
            json!({"requests": [{"id": "g", "method": method, "url": "/echo",
                                 "headers": {"content-type": "application/json"}, "body": {}}]}),
        )
        .await;
        let problem = answer.assert_problem(StatusCode::BAD_REQUEST);
        assert_eq!(
            (problem["part"].as_str(), problem["field"].as_str()),
            (Some("g"), Some("body")),
            "{method}"
        );
    }
    assert!(seen(&log).is_empty());
}

#[tokio::test]
async fn tower_https_body_timeout_in_front_is_a_408_too() {
    // tower-http's RequestBodyTimeoutLayer bounds the gap between frames; it
    // sits in front of the layer with no conversion, and its timeout is the
    // client's slowness (408), not a bad batch (400).
    let (router, log) = app();
    let service = ServiceBuilder::new()
        .map_response(|response: Response<_>| response.map(Body::new))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            Duration::from_millis(200),
        ))
        .layer(BatchLayer::new())
        .service(router);
    let addr = support::serve(service).await;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            b"POST /$batch HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
    let mut answer = vec![0; 4096];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("answered")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout"),
        "{answer}"
    );
    assert!(
        answer.contains("content-type: application/problem+json"),
        "{answer}"
    );
    assert!(seen(&log).is_empty());
}
