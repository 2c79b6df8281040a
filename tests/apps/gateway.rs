//! A gateway in front of an inventory upstream, both on 127.0.0.1. Shared by
//! the `gateway` example, the tour and the integration tests.
//!
//! `GET /orders/{case}/reserve` on the gateway asks the upstream for
//! `/stock/{case}` through a hyper-util client under tower's `TimeoutLayer`,
//! classifies what comes back with `Upstream`, and answers for it:
//!
//! - `ok`: 200 with the upstream's reservation;
//! - `down`: the connection is refused, 503;
//! - `slow`: no answer within 300 ms, 504;
//! - `conflict`: the upstream refuses with 409 problem+json, 424 naming
//!   `inventory` and its 409, with the upstream's problem as `cause`;
//! - `failed-dependency`: the upstream answers 424 naming `ledger`, 424
//!   whose cause names `ledger`;
//! - `garbage`: the upstream answers bytes that are not HTTP, 502;
//! - `busy`: the upstream answers 503 with `Retry-After: 7`, 503 with
//!   `Retry-After: 7`;
//! - `huge`: a 409 with a 10 MB problem body, 424 at once, the cause omitted;
//! - `deep`: a 409 with a problem nested 10,000 deep, the same;
//! - `endless-headers`: headers that never end, 502 once hyper's limit is hit.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tower::timeout::Timeout;
use tower::ServiceExt;
use tower_failed_dependency::gateway::forward_request_id;
use tower_failed_dependency::upstream::Upstream;
use tower_failed_dependency::{DependencyError, DependencyLayer, Failure, StatusPolicy};

/// How long the gateway waits for the upstream.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_millis(300);

/// Where the upstreams listen.
#[derive(Debug, Clone, Copy)]
pub struct Upstreams {
    /// The inventory service (axum on hyper).
    pub inventory: SocketAddr,
    /// A server that answers bytes that are not HTTP.
    pub garbage: SocketAddr,
    /// A server that sends headers and never ends them.
    pub endless: SocketAddr,
    /// An address nothing listens on.
    pub down: SocketAddr,
}

/// Starts the upstreams on 127.0.0.1; they serve until the runtime ends.
pub async fn start_upstreams() -> std::io::Result<Upstreams> {
    let inventory = TcpListener::bind("127.0.0.1:0").await?;
    let inventory_addr = inventory.local_addr()?;
    tokio::spawn(async move { axum::serve(inventory, inventory_app()).await });

    let garbage = TcpListener::bind("127.0.0.1:0").await?;
    let garbage_addr = garbage.local_addr()?;
    tokio::spawn(raw_server(garbage, answer_garbage));

    let endless = TcpListener::bind("127.0.0.1:0").await?;
    let endless_addr = endless.local_addr()?;
    tokio::spawn(raw_server(endless, answer_endless_headers));

    // Bound, then closed: connecting to it is refused.
    let down = TcpListener::bind("127.0.0.1:0").await?.local_addr()?;

    Ok(Upstreams {
        inventory: inventory_addr,
        garbage: garbage_addr,
        endless: endless_addr,
        down,
    })
}

fn inventory_app() -> Router {
    Router::new().route("/stock/{case}", get(stock))
}

/// The inventory upstream's answers.
async fn stock(Path(case): Path<String>, headers: HeaderMap) -> axum::response::Response {
    let problem = |status: StatusCode, body: Value| {
        let headers = [(header::CONTENT_TYPE, "application/problem+json")];
        (status, headers, body.to_string()).into_response()
    };
    match case.as_str() {
        "slow" => {
            tokio::time::sleep(Duration::from_secs(2)).await;
            Json(json!({"reservation": "res_late"})).into_response()
        }
        "conflict" => problem(
            StatusCode::CONFLICT,
            json!({
                "type": "https://inventory.example/probs/out-of-stock",
                "title": "Out of stock", "status": 409,
                "detail": "Only 0 left of sku widget.",
                "warehouse_dsn": "postgres://inventory@10.0.0.9/stock"
            }),
        ),
        "failed-dependency" => problem(
            StatusCode::FAILED_DEPENDENCY,
            json!({
                "title": "Failed Dependency", "status": 424,
                "detail": "The ledger refused the hold.",
                "dependency": "ledger", "dependency_status": 423
            }),
        ),
        "busy" => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "7")],
            "busy",
        )
            .into_response(),
        "deep" => {
            let depth = 10_000;
            let body = format!(
                r#"{}{{"status": 409}}{}"#,
                r#"{"status": 409, "cause": "#.repeat(depth),
                "}".repeat(depth)
            );
            let headers = [(header::CONTENT_TYPE, "application/problem+json")];
            (StatusCode::CONFLICT, headers, body).into_response()
        }
        "huge" => {
            let detail = "x".repeat(10 * 1024 * 1024);
            let body = format!(r#"{{"status": 409, "detail": "{detail}"}}"#);
            let headers = [(header::CONTENT_TYPE, "application/problem+json")];
            (StatusCode::CONFLICT, headers, body).into_response()
        }
        _ => {
            let request_id = headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            Json(json!({"reservation": "res_1", "request_id_seen": request_id})).into_response()
        }
    }
}

/// Accepts connections and answers each with `answer`, until the runtime ends.
async fn raw_server<F, Fut>(listener: TcpListener, answer: F)
where
    F: Fn(tokio::net::TcpStream) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(answer(stream));
    }
}

async fn answer_garbage(mut stream: tokio::net::TcpStream) {
    let mut request = [0; 1024];
    let _ = stream.read(&mut request).await;
    let _ = stream
        .write_all(b"<html>this is not HTTP</html>\r\n\r\n")
        .await;
    let _ = stream.shutdown().await;
}

/// Sends a status line, then header lines until the client hangs up or
/// 64 MB were sent.
async fn answer_endless_headers(mut stream: tokio::net::TcpStream) {
    let mut request = [0; 1024];
    let _ = stream.read(&mut request).await;
    if stream.write_all(b"HTTP/1.1 200 OK\r\n").await.is_err() {
        return;
    }
    let line = format!("x-filler: {}\r\n", "a".repeat(54));
    for _ in 0..(64 * 1024 * 1024 / line.len()) {
        if stream.write_all(line.as_bytes()).await.is_err() {
            return;
        }
    }
}

type UpstreamClient = Timeout<Client<HttpConnector, Empty<Bytes>>>;

#[derive(Clone)]
struct Gateway {
    upstreams: Upstreams,
    client: UpstreamClient,
    inventory: Upstream,
}

/// The gateway.
pub fn app(upstreams: Upstreams) -> Router {
    let client = Client::builder(TokioExecutor::new()).build_http();
    let gateway = Gateway {
        upstreams,
        client: Timeout::new(client, UPSTREAM_TIMEOUT),
        inventory: Upstream::new()
            .contract(|_, body| serde_json::from_slice::<Value>(body).is_ok()),
    };
    // Upstream problems are passed on as `cause`, two levels deep.
    let policy = StatusPolicy::builder()
        .show_causes(2)
        .build()
        .expect("a valid policy");
    Router::new()
        .route("/orders/{case}/reserve", get(reserve))
        .with_state(gateway)
        .layer(DependencyLayer::new().policy(policy))
}

async fn reserve(
    State(gateway): State<Gateway>,
    Path(case): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, DependencyError> {
    let fail = |failure: Failure| DependencyError::new("inventory", failure);
    let upstreams = gateway.upstreams;
    let uri = match case.as_str() {
        "down" => format!("http://{}/stock/any", upstreams.down),
        "garbage" => format!("http://{}/stock/any", upstreams.garbage),
        "endless-headers" => format!("http://{}/stock/any", upstreams.endless),
        case => format!("http://{}/stock/{case}", upstreams.inventory),
    };
    let mut request = Request::get(uri)
        .body(Empty::new())
        .map_err(|e| fail(Failure::internal().with_source(e)))?;
    forward_request_id(&headers, request.headers_mut());
    let response = gateway
        .client
        .oneshot(request)
        .await
        .map_err(|error| fail(Failure::from_error(error)))?;
    let answer = gateway.inventory.answer(response).await.map_err(fail)?;
    let body: Value = serde_json::from_slice(answer.body())
        .map_err(|e| fail(Failure::bad_gateway().with_source(e)))?;
    Ok(Json(body))
}

/// Starts the upstreams and the gateway; returns the gateway's address.
pub async fn start() -> std::io::Result<SocketAddr> {
    let upstreams = start_upstreams().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app(upstreams)).await });
    Ok(addr)
}
