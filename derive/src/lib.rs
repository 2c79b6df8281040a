//! The `Failure` derive of
//! [tower-failed-dependency](https://docs.rs/tower-failed-dependency): an
//! error type of a handler's becomes the `Failure` and the `DependencyError`
//! it means, with the status policy's rules checked at compile time.
//!
//! Use it through the main crate's `derive` feature, which re-exports it as
//! `tower_failed_dependency::Failure` and documents every attribute with
//! examples that compile. The code it writes calls the main crate by its
//! public path (`::tower_failed_dependency`, or the one given with
//! `#[failure(crate = "..")]`).

#![forbid(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms, unreachable_pub)]

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

mod attr;
mod expand;

/// Maps an enum's variants (or a struct) to the problems they answer. The
/// attributes are documented where `tower_failed_dependency` re-exports
/// the macro (feature `derive`).
#[proc_macro_derive(Failure, attributes(failure))]
pub fn derive_failure(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
