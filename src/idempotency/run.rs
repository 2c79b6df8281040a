//! What happens to a keyed request, or to one that names earlier ones: the
//! steps of the [module docs](super), in order.

use std::future::poll_fn;
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, DATE, PROXY_AUTHENTICATE, SET_COOKIE, TE, TRAILER,
    TRANSFER_ENCODING, UPGRADE,
};
use http::request::Parts;
use http::{Extensions, HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full, Limited};
use serde_json::Value;
use tokio::time::Instant;
use tower_service::Service;

use super::config::{Config, Degrade};
use super::depends_on::DependsOn;
use super::fingerprint::{fingerprint, store_key};
use super::key::IdempotencyKey;
use super::verdict::Verdict;
use crate::body::{RequestBody, ResponseBody};
use crate::collect::{collect, Unread};
use crate::outcome::{BoxError, Cause, Dependencies, Failure};
use crate::policy::{ids_of, send, Incident, RequestParts, TraceId};
use crate::problem::{is_problem_json, Accept};
use crate::requirements::Requirements;
use crate::store::{Claim, Slot, StoreError, StoreFuture, StoredAnswer, Token};

const REFUSED: &str = "a keyed request was refused";
const STORE_DOWN: &str = "the idempotency store is unavailable";
/// The dependency a store that is down is named as.
pub(super) const STORE: &str = "idempotency_store";
/// When a client may try again after a 409 (the key is in use) or a 503
/// (the store is down).
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Headers an answer is not kept with: hop-by-hop ones, those a replay
/// recomputes (`date`, `content-length`), and `set-cookie` (a replay does not
/// start another session).
static NOT_KEPT: [HeaderName; 9] = [
    CONNECTION,
    TRANSFER_ENCODING,
    TE,
    TRAILER,
    UPGRADE,
    PROXY_AUTHENTICATE,
    DATE,
    SET_COOKIE,
    CONTENT_LENGTH,
];

/// What a problem answering a request needs of it.
pub(super) struct Reply {
    accept: Accept,
    request_id: Option<String>,
    trace_id: Option<TraceId>,
}

impl Reply {
    pub(super) fn of(headers: &HeaderMap, config: &Config) -> Self {
        let requirements = &config.requirements;
        let (request_id, trace_id) = ids_of(
            headers,
            &requirements.request_id_header,
            &requirements.policy,
        );
        Self {
            accept: Accept::of(headers),
            request_id: request_id.map(str::to_owned),
            trace_id,
        }
    }
}

/// A problem of the layer's own, written by the policy: `status` with
/// `detail` and extension `members`.
pub(super) fn problem<B>(
    config: &Config,
    reply: &Reply,
    request: Option<&RequestParts<'_>>,
    status: StatusCode,
    detail: &str,
    members: &[(&'static str, &str)],
    verdict: Verdict,
) -> Response<ResponseBody<B>> {
    let incident = Incident {
        detail: Some(detail),
        members,
        request_id: reply.request_id.as_deref(),
        trace_id: reply.trace_id.as_ref().map(TraceId::as_str),
        request,
        ..Incident::of_status(Some(status), REFUSED)
    };
    let mut serialized = config.requirements.policy.render(&incident);
    if status == StatusCode::CONFLICT {
        serialized = serialized.retry_after(Some(RETRY_AFTER));
    }
    let mut extensions = Extensions::new();
    extensions.insert(verdict);
    send(serialized, &reply.accept, extensions, ResponseBody::whole)
}

/// The 503 of a keyed request that found the store down, naming the store
/// as the dependency that is down.
fn store_down<B>(
    config: &Config,
    reply: &Reply,
    request: &RequestParts<'_>,
    error: StoreError,
) -> Response<ResponseBody<B>> {
    let failure = Failure::unavailable()
        .with_retry_after(RETRY_AFTER)
        .with_detail("The idempotency store is unavailable; the request was not run.")
        .with_source(error);
    let incident = Incident {
        request_id: reply.request_id.as_deref(),
        trace_id: reply.trace_id.as_ref().map(TraceId::as_str),
        request: Some(request),
        ..Incident::new(Some(STORE), &failure, STORE_DOWN)
    };
    let serialized = config.requirements.policy.render(&incident);
    let mut extensions = Extensions::new();
    extensions.insert(Verdict::StoreUnavailable);
    send(serialized, &reply.accept, extensions, ResponseBody::whole)
}

/// A store operation, bounded by the store timeout.
async fn bounded<T>(config: &Config, operation: StoreFuture<'_, T>) -> Result<T, StoreError> {
    match tokio::time::timeout(config.store_timeout, operation).await {
        Ok(done) => done,
        Err(_) => Err(StoreError::Timeout(config.store_timeout)),
    }
}

/// The headers of `headers` a replay is sent with.
fn kept(headers: &HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    headers
        .iter()
        .filter(|(name, _)| !NOT_KEPT.contains(name) && name.as_str() != "keep-alive")
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// What a `Depends-On` key was found to be.
enum Looked {
    Succeeded,
    Failed(StoredAnswer),
    Running,
    Unknown,
    Down(StoreError),
}

impl Looked {
    /// Whether a refusal for this is the same on every retry, until the
    /// earlier answer expires: then a keyed request's refusal is kept.
    fn lasting(&self) -> bool {
        matches!(self, Looked::Failed(_))
    }
}

/// Looks `key` up among `scope`'s, waiting while it runs until `deadline`.
async fn look_up(config: &Config, scope: &[u8], key: &IdempotencyKey, deadline: Instant) -> Looked {
    let stored = store_key(scope, key);
    let mut pause = Duration::from_millis(10);
    loop {
        match bounded(config, config.store.get(&stored)).await {
            Err(error) => return Looked::Down(error),
            Ok(None) => return Looked::Unknown,
            Ok(Some(Slot::Completed { answer, .. })) if answer.status().as_u16() < 400 => {
                return Looked::Succeeded
            }
            Ok(Some(Slot::Completed { answer, .. })) => return Looked::Failed(answer),
            Ok(Some(Slot::Running { .. })) => {
                let now = Instant::now();
                if now >= deadline {
                    return Looked::Running;
                }
                tokio::time::sleep(pause.min(deadline - now)).await;
                pause = (pause * 2).min(Duration::from_millis(200));
            }
        }
    }
}

/// The failure an earlier answer that failed is recorded as: a refusal with
/// its status, its problem's detail and code, and the problem as the cause.
fn failure_of(answer: &StoredAnswer) -> Failure {
    let mut failure = Failure::rejected(answer.status());
    let problem = answer
        .headers()
        .iter()
        .any(|(name, value)| name == CONTENT_TYPE && is_problem_json(value));
    let body = answer.body().filter(|_| problem);
    if let Some(cause) = body.and_then(|body| Cause::from_json(body)) {
        if let Some(detail) = cause.detail() {
            failure = failure.with_detail(detail.to_owned());
        }
        failure = failure.with_cause(cause);
    }
    failure
}

/// The first failure of a chain, when an earlier answer is a 424 problem
/// that names it (this crate's `dependency` and `dependency_status`).
fn root_cause(answer: &StoredAnswer) -> Option<(String, Failure)> {
    if answer.status() != StatusCode::FAILED_DEPENDENCY {
        return None;
    }
    let body = answer
        .body()
        .filter(|body| body.len() <= Cause::MAX_BYTES)?;
    let problem: Value = serde_json::from_slice(body).ok()?;
    let name = problem.get("dependency")?.as_str()?;
    let status = problem
        .get("dependency_status")?
        .as_u64()
        .and_then(|status| u16::try_from(status).ok())
        .and_then(|status| StatusCode::from_u16(status).ok())
        .filter(|status| status.is_client_error() && *status != StatusCode::FAILED_DEPENDENCY)?;
    if name.is_empty() || name.len() > IdempotencyKey::MAX_LEN {
        return None;
    }
    let mut failure = Failure::rejected(status);
    if let Some(detail) = problem.get("detail").and_then(Value::as_str) {
        failure = failure.with_detail(detail.chars().take(Cause::MAX_TEXT).collect::<String>());
    }
    if let Some(code) = problem.get("code").and_then(Value::as_str) {
        failure = failure.with_code(code.chars().take(Cause::MAX_TEXT).collect::<String>());
    }
    Some((name.to_owned(), failure))
}

/// Records what `key` was found to be under its own name (and, for a failed
/// chain, its first failure, with `key` skipped because of it).
fn record(record: &mut Dependencies, key: &IdempotencyKey, looked: Looked, wait: Duration) {
    let name = key.as_str().to_owned();
    match looked {
        Looked::Succeeded => {
            record.record_success(name);
        }
        Looked::Failed(answer) => match root_cause(&answer) {
            Some((root, failure)) if root != name => {
                record.record_failure(root.clone(), failure);
                record.record_skipped(name, root);
            }
            _ => {
                record.record_failure(name, failure_of(&answer));
            }
        },
        Looked::Running => {
            let failure = Failure::rejected(StatusCode::CONFLICT)
                .with_detail(format!(
                    "The request with Idempotency-Key '{key}' was still running after {} ms; \
                     send this request again once it has answered.",
                    wait.as_millis()
                ))
                .with_code("DEPENDENCY_RUNNING");
            record.record_failure(name, failure);
        }
        Looked::Unknown => {
            let failure = Failure::unprocessable()
                .with_detail(format!(
                    "No answer is kept under Idempotency-Key '{key}': this client sent no \
                     request with that key, or its answer expired."
                ))
                .with_code("DEPENDENCY_UNKNOWN");
            record.record_failure(name, failure);
        }
        Looked::Down(error) => {
            let failure = Failure::unavailable()
                .with_retry_after(RETRY_AFTER)
                .with_source(error);
            record.record_failure(STORE, failure);
            record.record_skipped(name, STORE);
        }
    }
}

/// A request refused because of its `Depends-On` keys: the policy's answer,
/// read whole, and whether it stays the same on a retry.
struct Refusal {
    head: http::response::Parts,
    body: Bytes,
    lasting: bool,
}

impl Refusal {
    fn answer(&self) -> StoredAnswer {
        StoredAnswer::new(
            self.head.status,
            kept(&self.head.headers),
            self.body.clone(),
        )
    }

    fn into_response<B>(self) -> Response<ResponseBody<B>> {
        Response::from_parts(self.head, ResponseBody::whole(self.body))
    }
}

/// Looks up the `Depends-On` keys, records their outcomes in the request's
/// record, and admits the request as a
/// [`DependencyLayer`](crate::DependencyLayer) requiring them would.
async fn resolve(
    config: &Config,
    scope: &[u8],
    depends_on: &DependsOn,
    parts: &mut Parts,
) -> Result<(), Refusal> {
    if depends_on.is_empty() {
        return Ok(());
    }
    let deadline = Instant::now() + config.depends_on_wait;
    let mut found = Vec::with_capacity(depends_on.len());
    for key in depends_on {
        found.push(look_up(config, scope, key, deadline).await);
    }
    let lasting = found
        .iter()
        .find(|looked| !matches!(looked, Looked::Succeeded))
        .is_some_and(Looked::lasting);
    let outcomes = parts.extensions.get_or_insert_with(Dependencies::new);
    for (key, looked) in depends_on.iter().zip(found) {
        record(outcomes, key, looked, config.depends_on_wait);
    }
    let mut requirements: Requirements = config.requirements.clone();
    for key in depends_on {
        requirements.require(key.as_str().to_owned().into());
    }
    let admitted = requirements.admit::<Full<Bytes>>(
        &parts.method,
        &parts.uri,
        &parts.headers,
        &mut parts.extensions,
    );
    let Err(refusal) = admitted else {
        return Ok(());
    };
    let (head, body) = refusal.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    Err(Refusal {
        head,
        body,
        lasting,
    })
}

#[cfg(feature = "tracing")]
fn degraded(what: &str, key: &IdempotencyKey, error: Option<&StoreError>) {
    let error = error.map(|error| error as &(dyn std::error::Error + 'static));
    tracing::warn!(key = key.as_str(), error, "{what}");
}

#[cfg(not(feature = "tracing"))]
fn degraded(_what: &str, _key: &IdempotencyKey, _error: Option<&StoreError>) {}

/// A keyed request, or one that names earlier ones: everything after the
/// headers were read.
pub(super) async fn run<S, B, ResBody>(
    config: std::sync::Arc<Config>,
    mut inner: S,
    request: Request<B>,
    key: Option<IdempotencyKey>,
    depends_on: DependsOn,
) -> Result<Response<ResponseBody<ResBody>>, S::Error>
where
    S: Service<Request<RequestBody<B>>, Response = Response<ResBody>>,
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
    ResBody: Body<Data = Bytes>,
    ResBody::Error: Into<BoxError>,
{
    let (mut parts, body) = request.into_parts();
    let reply = Reply::of(&parts.headers, &config);
    let scope = config.scope.scope(&parts);
    let Some(key) = key else {
        // Depends-On alone: nothing to keep, nothing to read.
        if let Err(refusal) = resolve(&config, &scope, &depends_on, &mut parts).await {
            return Ok(refusal.into_response());
        }
        poll_fn(|cx| inner.poll_ready(cx)).await?;
        let response = inner
            .call(Request::from_parts(parts, RequestBody::passed(body)))
            .await?;
        return Ok(response.map(ResponseBody::inner));
    };
    let refuse =
        |parts: &Parts, status, detail: &str, members: &[(&'static str, &str)], verdict| {
            let request =
                RequestParts::new(&parts.method, &parts.uri, &parts.headers, &parts.extensions);
            problem(
                &config,
                &reply,
                Some(&request),
                status,
                detail,
                members,
                verdict,
            )
        };
    let body = match collect(body, config.max_request_body, config.body_timeout).await {
        Ok(body) => body,
        Err(unread) => {
            let (status, detail, code, verdict) = match unread {
                Unread::TooLarge => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "The body of a keyed request is read whole to fingerprint it, \
                         and this one is larger than {} bytes.",
                        config.max_request_body
                    ),
                    "BODY_TOO_LARGE",
                    Verdict::BodyTooLarge,
                ),
                Unread::TimedOut => (
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "The request's body did not arrive within {} ms.",
                        config.body_timeout.as_millis()
                    ),
                    "BODY_TIMEOUT",
                    Verdict::BodyTimeout,
                ),
                Unread::Failed => (
                    StatusCode::BAD_REQUEST,
                    "The request's body could not be read.".to_owned(),
                    "BODY_UNREADABLE",
                    Verdict::BodyUnreadable,
                ),
            };
            return Ok(refuse(&parts, status, &detail, &[("code", code)], verdict));
        }
    };
    let fingerprint = fingerprint(&parts.method, &parts.uri, &body);
    let stored = store_key(&scope, &key);
    let members = [("idempotency_key", key.as_str())];
    let token: Option<Token> = match bounded(
        &config,
        config.store.claim(&stored, &fingerprint, config.lease),
    )
    .await
    {
        Ok(Claim::Claimed(token)) => Some(token),
        Ok(Claim::Taken(slot)) if *slot.fingerprint() != fingerprint => {
            let members = [members[0], ("code", "IDEMPOTENCY_KEY_REUSED")];
            let detail = "This Idempotency-Key was sent with another request (its method, \
                          target or body differ); a key names one request.";
            return Ok(refuse(
                &parts,
                StatusCode::UNPROCESSABLE_ENTITY,
                detail,
                &members,
                Verdict::KeyReused,
            ));
        }
        Ok(Claim::Taken(Slot::Running { .. })) => {
            let members = [members[0], ("code", "IDEMPOTENCY_KEY_IN_USE")];
            let detail = "A request with this Idempotency-Key is still running; \
                          retry once it has answered.";
            return Ok(refuse(
                &parts,
                StatusCode::CONFLICT,
                detail,
                &members,
                Verdict::KeyInUse,
            ));
        }
        Ok(Claim::Taken(Slot::Completed { answer, .. })) => {
            return Ok(replay(&config, answer, |status| {
                let original = status.as_str().to_owned();
                let members = [
                    members[0],
                    ("code", "ANSWER_NOT_KEPT"),
                    ("original_status", original.as_str()),
                ];
                let detail = "This request ran once, and its answer was too large to keep, \
                              so it cannot be sent again.";
                refuse(
                    &parts,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    detail,
                    &members,
                    Verdict::AnswerNotKept,
                )
            }));
        }
        Err(error) => match config.degrade {
            Degrade::FailClosed => {
                degraded(
                    "idempotency store unavailable: keyed request refused",
                    &key,
                    Some(&error),
                );
                let request =
                    RequestParts::new(&parts.method, &parts.uri, &parts.headers, &parts.extensions);
                return Ok(store_down(&config, &reply, &request, error));
            }
            Degrade::RunWithoutGuarantee => {
                degraded(
                    "idempotency store unavailable: keyed request run without the guarantee",
                    &key,
                    Some(&error),
                );
                None
            }
        },
    };
    if let Err(refusal) = resolve(&config, &scope, &depends_on, &mut parts).await {
        if let Some(token) = &token {
            // A refusal that is the same on every retry is the request's
            // answer; any other (an earlier request still running, unknown,
            // a store down) leaves the key free for the retry.
            let done = if refusal.lasting {
                let answer = refusal.answer();
                bounded(
                    &config,
                    config
                        .store
                        .complete(&stored, token, &answer, config.expiry),
                )
                .await
                .map(drop)
            } else {
                bounded(&config, config.store.release(&stored, token)).await
            };
            if let Err(error) = done {
                degraded(
                    "idempotency store unavailable: a refusal was not kept",
                    &key,
                    Some(&error),
                );
            }
        }
        return Ok(refusal.into_response());
    }
    poll_fn(|cx| inner.poll_ready(cx)).await?;
    let response = inner
        .call(Request::from_parts(parts, RequestBody::whole(body)))
        .await?;
    let Some(token) = token else {
        return Ok(response.map(ResponseBody::inner));
    };
    let (head, body) = response.into_parts();
    let fits = body
        .size_hint()
        .upper()
        .is_some_and(|upper| upper <= config.max_stored_body as u64);
    if !fits {
        let done = match config.degrade {
            Degrade::FailClosed => {
                degraded(
                    "answer too large to keep: only its status is kept",
                    &key,
                    None,
                );
                let answer = StoredAnswer::without_body(head.status, kept(&head.headers));
                bounded(
                    &config,
                    config
                        .store
                        .complete(&stored, &token, &answer, config.expiry),
                )
                .await
                .map(drop)
            }
            Degrade::RunWithoutGuarantee => {
                degraded("answer too large to keep: the key is released", &key, None);
                bounded(&config, config.store.release(&stored, &token)).await
            }
        };
        if let Err(error) = done {
            degraded(
                "idempotency store unavailable: an answer was not kept",
                &key,
                Some(&error),
            );
        }
        return Ok(Response::from_parts(head, ResponseBody::inner(body)));
    }
    let read = tokio::time::timeout(
        config.body_timeout,
        Limited::new(body, config.max_stored_body).collect(),
    )
    .await;
    let (head, bytes) = match read {
        Ok(Ok(collected)) => (head, collected.to_bytes()),
        _ => {
            // The handler ran, and its answer broke off: the client is told
            // so, and so is every retry.
            // The request's head went to the inner service: a hook reading
            // the request sees none here.
            let detail = "The request ran, and its answer could not be read whole.";
            let response = problem::<Full<Bytes>>(
                &config,
                &reply,
                None,
                StatusCode::INTERNAL_SERVER_ERROR,
                detail,
                &members,
                Verdict::AnswerBroken,
            );
            let (head, body) = response.into_parts();
            let bytes = match body.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(never) => match never {},
            };
            (head, bytes)
        }
    };
    let answer = StoredAnswer::new(head.status, kept(&head.headers), bytes.clone());
    match bounded(
        &config,
        config
            .store
            .complete(&stored, &token, &answer, config.expiry),
    )
    .await
    {
        Ok(true) => {}
        Ok(false) => degraded(
            "the claim lapsed while the request ran (lease too short): its answer was not kept",
            &key,
            None,
        ),
        Err(error) => degraded(
            "idempotency store unavailable: an answer was not kept",
            &key,
            Some(&error),
        ),
    }
    Ok(Response::from_parts(head, ResponseBody::whole(bytes)))
}

/// The kept answer again, marked as a replay; or, when its body was not
/// kept, the problem `not_kept` writes for its status.
fn replay<B>(
    config: &Config,
    answer: StoredAnswer,
    not_kept: impl FnOnce(StatusCode) -> Response<ResponseBody<B>>,
) -> Response<ResponseBody<B>> {
    let Some(body) = answer.body().cloned() else {
        return not_kept(answer.status());
    };
    let mut response = Response::new(ResponseBody::whole(body));
    *response.status_mut() = answer.status();
    let headers = response.headers_mut();
    for (name, value) in answer.headers() {
        headers.append(name.clone(), value.clone());
    }
    headers.insert(
        config.replayed_header.clone(),
        HeaderValue::from_static("true"),
    );
    response.extensions_mut().insert(Verdict::Replayed);
    response
}
