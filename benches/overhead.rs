//! What the layers cost per request, beside what users would write by hand,
//! under Criterion: the variants of `support`, one benchmark each.
//!
//! ```text
//! cargo bench --features checks,batch --bench overhead
//! ```
//!
//! Criterion runs one benchmark after another, so on a shared, noisy machine
//! its absolute figures drift between benchmarks; the ratios to quote come
//! from `cargo bench --bench interleaved`, which rotates the variants within
//! each round. Each run builds its request, passes it through its earlier
//! layer and answers it, all inside what is timed.

mod support;

use criterion::{criterion_group, criterion_main, Criterion};

fn overhead(c: &mut Criterion) {
    support::with_timers(|| {
        let mut group = c.benchmark_group("overhead");
        for mut variant in support::variants() {
            variant.verify();
            group.bench_function(variant.name, |b| b.iter(|| variant.run()));
        }
        group.finish();
    });
}

criterion_group!(benches, overhead);
criterion_main!(benches);
