//! Interleaved rounds: every variant runs once per round, in a rotating
//! order, and is compared with its baseline *from the same round*. Ratios of
//! the same round cancel most of what a shared, noisy machine does to
//! absolute times; these are the figures to quote.
//!
//! ```text
//! cargo bench -p tower-failed-dependency --features checks,batch --bench interleaved
//! ROUNDS=41 BATCH=50000 cargo bench -p tower-failed-dependency --bench interleaved
//! ```
//!
//! Each variant (see `support`) builds its request, passes it through its
//! earlier layer, answers it and drops the answer, all inside what is timed
//! and counted. Allocations per request are counted once per variant by a
//! counting allocator (exact, not sampled). A batch's figures are per batch
//! of 4 parts, beside the same 4 requests sent one by one; the per-part
//! lines divide the difference by 4.
//!
//! Switches, for `scripts/instructions.sh`:
//! - `ONLY=<variant name>`: runs that one variant `BATCH` times and exits,
//!   for callgrind to count its instructions (which, unlike time, do not
//!   depend on what else the machine is doing);
//! - `ALLOCS=1 ONLY=<variant name>`: prints its allocations per run;
//! - `LIST=1`: prints every variant of this build as `name`, `baseline` and
//!   requests per run, tab-separated.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use support::{with_timers, Variant};

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

/// Runs over which allocations are counted, after as many to warm up.
const COUNTED: usize = 1024;

/// Nanoseconds per run, over `runs` runs.
fn timed(variant: &mut Variant, runs: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..runs {
        variant.run();
    }
    start.elapsed().as_nanos() as f64 / runs as f64
}

/// Allocations per run, after a warm-up (exact: each one is counted).
fn allocations(variant: &mut Variant) -> f64 {
    for _ in 0..COUNTED {
        variant.run();
    }
    ALLOCATIONS.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    for _ in 0..COUNTED {
        variant.run();
    }
    COUNTING.store(false, Ordering::Relaxed);
    ALLOCATIONS.load(Ordering::Relaxed) as f64 / COUNTED as f64
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
    with_timers(run);
}

fn run() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // and should only check that this runs.
    let quick = !std::env::args().any(|arg| arg == "--bench");
    let rounds = if quick { 1 } else { env("ROUNDS", 21) };
    let batch = if quick { 100 } else { env("BATCH", 20_000) };
    let mut variants = support::variants();
    let n = variants.len();

    if std::env::var_os("LIST").is_some() {
        for v in &variants {
            println!("{}\t{}\t{}", v.name, v.baseline, v.parts);
        }
        return;
    }
    if let Ok(only) = std::env::var("ONLY") {
        let Some(v) = variants.iter_mut().find(|v| v.name == only) else {
            let names: Vec<_> = variants.iter().map(|v| v.name).collect();
            eprintln!("no variant {only:?}; the variants are: {names:#?}");
            std::process::exit(2);
        };
        v.verify();
        if std::env::var_os("ALLOCS").is_some() {
            println!("{}", allocations(v));
        } else {
            for _ in 0..env("BATCH", 20_000) {
                v.run();
            }
        }
        return;
    }

    for v in variants.iter_mut() {
        v.verify();
    }
    let allocations: Vec<f64> = variants.iter_mut().map(allocations).collect();

    // Warm-up, then rounds in a rotating order.
    for v in variants.iter_mut() {
        timed(v, batch);
    }
    let mut times = vec![Vec::with_capacity(rounds); n];
    for round in 0..rounds {
        for k in 0..n {
            let i = (round + k) % n;
            times[i].push(timed(&mut variants[i], batch));
        }
    }

    let index = |name: &str| {
        variants
            .iter()
            .position(|v| v.name == name)
            .expect("baseline exists")
    };
    println!(
        "{rounds} rounds of {batch} runs per variant, interleaved; ratios are per round, to the baseline of the same round\n"
    );
    println!(
        "{:<24} {:>9} {:>10} {:>22} {:>10}",
        "variant", "median ns", "+ns", "ratio median [min, max]", "allocs"
    );
    for (i, v) in variants.iter().enumerate() {
        let b = index(v.baseline);
        if i == b && i > 0 {
            println!("(per run of {} requests, to {:?})", v.parts, v.name);
        }
        let mut ratios: Vec<f64> = (0..rounds).map(|r| times[i][r] / times[b][r]).collect();
        let mut deltas: Vec<f64> = (0..rounds).map(|r| times[i][r] - times[b][r]).collect();
        let (lo, hi) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        let mut own = times[i].clone();
        let extra = allocations[i] - allocations[b];
        println!(
            "{:<24} {:>9.1} {:>+10.1} {:>8.2}x [{:.2}, {:.2}] {:>10}",
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
    }
    // A batch's cost per part, over sending the part alone.
    for (i, v) in variants.iter().enumerate() {
        let b = index(v.baseline);
        if i == b || v.parts == 1 {
            continue;
        }
        let parts = v.parts as f64;
        let mut deltas: Vec<f64> = (0..rounds)
            .map(|r| (times[i][r] - times[b][r]) / parts)
            .collect();
        println!(
            "{}, per part: {:+.1} ns, {:+} allocations over a request alone",
            v.name,
            median(&mut deltas),
            (allocations[i] - allocations[b]) / parts,
        );
    }
}
