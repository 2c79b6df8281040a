//! Converting a derived error costs the allocations of the same failure
//! written by hand, and not one more: counted by a global allocator (a test
//! binary has one, so this file is its own binary). Counts are
//! deterministic, so they are asserted; speed lives in `benches/`.

#![cfg(feature = "derive")]

use std::io;
use std::time::Duration;

use http::StatusCode;
use tower_failed_dependency::{DependencyError, Failure};

#[path = "support/counting.rs"]
mod counting;

use self::counting::counted;

/// The derived error.
#[derive(Debug, thiserror::Error, Failure)]
#[failure(dependency = "inventory")]
enum Derived {
    #[error("Sold out.")]
    #[failure(rejected(409), code = "OUT_OF_STOCK")]
    SoldOut,
    #[error("Only {left} left of {sku}.")]
    #[failure(rejected(409), code = "LOW_STOCK")]
    Low {
        sku: String,
        #[failure(extension)]
        left: u32,
    },
    #[error("The {service} service refused.")]
    #[failure(rejected(403))]
    RefusedBy {
        #[failure(dependency)]
        service: String,
        #[failure(extension)]
        region: String,
    },
    #[error("inventory is rebuilding")]
    #[failure(unavailable, retry_after = 30)]
    Rebuilding,
    #[error("The order is malformed.")]
    #[failure(invalid, code = "BAD_ORDER")]
    BadOrder {
        #[failure(errors)]
        errors: Vec<(&'static str, String)>,
    },
    #[error("warehouse call failed")]
    #[failure(from_error, dependency = "warehouse")]
    Warehouse(#[from] io::Error),
}

/// The same enum, mapped by hand as before the derive.
#[derive(Debug, thiserror::Error)]
enum ByHand {
    #[error("Sold out.")]
    SoldOut,
    #[error("Only {left} left of {sku}.")]
    Low { sku: String, left: u32 },
    #[error("The {service} service refused.")]
    RefusedBy { service: String, region: String },
    #[error("inventory is rebuilding")]
    Rebuilding,
    #[error("The order is malformed.")]
    BadOrder { errors: Vec<(&'static str, String)> },
    #[error("warehouse call failed")]
    Warehouse(#[from] io::Error),
}

impl From<ByHand> for DependencyError {
    fn from(error: ByHand) -> Self {
        match error {
            ByHand::SoldOut => DependencyError::new(
                "inventory",
                Failure::rejected(StatusCode::CONFLICT)
                    .with_detail("Sold out.")
                    .with_code("OUT_OF_STOCK"),
            ),
            ByHand::Low { sku, left } => DependencyError::new(
                "inventory",
                Failure::rejected(StatusCode::CONFLICT)
                    .with_detail(format!("Only {left} left of {sku}."))
                    .with_code("LOW_STOCK")
                    .with_extension("left", left),
            ),
            ByHand::RefusedBy { service, region } => {
                let failure = Failure::rejected(StatusCode::FORBIDDEN)
                    .with_detail(format!("The {service} service refused."))
                    .with_extension("region", region);
                DependencyError::new(service, failure)
            }
            error @ ByHand::Rebuilding => DependencyError::new(
                "inventory",
                Failure::unavailable()
                    .with_retry_after(Duration::from_secs(30))
                    .with_source(error),
            ),
            ByHand::BadOrder { errors } => {
                let mut failure = Failure::invalid_input()
                    .with_detail("The order is malformed.")
                    .with_code("BAD_ORDER");
                for (pointer, detail) in errors {
                    failure = failure.with_error(pointer, detail);
                }
                DependencyError::new("inventory", failure)
            }
            ByHand::Warehouse(error) => {
                DependencyError::new("warehouse", Failure::from_error(error))
            }
        }
    }
}

/// Case `n` of both, built before anything is counted.
fn case(n: usize) -> (Derived, ByHand) {
    let errors = || {
        vec![
            (
                "#/items/0/quantity",
                "must be a positive integer".to_owned(),
            ),
            ("#/address", "is required".to_owned()),
            ("#/email", "is not an address".to_owned()),
        ]
    };
    let refused = || io::Error::from(io::ErrorKind::ConnectionRefused);
    match n {
        0 => (Derived::SoldOut, ByHand::SoldOut),
        1 => (
            Derived::Low {
                sku: "widget".into(),
                left: 2,
            },
            ByHand::Low {
                sku: "widget".into(),
                left: 2,
            },
        ),
        2 => (
            Derived::RefusedBy {
                service: "customs".into(),
                region: "eu-west".into(),
            },
            ByHand::RefusedBy {
                service: "customs".into(),
                region: "eu-west".into(),
            },
        ),
        3 => (Derived::Rebuilding, ByHand::Rebuilding),
        4 => (
            Derived::BadOrder { errors: errors() },
            ByHand::BadOrder { errors: errors() },
        ),
        _ => (Derived::from(refused()), ByHand::from(refused())),
    }
}

const CASES: usize = 6;

#[test]
fn the_counter_counts() {
    let (boxed, allocs, reallocs) = counted(|| Box::new(7_u64));
    assert_eq!((*boxed, allocs, reallocs), (7, 1, 0));
}

#[test]
fn a_derived_error_converts_with_the_allocations_of_the_hand_written_one() {
    let mut counts = Vec::new();
    for n in 0..CASES {
        let (derived, by_hand) = case(n);
        let (derived, derived_allocs, derived_reallocs) =
            counted(|| DependencyError::from(derived));
        let (by_hand, hand_allocs, hand_reallocs) = counted(|| DependencyError::from(by_hand));
        // The same failure, or the counts would compare different work.
        assert_eq!(derived.name(), by_hand.name(), "case {n}");
        assert_eq!(
            format!("{:?}", derived.failure().kind()),
            format!("{:?}", by_hand.failure().kind()),
            "case {n}"
        );
        assert_eq!(
            derived.failure().detail(),
            by_hand.failure().detail(),
            "case {n}"
        );
        assert_eq!(
            derived.failure().code(),
            by_hand.failure().code(),
            "case {n}"
        );
        assert_eq!(
            derived.failure().errors(),
            by_hand.failure().errors(),
            "case {n}"
        );
        let members = |error: &DependencyError| {
            let members: Vec<(String, serde_json::Value)> = error
                .failure()
                .extensions()
                .map(|(name, value)| (name.to_owned(), value.clone()))
                .collect();
            members
        };
        assert_eq!(members(&derived), members(&by_hand), "case {n}");
        assert!(
            derived_allocs <= hand_allocs && derived_reallocs <= hand_reallocs,
            "case {n}: derived {derived_allocs} allocations and {derived_reallocs} \
             reallocations, by hand {hand_allocs} and {hand_reallocs}"
        );
        println!(
            "case {n}: derived {derived_allocs} allocations, {derived_reallocs} reallocations; \
             by hand {hand_allocs}, {hand_reallocs}"
        );
        counts.push((derived_allocs, hand_allocs));
    }
    // A refusal with a constant text costs the failure's details and the
    // error's box, as by hand: the text is the `#[error]` string itself.
    assert_eq!(counts[0], (2, 2));
}

#[test]
fn a_derived_failure_converts_with_the_allocations_of_the_hand_written_one() {
    for n in 0..CASES {
        let (derived, by_hand) = case(n);
        let (derived, derived_allocs, derived_reallocs) = counted(|| Failure::from(derived));
        // By hand, the failure is the DependencyError's, unboxed: its box is
        // the one allocation less.
        let (by_hand, hand_allocs, hand_reallocs) =
            counted(|| DependencyError::from(by_hand).failure().clone());
        assert_eq!(derived.detail(), by_hand.detail(), "case {n}");
        assert!(
            derived_allocs < hand_allocs && derived_reallocs <= hand_reallocs,
            "case {n}: derived {derived_allocs} allocations and {derived_reallocs} \
             reallocations, by hand {hand_allocs} (with its box) and {hand_reallocs}"
        );
    }
}
