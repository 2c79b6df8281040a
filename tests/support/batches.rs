//! The batches whose cost is counted: 4 parts, independent or in a chain,
//! each the same request as one of [`PATHS`] sent alone. Shared by
//! `tests/allocations.rs` and the benchmarks, so that both count the same
//! batch. The README's figures count these bytes, whitespace included.

/// The paths of the 4 requests, in both forms.
pub const PATHS: [&str; 4] = ["/items/1", "/items/2", "/items/3", "/items/4"];

/// 4 independent parts, each the same request as one sent alone.
pub const INDEPENDENT: &str = r#"{"requests": [
        {"id": "1", "method": "GET", "url": "/items/1", "headers": {"accept": "application/json"}},
        {"id": "2", "method": "GET", "url": "/items/2", "headers": {"accept": "application/json"}},
        {"id": "3", "method": "GET", "url": "/items/3", "headers": {"accept": "application/json"}},
        {"id": "4", "method": "GET", "url": "/items/4", "headers": {"accept": "application/json"}}
    ]}"#;

/// The same parts, each depending on the one before.
pub const CHAIN: &str = r#"{"requests": [
        {"id": "1", "method": "GET", "url": "/items/1", "headers": {"accept": "application/json"}},
        {"id": "2", "method": "GET", "url": "/items/2", "headers": {"accept": "application/json"}, "dependsOn": ["1"]},
        {"id": "3", "method": "GET", "url": "/items/3", "headers": {"accept": "application/json"}, "dependsOn": ["2"]},
        {"id": "4", "method": "GET", "url": "/items/4", "headers": {"accept": "application/json"}, "dependsOn": ["3"]}
    ]}"#;
