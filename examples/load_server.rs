//! A plain hyper server for load tests, with or without the layer on its
//! pass path. Used by `scripts/load.sh`; serves on 127.0.0.1 until killed.
//!
//! ```text
//! cargo run --release --example load_server -- with 127.0.0.1:8081
//! cargo run --release --example load_server -- without 127.0.0.1:8082
//! ```
//!
//! Both record that `auth` succeeded (the earlier layer a real service
//! has), so the only difference between them is `DependencyLayer`.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower::{service_fn, ServiceBuilder};
use tower_failed_dependency::{Dependencies, DependencyLayer};

fn record_auth(mut request: Request<Incoming>) -> Request<Incoming> {
    request
        .extensions_mut()
        .get_or_insert_with(Dependencies::new)
        .record_success("auth");
    request
}

async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"hello\n"))))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let addr: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:8081".into())
        .parse()?;
    if !addr.ip().is_loopback() {
        return Err("the load server binds a loopback address only".into());
    }
    match mode.as_str() {
        "with" => {
            let service = ServiceBuilder::new()
                .map_request(record_auth)
                .layer(DependencyLayer::new().require("auth"))
                .service(service_fn(hello));
            serve(addr, service).await
        }
        "without" => {
            let service = ServiceBuilder::new()
                .map_request(record_auth)
                .service(service_fn(hello));
            serve(addr, service).await
        }
        other => Err(format!("mode must be `with` or `without`, not {other:?}").into()),
    }
}

async fn serve<S, B>(
    addr: SocketAddr,
    service: S,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    S: tower::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
