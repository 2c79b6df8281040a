//! The chains demo: keyed creates, their retries, a dependent `PATCH`, a
//! key reused with another body and a concurrent duplicate, sent over real
//! HTTP to the users API of `tests/apps/chains.rs`. Shared by the `chains`
//! example and the tour.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One request of the demo.
struct Step {
    what: &'static str,
    method: Method,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
    expect: StatusCode,
}

const AUTH: (&str, &str) = ("authorization", "Bearer demo-client");
const JSON: (&str, &str) = ("content-type", "application/json");

fn create(what: &'static str, key: &'static str, body: &'static str, expect: StatusCode) -> Step {
    let headers: &'static [(&str, &str)] = match key {
        "create-ada" => &[AUTH, JSON, ("idempotency-key", "\"create-ada\"")],
        "create-taken" => &[AUTH, JSON, ("idempotency-key", "\"create-taken\"")],
        _ => &[AUTH, JSON, ("idempotency-key", "\"create-slow\"")],
    };
    Step {
        what,
        method: Method::POST,
        path: if key == "create-slow" {
            "/users?delay_ms=400"
        } else {
            "/users"
        },
        headers,
        body,
        expect,
    }
}

const ADA: &str = r#"{"email":"ada@example.com"}"#;
const GRACE: &str = r#"{"email":"grace@example.com"}"#;
const TAKEN: &str = r#"{"email":"taken@example.com"}"#;

async fn send(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    addr: SocketAddr,
    step: &Step,
) -> Result<(StatusCode, http::HeaderMap, Bytes), BoxError> {
    let mut request = Request::builder()
        .method(step.method.clone())
        .uri(format!("http://{addr}{}", step.path));
    for (name, value) in step.headers {
        request = request.header(*name, *value);
    }
    let response = client
        .request(request.body(Full::new(Bytes::from_static(step.body.as_bytes())))?)
        .await?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, headers, body))
}

fn print(n: usize, step: &Step, status: StatusCode, headers: &http::HeaderMap, body: &[u8]) {
    println!("{n}. {}", step.what);
    let shown: Vec<String> = step
        .headers
        .iter()
        .filter(|(name, _)| *name != "authorization" && *name != "content-type")
        .map(|(name, value)| format!("{name}: {value}"))
        .collect();
    println!(
        "   {} {}  {}  {}",
        step.method,
        step.path,
        shown.join("  "),
        step.body
    );
    println!("   -> {status}");
    for name in ["idempotent-replayed", "retry-after", "content-type"] {
        if let Some(value) = headers.get(name) {
            println!("      {name}: {}", value.to_str().unwrap_or("<not text>"));
        }
    }
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(json) => serde_json::to_string_pretty(&json).unwrap_or_default(),
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    for line in text.lines() {
        println!("      {line}");
    }
}

/// Sends the demo to the users API at `addr`, numbering from `first`.
/// Returns how many answers differed from what the demo expects, and how
/// many steps it sent.
pub async fn run(addr: SocketAddr, first: usize) -> Result<(usize, usize), BoxError> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let steps = [
        create(
            "A create with an Idempotency-Key runs once: 201",
            "create-ada",
            ADA,
            StatusCode::CREATED,
        ),
        create(
            "Its retry (say the answer was lost) is the kept answer, marked as a replay",
            "create-ada",
            ADA,
            StatusCode::CREATED,
        ),
        create(
            "A create refused: the email is taken, 409",
            "create-taken",
            TAKEN,
            StatusCode::CONFLICT,
        ),
        Step {
            what: "The PATCH that depends on it must not run: 424 names the key, with its 409",
            method: Method::PATCH,
            path: "/users/taken@example.com",
            headers: &[AUTH, JSON, ("depends-on", "\"create-taken\"")],
            body: r#"{"display_name":"Ada"}"#,
            expect: StatusCode::FAILED_DEPENDENCY,
        },
        Step {
            what: "The PATCH that depends on the create that succeeded runs: 200",
            method: Method::PATCH,
            path: "/users/ada@example.com",
            headers: &[AUTH, JSON, ("depends-on", "\"create-ada\"")],
            body: r#"{"display_name":"Ada"}"#,
            expect: StatusCode::OK,
        },
        create(
            "The key reused with another body: 422, the key names one request",
            "create-ada",
            GRACE,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    let mut surprises = 0;
    let mut n = first;
    for step in &steps {
        let (status, headers, body) = send(&client, addr, step).await?;
        print(n, step, status, &headers, &body);
        if status != step.expect {
            println!("   !! expected {}", step.expect);
            surprises += 1;
        }
        println!();
        n += 1;
    }
    // Two copies of one keyed create at once: one runs, the other is told
    // the first is still running.
    let slow = create(
        "The same create twice at once: one runs (201), the other gets 409 with Retry-After",
        "create-slow",
        r#"{"email":"hedy@example.com"}"#,
        StatusCode::CREATED,
    );
    let (a, b) = tokio::join!(send(&client, addr, &slow), async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        send(&client, addr, &slow).await
    });
    let (a, b) = (a?, b?);
    print(n, &slow, a.0, &a.1, &a.2);
    println!("   and the copy sent at the same time:");
    println!("   -> {}", b.0);
    if let Some(value) = b.1.get("retry-after") {
        println!(
            "      retry-after: {}",
            value.to_str().unwrap_or("<not text>")
        );
    }
    for line in String::from_utf8_lossy(&b.2).lines() {
        println!("      {line}");
    }
    if (a.0, b.0) != (StatusCode::CREATED, StatusCode::CONFLICT) {
        println!("   !! expected 201 and 409");
        surprises += 1;
    }
    println!();
    Ok((surprises, steps.len() + 1))
}
