//! Properties that hold for every failure, policy, problem and batch that
//! proptest can generate: the invariants the crate promises, checked on the
//! answers a user would read (status, headers, decoded body).

#![cfg(all(feature = "batch", feature = "xml"))]

mod support;

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use tower::{service_fn, Layer, ServiceExt};
use tower_failed_dependency::batch::BatchLayer;
use tower_failed_dependency::problem::ProblemFormat;
use tower_failed_dependency::RequestBody;
use tower_failed_dependency::{Failure, FailureKind, Problem, StatusPolicy};

/// 256 cases per property; a failing case is saved next to this file
/// (`properties.regressions`) and tried first on the next run.
fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("regressions"),
        )),
        ..ProptestConfig::default()
    }
}

/// Reads a whole body on a small runtime of its own.
fn collect<B>(body: B) -> Bytes
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(body.collect()).unwrap().to_bytes()
}

fn any_status() -> impl Strategy<Value = StatusCode> {
    (100u16..=599).prop_map(|code| StatusCode::from_u16(code).unwrap())
}

fn any_kind() -> impl Strategy<Value = FailureKind> {
    prop_oneof![
        4 => any_status().prop_map(FailureKind::Rejected),
        1 => Just(FailureKind::InvalidInput),
        1 => Just(FailureKind::Unprocessable),
        1 => Just(FailureKind::PreconditionRequired),
        1 => Just(FailureKind::Unavailable),
        1 => Just(FailureKind::Timeout),
        1 => Just(FailureKind::BadGateway),
        1 => Just(FailureKind::Internal),
    ]
}

/// A failure and the secrets it carries: its detail and its source's text,
/// each with a marker that occurs nowhere else.
#[derive(Debug, Clone)]
struct Generated {
    kind: FailureKind,
    detail: Option<String>,
    code: Option<String>,
    retry_after: Option<Duration>,
    source: Option<String>,
}

impl Generated {
    fn failure(&self) -> Failure {
        let mut failure = Failure::new(self.kind);
        if let Some(detail) = &self.detail {
            failure = failure.with_detail(detail.clone());
        }
        if let Some(code) = &self.code {
            failure = failure.with_code(code.clone());
        }
        if let Some(delay) = self.retry_after {
            failure = failure.with_retry_after(delay);
        }
        if let Some(source) = &self.source {
            failure = failure.with_source(std::io::Error::other(source.clone()));
        }
        failure
    }
}

fn any_failure() -> impl Strategy<Value = Generated> {
    (
        any_kind(),
        proptest::option::of("[a-z ]{0,20}"),
        proptest::option::of("[A-Z_]{1,12}"),
        proptest::option::of(0u64..100_000_000),
        proptest::option::of("[a-z .:/]{0,20}"),
    )
        .prop_map(|(kind, detail, code, retry_ms, source)| Generated {
            kind,
            detail: detail.map(|d| format!("DETAIL-7f3a {d}")),
            code,
            retry_after: retry_ms.map(Duration::from_millis),
            source: source.map(|s| format!("SOURCE-9c1e {s}")),
        })
}

/// The policies a user can build: the presets, and the options that change
/// what a body shows.
#[derive(Debug, Clone, Copy)]
enum Policy {
    Default,
    Strict,
    ShowServerDetail,
    TypeBase,
}

impl Policy {
    fn build(self) -> StatusPolicy {
        match self {
            Policy::Default => StatusPolicy::default(),
            Policy::Strict => StatusPolicy::strict(),
            Policy::ShowServerDetail => StatusPolicy::builder()
                .show_server_detail(true)
                .build()
                .unwrap(),
            Policy::TypeBase => StatusPolicy::builder()
                .type_base("https://errors.example.com/")
                .build()
                .unwrap(),
        }
    }

    fn shows_server_detail(self) -> bool {
        matches!(self, Policy::ShowServerDetail)
    }
}

fn any_policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(Policy::Default),
        Just(Policy::Strict),
        Just(Policy::ShowServerDetail),
        Just(Policy::TypeBase),
    ]
}

fn dependency_name() -> impl Strategy<Value = String> {
    "[a-z][a-z_]{0,15}"
}

/// What a client reads from a rendered problem.
struct Read {
    status: StatusCode,
    retry_after: Option<String>,
    text: String,
    problem: Problem,
}

fn render(policy: &StatusPolicy, dependency: &str, failure: &Failure) -> Read {
    let response = policy.response(dependency, failure);
    let status = response.status();
    assert_eq!(response.headers()[CONTENT_TYPE], "application/problem+json");
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .map(|value| value.to_str().unwrap().to_owned());
    let body = collect(response.into_body());
    let problem: Problem = serde_json::from_slice(&body).expect("the body parses as a Problem");
    Read {
        status,
        retry_after,
        text: String::from_utf8(body.to_vec()).unwrap(),
        problem,
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_status_is_the_bodys_status_and_the_body_is_a_problem(
        generated in any_failure(),
        policy in any_policy(),
        dependency in dependency_name(),
    ) {
        let read = render(&policy.build(), &dependency, &generated.failure());
        prop_assert_eq!(read.problem.status(), Some(read.status));
        prop_assert!(read.status.is_client_error() || read.status.is_server_error());
        prop_assert_eq!(read.problem.member("dependency"), Some(&json!(dependency)));
    }

    #[test]
    fn a_424_is_only_ever_a_refusal_and_a_refusal_is_never_a_server_error(
        generated in any_failure(),
        policy in any_policy(),
        dependency in dependency_name(),
    ) {
        let read = render(&policy.build(), &dependency, &generated.failure());
        let refused = matches!(generated.kind, FailureKind::Rejected(_));
        if read.status == StatusCode::FAILED_DEPENDENCY {
            prop_assert!(refused, "424 for {:?}", generated.kind);
        }
        if refused {
            prop_assert!(read.status.is_client_error(), "{:?} answered {}", generated.kind, read.status);
            match policy {
                Policy::Strict => prop_assert_ne!(read.status, StatusCode::FAILED_DEPENDENCY),
                _ => prop_assert_eq!(read.status, StatusCode::FAILED_DEPENDENCY),
            }
        }
    }

    #[test]
    fn a_body_never_shows_a_source_nor_a_server_errors_detail_unless_opted_in(
        generated in any_failure(),
        policy in any_policy(),
        dependency in dependency_name(),
    ) {
        let read = render(&policy.build(), &dependency, &generated.failure());
        prop_assert!(!read.text.contains("SOURCE-9c1e"), "{}", read.text);
        if read.status.is_server_error() && !policy.shows_server_detail() {
            prop_assert!(!read.text.contains("DETAIL-7f3a"), "{}", read.text);
        }
    }

    #[test]
    fn retry_after_exactly_on_a_503_with_a_hint_in_delay_seconds(
        generated in any_failure(),
        policy in any_policy(),
        dependency in dependency_name(),
    ) {
        let read = render(&policy.build(), &dependency, &generated.failure());
        let expected = generated
            .retry_after
            .filter(|_| read.status == StatusCode::SERVICE_UNAVAILABLE);
        match (expected, &read.retry_after) {
            (None, None) => {}
            (Some(delay), Some(value)) => {
                prop_assert!(value.bytes().all(|b| b.is_ascii_digit()), "{value:?}");
                let seconds: u64 = value.parse().unwrap();
                prop_assert_eq!(seconds, delay.as_secs() + u64::from(delay.subsec_nanos() > 0));
            }
            (expected, found) => prop_assert!(false, "expected {expected:?}, found {found:?}"),
        }
    }
}

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        // Fractions with short decimal forms, which serde_json reads back
        // exactly without its `float_roundtrip` feature.
        (-1_000_000i32..1_000_000).prop_map(|n| Value::from(f64::from(n) / 1024.0)),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

const STANDARD: [&str; 5] = ["type", "title", "status", "detail", "instance"];

fn member_name() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_]{2,16}".prop_filter("not standard", |n| !STANDARD.contains(&n.as_str()))
}

fn bad_member_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z][a-zA-Z0-9_]{0,1}",
        "[0-9_][a-zA-Z0-9_]{2,8}",
        "[a-z]{1,4}[^a-zA-Z0-9_][a-z]{1,4}",
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_problem_round_trips_with_any_extension_members(
        status in any_status(),
        title in proptest::option::of(any::<String>()),
        detail in proptest::option::of(any::<String>()),
        members in proptest::collection::btree_map(member_name(), any_json(), 0..6),
    ) {
        let mut problem = Problem::new(status);
        if let Some(title) = &title {
            problem = problem.with_title(title.clone());
        }
        if let Some(detail) = &detail {
            problem = problem.with_detail(detail.clone());
        }
        for (name, value) in &members {
            problem.insert_member(name.clone(), value.clone()).unwrap();
        }
        let json = serde_json::to_vec(&problem).unwrap();
        let back: Problem = serde_json::from_slice(&json).unwrap();
        prop_assert_eq!(back.status(), Some(status));
        // Without a title of its own, `about:blank` takes the reason phrase,
        // RFC 9110's (which renamed 413 and 422).
        let phrase = match status.as_u16() {
            413 => Some("Content Too Large"),
            422 => Some("Unprocessable Content"),
            _ => status.canonical_reason(),
        };
        let expected_title = title.as_deref().or(phrase);
        prop_assert_eq!(back.title(), expected_title);
        prop_assert_eq!(back.detail(), detail.as_deref());
        let read: Vec<(String, Value)> =
            back.members().map(|(n, v)| (n.to_owned(), v.clone())).collect();
        let written: Vec<(String, Value)> = members.into_iter().collect();
        prop_assert_eq!(read, written);
    }

    #[test]
    fn a_member_name_that_breaks_the_naming_rule_is_refused(name in bad_member_name()) {
        prop_assert!(Problem::new(StatusCode::CONFLICT).with_member(name, 1).is_err());
    }

    #[test]
    fn the_xml_form_is_well_formed_and_keeps_every_member(
        status in any_status(),
        members in proptest::collection::btree_map(member_name(), any::<String>(), 0..6),
    ) {
        let mut problem = Problem::new(status).with_title("Title <&>");
        for (name, text) in &members {
            problem.insert_member(name.clone(), text.clone()).unwrap();
        }
        let response = problem.into_response_as(ProblemFormat::Xml);
        prop_assert_eq!(response.headers()[CONTENT_TYPE].to_str().unwrap(), "application/problem+xml");
        let xml = support::xml::parse(&collect(response.into_body()));
        prop_assert_eq!(xml.namespace.as_str(), "urn:ietf:rfc:7807");
        prop_assert_eq!(xml.text_of("status"), status.as_str());
        prop_assert_eq!(xml.text_of("title"), "Title <&>");
        for (name, text) in &members {
            // Text comes back whole, but for characters XML cannot hold.
            let kept: String = text
                .chars()
                .map(|c| match c {
                    '\t' | '\n' | '\r' | '\u{20}'..='\u{FFFD}' | '\u{10000}'.. => c,
                    _ => '\u{FFFD}',
                })
                .collect();
            prop_assert_eq!(xml.text_of(name), kept.as_str());
        }
    }
}

/// A batch as generated: each part's dependencies (earlier parts) and the
/// status it answers with when it runs.
#[derive(Debug, Clone)]
struct Plan {
    depends_on: Vec<Vec<usize>>,
    answers: Vec<u16>,
}

fn any_plan() -> impl Strategy<Value = Plan> {
    (1usize..=12)
        .prop_flat_map(|parts| {
            let depends_on: Vec<_> = (0..parts)
                .map(|i| proptest::sample::subsequence((0..i).collect::<Vec<_>>(), 0..=i.min(3)))
                .collect();
            let answers = proptest::collection::vec(
                prop_oneof![
                    3 => prop_oneof![Just(200u16), Just(201), Just(204)],
                    1 => prop_oneof![Just(400u16), Just(404), Just(409), Just(500), Just(503)],
                ],
                parts,
            );
            (depends_on, answers)
        })
        .prop_map(|(depends_on, answers)| Plan {
            depends_on,
            answers,
        })
}

impl Plan {
    fn body(&self) -> Value {
        let requests: Vec<Value> = self
            .depends_on
            .iter()
            .enumerate()
            .map(|(i, deps)| {
                let deps: Vec<String> = deps.iter().map(|d| format!("p{d}")).collect();
                json!({"id": format!("p{i}"), "method": "GET", "url": format!("/parts/{i}"), "dependsOn": deps})
            })
            .collect();
        json!({ "requests": requests })
    }

    /// The parts that must not run: a failure's transitive dependents.
    fn expected_skipped(&self) -> BTreeSet<usize> {
        let mut failed = BTreeSet::new();
        let mut skipped = BTreeSet::new();
        for (i, deps) in self.depends_on.iter().enumerate() {
            if deps.iter().any(|d| failed.contains(d)) {
                skipped.insert(i);
                failed.insert(i);
            } else if !(200..300).contains(&self.answers[i]) {
                failed.insert(i);
            }
        }
        skipped
    }
}

/// Sends a batch to a `BatchLayer` over a service that answers each part
/// with its planned status, recording which parts ran.
fn run_batch(answers: Vec<u16>, body: Value) -> (StatusCode, Value, BTreeSet<usize>) {
    let ran = Arc::new(Mutex::new(BTreeSet::new()));
    let inner = {
        let ran = Arc::clone(&ran);
        let answers = Arc::new(answers);
        service_fn(move |request: Request<RequestBody<Full<Bytes>>>| {
            let index: usize = request.uri().path()["/parts/".len()..].parse().unwrap();
            ran.lock().unwrap().insert(index);
            let status = StatusCode::from_u16(answers[index]).unwrap();
            let mut response = Response::new(Full::new(Bytes::from_static(b"{\"ok\":true}")));
            *response.status_mut() = status;
            response
                .headers_mut()
                .insert(CONTENT_TYPE, "application/json".parse().unwrap());
            async move { Ok::<_, Infallible>(response) }
        })
    };
    let request = Request::post("/$batch")
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let response = runtime
        .block_on(BatchLayer::new().layer(inner).oneshot(request))
        .unwrap();
    let status = response.status();
    let body = collect(response.into_body());
    let ran = ran.lock().unwrap().clone();
    (status, serde_json::from_slice(&body).unwrap(), ran)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_part_runs_iff_its_dependencies_answered_2xx_and_424s_are_the_dependents_of_failures(
        plan in any_plan(),
    ) {
        let (status, body, ran) = run_batch(plan.answers.clone(), plan.body());
        prop_assert_eq!(status, StatusCode::OK);
        let skipped = plan.expected_skipped();
        let responses = body["responses"].as_array().unwrap();
        prop_assert_eq!(responses.len(), plan.answers.len());
        for response in responses {
            let i: usize = response["id"].as_str().unwrap()[1..].parse().unwrap();
            let answered = response["status"].as_u64().unwrap();
            if skipped.contains(&i) {
                prop_assert!(!ran.contains(&i), "part {i} ran");
                prop_assert_eq!(answered, 424);
                let failed = response["body"]["dependency"].as_str().unwrap();
                let failed: usize = failed[1..].parse().unwrap();
                prop_assert!(plan.depends_on[i].contains(&failed));
            } else {
                prop_assert!(ran.contains(&i), "part {i} did not run");
                prop_assert_eq!(answered, u64::from(plan.answers[i]));
            }
        }
    }

    #[test]
    fn a_forward_or_self_reference_is_refused_and_nothing_runs(
        plan in any_plan(),
        from in any::<prop::sample::Index>(),
        to in any::<prop::sample::Index>(),
    ) {
        let parts = plan.answers.len();
        let from = from.index(parts);
        let to = from + to.index(parts - from);
        let mut body = plan.body();
        body["requests"][from]["dependsOn"]
            .as_array_mut()
            .unwrap()
            .push(json!(format!("p{to}")));
        let (status, problem, ran) = run_batch(plan.answers.clone(), body);
        prop_assert_eq!(status, StatusCode::BAD_REQUEST);
        prop_assert_eq!(&problem["part"], &json!(format!("p{from}")));
        prop_assert_eq!(&problem["field"], &json!("dependsOn"));
        prop_assert!(ran.is_empty());
    }
}
