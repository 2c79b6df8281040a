//! The layer on a plain hyper 1 server, without axum: `PUT /documents/..`
//! needs the `lock` prerequisite, which an earlier layer records from the
//! `lock-token` header. Serves on 127.0.0.1 until stopped (Ctrl-C).
//!
//! ```text
//! cargo run --example hyper_plain            # port 3001, or set PORT
//! ```

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower::{service_fn, ServiceBuilder};
use tower_failed_dependency::{Dependencies, DependencyLayer, Failure};

/// Records the outcome of `lock`: a request must hold the document's lock.
fn check_lock(mut request: Request<Incoming>) -> Request<Incoming> {
    let outcome = match request.headers().get("lock-token") {
        None => Err(Failure::precondition_required()
            .with_detail("Send the lock-token header of the lock you hold.")),
        Some(token) if token == "opaquelocktoken:demo" => Ok(()),
        Some(_) => Err(Failure::rejected(StatusCode::LOCKED)
            .with_detail("The document is locked by someone else.")),
    };
    let record = request
        .extensions_mut()
        .get_or_insert_with(Dependencies::new);
    match outcome {
        Ok(()) => record.record_success("lock"),
        Err(failure) => record.record_failure("lock", failure),
    };
    request
}

async fn save(_request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::from("saved\n")))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let service = ServiceBuilder::new()
        .map_request(check_lock)
        .layer(DependencyLayer::new().require("lock"))
        .service(service_fn(save));

    let port = std::env::var("PORT").unwrap_or_else(|_| "3001".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let addr = listener.local_addr()?;
    println!("Documents on http://{addr}. Try:");
    println!("  curl -i -X PUT http://{addr}/documents/a                      # 428");
    println!("  curl -i -X PUT -H 'lock-token: other' http://{addr}/documents/a  # 424 (423)");
    println!("  curl -i -X PUT -H 'lock-token: opaquelocktoken:demo' http://{addr}/documents/a");
    println!("Stop with Ctrl-C.");

    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let io = TokioIo::new(stream);
            if let Err(error) = http1::Builder::new().serve_connection(io, service).await {
                eprintln!("connection error: {error}");
            }
        });
    }
}
