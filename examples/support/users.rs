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

/// The users API with its batch endpoint at `/$batch`. The batch layer
/// wraps the whole router (not `Router::layer`, which wraps each route), so
/// that every part is routed like a request of its own.
pub fn app() -> Batch<Router> {
    let router = Router::new()
        .route("/users", post(create))
        .route("/users/{email}", patch(update))
        .route("/users/{email}/groups", get(groups))
        .route("/health", get(|| async { Json(json!({"status": "up"})) }))
        .route("/whoami", get(whoami))
        .route("/explode", get(explode));
    BatchLayer::new().layer(router)
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
