//! The demo order API, serving on 127.0.0.1 until stopped (Ctrl-C), for curl.
//!
//! ```text
//! cargo run --example axum_orders            # port 3000, or set PORT
//! ```

#[path = "../tests/apps/shop.rs"]
mod shop;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    tracing_subscriber::fmt().with_target(false).init();
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let addr = listener.local_addr()?;
    println!("Order API on http://{addr}. Try:");
    let auth = format!("-H 'authorization: {}'", shop::TOKEN);
    println!("  curl -i -X POST {auth} 'http://{addr}/orders?sku=widget&quantity=2'");
    println!("  curl -i -X POST {auth} 'http://{addr}/orders?sku=sold-out&quantity=1'");
    println!(
        "  curl -i -X POST {auth} -H 'accept: application/problem+xml' \\\n      \
         'http://{addr}/orders?sku=sold-out&quantity=1'"
    );
    println!("  curl -i -X POST {auth} 'http://{addr}/orders?sku=maintenance&quantity=1'");
    println!("  curl -i -X DELETE {auth} 'http://{addr}/orders/ord_1'");
    println!("  curl -i {auth} 'http://{addr}/orders/ord_1/invoice'");
    println!("Stop with Ctrl-C.");
    axum::serve(listener, shop::app())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
