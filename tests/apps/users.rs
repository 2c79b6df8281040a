//! A small users API behind `BatchLayer`: shared by the `batch` example, the
//! tour and the integration tests.
//!
//! - `POST /users` with `{"email"}`: 201, or 409 when the email is taken
//!   (`taken@example.com` always is).
//! - `PATCH /users/{email}` with `{"display_name"}`: 200.
//! - `GET /users/{email}/groups`: 200.
//! - `GET /health`: 200.
//! - `GET /whoami`: echoes the `authorization` and `x-request-id` it got and
//!   the parts its `Dependencies` record shows as succeeded.
//! - `GET /explode`: panics.

use axum::extract::{Extension, Json, Path};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, patch, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use tower::Layer;
use tower_failed_dependency::batch::{Batch, BatchLayer};
use tower_failed_dependency::{Dependencies, Problem};

/// The users API with its batch endpoint behind `layer`. The batch layer
/// wraps the whole router (not `Router::layer`, which wraps each route), so
/// that every part is routed like a request of its own.
pub fn app_with(layer: BatchLayer) -> Batch<Router> {
    let router = Router::new()
        .route("/users", post(create))
        .route("/users/{email}", patch(update))
        .route("/users/{email}/groups", get(groups))
        .route("/health", get(|| async { Json(json!({"status": "up"})) }))
        .route("/whoami", get(whoami))
        .route("/explode", get(explode));
    layer.layer(router)
}

#[derive(Deserialize)]
struct NewUser {
    email: String,
}

async fn create(Json(user): Json<NewUser>) -> Result<impl IntoResponse, Problem> {
    if user.email == "taken@example.com" {
        // The create itself is refused: its own status, 409.
        return Err(Problem::new(StatusCode::CONFLICT)
            .with_title("Conflict")
            .with_detail("The email is already taken."));
    }
    Ok((StatusCode::CREATED, Json(json!({"email": user.email}))))
}

#[derive(Deserialize)]
struct Update {
    display_name: String,
}

async fn update(Path(email): Path<String>, Json(update): Json<Update>) -> impl IntoResponse {
    Json(json!({"email": email, "display_name": update.display_name}))
}

async fn groups(Path(email): Path<String>) -> impl IntoResponse {
    Json(json!({"email": email, "groups": ["staff"]}))
}

async fn whoami(headers: HeaderMap, record: Option<Extension<Dependencies>>) -> impl IntoResponse {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let succeeded: Vec<String> = record
        .map(|Extension(record)| {
            record
                .iter()
                .filter(|(_, outcome)| outcome.is_success())
                .map(|(name, _)| name.to_owned())
                .collect()
        })
        .unwrap_or_default();
    Json(json!({
        "authorization": header("authorization"),
        "request_id": header("x-request-id"),
        "succeeded_before": succeeded,
    }))
}

async fn explode() -> &'static str {
    panic!("the explode route always panics")
}

/// The batch of the project's test vector: create a user (409: the email is
/// taken), then update it and read its groups (both depend on the create),
/// and an independent health check.
pub const VECTOR: &str = include_str!("../../tests/fixtures/batch-create-then-update.json");

/// Serves the users API on 127.0.0.1; returns its address.
pub async fn serve() -> std::io::Result<std::net::SocketAddr> {
    serve_with(BatchLayer::new()).await
}

/// Serves the users API behind `layer` on 127.0.0.1; returns its address.
pub async fn serve_with(layer: BatchLayer) -> std::io::Result<std::net::SocketAddr> {
    let app = tower::ServiceBuilder::new()
        .map_response(|response: axum::http::Response<_>| response.map(axum::body::Body::new))
        .service(app_with(layer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let make = axum::ServiceExt::<axum::http::Request<axum::body::Body>>::into_make_service(app);
    tokio::spawn(async move { axum::serve(listener, make).await });
    Ok(addr)
}

/// Posts the vector to `/$batch` and prints the answer. Returns whether each
/// part answered what the vector says: 409, 424, 424, 200, in a 200.
pub async fn show_vector(
    addr: std::net::SocketAddr,
) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
    use http_body_util::BodyExt;

    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let request = axum::http::Request::post(format!("http://{addr}/$batch"))
        .header("content-type", "application/json")
        .header("x-request-id", "batch-tour-1")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(
            VECTOR.as_bytes(),
        )))?;
    let response = client.request(request).await?;
    let status = response.status();
    let body: serde_json::Value =
        serde_json::from_slice(&response.into_body().collect().await?.to_bytes())?;
    println!("   POST /$batch (tests/fixtures/batch-create-then-update.json)");
    println!("   -> {status}");
    for line in serde_json::to_string_pretty(&body)?.lines() {
        println!("      {line}");
    }
    let statuses: Vec<u64> = body["responses"]
        .as_array()
        .map(|parts| {
            parts
                .iter()
                .filter_map(|part| part["status"].as_u64())
                .collect()
        })
        .unwrap_or_default();
    Ok(status == StatusCode::OK && statuses == [409, 424, 424, 200])
}
