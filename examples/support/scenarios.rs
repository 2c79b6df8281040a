//! Sending scenarios to a server over real HTTP and printing each answer:
//! shared by the tour and the gateway example.

use std::error::Error;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{header, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

pub type BoxError = Box<dyn Error + Send + Sync>;

/// One request and the status the tour expects for it.
pub struct Scenario {
    pub what: &'static str,
    pub method: Method,
    pub path: &'static str,
    pub headers: &'static [(&'static str, &'static str)],
    pub expect: StatusCode,
}

/// Sends each scenario to `addr`, numbering from `first`, and prints the
/// answers. Returns how many statuses differed from what was expected.
pub async fn run(
    addr: SocketAddr,
    first: usize,
    scenarios: Vec<Scenario>,
) -> Result<usize, BoxError> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut surprises = 0;
    for (n, scenario) in scenarios.into_iter().enumerate() {
        let mut request = Request::builder()
            .method(scenario.method.clone())
            .uri(format!("http://{addr}{}", scenario.path));
        for (name, value) in scenario.headers {
            request = request.header(*name, *value);
        }
        let response = client.request(request.body(Full::default())?).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await?.to_bytes();

        println!("{}. {}", first + n, scenario.what);
        println!("   {} {}", scenario.method, scenario.path);
        println!("   -> {status}");
        for name in [
            header::CONTENT_TYPE,
            header::RETRY_AFTER,
            header::CACHE_CONTROL,
            header::VARY,
            header::ALLOW,
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
        ] {
            if let Some(value) = headers.get(&name) {
                println!("      {name}: {}", value.to_str().unwrap_or("<not text>"));
            }
        }
        print_body(&body);
        if status != scenario.expect {
            println!("   !! expected {}", scenario.expect);
            surprises += 1;
        }
        println!();
    }
    Ok(surprises)
}

fn print_body(body: &[u8]) {
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(json) => serde_json::to_string_pretty(&json).unwrap_or_default(),
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    for line in text.lines() {
        println!("      {line}");
    }
}

/// The gateway's scenarios, for its example and the tour.
pub fn gateway() -> Vec<Scenario> {
    let get = |what, path, expect| Scenario {
        what,
        method: Method::GET,
        path,
        headers: &[("x-request-id", "gw-7f3a")],
        expect,
    };
    vec![
        get(
            "The upstream reserves: 200, and it saw the forwarded request id",
            "/orders/ok/reserve",
            StatusCode::OK,
        ),
        get(
            "The upstream is down (connection refused): 503, not 424",
            "/orders/down/reserve",
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        get(
            "The upstream does not answer within 300 ms (tower's TimeoutLayer): 504",
            "/orders/slow/reserve",
            StatusCode::GATEWAY_TIMEOUT,
        ),
        get(
            "The upstream refuses with 409 problem+json: 424 naming inventory and its 409",
            "/orders/conflict/reserve",
            StatusCode::FAILED_DEPENDENCY,
        ),
        get(
            "The upstream answers 424 naming its ledger: 424, the cause names the root",
            "/orders/failed-dependency/reserve",
            StatusCode::FAILED_DEPENDENCY,
        ),
        get(
            "The upstream answers bytes that are not HTTP: 502",
            "/orders/garbage/reserve",
            StatusCode::BAD_GATEWAY,
        ),
        get(
            "The upstream is busy (503, Retry-After: 7): 503 with Retry-After: 7",
            "/orders/busy/reserve",
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        get(
            "The upstream refuses with a 10 MB problem body: 424 at once, cause omitted",
            "/orders/huge/reserve",
            StatusCode::FAILED_DEPENDENCY,
        ),
        get(
            "The upstream sends headers that never end: 502 once hyper's limit is hit",
            "/orders/endless-headers/reserve",
            StatusCode::BAD_GATEWAY,
        ),
    ]
}
