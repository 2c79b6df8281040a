//! Interleaved rounds: every variant runs once per round, in a rotating
//! order, and is compared with its baseline *from the same round*. Ratios of
//! the same round cancel most of what a shared, noisy machine does to
//! absolute times; these are the figures to quote.
//!
//! ```text
//! cargo bench -p tower-failed-dependency --features checks --bench interleaved
//! ROUNDS=41 BATCH=50000 cargo bench -p tower-failed-dependency --bench interleaved
//! ```
//!
//! Allocations per request are counted once per variant by a counting
//! allocator (exact, not sampled).
//!
//! With `ONLY=<variant name>` the binary runs that one variant once over
//! `BATCH` requests and exits: `scripts/instructions.sh` counts its
//! instructions with callgrind, which, unlike time, does not depend on what
//! else the machine is doing.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::Context;
use std::time::{Duration, Instant};

use http::Request;
use support::*;
use tower_http::validate_request::ValidateRequestHeaderLayer;
use tower_layer::Layer;

struct Counting;
static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Requests are built in chunks this small right before they are timed, so
/// each is as hot in cache as a request a server has just parsed.
const CHUNK: usize = 32;

/// One thing measured: runs `batch` requests (built outside the timed part)
/// and returns the nanoseconds per request.
struct Variant {
    name: &'static str,
    baseline: &'static str,
    run: Box<dyn FnMut(usize, bool) -> f64>,
}

/// Runs `op` on `batch` inputs made by `make` in chunks of [`CHUNK`], timing
/// (and, when `count`, counting the allocations of) only `op`. Returns the
/// nanoseconds per input.
fn timed<T>(batch: usize, count: bool, make: impl Fn() -> T, mut op: impl FnMut(T)) -> f64 {
    let chunks = batch.div_ceil(CHUNK);
    let mut inputs = Vec::with_capacity(CHUNK);
    let mut elapsed = Duration::ZERO;
    for _ in 0..chunks {
        inputs.extend((0..CHUNK).map(|_| make()));
        COUNTING.store(count, Ordering::Relaxed);
        let start = Instant::now();
        for input in inputs.drain(..) {
            op(input);
        }
        elapsed += start.elapsed();
        COUNTING.store(false, Ordering::Relaxed);
    }
    elapsed.as_nanos() as f64 / (chunks * CHUNK) as f64
}

/// A variant over a tower service taking `Request<R>`.
fn variant<S, R, B>(
    name: &'static str,
    baseline: &'static str,
    mut service: S,
    make: impl Fn() -> Request<R> + 'static,
) -> Variant
where
    S: tower::Service<Request<R>, Response = http::Response<B>> + 'static,
    S::Error: std::fmt::Debug,
{
    let waker = noop_waker();
    Variant {
        name,
        baseline,
        run: Box::new(move |batch, count| {
            let mut cx = Context::from_waker(&waker);
            timed(batch, count, &make, |request| {
                black_box(call(&mut service, request, &mut cx));
            })
        }),
    }
}

fn variants() -> Vec<Variant> {
    let with = |record: tower_failed_dependency::Dependencies| move || request(&record, ());
    let axum_with = |record: tower_failed_dependency::Dependencies| {
        move || request(&record, axum::body::Body::empty())
    };
    // Every pass variant gets the same request (a record of 8 successes), so
    // that building and dropping it costs them all the same.
    let mut variants = vec![
        variant("bare", "bare", bare(), with(passing(8))),
        variant(
            "hand-written layer, pass",
            "bare",
            HandWritten::new(bare()),
            with(passing(8)),
        ),
        variant(
            "DependencyLayer, 1 required, pass",
            "bare",
            layer(1).layer(bare()),
            with(passing(8)),
        ),
        variant(
            "DependencyLayer, 8 required, pass",
            "bare",
            layer(8).layer(bare()),
            with(passing(8)),
        ),
        variant(
            "ValidateRequestHeaderLayer::accept, pass",
            "bare",
            ValidateRequestHeaderLayer::accept("application/json").layer(bare()),
            with(passing(8)),
        ),
        variant(
            "axum Router",
            "axum Router",
            router(),
            axum_with(passing(1)),
        ),
        variant(
            "axum Router + from_fn check",
            "axum Router",
            router_from_fn(),
            axum_with(passing(1)),
        ),
        variant(
            "axum Router + DependencyLayer",
            "axum Router",
            router_layer(),
            axum_with(passing(1)),
        ),
        Variant {
            name: "serde_json::to_vec of the problem (floor)",
            baseline: "serde_json::to_vec of the problem (floor)",
            run: Box::new(|batch, count| {
                timed(
                    batch,
                    count,
                    || (),
                    |()| {
                        black_box(serde_json::to_vec(black_box(&FLOOR)).unwrap_or_default());
                    },
                )
            }),
        },
        variant(
            "hand-written layer, 424",
            "serde_json::to_vec of the problem (floor)",
            HandWritten::new(bare()),
            with(refused()),
        ),
        variant(
            "DependencyLayer, 424 short-circuit",
            "serde_json::to_vec of the problem (floor)",
            layer(0)
                .require("auth")
                .require("inventory")
                .require("payment")
                .layer(bare()),
            with(refused()),
        ),
    ];
    #[cfg(feature = "checks")]
    variants.extend([
        variant(
            "checks: 1 check, pass",
            "bare",
            support::checks::one().layer(bare()),
            with(passing(8)),
        ),
        variant(
            "checks: auth then 2 concurrent, pass",
            "bare",
            support::checks::graph().layer(bare()),
            with(passing(8)),
        ),
        variant(
            "hand-written async checks, same graph, pass",
            "bare",
            support::checks::HandWrittenChecks::new(bare()),
            with(passing(8)),
        ),
    ]);
    variants
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let mid = values.len() / 2;
    if values.len() % 2 == 0 {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // and should only check that this runs.
    let quick = !std::env::args().any(|arg| arg == "--bench");
    // Checks arm Tokio timers, which need a runtime to register with; every
    // check here completes on its first poll, so the runtime is never driven.
    #[cfg(feature = "checks")]
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    #[cfg(feature = "checks")]
    let _entered = runtime.enter();
    let rounds = if quick { 1 } else { env("ROUNDS", 21) };
    let batch = if quick { 100 } else { env("BATCH", 20_000) };
    let mut variants = variants();
    let n = variants.len();

    if let Ok(only) = std::env::var("ONLY") {
        let Some(v) = variants.iter_mut().find(|v| v.name == only) else {
            let names: Vec<_> = variants.iter().map(|v| v.name).collect();
            eprintln!("no variant {only:?}; the variants are: {names:#?}");
            std::process::exit(2);
        };
        (v.run)(env("BATCH", 20_000), false);
        return;
    }

    // Allocations per request, counted on a batch of its own.
    let allocations: Vec<f64> = variants
        .iter_mut()
        .map(|v| {
            (v.run)(CHUNK, false);
            ALLOCATIONS.store(0, Ordering::Relaxed);
            (v.run)(32 * CHUNK, true);
            ALLOCATIONS.load(Ordering::Relaxed) as f64 / (32 * CHUNK) as f64
        })
        .collect();

    // Warm-up, then rounds in a rotating order.
    for v in variants.iter_mut() {
        (v.run)(batch, false);
    }
    let mut times = vec![Vec::with_capacity(rounds); n];
    for round in 0..rounds {
        for k in 0..n {
            let i = (round + k) % n;
            times[i].push((variants[i].run)(batch, false));
        }
    }

    let index = |name: &str| {
        variants
            .iter()
            .position(|v| v.name == name)
            .expect("baseline exists")
    };
    println!(
        "{rounds} rounds of {batch} requests per variant, interleaved; ratios are per round, to the baseline of the same round\n"
    );
    println!(
        "{:<44} {:>9} {:>10} {:>22} {:>7}",
        "variant", "median ns", "+ns", "ratio median [min, max]", "allocs"
    );
    for (i, v) in variants.iter().enumerate() {
        let b = index(v.baseline);
        let mut ratios: Vec<f64> = (0..rounds).map(|r| times[i][r] / times[b][r]).collect();
        let mut deltas: Vec<f64> = (0..rounds).map(|r| times[i][r] - times[b][r]).collect();
        let (lo, hi) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        let mut own = times[i].clone();
        let extra = allocations[i] - allocations[b];
        println!(
            "{:<44} {:>9.1} {:>+10.1} {:>8.2}x [{:.2}, {:.2}] {:>7}",
            v.name,
            median(&mut own),
            median(&mut deltas),
            median(&mut ratios),
            lo,
            hi,
            if i == b {
                format!("{}", allocations[i])
            } else {
                format!("{}{extra:+}", allocations[i])
            },
        );
        if i == b && v.name != "bare" {
            println!("{:<44}", format!("  (baseline of the rows below)"));
        }
    }
}
