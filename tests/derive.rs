//! `#[derive(Failure)]` over loopback: a derived enum with every kind,
//! returned by axum handlers as `Result<_, ShopError>`, answers with the
//! status, headers and body that the same failure written by hand answers
//! with, under the default policy, `strict` and a policy with a type base.

#![cfg(all(feature = "derive", feature = "axum", feature = "gateway"))]

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use http::{HeaderValue, Method, StatusCode};
use serde_json::{json, Value};
use tower_failed_dependency::errors_as_problems::ErrorsAsProblemsLayer;
use tower_failed_dependency::upstream::Upstream;
use tower_failed_dependency::{
    DependencyError, DependencyLayer, Failure, FailureKind, StatusPolicy,
};

use support::{send, Answer};

/// A payment error of its own, wrapped transparently.
#[derive(Debug, thiserror::Error, Failure)]
#[failure(dependency = "payment")]
enum PayError {
    #[error("The card was declined.")]
    #[failure(rejected(402), code = "CARD_DECLINED")]
    Declined,
}

/// Every kind, and every way of giving a name, a detail and a header.
#[derive(Debug, thiserror::Error, Failure)]
#[failure(dependency = "orders")]
enum ShopError {
    #[error("Only {left} left of {sku}.")]
    #[failure(rejected(409), dependency = "inventory", code = "OUT_OF_STOCK")]
    OutOfStock {
        sku: String,
        #[failure(extension)]
        left: u32,
    },
    #[error("Send a bearer token.")]
    #[failure(
        rejected(401),
        dependency = "auth",
        www_authenticate = "Bearer realm=\"shop\""
    )]
    Unauthenticated,
    #[error("Orders are read-only here.")]
    #[failure(rejected(405), allow = "GET, HEAD")]
    ReadOnly,
    #[error("The {service} service refused the parcel.")]
    #[failure(
        rejected(403),
        type = "https://shop.example/problems/parcel-refused",
        title = "Parcel refused"
    )]
    RefusedBy {
        #[failure(dependency)]
        service: String,
    },
    #[error("inventory is rebuilding its index")]
    #[failure(unavailable, dependency = "inventory", retry_after = 30)]
    Rebuilding,
    #[error("Payments are paused for the settlement.")]
    #[failure(unavailable, dependency = "payment", expose)]
    Paused {
        #[failure(retry_after)]
        wait: Duration,
    },
    #[error("search did not answer")]
    #[failure(timeout, dependency = "search")]
    SearchSlow,
    #[error("payment gateway answered <html>502 nginx</html>")]
    #[failure(bad_gateway, dependency = "payment")]
    PaymentGarbled,
    #[error("The order is malformed.")]
    #[failure(invalid, code = "BAD_ORDER")]
    BadOrder {
        #[failure(errors)]
        errors: Vec<(&'static str, String)>,
    },
    #[error("The quantity must be at least 1.")]
    #[failure(invalid(422), code = "QUANTITY_ZERO")]
    QuantityZero,
    #[error("Send If-Match with the ETag of order {0}.")]
    #[failure(precondition, dependency = "order_version")]
    NoVersion(String),
    #[error("ledger shard {shard} at postgres://billing:s3cret@10.0.0.7 unreachable")]
    #[failure(internal, dependency = "billing")]
    Ledger { shard: u32 },
    #[error("warehouse call failed")]
    #[failure(from_error, dependency = "warehouse")]
    Warehouse(#[from] std::io::Error),
    #[error("carrier call failed")]
    #[failure(from_error, dependency = "carrier", code = "CARRIER_SLOW")]
    Carrier(#[source] tower::timeout::error::Elapsed),
    #[error("stock call failed")]
    #[failure(from_error, dependency = "stock")]
    Stock(#[source] Failure),
    #[error(transparent)]
    #[failure(transparent)]
    Pay(#[from] PayError),
}

/// How many cases there are.
const CASES: usize = 16;

fn stock_answer() -> Failure {
    let body = br#"{"title": "Conflict", "status": 409, "detail": "Reserved by order 7."}"#;
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/problem+json"),
    );
    Upstream::new()
        .classify(StatusCode::CONFLICT, &headers, body)
        .expect_err("a 409 is a failure")
}

/// The derived error of case `n`.
fn derived(n: usize) -> ShopError {
    match n {
        0 => ShopError::OutOfStock {
            sku: "widget".into(),
            left: 0,
        },
        1 => ShopError::Unauthenticated,
        2 => ShopError::ReadOnly,
        3 => ShopError::RefusedBy {
            service: "customs".into(),
        },
        4 => ShopError::Rebuilding,
        5 => ShopError::Paused {
            wait: Duration::from_secs(90),
        },
        6 => ShopError::SearchSlow,
        7 => ShopError::PaymentGarbled,
        8 => ShopError::BadOrder {
            errors: vec![
                ("#/items/0/quantity", "must be a positive integer".into()),
                ("#/address", "is required".into()),
            ],
        },
        9 => ShopError::QuantityZero,
        10 => ShopError::NoVersion("ord_1".into()),
        11 => ShopError::Ledger { shard: 3 },
        12 => ShopError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        13 => ShopError::Carrier(tower::timeout::error::Elapsed::new()),
        14 => ShopError::Stock(stock_answer()),
        _ => ShopError::Pay(PayError::Declined),
    }
}

/// The same failure of case `n`, written by hand as before the derive.
fn by_hand(n: usize) -> DependencyError {
    let source = derived(n);
    let (name, failure) = match n {
        0 => (
            "inventory",
            Failure::rejected(StatusCode::CONFLICT)
                .with_detail("Only 0 left of widget.")
                .with_code("OUT_OF_STOCK")
                .with_extension("left", 0),
        ),
        1 => (
            "auth",
            Failure::rejected(StatusCode::UNAUTHORIZED)
                .with_detail("Send a bearer token.")
                .with_www_authenticate(HeaderValue::from_static("Bearer realm=\"shop\"")),
        ),
        2 => (
            "orders",
            Failure::rejected(StatusCode::METHOD_NOT_ALLOWED)
                .with_detail("Orders are read-only here.")
                .with_allow(HeaderValue::from_static("GET, HEAD")),
        ),
        3 => (
            "customs",
            Failure::rejected(StatusCode::FORBIDDEN)
                .with_detail("The customs service refused the parcel.")
                .with_type("https://shop.example/problems/parcel-refused")
                .with_title("Parcel refused"),
        ),
        4 => (
            "inventory",
            Failure::unavailable()
                .with_retry_after(Duration::from_secs(30))
                .with_source(source),
        ),
        5 => (
            "payment",
            Failure::unavailable()
                .with_detail("Payments are paused for the settlement.")
                .with_retry_after(Duration::from_secs(90))
                .with_source(source),
        ),
        6 => ("search", Failure::timeout().with_source(source)),
        7 => ("payment", Failure::bad_gateway().with_source(source)),
        8 => (
            "orders",
            Failure::invalid_input()
                .with_detail("The order is malformed.")
                .with_code("BAD_ORDER")
                .with_error("#/items/0/quantity", "must be a positive integer")
                .with_error("#/address", "is required"),
        ),
        9 => (
            "orders",
            Failure::unprocessable()
                .with_detail("The quantity must be at least 1.")
                .with_code("QUANTITY_ZERO"),
        ),
        10 => (
            "order_version",
            Failure::precondition_required()
                .with_detail("Send If-Match with the ETag of order ord_1."),
        ),
        11 => ("billing", Failure::internal().with_source(source)),
        12 => (
            "warehouse",
            Failure::from_error(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        ),
        13 => (
            "carrier",
            Failure::from_error(tower::timeout::error::Elapsed::new()).with_code("CARRIER_SLOW"),
        ),
        14 => ("stock", stock_answer()),
        _ => (
            "payment",
            Failure::rejected(StatusCode::PAYMENT_REQUIRED)
                .with_detail("The card was declined.")
                .with_code("CARD_DECLINED"),
        ),
    };
    DependencyError::new(name, failure)
}

async fn derived_route(Path(n): Path<usize>) -> Result<&'static str, ShopError> {
    Err(derived(n))
}

async fn by_hand_route(Path(n): Path<usize>) -> Result<&'static str, DependencyError> {
    Err(by_hand(n))
}

/// Both sets of routes under `policy`, on 127.0.0.1.
async fn serve(policy: StatusPolicy) -> SocketAddr {
    let app: Router = Router::new()
        .route("/derived/{n}", get(derived_route))
        .route("/by-hand/{n}", get(by_hand_route))
        .layer(DependencyLayer::new().policy(policy));
    support::serve(app).await
}

/// The headers a kind may carry, and the content type.
const HEADERS: [&str; 4] = ["content-type", "retry-after", "www-authenticate", "allow"];

fn headers_of(answer: &Answer) -> Vec<(&'static str, Option<String>)> {
    HEADERS
        .iter()
        .map(|name| {
            let value = answer
                .headers
                .get(*name)
                .map(|v| v.to_str().unwrap().to_owned());
            (*name, value)
        })
        .collect()
}

/// Case `n` under the server at `addr`: the derived answer, checked equal
/// to the hand-written one.
async fn compare(addr: SocketAddr, n: usize) -> (Answer, Value) {
    let derived = send(addr, Method::GET, &format!("/derived/{n}"), &[]).await;
    let by_hand = send(addr, Method::GET, &format!("/by-hand/{n}"), &[]).await;
    assert_eq!(derived.status, by_hand.status, "case {n}");
    assert_eq!(headers_of(&derived), headers_of(&by_hand), "case {n}");
    let body = derived.assert_problem(derived.status);
    assert_eq!(body, by_hand.json(), "case {n}");
    (derived, body)
}

#[tokio::test]
async fn every_kind_answers_as_the_hand_written_failure_under_the_default_policy() {
    let addr = serve(StatusPolicy::default()).await;
    let mut seen = Vec::new();
    for n in 0..CASES {
        let (answer, body) = compare(addr, n).await;
        seen.push((n, answer, body));
    }
    let status = |n: usize| seen[n].1.status.as_u16();
    let statuses: Vec<u16> = (0..CASES).map(status).collect();
    assert_eq!(
        statuses,
        [424, 424, 424, 424, 503, 503, 504, 502, 400, 422, 428, 500, 503, 504, 424, 424]
    );

    let (_, out_of_stock, body) = &seen[0];
    assert_eq!(
        out_of_stock.headers["content-type"],
        "application/problem+json"
    );
    assert_eq!(
        *body,
        json!({
            "title": "Failed Dependency", "status": 424, "detail": "Only 0 left of widget.",
            "dependency": "inventory", "dependency_status": 409, "code": "OUT_OF_STOCK",
            "left": 0, "retryable": false
        })
    );
    // The headers of a 401 and a 405 go with those statuses only.
    assert!(seen[1].1.headers.get("www-authenticate").is_none());
    assert!(seen[2].1.headers.get("allow").is_none());
    assert_eq!(seen[2].2["dependency"], "orders", "the enum's default name");
    assert_eq!(
        seen[3].2["type"],
        "https://shop.example/problems/parcel-refused"
    );
    assert_eq!(seen[3].2["title"], "Parcel refused");
    assert_eq!(seen[3].2["dependency"], "customs", "the name from a field");
    assert_eq!(seen[4].1.headers["retry-after"], "30");
    assert_eq!(seen[5].1.headers["retry-after"], "90");
    // A server fault's text is not rendered by default, exposed or not:
    // the kind's generic detail is.
    assert_eq!(
        seen[5].2["detail"],
        "The dependency 'payment' is temporarily unavailable."
    );
    assert_eq!(
        seen[6].2["detail"],
        "The dependency 'search' did not answer in time."
    );
    assert_eq!(
        seen[8].2["errors"],
        json!([
            {"detail": "must be a positive integer", "pointer": "#/items/0/quantity"},
            {"detail": "is required", "pointer": "#/address"}
        ])
    );
    assert_eq!(
        seen[10].2["detail"],
        "Send If-Match with the ETag of order ord_1."
    );
    let ledger = seen[11].1.text();
    assert!(
        !ledger.contains("s3cret") && !ledger.contains("shard"),
        "{ledger}"
    );
    assert_eq!(seen[12].2["dependency"], "warehouse");
    assert_eq!(seen[13].2["code"], "CARRIER_SLOW");
    assert_eq!(seen[14].2["dependency_status"], 409);
    // The upstream's problem is its cause, shown only when the policy opts in.
    assert!(seen[14].2.get("cause").is_none());
    assert_eq!(seen[15].2["dependency"], "payment");
    assert_eq!(seen[15].2["code"], "CARD_DECLINED");
}

#[tokio::test]
async fn under_strict_a_refusal_answers_its_own_status_with_its_headers() {
    let addr = serve(StatusPolicy::strict()).await;
    let (answer, body) = compare(addr, 1).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.headers["www-authenticate"], "Bearer realm=\"shop\"");
    assert_eq!(body["dependency"], "auth");
    let (answer, _) = compare(addr, 2).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.headers["allow"], "GET, HEAD");
    let (answer, _) = compare(addr, 0).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    for n in 3..CASES {
        compare(addr, n).await;
    }
}

#[tokio::test]
async fn a_type_base_and_shown_server_details_apply_to_derived_errors() {
    let policy = StatusPolicy::builder()
        .type_base("https://errors.example.com/")
        .show_server_detail(true)
        .build()
        .unwrap();
    let addr = serve(policy).await;
    let (_, body) = compare(addr, 4).await;
    assert_eq!(body["type"], "https://errors.example.com/unavailable");
    assert_eq!(body["title"], "Dependency unavailable");
    // Not exposed: no detail of its own, the generic one.
    assert_eq!(
        body["detail"],
        "The dependency 'inventory' is temporarily unavailable."
    );
    let (_, body) = compare(addr, 5).await;
    assert_eq!(body["detail"], "Payments are paused for the settlement.");
    // A variant's own type and title come before the base's.
    let (_, body) = compare(addr, 3).await;
    assert_eq!(body["type"], "https://shop.example/problems/parcel-refused");
    assert_eq!(body["title"], "Parcel refused");
    // The internal error's text stays out even so: it was never a detail.
    let (answer, _) = compare(addr, 11).await;
    assert!(!answer.text().contains("s3cret"), "{}", answer.text());
    for n in 0..CASES {
        compare(addr, n).await;
    }
}

#[tokio::test]
async fn without_a_layer_and_under_errors_as_problems_the_answers_match_too() {
    // No layer: the default policy renders it, as a DependencyError's.
    let bare: Router = Router::new()
        .route("/derived/{n}", get(derived_route))
        .route("/by-hand/{n}", get(by_hand_route));
    let addr = support::serve(bare).await;
    for n in 0..CASES {
        compare(addr, n).await;
    }
    // ErrorsAsProblems writes it again with the request id.
    let app: Router = Router::new()
        .route("/derived/{n}", get(derived_route))
        .route("/by-hand/{n}", get(by_hand_route))
        .layer(ErrorsAsProblemsLayer::new());
    let addr = support::serve(app).await;
    let id = [("x-request-id", "req-24")];
    let answer = send(addr, Method::GET, "/derived/0", &id).await;
    let body = answer.assert_problem(StatusCode::FAILED_DEPENDENCY);
    assert_eq!(body["request_id"], "req-24");
    assert_eq!(body["code"], "OUT_OF_STOCK");
    let by_hand = send(addr, Method::GET, "/by-hand/0", &id).await;
    assert_eq!(body, by_hand.json());
}

#[test]
fn the_failure_conversion_keeps_kind_detail_and_source() {
    let failure = Failure::from(derived(0));
    assert_eq!(failure.kind(), FailureKind::Rejected(StatusCode::CONFLICT));
    assert_eq!(failure.detail(), Some("Only 0 left of widget."));
    // A server fault keeps the error itself for the logs.
    let ledger = Failure::from(ShopError::Ledger { shard: 3 });
    let source = std::error::Error::source(&ledger).expect("the error is kept");
    assert!(source.to_string().contains("shard 3"));
    assert_eq!(ledger.detail(), None);
    // A wrapped error classified: a refused connection is a 503.
    assert_eq!(Failure::from(derived(12)).kind(), FailureKind::Unavailable);
    assert_eq!(Failure::from(derived(13)).kind(), FailureKind::Timeout);
    assert_eq!(
        Failure::from(derived(15)).kind(),
        FailureKind::Rejected(StatusCode::PAYMENT_REQUIRED)
    );
}
