//! The problem body as an OpenAPI 3.1 schema, with the `utoipa` feature:
//! utoipa's [`ToSchema`] for [`Problem`].
//!
//! The schema, named `Problem`, describes every member this crate writes:
//! RFC 9457's `type`, `title`, `status`, `detail` and `instance`, and the
//! extension members (`dependency`, `dependency_status`, `code`,
//! `retryable`, `request_id`, `trace_id`, `skipped`, a batch's `root_cause`,
//! `part` and `field`, validation `errors`, and an upstream's `cause`). Other
//! members are allowed (`additionalProperties: true`), as RFC 9457 lets a
//! problem carry extensions, such as those a policy's `on_problem` hook adds.
//! The nested `cause` refers to a second component, `ProblemCause`, which
//! refers to itself; both are registered when `Problem` is listed in
//! `components(schemas(..))` or used as a response body.
//!
//! ```
//! use tower_failed_dependency::Problem;
//! use utoipa::OpenApi;
//!
//! /// Places an order once its prerequisites succeeded.
//! #[utoipa::path(
//!     post,
//!     path = "/orders",
//!     responses(
//!         (status = 201, description = "The order was placed"),
//!         (status = 424, description = "A prerequisite was refused",
//!             body = Problem, content_type = "application/problem+json"),
//!     )
//! )]
//! async fn create_order() {}
//!
//! #[derive(OpenApi)]
//! #[openapi(paths(create_order), components(schemas(Problem)))]
//! struct ApiDoc;
//!
//! # fn main() -> Result<(), serde_json::Error> {
//! let document: serde_json::Value = serde_json::from_str(&ApiDoc::openapi().to_json()?)?;
//! let schemas = &document["components"]["schemas"];
//! assert_eq!(schemas["Problem"]["properties"]["dependency"]["type"], "string");
//! assert_eq!(
//!     schemas["Problem"]["properties"]["cause"]["$ref"],
//!     "#/components/schemas/ProblemCause"
//! );
//! assert_eq!(schemas["ProblemCause"]["type"], "object");
//! let answer = &document["paths"]["/orders"]["post"]["responses"]["424"];
//! assert_eq!(
//!     answer["content"]["application/problem+json"]["schema"]["$ref"],
//!     "#/components/schemas/Problem"
//! );
//! # Ok(())
//! # }
//! ```

use std::borrow::Cow;

use serde_json::json;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ObjectBuilder, Ref, Schema, SchemaFormat, Type,
};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::problem::Problem;

/// The name of the component a problem's `cause` refers to.
const CAUSE: &str = "ProblemCause";

/// A `$ref` to the `ProblemCause` component.
fn cause_ref(description: &str) -> Ref {
    Ref::builder()
        .ref_location_from_schema_name(CAUSE)
        .description(Some(description))
        .build()
}

/// A string member.
fn text(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
}

/// A URI reference member (`type`, `instance`).
fn uri_reference(description: &str) -> ObjectBuilder {
    text(description).format(Some(SchemaFormat::Custom("uri-reference".to_owned())))
}

/// An HTTP status member: an integer from 100 to 599.
fn status(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(100))
        .maximum(Some(599))
        .description(Some(description))
}

/// An array of strings.
fn names(description: &str) -> ArrayBuilder {
    ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(Type::String))
        .description(Some(description))
}

/// `type`: about:blank when absent.
const TYPE: &str = "A URI reference that identifies the problem type. Absent means \
                    `about:blank`: the problem is no more than its HTTP status.";
/// `status`: the HTTP status.
const STATUS: &str = "The HTTP status code of this occurrence; always the status of the \
                      response that carries it.";

/// RFC 9457's `type`, `title`, `status` and `detail`, as both schemas have them.
fn standard_members(object: ObjectBuilder) -> ObjectBuilder {
    object
        .property(
            "type",
            uri_reference(TYPE).default(Some(json!("about:blank"))),
        )
        .property(
            "title",
            text("A short summary of the problem type, the same for every occurrence."),
        )
        .property("status", status(STATUS))
        .property(
            "detail",
            text("An explanation of this occurrence, for the client."),
        )
}

/// The `ProblemCause` component: an upstream's problem as this crate keeps it.
fn cause_schema() -> RefOr<Schema> {
    standard_members(
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "An upstream's problem, kept as the cause of a failure: the members of it that \
                 are read, each of the right JSON type, with text cut to 256 characters and \
                 nesting cut to a few levels.",
            ))
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(true))),
    )
    .property(
        "dependency",
        text("The dependency the upstream named as failed."),
    )
    .property("cause", cause_ref("The upstream's own cause."))
    .into()
}

/// A validation error, as in RFC 9457 §3's example.
fn validation_error() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("One thing wrong with the request's content."))
        .property("detail", text("What is wrong, for the client."))
        .property(
            "pointer",
            text(
                "A JSON Pointer (RFC 6901) to the member at fault in the request's content, \
                 in URI fragment form, such as `#/age`.",
            )
            .examples([json!("#/age")]),
        )
        .required("detail")
}

#[cfg_attr(docsrs, doc(cfg(feature = "utoipa")))]
impl PartialSchema for Problem {
    fn schema() -> RefOr<Schema> {
        standard_members(
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(Some(
                    "An RFC 9457 problem details object (`application/problem+json`): why a \
                     request was not carried out, and which of its prerequisites failed. \
                     Members not listed here are extensions, allowed by RFC 9457.",
                ))
                .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(true))),
        )
        .property(
            "instance",
            uri_reference("A URI reference that identifies this occurrence."),
        )
        .property(
            "dependency",
            text(
                "The prerequisite that failed. When the prerequisite required was skipped, \
                 the root cause: the failure that made it skipped.",
            ),
        )
        .property(
            "dependency_status",
            status("The prerequisite's own HTTP status, when known."),
        )
        .property(
            "code",
            text("The failure's machine-readable code, when one was set."),
        )
        .property(
            "retryable",
            ObjectBuilder::new()
                .schema_type(Type::Boolean)
                .description(Some(
                    "Whether the same request may succeed later: true when a prerequisite \
                     was unavailable or timed out.",
                )),
        )
        .property(
            "request_id",
            text(
                "The request's id, from its `x-request-id` header (or the header the \
                 layer is told to read), echoed only when it is 1 to 128 ASCII letters, \
                 digits and `-_.:/+=@`.",
            )
            .min_length(Some(1))
            .max_length(Some(128))
            .pattern(Some("^[A-Za-z0-9._:/+=@-]+$")),
        )
        .property(
            "trace_id",
            text("The W3C Trace Context trace-id of the request: 32 lowercase hex digits.")
                .pattern(Some("^[0-9a-f]{32}$")),
        )
        .property(
            "skipped",
            names("The dependents that were not attempted because a prerequisite failed."),
        )
        .property(
            "root_cause",
            text(
                "In a batch, the id of the first failed part of the chain that kept this \
                 part from running.",
            ),
        )
        .property(
            "part",
            text("In a refused batch, the id of the part at fault."),
        )
        .property(
            "field",
            text("In a refused batch, the field of the part at fault."),
        )
        .property(
            "errors",
            ArrayBuilder::new()
                .items(validation_error())
                .description(Some(
                    "What is wrong with the request's content, one entry per error.",
                )),
        )
        .property(
            "cause",
            cause_ref("An upstream's problem, kept as the cause of the failure."),
        )
        .examples([json!({
            "title": "Failed Dependency",
            "status": 424,
            "detail": "Only 0 left of sold-out.",
            "dependency": "inventory",
            "dependency_status": 409,
            "code": "OUT_OF_STOCK",
            "retryable": false,
            "request_id": "req-42",
            "skipped": ["payment"]
        })])
        .into()
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "utoipa")))]
impl ToSchema for Problem {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Problem")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((CAUSE.to_owned(), cause_schema()));
    }
}
