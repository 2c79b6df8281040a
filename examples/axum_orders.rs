//! The order API as a team would run it, serving on 127.0.0.1 until stopped
//! (Ctrl-C), for curl: tower-http's tracing, CORS, request ids, timeout,
//! body limit and panic catching around the crate's layers. Every error it
//! sends is `application/problem+json`.
//!
//! ```text
//! cargo run --example axum_orders            # port 3000, or set PORT
//! ```

use std::time::Duration;

#[path = "../tests/apps/showcase.rs"]
mod showcase;

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
    println!("Stop with Ctrl-C.");
    axum::serve(listener, showcase::app(Duration::from_secs(2)))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
