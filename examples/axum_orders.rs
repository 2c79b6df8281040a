//! The order API as a team would run it, serving on 127.0.0.1 until stopped
//! (Ctrl-C), for curl: tower-http's tracing, CORS, request ids, timeout,
//! body limit and panic catching around the crate's layers. Every error it
//! sends is `application/problem+json`.
//!
//! Shipping (`POST /orders/{id}/ship`) reports its failures with an error
//! enum of its own, `ShipError`, whose problems `#[derive(Failure)]` maps:
//! no `match` from variants to failures, and `?` in the handler.
//!
//! ```text
//! cargo run --example axum_orders            # port 3000, or set PORT
//! ```

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_failed_dependency::errors_as_problems::ErrorsAsProblemsLayer;
use tower_failed_dependency::{DependencyLayer, Failure, StatusPolicy};

#[path = "../tests/apps/showcase.rs"]
mod showcase;

/// What shipping an order runs into. Each variant's problem is derived: its
/// kind, the prerequisite it names, its code; a client error's detail is
/// its `Display`, a server fault's text stays in the logs.
#[derive(Debug, thiserror::Error, Failure)]
#[failure(dependency = "carrier")]
enum ShipError {
    /// The carrier refused the parcel: 424, naming the carrier and its 409.
    #[error("The carrier takes parcels of at most {limit_kg} kg.")]
    #[failure(rejected(409), code = "PARCEL_TOO_HEAVY")]
    TooHeavy {
        #[failure(extension = "limitKg")]
        limit_kg: u32,
    },
    /// The carrier's API is down: 503 with Retry-After.
    #[error("the carrier API answered 503")]
    #[failure(unavailable, retry_after = 60)]
    CarrierDown,
    /// The order has no shipping address yet: 428.
    #[error("Add a shipping address to order {0} first.")]
    #[failure(precondition, dependency = "address", code = "NO_ADDRESS")]
    NoAddress(String),
    /// The label printer could not be reached: classified (a refused
    /// connection is a 503), the I/O error kept for the logs.
    #[error("label printer unreachable")]
    #[failure(from_error, dependency = "labels")]
    Labels(#[from] std::io::Error),
}

#[derive(Debug, Deserialize)]
struct Parcel {
    weight_kg: u32,
}

/// Stands in for the label printer on the network.
fn print_label(order: &str) -> Result<String, std::io::Error> {
    match order {
        "ord_offline" => Err(std::io::ErrorKind::ConnectionRefused.into()),
        _ => Ok(format!("label-{order}")),
    }
}

/// Ships an order: every failure is a `ShipError`, and `?` turns the label
/// printer's I/O error into one.
async fn ship(
    Path(id): Path<String>,
    Query(parcel): Query<Parcel>,
) -> Result<Json<Value>, ShipError> {
    match (id.as_str(), parcel.weight_kg) {
        ("ord_new", _) => return Err(ShipError::NoAddress(id)),
        ("ord_storm", _) => return Err(ShipError::CarrierDown),
        (_, weight) if weight > 30 => return Err(ShipError::TooHeavy { limit_kg: 30 }),
        _ => {}
    }
    let label = print_label(&id)?;
    Ok(Json(json!({"order": id, "label": label})))
}

/// The shipping route, whose problems the crate's layers render with the
/// showcase's policy (its 405 too). It sits beside the showcase's routes,
/// not inside its tower-http stack.
fn shipping() -> Router {
    let policy = StatusPolicy::builder()
        .type_base("https://shop.example/problems/")
        .build()
        .expect("a valid policy");
    let ship = post(ship)
        .layer::<_, Infallible>(DependencyLayer::new().policy(policy.clone()))
        .layer::<_, Infallible>(ErrorsAsProblemsLayer::new().policy(policy));
    Router::new().route("/orders/{id}/ship", ship)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    tracing_subscriber::fmt().with_target(false).init();
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    let auth = format!("-H 'authorization: {}'", showcase::TOKEN);
    let trace = "-H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'";
    let origin = format!("-H 'origin: {}'", showcase::FRONT_END);
    println!("Order API on {url}. Try:");
    println!("  curl -i -X POST {auth} '{url}/orders?sku=widget&quantity=2'");
    println!("  curl -i -X POST {auth} {trace} '{url}/orders?sku=sold-out&quantity=1'");
    println!(
        "  curl -i -X POST {auth} -H 'accept: application/problem+xml' \\\n      \
         '{url}/orders?sku=sold-out&quantity=1'"
    );
    println!("  curl -i -X POST {auth} '{url}/orders?sku=maintenance&quantity=1'");
    println!("  curl -i {origin} '{url}/nowhere'                      # 404");
    println!("  curl -i '{url}/orders'                                # 405, allow: POST");
    println!("  curl -i -X POST -H 'content-type: application/json' -d '{{' '{url}/customers'");
    println!("  curl -i '{url}/slow'                                  # 408 after 2 s");
    println!("  curl -i '{url}/panic'                                 # 500, nothing internal");
    println!("  curl -i '{url}/stock'                                 # 503, warehouse down");
    println!("  curl -i -X DELETE {auth} '{url}/orders/ord_1'");
    println!("  curl -i {auth} '{url}/orders/ord_1/invoice'");
    println!(
        "  curl -i -X POST '{url}/orders/ord_1/ship?weight_kg=42'       # 424, carrier refused"
    );
    println!(
        "  curl -i -X POST '{url}/orders/ord_storm/ship?weight_kg=2'    # 503, retry-after: 60"
    );
    println!("  curl -i -X POST '{url}/orders/ord_new/ship?weight_kg=2'      # 428");
    println!("  curl -i -X POST '{url}/orders/ord_offline/ship?weight_kg=2'  # 503, labels");
    println!("Stop with Ctrl-C.");
    // The showcase's fallback (every unknown path a 404 problem) stays.
    let app = shipping().merge(showcase::app(Duration::from_secs(2)));
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
