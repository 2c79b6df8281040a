//! A tour of tower-failed-dependency: starts the demo order, checkout and
//! gateway APIs on 127.0.0.1, sends them real HTTP requests and prints each
//! answer.
//!
//! ```text
//! cargo run --example tour
//! ```

#[path = "../tests/apps/chains.rs"]
mod chains;
#[path = "support/chains_demo.rs"]
mod chains_demo;
#[path = "../tests/apps/checkout.rs"]
mod checkout;
#[path = "../tests/apps/gateway.rs"]
mod gateway;
#[path = "support/scenarios.rs"]
mod scenarios;
#[path = "../tests/apps/showcase.rs"]
mod showcase;
#[path = "../tests/apps/users.rs"]
mod users;

use http::{Method, StatusCode};
use scenarios::{BoxError, Scenario};

const AUTH: (&str, &str) = ("authorization", showcase::TOKEN);

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
        Scenario {
            what: "The sold-out refusal again, for a client that prefers problem+xml: \
                   RFC 9457's XML form of the same problem",
            method: Method::POST,
            path: "/orders?sku=sold-out&quantity=1",
            headers: &[
                AUTH,
                ("accept", "application/problem+xml, application/json;q=0.5"),
            ],
            expect: StatusCode::FAILED_DEPENDENCY,
        },
    ]
}

/// The errors of the service a team would run (`tests/apps/showcase.rs`),
/// each a problem with CORS headers, asked from the front end's origin and
/// with a W3C `traceparent`.
fn showcase() -> Vec<Scenario> {
    const FROM_FRONT_END: &[(&str, &str)] = &[
        ("origin", "https://shop.example"),
        (
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ),
    ];
    let get = |what, path, expect| Scenario {
        what,
        method: Method::GET,
        path,
        headers: FROM_FRONT_END,
        expect,
    };
    vec![
        get(
            "No such route: axum's empty 404 becomes a problem, with the trace id",
            "/nowhere",
            StatusCode::NOT_FOUND,
        ),
        get(
            "Wrong method: 405 before any prerequisite is looked at, Allow kept",
            "/orders",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        get(
            "A handler slower than tower-http's TimeoutLayer: its empty 408 becomes a problem",
            "/slow",
            StatusCode::REQUEST_TIMEOUT,
        ),
        get(
            "A handler panics: CatchPanicLayer with PanicProblem, 500, nothing internal shown",
            "/panic",
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        get(
            "A handler's call fails and `?` names the dependency: 503",
            "/stock",
            StatusCode::SERVICE_UNAVAILABLE,
        ),
    ]
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // One line per panic instead of a backtrace: scenario 16 panics on purpose.
    std::panic::set_hook(Box::new(|panic| eprintln!("   [server log] {panic}")));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = showcase::shop::app().merge(checkout::app());
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("The demo order and checkout APIs are listening on http://{addr}\n");
    let ours = scenarios();
    let mut next = ours.len() + 1;
    let mut surprises = scenarios::run(addr, 1, ours).await?;

    let gateway = gateway::start().await?;
    println!("A gateway in front of real upstreams is listening on http://{gateway}\n");
    let upstream_cases = scenarios::gateway();
    let count = upstream_cases.len();
    surprises += scenarios::run(gateway, next, upstream_cases).await?;
    next += count;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let team = listener.local_addr()?;
    let service = showcase::app(std::time::Duration::from_millis(300));
    tokio::spawn(async move { axum::serve(listener, service).await });
    println!("The order API as a team would run it, among tower-http's layers, is listening on http://{team}\n");
    let team_cases = showcase();
    let count = team_cases.len();
    surprises += scenarios::run(team, next, team_cases).await?;
    next += count;

    let batch = users::serve().await?;
    println!("A users API with a JSON batch endpoint is listening on http://{batch}\n");
    println!("{next}. A batch whose create fails (409): its dependents answer 424, the rest runs");
    if !users::show_vector(batch).await? {
        println!("   !! expected 200 with parts 409, 424, 424, 200");
        surprises += 1;
    }
    println!();

    let chains_api =
        chains::serve(tower_failed_dependency::idempotency::IdempotencyLayer::new()).await?;
    println!(
        "A users API with Idempotency-Key and Depends-On is listening on http://{chains_api}\n"
    );
    let (chain_surprises, _) = chains_demo::run(chains_api, next + 1).await?;
    surprises += chain_surprises;

    if surprises > 0 {
        return Err(format!("{surprises} answers differed from what the tour expects").into());
    }
    println!("Every answer was the one expected.");
    Ok(())
}
