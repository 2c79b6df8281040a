//! A real server on 127.0.0.1 and a real HTTP client, for integration tests.

#![allow(dead_code, unreachable_pub)]

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tower::Service;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves `service` on 127.0.0.1 (an ephemeral port) until the test ends.
pub async fn serve<S, B>(service: S) -> SocketAddr
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// An answer as a client sees it.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON; panics (failing the test) when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the headers every problem carries.
    pub fn assert_problem(&self, status: StatusCode) -> serde_json::Value {
        assert_eq!(self.status, status, "body: {}", self.text());
        assert_eq!(self.headers["content-type"], "application/problem+json");
        assert_eq!(self.headers["cache-control"], "no-store");
        let body = self.json();
        assert_eq!(
            body["status"],
            status.as_u16(),
            "body status equals HTTP status"
        );
        body
    }
}

/// Sends one request over a real connection.
pub async fn send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> Answer {
    send_body(addr, method, path, headers, Bytes::new()).await
}

/// Sends one request with a body over a real connection.
pub async fn send_body(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Answer {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client
        .request(request.body(Full::new(body.into())).unwrap())
        .await
        .expect("the server answers");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body,
    }
}
/// Sends `head` (a request head that promises a longer body), then one
/// byte a second for at most `for_at_most`, while it waits (at most that
/// long and 10 s more) for the answer. Returns the answer as the raw text
/// the server wrote, and how long after the head it came.
pub async fn trickle(
    addr: SocketAddr,
    head: &[u8],
    for_at_most: std::time::Duration,
) -> (String, std::time::Duration) {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(head).await.unwrap();
    let sent = Instant::now();
    let trickle = tokio::spawn(async move {
        while sent.elapsed() < for_at_most {
            if writer.write_all(b" ").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let mut answer = vec![0; 8192];
    let read = tokio::time::timeout(
        for_at_most + Duration::from_secs(10),
        reader.read(&mut answer),
    )
    .await
    .expect("answered while the body still trickles in")
    .unwrap();
    let elapsed = sent.elapsed();
    trickle.abort();
    (
        String::from_utf8_lossy(&answer[..read]).into_owned(),
        elapsed,
    )
}

/// Asserts that a raw answer from [`trickle`] is a 408 problem given at
/// the `deadline` (with room for a loaded machine); returns its text.
pub fn assert_timed_out(
    (answer, elapsed): (String, std::time::Duration),
    deadline: std::time::Duration,
) -> String {
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout"),
        "{answer}"
    );
    assert!(
        answer.contains("content-type: application/problem+json"),
        "{answer}"
    );
    assert!(answer.contains("\"title\":\"Request Timeout\""), "{answer}");
    assert!(elapsed >= deadline && elapsed < deadline * 3, "{elapsed:?}");
    answer
}

#[cfg(feature = "tracing")]
pub mod logs;
pub mod redis;
pub mod redis_cluster;
pub mod xml;
