//! A tour of tower-failed-dependency: starts the demo order API on
//! 127.0.0.1, sends it real HTTP requests and prints each answer.
//!
//! ```text
//! cargo run --example tour
//! ```

#[path = "support/checkout.rs"]
mod checkout;
#[path = "support/shop.rs"]
mod shop;

use std::error::Error;

use bytes::Bytes;
use http::{header, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

type BoxError = Box<dyn Error + Send + Sync>;

struct Scenario {
    what: &'static str,
    method: Method,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    expect: StatusCode,
}

const AUTH: (&str, &str) = ("authorization", shop::TOKEN);

fn scenarios() -> Vec<Scenario> {
    let post = |what, path, expect| Scenario {
        what,
        method: Method::POST,
        path,
        headers: &[AUTH, ("x-request-id", "tour-7f3a")],
        expect,
    };
    vec![
        post(
            "Stock reserved and payment authorized: the handler runs",
            "/orders?sku=widget&quantity=2",
            StatusCode::CREATED,
        ),
        post(
            "Inventory refused the reservation (409): 424 names it, payment was skipped",
            "/orders?sku=sold-out&quantity=1",
            StatusCode::FAILED_DEPENDENCY,
        ),
        Scenario {
            what: "The token lacks a scope: auth refused with 403, so 424 names auth",
            method: Method::POST,
            path: "/orders?sku=widget&quantity=1",
            headers: &[("authorization", "Bearer read-only")],
            expect: StatusCode::FAILED_DEPENDENCY,
        },
        post(
            "The inventory service is down: 503 with Retry-After, not 424",
            "/orders?sku=maintenance&quantity=1",
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        post(
            "The inventory service did not answer in time: 504",
            "/orders?sku=slow&quantity=1",
            StatusCode::GATEWAY_TIMEOUT,
        ),
        post(
            "The payment gateway answered garbage: 502",
            "/orders?sku=gadget&quantity=1",
            StatusCode::BAD_GATEWAY,
        ),
        post(
            "The request's own input is malformed: 400",
            "/orders?sku=widget&quantity=many",
            StatusCode::BAD_REQUEST,
        ),
        post(
            "Well-formed, but a quantity of 0 cannot be processed: 422",
            "/orders?sku=widget&quantity=0",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Scenario {
            what: "Cancelling without If-Match: the precondition was not sent, 428",
            method: Method::DELETE,
            path: "/orders/ord_1",
            headers: &[AUTH],
            expect: StatusCode::PRECONDITION_REQUIRED,
        },
        Scenario {
            what: "Billing failed internally: 500, and nothing internal in the body",
            method: Method::GET,
            path: "/orders/ord_1/invoice",
            headers: &[AUTH],
            expect: StatusCode::INTERNAL_SERVER_ERROR,
        },
        Scenario {
            what: "A legacy handler answers a bare 424 naming nothing: it never leaves as 424",
            method: Method::GET,
            path: "/legacy/export",
            headers: &[AUTH],
            expect: StatusCode::INTERNAL_SERVER_ERROR,
        },
        post(
            "Checks the layer runs itself: auth, then inventory and payment_limit \
             concurrently; the handler reads the customer and reservation they produced",
            "/checkout?sku=widget&amount=1999",
            StatusCode::CREATED,
        ),
        Scenario {
            what: "The auth check refuses the token: 424, inventory and payment_limit never ran",
            method: Method::POST,
            path: "/checkout?sku=widget&amount=1999",
            headers: &[("authorization", "Bearer read-only")],
            expect: StatusCode::FAILED_DEPENDENCY,
        },
        post(
            "The inventory check is refused (409): 424, the running payment_limit is dropped",
            "/checkout?sku=sold-out&amount=1999",
            StatusCode::FAILED_DEPENDENCY,
        ),
        post(
            "The inventory check outlasts its 100 ms timeout: 504",
            "/checkout?sku=slow&amount=1999",
            StatusCode::GATEWAY_TIMEOUT,
        ),
        post(
            "The payment_limit check panics on an amount that is not a number: 500, \
             the panic is logged, never shown",
            "/checkout?sku=widget&amount=lots",
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        post(
            "After that panic the same server still checks out",
            "/checkout?sku=gadget&amount=500",
            StatusCode::CREATED,
        ),
    ]
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // One line per panic instead of a backtrace: scenario 16 panics on purpose.
    std::panic::set_hook(Box::new(|panic| eprintln!("   [server log] {panic}")));
    let app = shop::app().merge(checkout::app());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    println!("The demo order and checkout APIs are listening on http://{addr}\n");

    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut surprises = 0;
    for (n, scenario) in scenarios().into_iter().enumerate() {
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

        println!("{}. {}", n + 1, scenario.what);
        println!("   {} {}", scenario.method, scenario.path);
        println!("   -> {status}");
        for name in [
            header::CONTENT_TYPE,
            header::RETRY_AFTER,
            header::CACHE_CONTROL,
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
    server.abort();
    if surprises > 0 {
        return Err(format!("{surprises} answers differed from what the tour expects").into());
    }
    println!("Every answer was the one expected.");
    Ok(())
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
