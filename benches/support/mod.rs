//! The variants both benchmarks measure, each built and driven the same way.
//!
//! One run of a variant builds its request with [`request`], passes it
//! through the earlier layer (a `map_request` closure that leaves in the
//! extensions what that layer would: a [`Marker`], a [`Passed`] flag or a
//! [`Dependencies`] record, made in the extensions and recorded into as the
//! README's earlier layer does), calls the service, and drops the answer.
//! All of it happens inside what is timed and counted, so a variant pays for
//! everything its user would, and the baseline pays for the same request.
//!
//! Every future here completes on its first poll (checks that pass at once,
//! an axum router whose handlers do not await), so requests are driven with
//! a no-op waker and no executor; the check variants arm Tokio timers, which
//! only need a runtime entered ([`with_timers`]), never driven.

// Each benchmark uses only part of this module.
#![allow(dead_code)]

mod by_hand;

#[path = "../../tests/support/immediate.rs"]
mod immediate;

#[cfg(feature = "batch")]
#[path = "../../tests/support/batches.rs"]
mod batches;

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::hint::black_box;
use std::task::Context;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::Full;
use tower::{service_fn, Service, ServiceBuilder};
use tower_failed_dependency::{Dependencies, DependencyLayer, Failure};

use self::by_hand::HandWritten;
use self::immediate::{call, noop_waker};

/// The baseline of the single-request variants.
pub const BARE: &str = "bare";
/// The baseline of the batch variants.
#[cfg(feature = "batch")]
pub const ONE_BY_ONE: &str = "4 requests one by one";

/// The names the "8 required" variant records and requires.
const NAMES: [&str; 8] = [
    "auth",
    "tenant",
    "quota",
    "lock",
    "inventory",
    "payment",
    "fraud",
    "shipping",
];

/// What any earlier layer leaves in a request's extensions.
#[derive(Clone, Copy)]
pub struct Marker(pub u8);

/// What an earlier layer leaves for the hand-written service: did the
/// prerequisite pass?
#[derive(Clone, Copy)]
pub struct Passed(pub bool);

/// One thing measured.
pub struct Variant {
    /// Its name, as `ONLY=` and the tables spell it.
    pub name: &'static str,
    /// The variant it is compared with.
    pub baseline: &'static str,
    /// How many requests one run answers (a batch's parts, or the requests
    /// sent one by one instead).
    pub parts: usize,
    /// One run; with `true`, it also asserts the answer is the one expected.
    run: Box<dyn FnMut(bool)>,
}

impl Variant {
    /// One run: the request built, passed through the earlier layer and
    /// answered, the answer dropped.
    pub fn run(&mut self) {
        (self.run)(false)
    }

    /// One run that panics unless the answer is the one this variant is
    /// about (a pass that passed, a 424 that refused, every part 200).
    pub fn verify(&mut self) {
        (self.run)(true)
    }
}

/// The request of every variant: `GET /items/1` (or whatever `method`,
/// `uri` and `body` say), accepting JSON.
pub fn request(method: Method, uri: &'static str, body: Body) -> Request<Body> {
    let mut request = Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = Uri::from_static(uri);
    request
        .headers_mut()
        .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    request
}

fn get_item() -> Request<Body> {
    request(Method::GET, "/items/1", Body::empty())
}

/// Runs `f` with a Tokio runtime entered, so that the check variants can
/// arm their timers.
pub fn with_timers<T>(f: impl FnOnce() -> T) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    let _entered = runtime.enter();
    f()
}

// The earlier layers.

fn marked(mut request: Request<Body>) -> Request<Body> {
    request.extensions_mut().insert(Marker(1));
    request
}

fn flagged(passed: bool) -> impl Fn(Request<Body>) -> Request<Body> + Clone {
    move |mut request| {
        request.extensions_mut().insert(Passed(passed));
        request
    }
}

fn succeeded(names: &'static [&'static str]) -> impl Fn(Request<Body>) -> Request<Body> + Clone {
    move |mut request| {
        // As the README's earlier layer records: into the request's record,
        // made there if it has none.
        let record = request
            .extensions_mut()
            .get_or_insert_with(Dependencies::new);
        for name in names {
            record.record_success(*name);
        }
        request
    }
}

fn refused(mut request: Request<Body>) -> Request<Body> {
    request
        .extensions_mut()
        .get_or_insert_with(Dependencies::new)
        .record_failure("inventory", Failure::rejected(StatusCode::CONFLICT));
    request
}

// The services.

type Answer = Response<Full<Bytes>>;

/// The handler: an empty 200.
fn bare() -> impl Service<
    Request<Body>,
    Response = Answer,
    Error = Infallible,
    Future = Ready<Result<Answer, Infallible>>,
> + Clone
       + Send
       + 'static {
    service_fn(|_: Request<Body>| ready(Ok(Response::new(Full::default()))))
}

/// A small axum router; its handler does not await.
fn router() -> Router {
    Router::new().route("/items/{id}", get(|| async {}))
}

/// A variant answering one request of [`get_item`] with `service`.
fn single<S, B>(name: &'static str, mut service: S, expected: StatusCode) -> Variant
where
    S: Service<Request<Body>, Response = Response<B>> + 'static,
    S::Error: std::fmt::Debug,
    B: 'static,
{
    let waker = noop_waker();
    Variant {
        name,
        baseline: BARE,
        parts: 1,
        run: Box::new(move |verify| {
            let response = call(&mut service, get_item(), &mut Context::from_waker(&waker));
            if verify {
                assert_eq!(response.status(), expected, "{name}");
            }
            black_box(response);
        }),
    }
}

/// Every variant of this build, baselines first.
pub fn variants() -> Vec<Variant> {
    let mut variants = vec![
        single(
            BARE,
            ServiceBuilder::new().map_request(marked).service(bare()),
            StatusCode::OK,
        ),
        single(
            "hand-written pass",
            ServiceBuilder::new()
                .map_request(flagged(true))
                .service(HandWritten::new(bare())),
            StatusCode::OK,
        ),
        single(
            "crate pass, 1 required",
            ServiceBuilder::new()
                .map_request(succeeded(&NAMES[..1]))
                .layer(DependencyLayer::new().require("auth"))
                .service(bare()),
            StatusCode::OK,
        ),
        single(
            "crate pass, 8 required",
            ServiceBuilder::new()
                .map_request(succeeded(&NAMES))
                .layer(
                    NAMES
                        .iter()
                        .fold(DependencyLayer::new(), |layer, name| layer.require(*name)),
                )
                .service(bare()),
            StatusCode::OK,
        ),
        single(
            "hand-written 424",
            ServiceBuilder::new()
                .map_request(flagged(false))
                .service(HandWritten::new(bare())),
            StatusCode::FAILED_DEPENDENCY,
        ),
        single(
            "crate 424",
            ServiceBuilder::new()
                .map_request(refused)
                .layer(DependencyLayer::new().require("inventory"))
                .service(bare()),
            StatusCode::FAILED_DEPENDENCY,
        ),
    ];
    #[cfg(feature = "xml")]
    variants.extend(accept());
    #[cfg(feature = "checks")]
    variants.extend(checks());
    #[cfg(feature = "batch")]
    variants.extend(batch::variants());
    variants
}

/// A passing request whose `Accept` is 392 KiB of ranges that each name the
/// XML form (so none is skipped unread), in 98 fields of 4 KiB (about what
/// hyper lets through) and in one field, each against the same request
/// answered bare. The layer must not read `Accept` unless it renders a
/// problem: both passes should add what a pass with a short `Accept` adds.
#[cfg(feature = "xml")]
fn accept() -> [Variant; 4] {
    const FIELD: usize = 4 * 1024;
    const FIELDS: usize = 98;
    let range = "application/problem+xml;q=0.1, ";
    let field = range.repeat(FIELD / range.len());
    let many: Vec<HeaderValue> = (0..FIELDS)
        .map(|_| HeaderValue::from_str(&field).expect("a valid field"))
        .collect();
    let one = vec![
        HeaderValue::from_str(&vec![field.as_str(); FIELDS].join(", ")).expect("a valid field"),
    ];
    let pass = || {
        ServiceBuilder::new()
            .map_request(succeeded(&NAMES[..1]))
            .layer(DependencyLayer::new().require("auth"))
            .service(bare())
    };
    let bare = || ServiceBuilder::new().map_request(marked).service(bare());
    [
        accepting("bare, 98 Accept fields", None, many.clone(), bare()),
        accepting(
            "crate pass, 98 Accept fields",
            Some("bare, 98 Accept fields"),
            many,
            pass(),
        ),
        accepting("bare, 1 long Accept field", None, one.clone(), bare()),
        accepting(
            "crate pass, 1 long Accept field",
            Some("bare, 1 long Accept field"),
            one,
            pass(),
        ),
    ]
}

/// A variant answering [`get_item`] with `fields` as its `Accept`, compared
/// with `baseline` (or its own baseline when `None`).
#[cfg(feature = "xml")]
fn accepting<S, B>(
    name: &'static str,
    baseline: Option<&'static str>,
    fields: Vec<HeaderValue>,
    mut service: S,
) -> Variant
where
    S: Service<Request<Body>, Response = Response<B>> + 'static,
    S::Error: std::fmt::Debug,
    B: 'static,
{
    let waker = noop_waker();
    Variant {
        name,
        baseline: baseline.unwrap_or(name),
        parts: 1,
        run: Box::new(move |verify| {
            let mut request = get_item();
            request.headers_mut().remove(header::ACCEPT);
            for field in &fields {
                request.headers_mut().append(header::ACCEPT, field.clone());
            }
            let response = call(&mut service, request, &mut Context::from_waker(&waker));
            if verify {
                assert_eq!(response.status(), StatusCode::OK, "{name}");
            }
            black_box(response);
        }),
    }
}

#[cfg(feature = "checks")]
fn checks() -> [Variant; 2] {
    use tower_failed_dependency::checks::RequestHead;

    [
        single(
            "hand-written check",
            ServiceBuilder::new()
                .map_request(marked)
                .service(by_hand::HandWrittenCheck::new(bare())),
            StatusCode::OK,
        ),
        single(
            "crate check",
            ServiceBuilder::new()
                .map_request(marked)
                .layer(
                    DependencyLayer::new()
                        .check("auth", |_: RequestHead| async { Ok::<_, Failure>(()) })
                        .build()
                        .expect("a valid graph"),
                )
                .service(bare()),
            StatusCode::OK,
        ),
    ]
}

/// A batch of 4 parts through `BatchLayer`, against the same 4 requests
/// sent one by one through the same router, without the layer: what a
/// client that does not batch costs. Each part is the request sent alone
/// (same method, path and `accept`); the batch request and the requests
/// sent alone carry the same marker, which every part inherits.
#[cfg(feature = "batch")]
mod batch {
    use tower_failed_dependency::batch::BatchLayer;
    use tower_failed_dependency::Outcome;

    use super::*;

    use super::batches::{CHAIN, INDEPENDENT, PATHS};

    fn one_by_one() -> Variant {
        let mut service = ServiceBuilder::new().map_request(marked).service(router());
        let waker = noop_waker();
        Variant {
            name: ONE_BY_ONE,
            baseline: ONE_BY_ONE,
            parts: PATHS.len(),
            run: Box::new(move |verify| {
                for path in PATHS {
                    let request = request(Method::GET, path, Body::empty());
                    let response = call(&mut service, request, &mut Context::from_waker(&waker));
                    if verify {
                        assert_eq!(response.status(), StatusCode::OK, "{path}");
                    }
                    black_box(response);
                }
            }),
        }
    }

    fn batch(name: &'static str, parts: &'static str) -> Variant {
        let mut service = ServiceBuilder::new()
            .map_request(marked)
            .layer(BatchLayer::new())
            .service(router());
        let waker = noop_waker();
        Variant {
            name,
            baseline: ONE_BY_ONE,
            parts: PATHS.len(),
            run: Box::new(move |verify| {
                let mut request = request(Method::POST, "/$batch", Body::from(parts));
                request.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                );
                let response = call(&mut service, request, &mut Context::from_waker(&waker));
                if verify {
                    assert_eq!(response.status(), StatusCode::OK, "{name}");
                    let record = response
                        .extensions()
                        .get::<Dependencies>()
                        .expect("a record of the parts");
                    assert_eq!(record.len(), PATHS.len(), "{name}");
                    assert!(
                        record
                            .iter()
                            .all(|(_, outcome)| Outcome::is_success(outcome)),
                        "{name}"
                    );
                }
                black_box(response);
            }),
        }
    }

    pub(super) fn variants() -> [Variant; 3] {
        [
            one_by_one(),
            batch("batch", INDEPENDENT),
            batch("4-part chain", CHAIN),
        ]
    }
}
