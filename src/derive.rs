//! What the code of `#[derive(Failure)]` calls (feature `derive`): hidden,
//! not an API of its own. The derive cannot see this crate's features, so
//! what depends on them (axum's `IntoResponse`, utoipa's `IntoResponses`)
//! is written by the two macros here, which expand to nothing without their
//! feature.

use std::fmt::Display;

use serde::Serialize;

use crate::outcome::Failure;

pub use http;

#[cfg(feature = "axum")]
pub use axum_core;
#[cfg(feature = "utoipa")]
pub use utoipa;

/// `Failure::rejected` with a status the derive checked: a client error.
pub fn rejected(status: u16) -> Failure {
    match http::StatusCode::from_u16(status) {
        Ok(status) => Failure::rejected(status),
        // Not reached: the derive passes 400 to 499 only.
        Err(_) => Failure::internal(),
    }
}

/// A variant's `Display`, as its detail: written into one allocation of
/// room enough for a sentence, where `to_string` would grow a string from
/// nothing.
pub fn display<T: Display + ?Sized>(value: &T) -> String {
    use std::fmt::Write;

    let mut text = String::with_capacity(DETAIL_CAPACITY);
    // Writing into a `String` fails only if `Display` itself does.
    let _ = write!(text, "{value}");
    text
}

/// The room a detail is written into at first, in bytes.
const DETAIL_CAPACITY: usize = 96;

/// An extension member's value on its way to JSON: moved in when it
/// converts (`Into<serde_json::Value>`: strings, numbers, booleans, as a
/// hand-written `with_extension` takes them), serialized otherwise. The
/// derive calls `Extension(value).into_member()` with both traits in scope:
/// method lookup takes [`IntoMember`] on the value when it applies, and
/// [`SerializeMember`] on a reference to it when not.
#[derive(Debug)]
pub struct Extension<T>(pub T);

/// A value that converts to JSON itself.
pub trait IntoMember {
    /// The value as JSON.
    fn into_member(self) -> Option<serde_json::Value>;
}

impl<T: Into<serde_json::Value>> IntoMember for Extension<T> {
    fn into_member(self) -> Option<serde_json::Value> {
        Some(self.0.into())
    }
}

/// A value serialized to JSON; one that does not serialize adds nothing.
pub trait SerializeMember {
    /// The value as JSON.
    fn into_member(self) -> Option<serde_json::Value>;
}

impl<T: Serialize> SerializeMember for &Extension<T> {
    fn into_member(self) -> Option<serde_json::Value> {
        serde_json::to_value(&self.0).ok()
    }
}

/// Adds the extension member `name`, when its value came out as JSON.
pub fn extension(
    failure: Failure,
    name: &'static str,
    value: Option<serde_json::Value>,
) -> Failure {
    match value {
        Some(value) => failure.with_extension(name, value),
        None => failure,
    }
}

/// One problem a derived type answers with, for OpenAPI.
#[derive(Debug)]
pub struct Entry {
    /// The variant's (or struct's) name.
    pub variant: &'static str,
    /// The first paragraph of its doc comment.
    pub doc: Option<&'static str>,
    /// The prerequisite it names, when the name is known before it is made.
    pub dependency: Option<&'static str>,
    /// Its failure as the attributes make it: kind, code, type, title.
    pub failure: Failure,
    /// Whether the kind is the classifier's (`from_error`): any server fault.
    pub classified: bool,
}

/// A type the derive mapped: the problems it answers with.
pub trait Derived {
    /// Adds the type's problems to `out`, a wrapped type's too.
    fn entries(out: &mut Vec<Entry>);
}

/// The responses a derived type answers with under the default policy, by
/// status: each a problem (`application/problem+json`, the `Problem`
/// schema), described by its variants, with one example per variant.
#[cfg(feature = "utoipa")]
pub fn responses<T: Derived>(
) -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::response::Response>>
{
    use std::collections::BTreeMap;

    use http::StatusCode;
    use serde_json::{json, Value};
    use utoipa::openapi::content::ContentBuilder;
    use utoipa::openapi::example::ExampleBuilder;
    use utoipa::openapi::response::ResponseBuilder;
    use utoipa::openapi::schema::Ref;

    use crate::policy::StatusPolicy;
    use crate::problem::reason_phrase;

    let mut entries = Vec::new();
    T::entries(&mut entries);
    let policy = StatusPolicy::default();
    let classified = [
        StatusCode::INTERNAL_SERVER_ERROR,
        StatusCode::BAD_GATEWAY,
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::GATEWAY_TIMEOUT,
    ];
    // Per status: each variant's description, and its example by name.
    type Described = (Vec<String>, Vec<(String, Value)>);
    let mut by_status: BTreeMap<u16, Described> = BTreeMap::new();
    for entry in &entries {
        let failure = &entry.failure;
        let statuses = if entry.classified {
            classified.to_vec()
        } else {
            vec![policy.status_for(entry.dependency.unwrap_or_default(), failure.kind())]
        };
        for status in statuses {
            let mut example = json!({"status": status.as_u16()});
            if let Some(uri) = failure.problem_type() {
                example["type"] = json!(uri);
            }
            if let Some(title) = failure.title().or(reason_phrase(status)) {
                example["title"] = json!(title);
            }
            if let Some(dependency) = entry.dependency {
                example["dependency"] = json!(dependency);
            }
            if let Some(own) = failure.dependency_status() {
                example["dependency_status"] = json!(own.as_u16());
            }
            if let Some(code) = failure.code() {
                example["code"] = json!(code);
            }
            let retryable = if entry.classified {
                matches!(status.as_u16(), 503 | 504)
            } else {
                failure.is_retryable()
            };
            example["retryable"] = json!(retryable);
            let (described, examples) = by_status.entry(status.as_u16()).or_default();
            described.push(match entry.doc {
                Some(doc) => format!("`{}`: {doc}", entry.variant),
                None => format!("`{}`", entry.variant),
            });
            examples.push((entry.variant.to_owned(), example));
        }
    }
    by_status
        .into_iter()
        .map(|(status, (described, examples))| {
            let content =
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .examples_from_iter(examples.into_iter().map(|(name, value)| {
                        (name, ExampleBuilder::new().value(Some(value)).build())
                    }))
                    .build();
            let response = ResponseBuilder::new()
                .description(described.join("; "))
                .content("application/problem+json", content)
                .build();
            (status.to_string(), response.into())
        })
        .collect()
}

/// axum's `IntoResponse` for a derived type: its `DependencyError`'s
/// response, which an enclosing layer renders again with its own policy.
#[cfg(feature = "axum")]
#[doc(hidden)]
#[macro_export]
macro_rules! __derive_into_response {
    ({$($generics:tt)*} {$($ty:tt)*} {$($bounds:tt)*}) => {
        #[automatically_derived]
        impl $($generics)* $crate::__private::axum_core::response::IntoResponse for $($ty)* $($bounds)* {
            fn into_response(self) -> $crate::__private::axum_core::response::Response {
                $crate::__private::axum_core::response::IntoResponse::into_response(
                    <$crate::DependencyError as ::core::convert::From<Self>>::from(self),
                )
            }
        }
    };
}

/// Without the `axum` feature, nothing.
#[cfg(not(feature = "axum"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __derive_into_response {
    ($($tokens:tt)*) => {};
}

/// utoipa's `IntoResponses` for a derived type: see [`responses`].
#[cfg(feature = "utoipa")]
#[doc(hidden)]
#[macro_export]
macro_rules! __derive_into_responses {
    ({$($generics:tt)*} {$($ty:tt)*} {$($bounds:tt)*}) => {
        #[automatically_derived]
        impl $($generics)* $crate::__private::utoipa::IntoResponses for $($ty)* $($bounds)* {
            fn responses() -> ::std::collections::BTreeMap<
                ::std::string::String,
                $crate::__private::utoipa::openapi::RefOr<
                    $crate::__private::utoipa::openapi::response::Response,
                >,
            > {
                $crate::__private::responses::<Self>()
            }
        }
    };
}

/// Without the `utoipa` feature, nothing.
#[cfg(not(feature = "utoipa"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __derive_into_responses {
    ($($tokens:tt)*) => {};
}
