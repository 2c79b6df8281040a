//! `$<id>` references in a batch part's url, over every url proptest can
//! build from the forms OData and Graph write: as the first segment, past
//! it in the path, in a query option's value or its name, with `$` or
//! `%24`, the id in any case, as written or percent-encoded, followed by a
//! member path or not, naming a part the part depends on, one earlier it
//! does not, itself or a later one. The inner service records the uri of
//! every request it is sent. Checked: no uri the service sees carries a
//! reference to a part of its batch; the batch is refused exactly when a
//! reference names a part not in dependsOn; a part runs exactly when its
//! dependencies answered 2xx and each of its references can be resolved,
//! with the values they name in its uri, and is answered 400 (naming it)
//! when one cannot, its dependents 424.

#![cfg(feature = "batch")]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, LOCATION};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Value};
use tower::{service_fn, Layer, ServiceExt};
use tower_failed_dependency::batch::{BatchLayer, Dialect};
use tower_failed_dependency::RequestBody;

/// 256 cases; a failing case is saved next to this file
/// (`batch_references.regressions`) and tried first on the next run.
fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("regressions"),
        )),
        ..ProptestConfig::default()
    }
}

/// Ids a batch's parts take: digits (`1` a prefix of `10`), letters in
/// either case, a space, a non-ASCII letter, a hyphen.
const IDS: &[&str] = &["1", "2", "10", "a", "B", "p q", "caf\u{e9}", "x-y"];

/// A `$<id>` as generated: which part it names, and how it is spelled.
#[derive(Debug, Clone)]
struct Ref {
    /// Mostly a part the referring part depends on; else any part.
    from_dependencies: bool,
    pick: Index,
    upper: bool,
    /// The id as `%XX` of each of its bytes.
    encoded_id: bool,
    /// `%24` for the `$`.
    encoded_dollar: bool,
}

/// What follows a value reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    /// Nothing: the whole answer body (an object, which has no literal).
    Body,
    Name,
    Number,
    City,
    /// A collection: no literal.
    Tags,
    Missing,
    /// `%2FName`: the slash percent-encoded.
    EncodedName,
}

impl Member {
    fn written(self) -> &'static str {
        match self {
            Self::Body => "",
            Self::Name => "/Name",
            Self::Number => "/n",
            Self::City => "/Address/City",
            Self::Tags => "/Tags",
            Self::Missing => "/Missing",
            Self::EncodedName => "%2FName",
        }
    }

    /// The literal the value of part `part`'s answer becomes, decoded;
    /// `None` when it has none.
    fn literal(self, part: usize) -> Option<String> {
        match self {
            Self::Name | Self::EncodedName => Some(format!("'N''{part} &=+$top'")),
            Self::Number => Some(part.to_string()),
            Self::City => Some(format!("'Z\u{fc}rich {part}'")),
            Self::Body | Self::Tags | Self::Missing => None,
        }
    }
}

#[derive(Debug, Clone)]
enum PathForm {
    /// `/items/<i>`.
    Plain,
    /// `$<id>/sub` or `/$<id>/sub`: below what the part created.
    First(Ref, bool),
    /// `/items/$<id>`: past the first segment.
    Inner(Ref),
}

#[derive(Debug, Clone)]
enum QueryOption {
    /// `$filter=Name eq $<id>...`.
    Filter(Ref, Member),
    /// `x=$<id>...`.
    Bare(Ref, Member),
    /// `$<id>=1`: a reference as the option's name.
    Named(Ref),
    /// OData's own options, no reference: `$top=2&$select=Name`.
    System,
}

#[derive(Debug, Clone)]
struct PartSpec {
    depends_on: Vec<usize>,
    status: u16,
    path: PathForm,
    query: Vec<QueryOption>,
}

#[derive(Debug, Clone)]
struct Batch {
    ids: Vec<&'static str>,
    parts: Vec<PartSpec>,
    dialect: Dialect,
}

fn any_ref() -> impl Strategy<Value = Ref> {
    (
        proptest::bool::weighted(0.85),
        any::<Index>(),
        any::<bool>(),
        proptest::bool::weighted(0.25),
        proptest::bool::weighted(0.25),
    )
        .prop_map(
            |(from_dependencies, pick, upper, encoded_id, encoded_dollar)| Ref {
                from_dependencies,
                pick,
                upper,
                encoded_id,
                encoded_dollar,
            },
        )
}

fn any_member() -> impl Strategy<Value = Member> {
    prop_oneof![
        1 => Just(Member::Body),
        4 => Just(Member::Name),
        3 => Just(Member::Number),
        3 => Just(Member::City),
        1 => Just(Member::Tags),
        1 => Just(Member::Missing),
        2 => Just(Member::EncodedName),
    ]
}

fn any_part(index: usize) -> impl Strategy<Value = PartSpec> {
    let path = prop_oneof![
        3 => Just(PathForm::Plain),
        3 => (any_ref(), any::<bool>()).prop_map(|(r, slash)| PathForm::First(r, slash)),
        1 => any_ref().prop_map(PathForm::Inner),
    ];
    let option = prop_oneof![
        4 => (any_ref(), any_member()).prop_map(|(r, m)| QueryOption::Filter(r, m)),
        4 => (any_ref(), any_member()).prop_map(|(r, m)| QueryOption::Bare(r, m)),
        1 => any_ref().prop_map(QueryOption::Named),
        2 => Just(QueryOption::System),
    ];
    (
        proptest::sample::subsequence((0..index).collect::<Vec<_>>(), 0..=index.min(3)),
        prop_oneof![4 => Just(200u16), 2 => Just(201u16), 1 => Just(404u16)],
        path,
        proptest::collection::vec(option, 0..=3),
    )
        .prop_map(|(depends_on, status, path, query)| PartSpec {
            depends_on,
            status,
            path,
            query,
        })
}

fn any_batch() -> impl Strategy<Value = Batch> {
    (1usize..=6)
        .prop_flat_map(|parts| {
            let ids = proptest::sample::subsequence(IDS.to_vec(), parts).prop_shuffle();
            let specs: Vec<_> = (0..parts).map(any_part).collect();
            let dialect = prop_oneof![Just(Dialect::Graph), Just(Dialect::OData)];
            (ids, specs, dialect)
        })
        .prop_map(|(ids, parts, dialect)| Batch {
            ids,
            parts,
            dialect,
        })
}

/// Where a reference stands, as the model reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    First,
    Path,
    Name,
    Value(Member),
}

impl Batch {
    /// The part a reference of part `i` names.
    fn target(&self, i: usize, reference: &Ref) -> usize {
        let deps = &self.parts[i].depends_on;
        if reference.from_dependencies && !deps.is_empty() {
            deps[reference.pick.index(deps.len())]
        } else {
            reference.pick.index(self.parts.len())
        }
    }

    fn written(&self, i: usize, reference: &Ref) -> String {
        let id = self.ids[self.target(i, reference)];
        let id = if reference.upper {
            id.to_ascii_uppercase()
        } else {
            id.to_owned()
        };
        let id = if reference.encoded_id {
            id.bytes().map(|byte| format!("%{byte:02X}")).collect()
        } else {
            id
        };
        let dollar = if reference.encoded_dollar { "%24" } else { "$" };
        format!("{dollar}{id}")
    }

    /// Part `i`'s url, and each of its references: the part it names and
    /// where it stands.
    fn url(&self, i: usize) -> (String, Vec<(usize, Place)>) {
        let part = &self.parts[i];
        let mut references = Vec::new();
        let mut url = match &part.path {
            PathForm::Plain => format!("/items/{i}"),
            PathForm::First(reference, slash) => {
                references.push((self.target(i, reference), Place::First));
                let slash = if *slash { "/" } else { "" };
                format!("{slash}{}/sub", self.written(i, reference))
            }
            PathForm::Inner(reference) => {
                references.push((self.target(i, reference), Place::Path));
                format!("/items/{}", self.written(i, reference))
            }
        };
        for (n, option) in part.query.iter().enumerate() {
            url.push(if n == 0 { '?' } else { '&' });
            match option {
                QueryOption::Filter(reference, member) => {
                    references.push((self.target(i, reference), Place::Value(*member)));
                    url.push_str(&format!(
                        "$filter=Name eq {}{}",
                        self.written(i, reference),
                        member.written()
                    ));
                }
                QueryOption::Bare(reference, member) => {
                    references.push((self.target(i, reference), Place::Value(*member)));
                    url.push_str(&format!(
                        "x={}{}",
                        self.written(i, reference),
                        member.written()
                    ));
                }
                QueryOption::Named(reference) => {
                    references.push((self.target(i, reference), Place::Name));
                    url.push_str(&format!("{}=1", self.written(i, reference)));
                }
                QueryOption::System => url.push_str("$top=2&$select=Name"),
            }
        }
        (url, references)
    }

    fn body(&self) -> Value {
        let requests: Vec<Value> = (0..self.parts.len())
            .map(|i| {
                let deps: Vec<&str> = self.parts[i]
                    .depends_on
                    .iter()
                    .map(|&d| self.ids[d])
                    .collect();
                json!({"id": self.ids[i], "method": "GET", "url": self.url(i).0,
                       "dependsOn": deps, "headers": {"x-part": i.to_string()}})
            })
            .collect();
        json!({ "requests": requests })
    }
}

/// What the service saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    part: usize,
    uri: String,
}

/// Runs a batch over a service that records every uri and answers part
/// `i` with its planned status, `Location: /made/<i>` and a JSON body.
fn run(batch: &Batch) -> (StatusCode, Value, Vec<Seen>) {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let statuses: Arc<Vec<u16>> = Arc::new(batch.parts.iter().map(|p| p.status).collect());
    let inner = {
        let seen = Arc::clone(&seen);
        service_fn(move |request: Request<RequestBody<Full<Bytes>>>| {
            let part: usize = request.headers()["x-part"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            seen.lock().unwrap().push(Seen {
                part,
                uri: request.uri().to_string(),
            });
            let body = json!({"Name": format!("N'{part} &=+$top"), "n": part,
                              "Address": {"City": format!("Z\u{fc}rich {part}")}, "Tags": [part]});
            let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
            *response.status_mut() = StatusCode::from_u16(statuses[part]).unwrap();
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, "application/json".parse().unwrap());
            headers.insert(LOCATION, format!("/made/{part}").parse().unwrap());
            async move { Ok::<_, Infallible>(response) }
        })
    };
    let request = Request::post("/$batch")
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(batch.body().to_string())))
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let (status, body) = runtime.block_on(async {
        let response = BatchLayer::new()
            .dialect(batch.dialect)
            .layer(inner)
            .oneshot(request)
            .await
            .unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, body)
    });
    let seen = seen.lock().unwrap().clone();
    (status, serde_json::from_slice(&body).unwrap(), seen)
}

/// `text` with every `%XX` decoded.
fn decoded(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|&b| char::from(b).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

/// The ids of the batch that `uri` still refers to: a `$` (as written or
/// `%24`) followed by an id, in any case, that does not go on as a longer
/// name (a letter, digit, `_`, `-`, `.`, `~` or non-ASCII byte after it).
fn unresolved<'a>(uri: &str, ids: &[&'a str]) -> Vec<&'a str> {
    let text = decoded(uri);
    let goes_on =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'~') || b >= 0x80;
    let mut found = Vec::new();
    for at in (0..text.len()).filter(|&at| text[at] == b'$') {
        let after = &text[at + 1..];
        for id in ids {
            let id_bytes = id.as_bytes();
            if after.len() >= id_bytes.len()
                && after[..id_bytes.len()].eq_ignore_ascii_case(id_bytes)
                && after.get(id_bytes.len()).is_none_or(|&b| !goes_on(b))
            {
                found.push(*id);
            }
        }
    }
    found
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn no_inner_request_carries_a_reference_and_each_part_runs_as_its_references_allow(
        batch in any_batch(),
    ) {
        let (status, body, seen) = run(&batch);

        // The property the issue asks for, whatever else happened.
        for request in &seen {
            let left = unresolved(&request.uri, &batch.ids);
            prop_assert!(left.is_empty(), "part {} was sent {} with {left:?}", request.part, request.uri);
        }

        // The model: a reference to a part not in dependsOn refuses the batch.
        let urls: Vec<(String, Vec<(usize, Place)>)> =
            (0..batch.parts.len()).map(|i| batch.url(i)).collect();
        let outside = (0..batch.parts.len()).find(|&i| {
            urls[i].1.iter().any(|(target, _)| !batch.parts[i].depends_on.contains(target))
        });
        if let Some(i) = outside {
            prop_assert_eq!(status, StatusCode::BAD_REQUEST, "{}", body);
            prop_assert_eq!(&body["part"], &json!(batch.ids[i]), "{}", body);
            prop_assert_eq!(&body["field"], &json!("url"));
            prop_assert!(seen.is_empty(), "a refused batch ran {:?}", seen);
            return Ok(());
        }
        prop_assert_eq!(status, StatusCode::OK, "{}", body);
        let answers: BTreeMap<String, Value> = body["responses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|answer| (answer["id"].as_str().unwrap().to_owned(), answer.clone()))
            .collect();
        let mut succeeded = vec![false; batch.parts.len()];
        for (i, part) in batch.parts.iter().enumerate() {
            let answer = &answers[batch.ids[i]];
            let ran: Vec<&Seen> = seen.iter().filter(|s| s.part == i).collect();
            let references = &urls[i].1;
            if let Some(&failed) = part.depends_on.iter().find(|&&d| !succeeded[d]) {
                prop_assert_eq!(&answer["status"], &json!(424), "{}", answer);
                prop_assert!(ran.is_empty());
                prop_assert!(part.depends_on.contains(
                    &batch.ids.iter().position(|id| answer["body"]["dependency"] == *id).unwrap()
                ), "{} {}", answer, failed);
                continue;
            }
            let resolvable = references.iter().all(|(target, place)| match place {
                Place::First => true,
                Place::Path | Place::Name => false,
                Place::Value(member) => member.literal(*target).is_some(),
            });
            if !resolvable {
                prop_assert_eq!(&answer["status"], &json!(400), "{} {}", urls[i].0, answer);
                prop_assert_eq!(&answer["body"]["part"], &json!(batch.ids[i]));
                prop_assert!(ran.is_empty(), "{} ran as {:?}", urls[i].0, ran);
                continue;
            }
            prop_assert_eq!(ran.len(), 1, "{} ran {} times", urls[i].0, ran.len());
            prop_assert_eq!(&answer["status"], &json!(part.status));
            succeeded[i] = (200..300).contains(&part.status);
            let uri = &ran[0].uri;
            let text = String::from_utf8_lossy(&decoded(uri)).into_owned();
            for (target, place) in references {
                match place {
                    Place::First => prop_assert!(
                        uri.starts_with(&format!("/made/{target}/sub")),
                        "{} was sent as {}", urls[i].0, uri
                    ),
                    Place::Value(member) => {
                        let literal = member.literal(*target).unwrap();
                        prop_assert!(text.contains(&literal), "{} was sent as {}, without {}", urls[i].0, uri, literal);
                    }
                    Place::Path | Place::Name => unreachable!("not resolvable"),
                }
            }
            if matches!(part.path, PathForm::Plain) {
                prop_assert!(uri.starts_with(&format!("/items/{i}")), "{}", uri);
            }
        }
    }
}
