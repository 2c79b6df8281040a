//! What the layer costs per request, beside what users would otherwise use.
//!
//! ```text
//! cargo bench --bench overhead
//! ```
//!
//! Criterion runs one benchmark after another, so on a shared, noisy machine
//! its absolute figures drift between benchmarks; the ratios to quote come
//! from `cargo bench --bench interleaved`, which rotates the variants within
//! each round. Requests are built outside the timed part.

mod support;

use std::task::Context;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use http::Request;
use support::*;
use tower_http::validate_request::ValidateRequestHeaderLayer;
use tower_layer::Layer;

fn pass(c: &mut Criterion) {
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut group = c.benchmark_group("pass");
    // The same request (a record of 8 successes) for every variant.
    let record = passing(8);
    let mut plain = bare();
    group.bench_function("bare", |b| {
        b.iter_batched(
            || request(&record, ()),
            |r| call(&mut plain, r, &mut cx),
            BatchSize::SmallInput,
        )
    });
    let mut by_hand = HandWritten::new(bare());
    group.bench_function("hand_written_layer", |b| {
        b.iter_batched(
            || request(&record, ()),
            |r| call(&mut by_hand, r, &mut cx),
            BatchSize::SmallInput,
        )
    });
    for required in [1, 8] {
        let mut layered = layer(required).layer(bare());
        group.bench_function(format!("dependency_layer_{required}"), |b| {
            b.iter_batched(
                || request(&record, ()),
                |r| call(&mut layered, r, &mut cx),
                BatchSize::SmallInput,
            )
        });
    }
    let mut validated = ValidateRequestHeaderLayer::accept("application/json").layer(bare());
    group.bench_function("validate_request_header", |b| {
        b.iter_batched(
            || request(&record, ()),
            |r| call(&mut validated, r, &mut cx),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn axum(c: &mut Criterion) {
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut group = c.benchmark_group("axum");
    let one = passing(1);
    for (name, mut router) in [
        ("router", router()),
        ("router_from_fn", router_from_fn()),
        ("router_dependency_layer", router_layer()),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || request(&one, axum::body::Body::empty()),
                |r: Request<axum::body::Body>| call(&mut router, r, &mut cx),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn short_circuit(c: &mut Criterion) {
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut group = c.benchmark_group("short_circuit");
    let record = refused();
    let mut layered = layer(0)
        .require("auth")
        .require("inventory")
        .require("payment")
        .layer(bare());
    group.bench_function("dependency_layer_424", |b| {
        b.iter_batched(
            || request(&record, ()),
            |r| call(&mut layered, r, &mut cx),
            BatchSize::SmallInput,
        )
    });
    let mut by_hand = HandWritten::new(bare());
    group.bench_function("hand_written_424", |b| {
        b.iter_batched(
            || request(&record, ()),
            |r| call(&mut by_hand, r, &mut cx),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("serde_json_to_vec_floor", |b| {
        b.iter(|| serde_json::to_vec(std::hint::black_box(&FLOOR)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, pass, axum, short_circuit);
criterion_main!(benches);
