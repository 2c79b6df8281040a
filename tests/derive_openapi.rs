//! With the `utoipa` feature, a derived error lists its statuses and problem
//! types as the OpenAPI responses of a handler that returns it, and each
//! example is a valid `Problem`.

#![cfg(all(feature = "derive", feature = "utoipa"))]

use std::io;

use serde_json::{json, Value};
use tower_failed_dependency::{Failure, Problem};
use utoipa::OpenApi;

#[derive(Debug, thiserror::Error, Failure)]
#[failure(dependency = "payment")]
enum PayError {
    /// The card was declined.
    #[error("The card was declined.")]
    #[failure(rejected(402), code = "CARD_DECLINED")]
    Declined,
}

#[derive(Debug, thiserror::Error, Failure)]
#[failure(dependency = "inventory")]
enum OrderError {
    /// The item is sold out.
    #[error("Sold out.")]
    #[failure(
        rejected(409),
        code = "OUT_OF_STOCK",
        type = "https://shop.example/problems/out-of-stock",
        title = "Out of stock"
    )]
    SoldOut,
    /// The inventory service is down.
    #[error("inventory is down")]
    #[failure(unavailable, retry_after = 30)]
    Down,
    /// The quantity is zero.
    #[error("The quantity must be at least 1.")]
    #[failure(invalid(422), code = "QUANTITY_ZERO")]
    QuantityZero,
    #[error(transparent)]
    #[failure(transparent)]
    Pay(#[from] PayError),
    /// The warehouse could not be reached.
    #[error("warehouse call failed")]
    #[failure(from_error, dependency = "warehouse")]
    Warehouse(#[from] io::Error),
}

/// Places an order.
#[utoipa::path(
    post,
    path = "/orders",
    responses((status = 201, description = "The order was placed"), OrderError)
)]
#[allow(dead_code)]
async fn create_order() {}

#[derive(OpenApi)]
#[openapi(paths(create_order), components(schemas(Problem)))]
struct ApiDoc;

fn document() -> Value {
    serde_json::from_str(&ApiDoc::openapi().to_json().unwrap()).unwrap()
}

#[test]
fn each_status_of_the_enum_is_a_problem_response_with_its_variants() {
    let document = document();
    let responses = &document["paths"]["/orders"]["post"]["responses"];
    let mut statuses: Vec<&str> = responses
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    statuses.sort_unstable();
    // 424 for the refusals (the default policy), 503 and 422 for their kinds,
    // and the classifier's four for the wrapped I/O error.
    assert_eq!(statuses, ["201", "422", "424", "500", "502", "503", "504"]);

    let refused = &responses["424"];
    assert_eq!(
        refused["description"],
        "`SoldOut`: The item is sold out.; `Declined`: The card was declined."
    );
    let content = &refused["content"]["application/problem+json"];
    assert_eq!(content["schema"]["$ref"], "#/components/schemas/Problem");
    assert_eq!(
        content["examples"]["SoldOut"]["value"],
        json!({
            "type": "https://shop.example/problems/out-of-stock", "title": "Out of stock",
            "status": 424, "dependency": "inventory", "dependency_status": 409,
            "code": "OUT_OF_STOCK", "retryable": false
        })
    );
    assert_eq!(
        content["examples"]["Declined"]["value"],
        json!({
            "title": "Failed Dependency", "status": 424, "dependency": "payment",
            "dependency_status": 402, "code": "CARD_DECLINED", "retryable": false
        })
    );
    let down = &responses["503"]["content"]["application/problem+json"]["examples"];
    assert_eq!(down["Down"]["value"]["retryable"], true);
    assert_eq!(down["Warehouse"]["value"]["dependency"], "warehouse");
    assert_eq!(
        responses["422"]["content"]["application/problem+json"]["examples"]["QuantityZero"]
            ["value"]["code"],
        "QUANTITY_ZERO"
    );
    assert_eq!(
        responses["500"]["description"],
        "`Warehouse`: The warehouse could not be reached."
    );
}

#[test]
fn every_example_is_a_valid_problem() {
    let mut root = document();
    root["$ref"] = json!("#/components/schemas/Problem");
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .expect("the Problem component compiles as a JSON Schema");
    let responses = root["paths"]["/orders"]["post"]["responses"].clone();
    let mut checked = 0;
    for (status, response) in responses.as_object().unwrap() {
        let Some(examples) =
            response["content"]["application/problem+json"]["examples"].as_object()
        else {
            continue;
        };
        for (variant, example) in examples {
            let value = &example["value"];
            let errors: Vec<String> = validator
                .iter_errors(value)
                .map(|e| e.to_string())
                .collect();
            assert!(
                errors.is_empty(),
                "{status} {variant}: {value}\n{errors:#?}"
            );
            assert_eq!(value["status"].to_string(), *status);
            checked += 1;
        }
    }
    // SoldOut, Declined, Down, QuantityZero, and Warehouse under four statuses.
    assert_eq!(checked, 8);
}

#[test]
fn the_documented_statuses_are_the_ones_answered() {
    let document = document();
    let responses = &document["paths"]["/orders"]["post"]["responses"];
    let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
    let answered = [
        ("SoldOut", OrderError::SoldOut),
        ("Down", OrderError::Down),
        ("QuantityZero", OrderError::QuantityZero),
        ("Declined", OrderError::Pay(PayError::Declined)),
        ("Warehouse", OrderError::Warehouse(refused)),
    ];
    for (variant, error) in answered {
        let error = tower_failed_dependency::DependencyError::from(error);
        let status = http::Response::from(error).status();
        let examples =
            &responses[status.as_str()]["content"]["application/problem+json"]["examples"];
        assert_eq!(
            examples[variant]["value"]["status"],
            status.as_u16(),
            "{variant} answers {status}"
        );
    }
}
