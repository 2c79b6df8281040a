//! Heap allocations per request, counted by a global allocator. Counts are
//! deterministic, so they are asserted here; speed lives in `benches/`.

use std::convert::Infallible;
use std::future::ready;
use std::task::Context;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use tower::service_fn;
use tower_failed_dependency::{Dependencies, DependencyLayer, Failure};
use tower_layer::Layer;

#[path = "support/counting.rs"]
mod counting;

use self::counting::counted;

#[path = "support/immediate.rs"]
mod immediate;

use immediate::{call, noop_waker};

type Bare = tower::util::ServiceFn<
    fn(Request<()>) -> std::future::Ready<Result<Response<Full<Bytes>>, Infallible>>,
>;

fn bare() -> Bare {
    fn handle(_: Request<()>) -> std::future::Ready<Result<Response<Full<Bytes>>, Infallible>> {
        ready(Ok(Response::new(Full::new(Bytes::from_static(b"ok")))))
    }
    service_fn(handle as fn(_) -> _)
}

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

fn request(record: &Dependencies) -> Request<()> {
    let mut request = Request::new(());
    request
        .headers_mut()
        .insert("x-request-id", HeaderValue::from_static("req-1"));
    request.extensions_mut().insert(record.clone());
    request
}

/// A request with an `Accept` field as hyper parses it: a slice of the
/// connection's shared read buffer, which the layer keeps (for the form of
/// a problem it may render) by a reference count.
fn request_with_accept(record: &Dependencies) -> Request<()> {
    let read_buffer = Bytes::copy_from_slice(b"accept: application/json, */*;q=0.5\r\n");
    let accept = HeaderValue::from_maybe_shared(read_buffer.slice(8..35)).unwrap();
    let mut request = request(record);
    request.headers_mut().insert("accept", accept);
    request
}

#[test]
fn the_counter_counts() {
    let (boxed, allocs, reallocs) = counted(|| Box::new(7_u64));
    assert_eq!((*boxed, allocs, reallocs), (7, 1, 0));
    let (grown, allocs, reallocs) = counted(|| {
        let mut v = Vec::with_capacity(1);
        v.extend_from_slice(&[1_u8; 64]);
        v
    });
    assert_eq!((grown.len(), allocs, reallocs), (64, 1, 1));
}

#[test]
fn the_pass_path_allocates_nothing_beyond_the_bare_service() {
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    for required in [1, 8] {
        let mut record = Dependencies::new();
        let mut layer = DependencyLayer::new();
        for name in &NAMES[..required] {
            record.record_success(*name);
            layer = layer.require(*name);
        }
        let mut plain = bare();
        let mut layered = layer.layer(bare());
        // Built outside the counted part, as a server builds its request.
        let (first, second) = (request_with_accept(&record), request_with_accept(&record));

        let (response, bare_allocs, _) = counted(|| call(&mut plain, first, &mut cx));
        assert_eq!(response.status(), StatusCode::OK);
        let (response, layered_allocs, reallocs) = counted(|| call(&mut layered, second, &mut cx));
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            (layered_allocs, reallocs),
            (bare_allocs, 0),
            "{required} required: the layer added allocations"
        );
    }
}

/// What `Accept` holds costs a passing request no allocation (its first
/// fields kept by reference count, read only if a problem is rendered),
/// for 98 fields of ranges naming the XML form as for 2.
#[cfg(feature = "xml")]
#[test]
fn many_accept_fields_cost_a_pass_no_allocation() {
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut record = Dependencies::new();
    record.record_success("auth");
    let field = HeaderValue::from_str(&"application/problem+xml;q=0.1, ".repeat(128)).unwrap();
    let with_fields = |count: usize| {
        let mut request = request(&record);
        for _ in 0..count {
            request.headers_mut().append("accept", field.clone());
        }
        request
    };
    let mut plain = bare();
    let mut layered = DependencyLayer::new().require("auth").layer(bare());
    let mut added = Vec::new();
    for count in [2, 98] {
        let (first, second) = (with_fields(count), with_fields(count));
        let (response, bare_allocs, _) = counted(|| call(&mut plain, first, &mut cx));
        assert_eq!(response.status(), StatusCode::OK);
        let (response, layered_allocs, reallocs) = counted(|| call(&mut layered, second, &mut cx));
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(reallocs, 0, "{count} fields");
        added.push(layered_allocs - bare_allocs);
    }
    assert_eq!(
        added,
        [0, 0],
        "allocations over bare with 2 and 98 Accept fields"
    );
}

#[test]
fn a_424_short_circuit_allocates_at_most_three_times_and_never_reallocates() {
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
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
    let mut layered = DependencyLayer::new()
        .require("auth")
        .require("inventory")
        .require("payment")
        .layer(bare());
    // The first problem on a thread sizes the reusable serialization buffer.
    let warm_up = call(&mut layered, request(&record), &mut cx);
    assert_eq!(warm_up.status(), StatusCode::FAILED_DEPENDENCY);

    let second = request(&record);
    let (response, allocs, reallocs) = counted(|| call(&mut layered, second, &mut cx));
    assert_eq!(response.status(), StatusCode::FAILED_DEPENDENCY);
    assert!(
        allocs <= 3,
        "{allocs} allocations: body, and the header map's two"
    );
    assert_eq!(reallocs, 0);
}

/// What any earlier layer does: one small value in the request's extensions.
#[derive(Clone, Copy)]
struct Marker(#[allow(dead_code)] u8);

/// A request as a server hands it over, before any layer ran.
/// Runs `f` with a context of a waker that does nothing, inside a Tokio
/// runtime: checks and batch parts arm timers, which need one entered, but
/// every future here completes on its first poll, so it is never driven.
#[cfg(any(feature = "checks", feature = "batch"))]
fn with_timers<T>(f: impl FnOnce(&mut Context<'_>) -> T) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let _entered = runtime.enter();
    let waker = noop_waker();
    f(&mut Context::from_waker(&waker))
}

fn bare_request() -> Request<()> {
    let mut request = Request::new(());
    request
        .headers_mut()
        .insert("accept", HeaderValue::from_static("application/json"));
    request
        .headers_mut()
        .insert("x-request-id", HeaderValue::from_static("req-1"));
    request
}

/// The record's own cost is counted: an earlier layer builds a fresh record
/// and inserts it, where the bare service's earlier layer inserts a marker.
#[test]
fn recording_up_to_eight_outcomes_and_passing_allocates_what_a_marker_does() {
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    for required in [1, 8] {
        let mut layer = DependencyLayer::new();
        for name in &NAMES[..required] {
            layer = layer.require(*name);
        }
        let mut plain = bare();
        let mut layered = layer.layer(bare());
        let (first, second) = (bare_request(), bare_request());

        let (response, bare_allocs, _) = counted(|| {
            let mut request = first;
            request.extensions_mut().insert(Marker(1));
            call(&mut plain, request, &mut cx)
        });
        assert_eq!(response.status(), StatusCode::OK);
        let (response, layered_allocs, reallocs) = counted(|| {
            let mut request = second;
            let mut record = Dependencies::new();
            for name in &NAMES[..required] {
                record.record_success(*name);
            }
            request.extensions_mut().insert(record);
            call(&mut layered, request, &mut cx)
        });
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            (layered_allocs, reallocs),
            (bare_allocs, 0),
            "{required} required: the record or the layer added allocations"
        );
    }
}

/// A refusal recorded and answered: at most three allocations over the bare
/// service (the body, and the header map's two); the failure, without
/// details, allocates nothing.
#[test]
fn recording_a_refusal_and_answering_it_allocates_at_most_three_times_over_bare() {
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut plain = bare();
    let mut layered = DependencyLayer::new().require("inventory").layer(bare());
    let refuse = |mut request: Request<()>| {
        let mut record = Dependencies::new();
        record.record_failure("inventory", Failure::rejected(StatusCode::CONFLICT));
        request.extensions_mut().insert(record);
        request
    };
    // The first problem on a thread sizes the reusable serialization buffer.
    let warm_up = call(&mut layered, refuse(bare_request()), &mut cx);
    assert_eq!(warm_up.status(), StatusCode::FAILED_DEPENDENCY);

    let first = bare_request();
    let (response, bare_allocs, _) = counted(|| {
        let mut request = first;
        request.extensions_mut().insert(Marker(1));
        call(&mut plain, request, &mut cx)
    });
    assert_eq!(response.status(), StatusCode::OK);
    let second = bare_request();
    let (response, allocs, reallocs) = counted(|| call(&mut layered, refuse(second), &mut cx));
    assert_eq!(response.status(), StatusCode::FAILED_DEPENDENCY);
    assert!(
        allocs <= bare_allocs + 3,
        "{allocs} allocations against {bare_allocs} bare"
    );
    assert_eq!(reallocs, 0);
}

/// One check that succeeds at once allocates twice over the bare service
/// when its record is the request's first extension: its boxed future (with
/// its timer) and the shared request head. The lone check is polled in
/// place and the record's outcomes are kept inline. Beside an earlier
/// layer's extension,
/// the record needs a box of its own in the map: three.
#[cfg(feature = "checks")]
#[test]
fn one_check_allocates_at_most_twice_over_bare() {
    use tower_failed_dependency::checks::RequestHead;

    with_timers(|cx| {
        let mut plain = bare();
        let mut checked = DependencyLayer::new()
            .check("auth", |_: RequestHead| async { Ok(()) })
            .build()
            .unwrap()
            .layer(bare());
        let warm_up = call(&mut checked, bare_request(), cx);
        assert_eq!(warm_up.status(), StatusCode::OK);

        let (first, second) = (bare_request(), bare_request());
        let (response, bare_allocs, _) = counted(|| {
            let mut request = first;
            request.extensions_mut().insert(Marker(1));
            call(&mut plain, request, cx)
        });
        assert_eq!(response.status(), StatusCode::OK);
        let (response, allocs, _) = counted(|| call(&mut checked, second, cx));
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            allocs <= bare_allocs + 2,
            "{allocs} allocations against {bare_allocs} bare"
        );

        let third = bare_request();
        let (response, beside_marker, _) = counted(|| {
            let mut request = third;
            request.extensions_mut().insert(Marker(1));
            call(&mut checked, request, cx)
        });
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            beside_marker <= bare_allocs + 3,
            "{beside_marker} allocations beside a marker against {bare_allocs} bare"
        );
    });
}

/// A batch of 4 parts against the same 4 requests sent one by one to the
/// same handler: per part, at most 15 allocations more (18 in a chain, whose
/// parts each carry a record of the part before). What the benchmark's
/// "batch, per part" rows count, without its router.
#[cfg(feature = "batch")]
#[path = "support/batches.rs"]
mod batches;

#[cfg(feature = "batch")]
#[test]
fn a_batch_part_allocates_at_most_15_more_than_the_request_alone_and_18_in_a_chain() {
    use batches::{CHAIN, INDEPENDENT, PATHS};
    use tower_failed_dependency::batch::BatchLayer;

    fn handle<B>(_: Request<B>) -> std::future::Ready<Result<Response<Full<Bytes>>, Infallible>> {
        ready(Ok(Response::new(Full::new(Bytes::new()))))
    }
    fn get(path: &'static str) -> Request<Full<Bytes>> {
        let mut request = Request::get(path).body(Full::new(Bytes::new())).unwrap();
        request
            .headers_mut()
            .insert("accept", HeaderValue::from_static("application/json"));
        request
    }
    fn post(batch: &'static str) -> Request<Full<Bytes>> {
        Request::post("/$batch")
            .header("accept", "application/json")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(batch.as_bytes())))
            .unwrap()
    }
    with_timers(|cx| {
        let mut alone = service_fn(handle::<Full<Bytes>>);
        let mut batched = BatchLayer::new().layer(service_fn(handle));

        // Each request is built inside what is counted, as a client's would be.
        let (statuses, one_by_one, _) =
            counted(|| PATHS.map(|path| call(&mut alone, get(path), cx).status()));
        assert_eq!(statuses, [StatusCode::OK; 4]);
        for (name, batch, limit) in [("batch", INDEPENDENT, 15), ("chain", CHAIN, 18)] {
            let warm_up = call(&mut batched, post(batch), cx);
            assert_eq!(warm_up.status(), StatusCode::OK, "{name}");
            let (response, allocs, _) = counted(|| call(&mut batched, post(batch), cx));
            assert_eq!(response.status(), StatusCode::OK, "{name}");
            let record = response.extensions().get::<Dependencies>().unwrap();
            assert_eq!(record.len(), 4, "{name}");
            assert!(
                record.iter().all(|(_, outcome)| outcome.is_success()),
                "{name}"
            );
            assert!(
                allocs <= one_by_one + 4 * limit,
                "{name}: {allocs} allocations against {one_by_one} for the 4 requests alone"
            );
        }
    });
}
