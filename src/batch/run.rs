//! Running a planned batch: each part as a real request to the inner
//! service, concurrently where independent, never one whose dependency
//! failed.

use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::Poll;

use base64::Engine;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{Extensions, HeaderMap, HeaderName, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{json, Value};
use tower_service::Service;

use super::plan::{is_json, Part};
use crate::{BoxError, Dependencies, Failure, Outcome, Problem};

/// What the run needs besides the parts.
pub(crate) struct Settings<'a> {
    pub(crate) concurrency: usize,
    pub(crate) part_body_limit: usize,
    pub(crate) copy_headers: &'a [HeaderName],
}

/// One part's answer, as it goes into the batch response.
pub(crate) struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    /// For a part not run: the first failed part of its chain.
    root: Option<usize>,
}

impl Answer {
    fn problem(problem: Problem) -> Self {
        let status = problem
            .status()
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = crate::response::to_json(&problem.with_status(status));
        let headers = crate::response::problem(status, Bytes::new(), None)
            .into_parts()
            .0
            .headers;
        Self {
            status,
            headers,
            body,
            root: None,
        }
    }

    fn is_success(&self) -> bool {
        self.status.is_success()
    }
}

type PartFuture = Pin<Box<dyn Future<Output = Answer> + Send>>;

enum State {
    Waiting,
    Running(PartFuture),
    Done(Answer),
}

/// Runs every part and returns their answers, in request order.
pub(crate) async fn run<S, ReqBody, ResBody>(
    inner: S,
    parts: Vec<Part>,
    outer_headers: &HeaderMap,
    outer_extensions: &Extensions,
    settings: &Settings<'_>,
) -> (Vec<Part>, Vec<Answer>)
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ReqBody: From<Bytes> + Send + 'static,
    ResBody: http_body::Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    let mut states: Vec<State> = parts.iter().map(|_| State::Waiting).collect();
    // The closure owns the inner service (which need not be `Sync`) and the
    // states; it borrows the rest.
    let borrowed = &parts;
    let answers = poll_fn(move |cx| loop {
        let parts = borrowed;
        let mut changed = false;
        let mut running = states
            .iter()
            .filter(|s| matches!(s, State::Running(_)))
            .count();
        for i in 0..parts.len() {
            if !matches!(states[i], State::Waiting) {
                continue;
            }
            let part = &parts[i];
            let failed = part
                .depends_on
                .iter()
                .copied()
                .find(|&d| matches!(&states[d], State::Done(answer) if !answer.is_success()));
            if let Some(dependency) = failed {
                states[i] = State::Done(skipped(parts, &states, i, dependency));
                changed = true;
                continue;
            }
            let ready = part
                .depends_on
                .iter()
                .all(|&d| matches!(&states[d], State::Done(answer) if answer.is_success()));
            if ready && running < settings.concurrency {
                let request = part_request(part, parts, outer_headers, outer_extensions, settings);
                states[i] = State::Running(call(
                    inner.clone(),
                    request,
                    part.id.clone(),
                    settings.part_body_limit,
                ));
                running += 1;
                changed = true;
            }
        }
        for (i, state) in states.iter_mut().enumerate() {
            let State::Running(future) = state else {
                continue;
            };
            let answer = match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
                Ok(Poll::Pending) => continue,
                Ok(Poll::Ready(answer)) => answer,
                Err(_) => {
                    crate::trace::batch_part_failed(&parts[i].id, &"the part panicked");
                    internal(&parts[i].id)
                }
            };
            *state = State::Done(answer);
            changed = true;
        }
        if states.iter().all(|s| matches!(s, State::Done(_))) {
            let answers: Vec<Answer> = std::mem::take(&mut states)
                .into_iter()
                .filter_map(|state| match state {
                    State::Done(answer) => Some(answer),
                    State::Waiting | State::Running(_) => None,
                })
                .collect();
            return Poll::Ready(answers);
        }
        if !changed {
            return Poll::Pending;
        }
    })
    .await;
    (parts, answers)
}

/// The request a part becomes: its method, path, headers (with the outer
/// request's copied ones it does not set itself) and body, the outer
/// request's extensions, and a record of the parts it depends on.
fn part_request<ReqBody: From<Bytes>>(
    part: &Part,
    parts: &[Part],
    outer_headers: &HeaderMap,
    outer_extensions: &Extensions,
    settings: &Settings<'_>,
) -> Request<ReqBody> {
    let mut request = Request::new(ReqBody::from(part.body.clone()));
    *request.method_mut() = part.method.clone();
    *request.uri_mut() = part.uri.clone();
    let mut headers = part.headers.clone();
    for name in settings.copy_headers {
        if headers.contains_key(name) {
            continue;
        }
        for value in outer_headers.get_all(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    *request.headers_mut() = headers;
    *request.extensions_mut() = outer_extensions.clone();
    let mut record = Dependencies::new();
    for &dependency in &part.depends_on {
        record.record_success(parts[dependency].id.clone());
    }
    request.extensions_mut().insert(record);
    request
}

/// Calls the inner service for one part and reads its answer.
fn call<S, ReqBody, ResBody>(
    mut service: S,
    request: Request<ReqBody>,
    id: String,
    limit: usize,
) -> PartFuture
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ReqBody: Send + 'static,
    ResBody: http_body::Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    Box::pin(async move {
        let ready: Result<(), BoxError> = poll_fn(|cx| service.poll_ready(cx))
            .await
            .map_err(Into::into);
        let response: Result<Response<ResBody>, BoxError> = match ready {
            Ok(()) => service.call(request).await.map_err(Into::into),
            Err(error) => Err(error),
        };
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                crate::trace::batch_part_failed(&id, &*error);
                return internal(&id);
            }
        };
        let (head, body) = response.into_parts();
        match Limited::new(body, limit).collect().await {
            Ok(collected) => Answer {
                status: head.status,
                headers: head.headers,
                body: collected.to_bytes(),
                root: None,
            },
            Err(error) => {
                crate::trace::batch_part_failed(&id, &*error);
                internal(&id)
            }
        }
    })
}

/// The 500 of a part that panicked or failed; nothing of why is rendered.
fn internal(id: &str) -> Answer {
    Answer::problem(
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR)
            .with_title("Internal Server Error")
            .with_detail(format!("Request '{id}' could not be completed.")),
    )
}

/// The 424 of a part not run because `dependency` did not answer 2xx.
fn skipped(parts: &[Part], states: &[State], i: usize, dependency: usize) -> Answer {
    let State::Done(failed) = &states[dependency] else {
        return internal(&parts[i].id);
    };
    let root = failed.root.unwrap_or(dependency);
    let id = &parts[i].id;
    let dependency_id = &parts[dependency].id;
    let root_id = &parts[root].id;
    let problem = Problem::new(StatusCode::FAILED_DEPENDENCY)
        .with_title("Failed Dependency")
        .with_detail(format!(
            "Request '{id}' was not run because request '{dependency_id}', which it depends on, answered {}.",
            failed.status.as_u16()
        ));
    let members = [
        ("dependency", json!(dependency_id)),
        ("dependency_status", json!(failed.status.as_u16())),
        ("root_cause", json!(root_id)),
        ("retryable", json!(false)),
    ];
    let problem = members.into_iter().fold(problem, |problem, (name, value)| {
        problem
            .with_member(name, value)
            .unwrap_or_else(|_| Problem::new(StatusCode::FAILED_DEPENDENCY))
    });
    let mut answer = Answer::problem(problem);
    answer.root = Some(root);
    answer
}

/// The outcome of each part, for the batch response's extensions.
pub(crate) fn record(parts: &[Part], answers: &[Answer]) -> Dependencies {
    let mut record = Dependencies::new();
    for (part, answer) in parts.iter().zip(answers) {
        let outcome = match answer.root {
            Some(root) => Outcome::Skipped {
                because: parts[root].id.clone().into(),
            },
            None if answer.is_success() => Outcome::Succeeded,
            None => Outcome::Failed(Failure::rejected(answer.status)),
        };
        record.record(part.id.clone(), outcome);
    }
    record
}

/// The batch response body: `{"responses": [...]}` in request order.
pub(crate) struct Responses<'a> {
    pub(crate) parts: &'a [Part],
    pub(crate) answers: &'a [Answer],
}

impl Serialize for Responses<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("responses", &List(self))?;
        map.end()
    }
}

struct List<'a>(&'a Responses<'a>);

impl Serialize for List<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.parts.len()))?;
        for (part, answer) in self.0.parts.iter().zip(self.0.answers) {
            seq.serialize_element(&One {
                id: &part.id,
                answer,
            })?;
        }
        seq.end()
    }
}

struct One<'a> {
    id: &'a str,
    answer: &'a Answer,
}

impl Serialize for One<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let answer = self.answer;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", self.id)?;
        map.serialize_entry("status", &answer.status.as_u16())?;
        map.serialize_entry("headers", &Headers(&answer.headers))?;
        if !answer.body.is_empty() {
            map.serialize_entry("body", &embed(&answer.headers, &answer.body))?;
        }
        map.end()
    }
}

struct Headers<'a>(&'a HeaderMap);

impl Serialize for Headers<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.keys_len()))?;
        for name in self.0.keys() {
            let joined = self
                .0
                .get_all(name)
                .iter()
                .map(|value| String::from_utf8_lossy(value.as_bytes()))
                .collect::<Vec<_>>()
                .join(", ");
            map.serialize_entry(name.as_str(), &joined)?;
        }
        map.end()
    }
}

/// A part's body in the batch response: JSON embedded as JSON, UTF-8 text as
/// a string, anything else as a base64 string.
fn embed(headers: &HeaderMap, body: &Bytes) -> Value {
    if headers.get(CONTENT_TYPE).is_some_and(is_json) {
        if let Ok(value) = serde_json::from_slice(body) {
            return value;
        }
    }
    match std::str::from_utf8(body) {
        Ok(text) => Value::String(text.to_owned()),
        Err(_) => Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
    }
}
