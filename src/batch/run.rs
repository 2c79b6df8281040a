//! Answering one batch: read and validate it, run its parts on the crate's
//! schedule (each a real request to the inner service, never one whose
//! dependency failed), and answer for every part.

use std::future::poll_fn;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::request::Parts as Head;
use http::{Extensions, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tower_service::Service;

use super::config::Config;
use super::plan::{self, Invalid, Limits, Part};
use super::responses::{Answer, Responses};
use crate::body::ResponseBody;
use crate::outcome::{BoxError, Dependencies, Failure, FailureKind, Outcome};
use crate::policy::{sanitized, send, trace_id_of, Incident, RequestParts, TraceId};
use crate::problem::{to_json, Accept, Serialized};
use crate::schedule::{Blocker, Ended, Schedule, StepFuture, Steps};

/// What the log event of a refused batch says happened.
const REFUSED: &str = "a batch was refused before any part ran";
/// What the log event of a part that failed or panicked says happened.
const PART_FAILED: &str = "a batch part could not be completed";
/// What a part not run because of a failed dependency is (not logged: the
/// dependency's own answer says what happened).
const PART_NOT_RUN: &str = "a batch part was not run because a part it depends on failed";

/// Reads, validates and runs one batch.
pub(super) async fn answer<S, ReqBody, ResBody>(
    inner: S,
    request: Request<ReqBody>,
    config: Arc<Config>,
) -> Response<ResponseBody<ResBody>>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ReqBody: http_body::Body + From<Bytes> + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
    ResBody: http_body::Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    let (head, body) = request.into_parts();
    let outer = Outer::of(&head, &config);
    let body = match Limited::new(body, config.max_body).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => {
            return refuse(&config, &Invalid::too_large(config.max_body), &outer)
        }
        Err(_) => return refuse(&config, &Invalid::unreadable(), &outer),
    };
    let limits = Limits {
        max_parts: config.max_parts,
        batch_path: config.path.clone(),
    };
    let parts = match plan::plan(&body, &limits) {
        Ok(parts) => parts,
        Err(invalid) => return refuse(&config, &invalid, &outer),
    };
    let ended = run(inner, &parts, &head, &config).await;
    let answers = answers(&parts, ended, &config, &outer);
    let record = record(&parts, &answers);
    let body = to_json(&Responses {
        parts: &parts,
        answers: &answers,
    });
    let mut response = Response::new(ResponseBody::whole(body));
    *response.status_mut() = if config.multi_status {
        StatusCode::MULTI_STATUS
    } else {
        StatusCode::OK
    };
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.extensions_mut().insert(record);
    response
}

/// What the batch's problems say of the outer request: its id, its trace id,
/// the form it accepts, and its head for the policy's hook.
struct Outer<'a> {
    request_id: Option<&'a str>,
    trace_id: Option<TraceId>,
    accept: Accept,
    request: RequestParts<'a>,
}

impl<'a> Outer<'a> {
    fn of(head: &'a Head, config: &Config) -> Self {
        Self {
            request_id: sanitized(&head.headers, &config.request_id_header),
            trace_id: trace_id_of(&config.policy, &head.headers),
            accept: Accept::of(&head.headers),
            request: RequestParts::new(&head.method, &head.uri, &head.headers, &head.extensions),
        }
    }

    /// `incident`, answering the outer request.
    fn answering(&'a self, incident: Incident<'a>) -> Incident<'a> {
        Incident {
            request_id: self.request_id,
            trace_id: self.trace_id.as_ref().map(TraceId::as_str),
            request: Some(&self.request),
            ..incident
        }
    }
}

/// The problem answering a batch refused before anything ran, written by
/// the policy in the form the outer request's `Accept` prefers, naming the
/// part and the field at fault.
fn refuse<B>(config: &Config, invalid: &Invalid, outer: &Outer<'_>) -> Response<ResponseBody<B>> {
    let failure = Failure::invalid_input().with_detail(invalid.to_string());
    let part = invalid.part_id().map(|id| ("part", id));
    let field = invalid.field().map(|field| ("field", field));
    let members: Vec<(&'static str, &str)> = part.into_iter().chain(field).collect();
    let incident = outer.answering(Incident {
        status: Some(invalid.status()),
        members: &members,
        ..Incident::new(None, &failure, REFUSED)
    });
    let serialized = config.policy.render(&incident);
    send(
        serialized,
        &outer.accept,
        Extensions::new(),
        ResponseBody::whole,
    )
}

/// What running a part gives: its answer, or the error of the inner service
/// or of reading its body.
type Called = Result<Answer, BoxError>;

/// The parts of one batch, as the schedule runs them.
struct PartSteps<'a, S, ReqBody> {
    inner: S,
    parts: &'a [Part],
    outer: &'a Head,
    copy_headers: &'a [HeaderName],
    answer_limit: usize,
    body: PhantomData<fn() -> ReqBody>,
}

impl<S, ReqBody, ResBody> Steps for PartSteps<'_, S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ReqBody: From<Bytes> + Send + 'static,
    ResBody: http_body::Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    type Output = Called;

    fn dependencies(&self, step: usize) -> &[usize] {
        &self.parts[step].depends_on
    }

    fn start(&mut self, step: usize) -> StepFuture<Called> {
        let request = self.part_request(step);
        Box::pin(call(self.inner.clone(), request, self.answer_limit))
    }

    fn succeeded(&self, output: &Called) -> bool {
        matches!(output, Ok(answer) if answer.status.is_success())
    }
}

impl<S, ReqBody: From<Bytes>> PartSteps<'_, S, ReqBody> {
    /// The request part `step` becomes: its method, path, headers (with the
    /// outer request's copied ones it does not set itself) and body, the
    /// outer request's extensions, and a record of the parts it depends on.
    fn part_request(&self, step: usize) -> Request<ReqBody> {
        let part = &self.parts[step];
        let mut request = Request::new(ReqBody::from(part.body.clone()));
        *request.method_mut() = part.method.clone();
        *request.uri_mut() = part.uri.clone();
        let mut headers = part.headers.clone();
        for name in self.copy_headers {
            if headers.contains_key(name) {
                continue;
            }
            for value in self.outer.headers.get_all(name) {
                headers.append(name.clone(), value.clone());
            }
        }
        *request.headers_mut() = headers;
        *request.extensions_mut() = self.outer.extensions.clone();
        let mut record = Dependencies::new();
        for &dependency in &part.depends_on {
            record.record_success(self.parts[dependency].id.clone());
        }
        request.extensions_mut().insert(record);
        request
    }
}

/// Runs every part, at most `config.concurrency` at a time, and returns how
/// each ended, in request order.
async fn run<S, ReqBody, ResBody>(
    inner: S,
    parts: &[Part],
    outer: &Head,
    config: &Config,
) -> Vec<Option<Ended<Called>>>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ReqBody: From<Bytes> + Send + 'static,
    ResBody: http_body::Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    let mut steps = PartSteps {
        inner,
        parts,
        outer,
        copy_headers: &config.copy_headers,
        answer_limit: config.part_body_limit,
        body: PhantomData,
    };
    let mut schedule = Schedule::new(parts.len(), config.concurrency);
    poll_fn(|cx| loop {
        if schedule.is_settled() {
            return Poll::Ready(());
        }
        if !schedule.advance(&mut steps, cx) {
            return Poll::Pending;
        }
    })
    .await;
    schedule.into_ended().collect()
}

/// Calls the inner service for one part, once it is ready, and reads its
/// answer up to `limit` bytes.
async fn call<S, ReqBody, ResBody>(
    mut service: S,
    request: Request<ReqBody>,
    limit: usize,
) -> Called
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Into<BoxError>,
    ResBody: http_body::Body,
    ResBody::Error: Into<BoxError>,
{
    poll_fn(|cx| service.poll_ready(cx))
        .await
        .map_err(Into::into)?;
    let response = service.call(request).await.map_err(Into::into)?;
    let (head, body) = response.into_parts();
    let body = Limited::new(body, limit).collect().await?.to_bytes();
    Ok(Answer {
        status: head.status,
        headers: head.headers,
        body,
        root: None,
    })
}

/// Every part's answer, in request order: its own, the 500 of one that
/// failed or panicked, or the 424 of one not run.
fn answers(
    parts: &[Part],
    ended: Vec<Option<Ended<Called>>>,
    config: &Config,
    outer: &Outer<'_>,
) -> Vec<Answer> {
    let mut answers: Vec<Answer> = Vec::with_capacity(parts.len());
    for (i, ended) in ended.into_iter().enumerate() {
        let answer = match ended {
            Some(Ended::Ran(Ok(answer))) => answer,
            Some(Ended::Ran(Err(error))) => {
                failed(config, Failure::internal().with_source(error), outer)
            }
            Some(Ended::Panicked(panicked)) => {
                failed(config, Failure::internal().with_source(panicked), outer)
            }
            Some(Ended::Skipped {
                dependency: Blocker::Step(dependency),
                root: Blocker::Step(root),
            }) => {
                // Dependencies are earlier parts, so their answers are known.
                let status = answers[dependency].status;
                not_run(config, parts, i, (dependency, status), root, outer)
            }
            // Every part settles, and none is blocked by a name.
            Some(Ended::Skipped { .. }) | None => failed(config, Failure::internal(), outer),
        };
        answers.push(answer);
    }
    answers
}

/// The 500 of a part that failed or panicked: logged with its source by the
/// policy, nothing of why rendered.
fn failed(config: &Config, failure: Failure, outer: &Outer<'_>) -> Answer {
    let incident = outer.answering(Incident::new(None, &failure, PART_FAILED));
    problem(config.policy.render(&incident), None)
}

/// The 424 of part `i`, not run because `dependency` answered `status`; the
/// policy writes it, but its status stays 424.
fn not_run(
    config: &Config,
    parts: &[Part],
    i: usize,
    (dependency, status): (usize, StatusCode),
    root: usize,
    outer: &Outer<'_>,
) -> Answer {
    let (id, dependency_id) = (&parts[i].id, &parts[dependency].id);
    let failure = Failure::new(FailureKind::Rejected(status)).with_detail(format!(
        "Request '{id}' was not run because request '{dependency_id}', which it depends on, answered {}.",
        status.as_u16()
    ));
    let members = [("root_cause", parts[root].id.as_str())];
    let incident = outer.answering(Incident {
        status: Some(StatusCode::FAILED_DEPENDENCY),
        members: &members,
        ..Incident::new(Some(dependency_id), &failure, PART_NOT_RUN)
    });
    problem(config.policy.render_quietly(&incident), Some(root))
}

/// A part's problem answer; a part's answer is JSON inside the batch's, so
/// it is never negotiated.
fn problem(serialized: Serialized, root: Option<usize>) -> Answer {
    let (head, body) = serialized
        .into_response(Extensions::new(), |body| body)
        .into_parts();
    Answer {
        status: head.status,
        headers: head.headers,
        body,
        root,
    }
}

/// The outcome of each part, for the batch response's extensions.
fn record(parts: &[Part], answers: &[Answer]) -> Dependencies {
    let mut record = Dependencies::new();
    for (part, answer) in parts.iter().zip(answers) {
        let outcome = match answer.root {
            Some(root) => Outcome::Skipped {
                because: parts[root].id.clone().into(),
            },
            None if answer.status.is_success() => Outcome::Succeeded,
            None => Outcome::Failed(Failure::rejected(answer.status)),
        };
        record.record(part.id.clone(), outcome);
    }
    record
}
