//! A users API behind `IdempotencyLayer`: shared by the `chains` example,
//! its server binary (the multi-instance test) and the integration tests.
//!
//! - `POST /users` with `{"email"}`: 201 with the user, or a 409 problem
//!   when the email is taken (`taken@example.com` always is), or a 503
//!   problem with `Retry-After: 3` for `unavailable@example.com` (the
//!   directory behind it is down). `?delay_ms=` makes it take that long.
//! - `PATCH /users/{email}` with `{"display_name"}`: 200.
//! - `POST /reports`: 200 with a body of `?kib=` KiB (default 128).
//! - `GET /stats`: how many times the `POST` handlers ran in this process.

#![allow(dead_code)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Json, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use tower::Layer;
use tower_failed_dependency::idempotency::{Idempotency, IdempotencyLayer};
use tower_failed_dependency::Problem;

/// What the API knows, and how many times its `POST` handlers ran.
#[derive(Debug, Default)]
pub struct Users {
    pub runs: AtomicUsize,
    emails: Mutex<HashSet<String>>,
}

impl Users {
    pub fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }
}

/// The API behind `layer`, which wraps the whole router, and its state.
pub fn app(layer: IdempotencyLayer) -> (Idempotency<Router>, Arc<Users>) {
    let users = Arc::new(Users::default());
    let router = Router::new()
        .route("/users", post(create))
        .route("/users/{email}", patch(update))
        .route("/reports", post(report))
        .route("/stats", get(stats))
        .with_state(Arc::clone(&users));
    (layer.layer(router), users)
}

#[derive(Deserialize)]
struct Delay {
    delay_ms: Option<u64>,
}

#[derive(Deserialize)]
struct NewUser {
    email: String,
}

async fn create(
    State(users): State<Arc<Users>>,
    Query(delay): Query<Delay>,
    Json(user): Json<NewUser>,
) -> Response {
    let run = users.runs.fetch_add(1, Ordering::SeqCst) + 1;
    if let Some(ms) = delay.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if user.email == "unavailable@example.com" {
        let problem = Problem::new(StatusCode::SERVICE_UNAVAILABLE)
            .with_detail("The user directory is down.");
        let mut response = Response::from(problem).map(axum::body::Body::new);
        response
            .headers_mut()
            .insert("retry-after", axum::http::HeaderValue::from_static("3"));
        return response;
    }
    let new = user.email != "taken@example.com"
        && users
            .emails
            .lock()
            .expect("no handler panics holding the lock")
            .insert(user.email.clone());
    if !new {
        let problem = Problem::new(StatusCode::CONFLICT)
            .with_title("Conflict")
            .with_detail("The email is already taken.")
            .with_member("code", "EMAIL_TAKEN")
            .expect("a valid member name");
        return Response::from(problem).map(axum::body::Body::new);
    }
    let location = format!("/users/{}", user.email);
    (
        StatusCode::CREATED,
        [("location", location)],
        Json(json!({"email": user.email, "run": run})),
    )
        .into_response()
}

#[derive(Deserialize)]
struct Update {
    display_name: String,
}

async fn update(Path(email): Path<String>, Json(update): Json<Update>) -> Response {
    Json(json!({"email": email, "display_name": update.display_name})).into_response()
}

#[derive(Deserialize)]
struct Size {
    kib: Option<usize>,
}

async fn report(State(users): State<Arc<Users>>, Query(size): Query<Size>) -> Response {
    users.runs.fetch_add(1, Ordering::SeqCst);
    "r".repeat(size.kib.unwrap_or(128) * 1024).into_response()
}

async fn stats(State(users): State<Arc<Users>>) -> Response {
    Json(json!({"runs": users.runs()})).into_response()
}

/// Serves the API behind `layer` on `listener` until the process ends.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    layer: IdempotencyLayer,
) -> (std::io::Result<()>, Arc<Users>) {
    let (service, users) = app(layer);
    let app = tower::ServiceBuilder::new()
        .map_response(|response: axum::http::Response<_>| response.map(axum::body::Body::new))
        .service(service);
    let make = axum::ServiceExt::<axum::http::Request<axum::body::Body>>::into_make_service(app);
    (axum::serve(listener, make).await, users)
}

/// Serves the API behind `layer` on 127.0.0.1 (a free port) in a task;
/// returns its address.
pub async fn serve(layer: IdempotencyLayer) -> std::io::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(serve_on(listener, layer));
    Ok(addr)
}
