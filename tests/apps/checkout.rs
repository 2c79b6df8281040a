//! A checkout API whose prerequisites the layer runs itself: `auth`, then
//! `inventory` and `payment_limit` concurrently. Shared by the tour, the
//! `checks` example and the integration tests.
//!
//! `POST /checkout?sku=..&amount=..` with `Authorization: Bearer demo`.

use std::time::Duration;

use axum::extract::{Extension, Query};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tower_failed_dependency::checks::RequestHead;
use tower_failed_dependency::{DependencyLayer, Failure};

/// The token the demo accepts (the order API's too).
pub const TOKEN: &str = "Bearer demo";

/// Who the verified token belongs to; produced by the `auth` check.
#[derive(Debug, Clone)]
pub struct Customer(pub String);

/// Stock held for the order; produced by the `inventory` check.
#[derive(Debug, Clone)]
pub struct Reservation(pub String);

/// The checkout API.
pub fn app() -> Router {
    let checks = DependencyLayer::new()
        .check("auth", verify_token)
        .check("inventory", reserve_stock)
        .after(["auth"])
        .timeout(Duration::from_millis(100))
        .check("payment_limit", check_payment_limit)
        .after(["auth"])
        .deadline(Duration::from_secs(2))
        .build()
        // The graph is fixed here: a mistake in it stops the server at
        // startup, never a request.
        .expect("the checkout graph is valid");
    Router::new()
        .route("/checkout", post(checkout))
        .route_layer(checks)
}

/// Verifies the bearer token.
async fn verify_token(head: RequestHead) -> Result<Customer, Failure> {
    match head.headers.get(header::AUTHORIZATION) {
        Some(token) if token == TOKEN => Ok(Customer("cus_42".to_owned())),
        Some(_) => Err(Failure::rejected(StatusCode::FORBIDDEN)
            .with_detail("The token does not grant checkout.")
            .with_code("SCOPE_MISSING")),
        None => {
            Err(Failure::rejected(StatusCode::UNAUTHORIZED).with_detail("Send a bearer token."))
        }
    }
}

/// What the checks read from the query.
#[derive(Debug, Deserialize)]
struct Order {
    sku: String,
    amount: String,
}

fn order(head: &RequestHead) -> Result<Order, Failure> {
    let Query(order) = Query::<Order>::try_from_uri(&head.uri).map_err(|_| {
        Failure::invalid_input()
            .with_detail("Send sku and amount in the query.")
            .with_code("BAD_CHECKOUT_QUERY")
    })?;
    Ok(order)
}

/// Stands in for a call to an inventory service that holds stock.
async fn reserve_stock(head: RequestHead) -> Result<Reservation, Failure> {
    let order = order(&head)?;
    match order.sku.as_str() {
        "sold-out" => Err(Failure::rejected(StatusCode::CONFLICT)
            .with_detail("Nothing left of sold-out.")
            .with_code("OUT_OF_STOCK")),
        "slow" => {
            // Longer than the check's 100 ms timeout.
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok(Reservation("res_late".to_owned()))
        }
        sku => Ok(Reservation(format!("res_{sku}_1"))),
    }
}

/// Stands in for a call to a payment service that checks the spending limit.
///
/// It has a bug: an amount that is not a number panics. The layer turns the
/// panic into a 500 and the server keeps serving.
async fn check_payment_limit(head: RequestHead) -> Result<(), Failure> {
    tokio::time::sleep(Duration::from_millis(20)).await;
    let amount: u64 = order(&head)?.amount.parse().unwrap();
    if amount > 100_000 {
        return Err(Failure::rejected(StatusCode::PAYMENT_REQUIRED)
            .with_detail("The amount is over the customer's limit.")
            .with_code("LIMIT_EXCEEDED"));
    }
    Ok(())
}

/// Runs only when every check passed, and reads what they produced.
async fn checkout(
    Extension(Customer(customer)): Extension<Customer>,
    Extension(Reservation(reservation)): Extension<Reservation>,
) -> impl IntoResponse {
    let body = json!({"order": "ord_7", "customer": customer, "reservation": reservation});
    (StatusCode::CREATED, Json(body))
}
