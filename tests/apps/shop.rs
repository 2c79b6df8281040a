//! A small order API with prerequisites, shared by the tour, the
//! `axum_orders` example and the integration tests.
//!
//! - `authenticate` (outermost) records `auth` from the `Authorization` header.
//! - `POST /orders?sku=..&quantity=..` requires `auth`, `inventory` and
//!   `payment`; `reserve` records the last two before the layer decides.
//! - Other routes report failures from their handlers with `DependencyError`.

use std::io;
use std::time::Duration;

use axum::extract::{Path, Query, Request};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{from_fn, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tower_failed_dependency::{Dependencies, DependencyError, DependencyLayer, Failure, Outcome};

/// The token the demo accepts.
pub const TOKEN: &str = "Bearer demo";

/// The order API.
pub fn app() -> Router {
    // The method router's own `route_layer`: its layers run for POST only,
    // so `GET /orders` answers 405 before any prerequisite is looked at.
    let place = post(place_order)
        .route_layer(
            DependencyLayer::new()
                .require("auth")
                .require("inventory")
                .require("payment"),
        )
        .route_layer(from_fn(reserve));
    Router::new()
        .route("/orders", place)
        .route("/orders/{id}", delete(cancel_order))
        .route("/orders/{id}/invoice", get(invoice))
        .route("/legacy/export", get(legacy_export))
        // Renders the handlers' `DependencyError`s and stops bare 424s.
        .layer(DependencyLayer::new())
        .layer(from_fn(authenticate))
}

/// Records whether the caller is authenticated.
async fn authenticate(mut request: Request, next: Next) -> Response {
    let token = request.headers().get(header::AUTHORIZATION).cloned();
    let record = request
        .extensions_mut()
        .get_or_insert_with(Dependencies::new);
    match token {
        Some(token) if token == TOKEN => record.record_success("auth"),
        Some(_) => record.record_failure(
            "auth",
            Failure::rejected(StatusCode::FORBIDDEN)
                .with_detail("The token does not grant orders:write.")
                .with_code("SCOPE_MISSING"),
        ),
        None => record.record_failure(
            "auth",
            Failure::rejected(StatusCode::UNAUTHORIZED).with_detail("Send a bearer token."),
        ),
    };
    next.run(request).await
}

#[derive(Debug, Deserialize)]
struct OrderQuery {
    sku: String,
    quantity: u32,
}

/// Reserves stock, then authorizes payment, before the layer decides. Each
/// step runs only when the one before it succeeded; the others are recorded
/// as skipped because of the failure.
async fn reserve(mut request: Request, next: Next) -> Response {
    let authenticated = request
        .extensions()
        .get::<Dependencies>()
        .and_then(|record| record.get("auth"))
        .is_some_and(Outcome::is_success);
    let stock = match Query::<OrderQuery>::try_from_uri(request.uri()) {
        _ if !authenticated => None,
        Err(_) => Some(Err(Failure::invalid_input()
            .with_detail("Send sku (text) and quantity (a whole number) in the query.")
            .with_code("BAD_ORDER_QUERY"))),
        Ok(Query(order)) => Some(reserve_stock(&order).await.map(|()| order)),
    };
    let record = request
        .extensions_mut()
        .get_or_insert_with(Dependencies::new);
    match stock {
        None => {
            record
                .record_skipped("inventory", "auth")
                .record_skipped("payment", "auth");
        }
        Some(Err(failure)) => {
            record
                .record_failure("inventory", failure)
                .record_skipped("payment", "inventory");
        }
        Some(Ok(order)) => {
            record.record_success("inventory");
            match authorize_payment(&order) {
                Ok(()) => record.record_success("payment"),
                Err(failure) => record.record_failure("payment", failure),
            };
        }
    }
    next.run(request).await
}

/// Stands in for a call to an inventory service.
async fn reserve_stock(order: &OrderQuery) -> Result<(), Failure> {
    let inventory = Err;
    if order.quantity == 0 {
        return inventory(
            Failure::unprocessable()
                .with_detail("The quantity must be at least 1.")
                .with_code("QUANTITY_ZERO"),
        );
    }
    match order.sku.as_str() {
        "sold-out" => inventory(
            Failure::rejected(StatusCode::CONFLICT)
                .with_detail("Only 0 left of sold-out.")
                .with_code("OUT_OF_STOCK"),
        ),
        "maintenance" => {
            inventory(Failure::unavailable().with_retry_after(Duration::from_secs(30)))
        }
        "slow" => {
            let slow_call = tokio::time::sleep(Duration::from_millis(300));
            match tokio::time::timeout(Duration::from_millis(50), slow_call).await {
                Ok(()) => Ok(()),
                Err(elapsed) => inventory(Failure::timeout().with_source(elapsed)),
            }
        }
        _ => Ok(()),
    }
}

/// Stands in for a payment gateway.
fn authorize_payment(order: &OrderQuery) -> Result<(), Failure> {
    match order.sku.as_str() {
        "gadget" => Err(Failure::bad_gateway().with_source(io::Error::new(
            io::ErrorKind::InvalidData,
            "payment gateway answered <html>502 nginx</html>",
        ))),
        _ => Ok(()),
    }
}

async fn place_order(Query(order): Query<OrderQuery>) -> impl IntoResponse {
    let body = json!({"order": "ord_1", "sku": order.sku, "quantity": order.quantity});
    (StatusCode::CREATED, Json(body))
}

async fn cancel_order(
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, DependencyError> {
    if !headers.contains_key(header::IF_MATCH) {
        let failure = Failure::precondition_required()
            .with_detail(format!("Send If-Match with the ETag of order {id}."));
        return Err(DependencyError::new("order_version", failure));
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn invoice(Path(_id): Path<String>) -> Result<Json<serde_json::Value>, DependencyError> {
    let cause = io::Error::new(
        io::ErrorKind::ConnectionRefused,
        "connect postgres://billing:s3cret@10.0.0.7:5432 refused",
    );
    let failure = Failure::internal()
        .with_detail("ledger shard 3 unreachable")
        .with_source(cause);
    Err(DependencyError::new("billing", failure))
}

/// An old handler that answers a bare 424, naming nothing.
async fn legacy_export() -> StatusCode {
    StatusCode::FAILED_DEPENDENCY
}
