//! Answering one batch: read and validate it, run its parts on the crate's
//! schedule (each a real request to the inner service, never one whose
//! dependency failed), and answer for every part.

use std::future::{poll_fn, ready, Future};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, ETAG, LOCATION};
use http::request::Parts as Head;
use http::uri::PathAndQuery;
use http::{Extensions, HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, Uri};
use pin_project_lite::pin_project;
use tokio::time::Timeout;
use tower_service::Service;

use super::call::PartCall;
use super::config::Config;
use super::encoding::is_json;
use super::plan::{self, Invalid, Part, Rules};
use super::reference;
use super::responses::{Answer, Responses};
use super::target::{Root, Target};
use crate::body::{RequestBody, ResponseBody};
use crate::collect::{collect, Unread};
use crate::outcome::{BoxError, Dependencies, Failure, FailureKind, Outcome};
use crate::policy::{ids_of, send, Incident, RequestParts, TraceId};
use crate::problem::{Accept, Serialized};
use crate::schedule::{Blocker, Earlier, Ended, Schedule, StepFuture, Steps};

/// What the log event of a refused batch says happened.
const REFUSED: &str = "a batch was refused before any part ran";
/// What the log event of a part that failed or panicked says happened.
const PART_FAILED: &str = "a batch part could not be completed";
/// What a part not run because of a failed dependency is (not logged: the
/// dependency's own answer says what happened).
const PART_NOT_RUN: &str = "a batch part was not run because a part it depends on failed";
/// What the log event of a part that took too long says happened.
const PART_TIMED_OUT: &str = "a batch part did not answer within its time";
/// What a part whose `$<id>` could not be resolved is.
const PART_UNRESOLVED: &str = "a batch part referred to what an earlier part did not give";
/// What a part with an `if` condition is (not logged: the client asked for
/// what the service does not do).
const PART_CONDITIONAL: &str = "a batch part with an if condition was not run";

/// OData's header for the entity a request created or changed.
const ODATA_ENTITY_ID: HeaderName = HeaderName::from_static("odata-entityid");

/// Reads, validates and runs one batch sent as `head` and `body`.
///
/// A function returning an `async` block rather than an `async fn`: an
/// `async fn` moves what it is given into locals of its own, so that its
/// future would hold the request's head twice, and be too large for the
/// allocator's fast path.
#[allow(
    clippy::manual_async_fn,
    reason = "an `async fn` would hold the request's head twice"
)]
pub(super) fn answer<S, ReqBody, ResBody>(
    inner: S,
    head: Head,
    body: ReqBody,
    config: Arc<Config>,
) -> impl Future<Output = Response<ResponseBody<ResBody>>> + Send
where
    S: Service<Request<RequestBody<ReqBody>>, Response = Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ReqBody: http_body::Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<BoxError>,
    ResBody: http_body::Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    async move {
        let outer = Outer::of(&head, &config);
        // A form or a script of another site may send text/plain without a
        // CORS preflight, with the user's cookies: a batch is JSON or nothing.
        if !head.headers.get(CONTENT_TYPE).is_some_and(is_json) {
            return refuse(&config, &Invalid::not_json(), &outer);
        }
        let body = match read(body, &config).await {
            Ok(body) => body,
            Err(invalid) => return refuse(&config, &invalid, &outer),
        };
        let rules = Rules {
            max_parts: config.max_parts,
            max_id_len: config.max_id_len,
            root: Root::of(&head, &config.path),
            body,
        };
        let mut parts = match plan::plan(&rules.body, &rules) {
            Ok(parts) => parts,
            Err(invalid) => return refuse(&config, &invalid, &outer),
        };
        let ended = run(inner, &mut parts, &head, &rules.root, &config).await;
        let answers = answers(&parts, ended.into_ended(), &config, &outer);
        let record = record(&parts, &answers);
        let body = Responses {
            parts: &parts,
            answers: &answers,
            dialect: config.dialect,
        }
        .to_json();
        let mut response = Response::new(ResponseBody::whole(body));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response.extensions_mut().insert(record);
        response
    }
}

/// Reads the batch body: at most `max_body` bytes, within `body_timeout`.
async fn read<B>(body: B, config: &Config) -> Result<Bytes, Invalid>
where
    B: http_body::Body,
    B::Error: Into<BoxError>,
{
    collect(body, config.max_body, config.body_timeout)
        .await
        .map_err(|unread| match unread {
            Unread::TooLarge => Invalid::too_large(config.max_body),
            Unread::TimedOut => Invalid::too_slow(config.body_timeout),
            Unread::Failed => Invalid::unreadable(),
        })
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
        let (request_id, trace_id) =
            ids_of(&head.headers, &config.request_id_header, &config.policy);
        Self {
            request_id,
            trace_id,
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

/// What running a part gives: its answer, or why there is none.
type Called = Result<Answer, Unanswered>;

/// Why a part has no answer of its own.
enum Unanswered {
    /// The inner service failed, or reading its answer did.
    Failed(BoxError),
    /// It took longer than its bound.
    TimedOut(Duration),
    /// A `$<id>` it uses cannot be resolved: why.
    Unresolved(String),
    /// It has an `if` condition, which is not evaluated.
    Conditional,
}

/// The parts of one batch, as the schedule runs them. A part's target and
/// headers are moved into its request when it starts, rather than copied:
/// each part starts once, and nothing reads them after.
struct PartSteps<'a, S, ReqBody> {
    inner: S,
    parts: &'a mut [Part],
    outer: &'a Head,
    root: &'a Root,
    /// The headers to copy that the outer request has: looked up once for
    /// the batch, not once for each part.
    copy_headers: Vec<&'a HeaderName>,
    answer_limit: usize,
    timeout: Duration,
    body: PhantomData<fn() -> ReqBody>,
}

impl<S, ReqBody, ResBody> Steps for PartSteps<'_, S, ReqBody>
where
    S: Service<Request<RequestBody<ReqBody>>, Response = Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ReqBody: Send + 'static,
    ResBody: http_body::Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    type Output = Called;

    fn dependencies(&self, step: usize) -> &[usize] {
        &self.parts[step].depends_on
    }

    fn start(&mut self, step: usize, earlier: Earlier<'_, Called>) -> StepFuture<Called> {
        if self.parts[step].condition().is_some() {
            return Box::pin(ready(Err(Unanswered::Conditional)));
        }
        let part = &mut self.parts[step];
        let target = std::mem::replace(
            &mut part.target,
            Target::Path(PathAndQuery::from_static("/")),
        );
        let headers = std::mem::take(&mut part.headers);
        let request = match self.part_request(step, target, headers, &earlier) {
            Ok(request) => request,
            Err(why) => return Box::pin(ready(Err(Unanswered::Unresolved(why)))),
        };
        let call = PartCall::new(self.inner.clone(), request, self.answer_limit);
        Box::pin(Bounded {
            call: tokio::time::timeout(self.timeout, call),
            bound: self.timeout,
        })
    }

    fn succeeded(&self, output: &Called) -> bool {
        matches!(output, Ok(answer) if answer.status.is_success())
    }
}

impl<S, ReqBody> PartSteps<'_, S, ReqBody> {
    /// The request part `step` becomes: its method, the path of its
    /// `target`, its `headers` (with the outer request's copied ones it does
    /// not set itself, and the `ETag`s it refers to) and body, the outer
    /// request's extensions, and a record of the parts it depends on. Its
    /// `$<id>` references are resolved with what the earlier parts
    /// answered, or it cannot be built: why.
    fn part_request(
        &self,
        step: usize,
        target: Target,
        mut headers: HeaderMap,
        earlier: &Earlier<'_, Called>,
    ) -> Result<Request<RequestBody<ReqBody>>, String> {
        let part = &self.parts[step];
        let answer = |index: usize| {
            earlier
                .output(index)
                .and_then(|called| called.as_ref().ok())
        };
        let answered = |index: usize, header: HeaderName| {
            let id = &self.parts[index].id;
            answer(index)
                .and_then(|answer| answer.headers.get(&header))
                .ok_or_else(|| format!("'${id}' cannot be resolved: request '{id}' answered without a {header} header."))
        };
        // What `$<id>` as the first segment stands for: the URL of what the
        // part created (`Location`) or, failing that, of the entity it
        // answered with (`OData-EntityId`).
        let below = |index: usize, rest: &str| {
            let id = &self.parts[index].id;
            let location = answer(index)
                .and_then(|answer| {
                    answer
                        .headers
                        .get(LOCATION)
                        .or_else(|| answer.headers.get(ODATA_ENTITY_ID))
                })
                .ok_or_else(|| format!("'${id}' cannot be resolved: request '{id}' answered without a Location or OData-EntityId header."))?;
            self.root
                .created(location, rest)
                .map_err(|why| format!("'${id}' cannot be resolved: {why}."))
        };
        let uri = match target {
            Target::Path(path) => Uri::from(path),
            Target::Created { part: index, rest } => below(index, &rest)?,
            Target::Valued {
                below: under,
                url,
                values,
            } => {
                let filled = reference::fill(&url, &values, |index| {
                    let answered = answer(index).map(|answer| (&answer.headers, &answer.body));
                    (self.parts[index].id.as_str(), answered)
                })?;
                match under {
                    Some(index) => below(index, &filled)?,
                    None => self.root.path(&filled)?,
                }
            }
            Target::Refused(why) => return Err(why),
        };
        let mut request = Request::new(RequestBody::whole(part.body.clone()));
        *request.method_mut() = part.method.clone();
        *request.uri_mut() = uri;
        for (header, index) in part.etags() {
            headers.insert(header.clone(), answered(*index, ETAG)?.clone());
        }
        for &name in &self.copy_headers {
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
        for &dependency in &*part.depends_on {
            record.record_success(self.parts[dependency].id.clone());
        }
        request.extensions_mut().insert(record);
        Ok(request)
    }
}

pin_project! {
    /// A part's call within its bound, which runs from the part's start:
    /// its answer, or `TimedOut` once the bound has passed. Boxed as it is,
    /// without a future around it that would hold the call a second time.
    struct Bounded<F> {
        #[pin]
        call: Timeout<F>,
        bound: Duration,
    }
}

impl<F: Future<Output = Result<Answer, BoxError>>> Future for Bounded<F> {
    type Output = Called;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Called> {
        let this = self.project();
        let bound = *this.bound;
        this.call.poll(cx).map(|called| match called {
            Ok(answered) => answered.map_err(Unanswered::Failed),
            Err(_) => Err(Unanswered::TimedOut(bound)),
        })
    }
}

/// Runs every part, at most `config.concurrency` at a time, and returns the
/// settled schedule, which holds how each ended.
async fn run<S, ReqBody, ResBody>(
    inner: S,
    parts: &mut [Part],
    outer: &Head,
    root: &Root,
    config: &Config,
) -> Box<Schedule<Called>>
where
    S: Service<Request<RequestBody<ReqBody>>, Response = Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ReqBody: Send + 'static,
    ResBody: http_body::Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    let mut steps = PartSteps {
        inner,
        parts,
        outer,
        root,
        copy_headers: config
            .copy_headers
            .iter()
            .filter(|name| outer.headers.contains_key(*name))
            .collect(),
        answer_limit: config.part_body_limit,
        timeout: config.part_timeout,
        body: PhantomData,
    };
    // Boxed: the parts' answers are large, and kept inline they would make
    // the batch's own future too large for the allocator's fast path.
    let mut schedule = Box::new(Schedule::new(steps.parts.len(), config.concurrency));
    poll_fn(|cx| loop {
        if schedule.is_settled() {
            return Poll::Ready(());
        }
        if !schedule.advance(&mut steps, cx) {
            return Poll::Pending;
        }
    })
    .await;
    schedule
}

/// Every part's answer, in request order: its own, the 500 of one that
/// failed or panicked, or the 424 of one not run.
fn answers(
    parts: &[Part],
    ended: impl Iterator<Item = Option<Ended<Called>>>,
    config: &Config,
    outer: &Outer<'_>,
) -> Vec<Answer> {
    let mut answers: Vec<Answer> = Vec::with_capacity(parts.len());
    for (i, ended) in ended.enumerate() {
        let answer = match ended {
            Some(Ended::Ran(Ok(answer))) => answer,
            Some(Ended::Ran(Err(Unanswered::Failed(error)))) => {
                failed(config, Failure::internal().with_source(error), outer)
            }
            Some(Ended::Ran(Err(Unanswered::TimedOut(bound)))) => {
                timed_out_part(config, &parts[i].id, bound, outer)
            }
            Some(Ended::Ran(Err(Unanswered::Unresolved(why)))) => {
                unresolved(config, &parts[i].id, why, outer)
            }
            Some(Ended::Ran(Err(Unanswered::Conditional))) => conditional(config, &parts[i], outer),
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

/// The 504 of a part that did not answer within `bound`.
fn timed_out_part(config: &Config, id: &str, bound: Duration, outer: &Outer<'_>) -> Answer {
    let failure = Failure::timeout().with_detail(format!(
        "Request '{id}' did not answer within {} seconds.",
        bound.as_secs_f64()
    ));
    let incident = outer.answering(Incident {
        status: Some(StatusCode::GATEWAY_TIMEOUT),
        ..Incident::new(None, &failure, PART_TIMED_OUT)
    });
    problem(config.policy.render(&incident), None)
}

/// The 400 of a part whose `$<id>` could not be resolved; it did not run.
fn unresolved(config: &Config, id: &str, why: String, outer: &Outer<'_>) -> Answer {
    let failure = Failure::invalid_input().with_detail(why);
    let members = [("part", id)];
    let incident = outer.answering(Incident {
        status: Some(StatusCode::BAD_REQUEST),
        members: &members,
        ..Incident::new(None, &failure, PART_UNRESOLVED)
    });
    problem(config.policy.render_quietly(&incident), None)
}

/// The 424 of a part with an `if` condition: OData asks a service that
/// does not evaluate conditions to answer such a part 424, and not run it.
fn conditional(config: &Config, part: &Part, outer: &Outer<'_>) -> Answer {
    let failure = Failure::precondition_required().with_detail(format!(
        "Request '{}' was not run: this service does not evaluate 'if' conditions.",
        part.id
    ));
    let condition = part.condition().unwrap_or_default();
    let members = [("condition", condition)];
    let incident = outer.answering(Incident {
        status: Some(StatusCode::FAILED_DEPENDENCY),
        members: &members,
        ..Incident::new(Some("if"), &failure, PART_CONDITIONAL)
    });
    problem(config.policy.render_quietly(&incident), None)
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
                because: parts[root].id.clone(),
            },
            None if answer.status.is_success() => Outcome::Succeeded,
            None => Outcome::Failed(Failure::rejected(answer.status)),
        };
        record.record(part.id.clone(), outcome);
    }
    record
}
