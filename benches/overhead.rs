//! What the layer costs per request, beside what users would otherwise use.
//!
//! ```text
//! cargo bench --bench overhead
//! ```
//!
//! Every request is built outside the timed part. Each service completes on
//! its first poll, so futures are polled once with a no-op waker: no runtime
//! is measured.

use std::convert::Infallible;
use std::future::{ready, Future, Ready};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use serde::Serialize;
use tower::{service_fn, Service};
use tower_failed_dependency::{Dependencies, DependencyLayer, Failure};
use tower_http::validate_request::ValidateRequestHeaderLayer;
use tower_layer::Layer;

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

type Body = Full<Bytes>;

fn handle(_: Request<()>) -> Ready<Result<Response<Body>, Infallible>> {
    ready(Ok(Response::new(Full::new(Bytes::from_static(b"ok")))))
}

fn bare() -> impl Service<Request<()>, Response = Response<Body>, Error = Infallible> + Clone {
    service_fn(handle)
}

struct Noop;
impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

/// Calls a service whose future completes on its first poll.
fn call<S, B>(service: &mut S, request: Request<()>, cx: &mut Context<'_>) -> Response<B>
where
    S: Service<Request<()>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
{
    assert!(matches!(service.poll_ready(cx), Poll::Ready(Ok(()))));
    let mut future = std::pin::pin!(service.call(request));
    match future.as_mut().poll(cx) {
        Poll::Ready(response) => response.unwrap(),
        Poll::Pending => unreachable!("benchmarked services complete at once"),
    }
}

fn record(required: usize) -> Dependencies {
    let mut record = Dependencies::new();
    for name in &NAMES[..required] {
        record.record_success(*name);
    }
    record
}

fn refused() -> Dependencies {
    let mut record = Dependencies::new();
    record
        .record_success("auth")
        .record_failure(
            "inventory",
            Failure::rejected(StatusCode::CONFLICT)
                .with_detail("Only 0 left of sold-out.")
                .with_code("OUT_OF_STOCK"),
        )
        .record_skipped("payment", "inventory");
    record
}

fn request(record: &Dependencies) -> Request<()> {
    let mut request = Request::new(());
    request
        .headers_mut()
        .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    request.extensions_mut().insert(record.clone());
    request
}

fn layer(required: usize) -> DependencyLayer {
    NAMES[..required]
        .iter()
        .fold(DependencyLayer::new(), |layer, name| layer.require(*name))
}

/// The problem a 424 short-circuit sends, as a plain derived struct: the
/// floor that serializing alone costs.
#[derive(Serialize)]
struct Floor<'a> {
    title: &'a str,
    status: u16,
    detail: &'a str,
    dependency: &'a str,
    dependency_status: u16,
    code: &'a str,
    retryable: bool,
    skipped: [&'a str; 1],
}

fn pass(c: &mut Criterion) {
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut group = c.benchmark_group("pass");
    let mut run = |name: &str,
                   service: &mut dyn FnMut(Request<()>, &mut Context<'_>) -> StatusCode,
                   rec: Dependencies| {
        group.bench_function(name, |b| {
            b.iter_batched(
                || request(&rec),
                |req| service(req, &mut cx),
                BatchSize::SmallInput,
            )
        });
    };
    let mut plain = bare();
    run(
        "bare",
        &mut |r, cx| call(&mut plain, r, cx).status(),
        record(1),
    );
    for required in [1, 8] {
        let mut layered = layer(required).layer(bare());
        run(
            &format!("dependency_layer_{required}"),
            &mut |r, cx| call(&mut layered, r, cx).status(),
            record(required),
        );
    }
    let mut validated = ValidateRequestHeaderLayer::accept("application/json").layer(bare());
    run(
        "validate_request_header",
        &mut |r, cx| call(&mut validated, r, cx).status(),
        record(1),
    );
    group.finish();
}

fn short_circuit(c: &mut Criterion) {
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut group = c.benchmark_group("short_circuit");
    let mut layered = DependencyLayer::new()
        .require("auth")
        .require("inventory")
        .require("payment")
        .layer(bare());
    let rec = refused();
    group.bench_function("dependency_layer_424", |b| {
        b.iter_batched(
            || request(&rec),
            |req| call(&mut layered, req, &mut cx),
            BatchSize::SmallInput,
        )
    });
    let floor = Floor {
        title: "Failed Dependency",
        status: 424,
        detail: "Only 0 left of sold-out.",
        dependency: "inventory",
        dependency_status: 409,
        code: "OUT_OF_STOCK",
        retryable: false,
        skipped: ["payment"],
    };
    group.bench_function("serde_json_to_vec_floor", |b| {
        b.iter(|| serde_json::to_vec(std::hint::black_box(&floor)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, pass, short_circuit);
criterion_main!(benches);
