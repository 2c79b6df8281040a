//! The prerequisites a middleware requires, and its answer when one is not
//! met: the refusal path of [`DependencyLayer`](crate::DependencyLayer),
//! with or without checks of its own.

use http::{Extensions, HeaderMap, HeaderName, Method, Response, StatusCode, Uri};

use crate::body::ResponseBody;
use crate::outcome::{Dependencies, Failure, Name, Outcome};
use crate::policy::{
    events, ids_of, rendered_here, send, send_over, DependencyError, Guard, Incident, ReplyTo,
    RequestParts, StatusPolicy, X_REQUEST_ID,
};
use crate::problem::{Accept, Serialized};

/// The names a middleware requires, in the order they are examined, and how
/// it answers.
#[derive(Debug, Clone)]
pub(crate) struct Requirements {
    pub(crate) required: Vec<Name>,
    pub(crate) policy: StatusPolicy,
    pub(crate) request_id_header: HeaderName,
}

/// A required prerequisite that is not met, and how.
enum Unmet<'a> {
    Failed(&'a str, &'a Failure),
    Skipped(&'a str),
    Unevaluated(&'a str),
}

impl Default for Requirements {
    fn default() -> Self {
        Self {
            required: Vec::new(),
            policy: StatusPolicy::default(),
            request_id_header: X_REQUEST_ID.clone(),
        }
    }
}

impl Requirements {
    /// Requires `name`, once.
    pub(crate) fn require(&mut self, name: Name) -> bool {
        let new = !self.required.contains(&name);
        if new {
            self.required.push(name);
        }
        new
    }

    #[inline]
    fn first_unmet<'a>(&'a self, record: Option<&'a Dependencies>) -> Option<Unmet<'a>> {
        // Requirements are usually recorded in the order they are required:
        // walk both together while each required name is the recorded one
        // at the same place and succeeded, then look the rest up.
        let in_step = record.map_or(0, |record| record.succeeded_in_step(&self.required));
        let mut hint = in_step;
        self.required[in_step..].iter().find_map(|name| {
            match record.and_then(|record| record.find_from(hint, name)) {
                Some((at, Outcome::Succeeded)) => {
                    hint = at + 1;
                    None
                }
                Some((_, Outcome::Failed(failure))) => Some(Unmet::Failed(name, failure)),
                Some((_, Outcome::Skipped { .. })) => Some(Unmet::Skipped(name)),
                None => Some(Unmet::Unevaluated(name)),
            }
        })
    }

    /// Admits a request whose head is `method`, `uri`, `headers` and
    /// `extensions` when every requirement is met, making sure its
    /// extensions hold a record for the layers and handlers after.
    ///
    /// # Errors
    ///
    /// When a required prerequisite is not met: the policy's problem for the
    /// first one, echoing the request id, in the form the request's `Accept`
    /// prefers. Its extensions are the request's, emptied, so that their
    /// storage is reused.
    #[allow(
        clippy::result_large_err,
        reason = "the refusal is the response itself, moved into the future at once; \
                  boxing it would cost every refusal an allocation"
    )]
    pub(crate) fn admit<B>(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        extensions: &mut Extensions,
    ) -> Result<(), Response<ResponseBody<B>>> {
        let record = extensions.get::<Dependencies>();
        let Some(unmet) = self.first_unmet(record) else {
            if record.is_none() {
                extensions.insert(Dependencies::new());
            }
            return Ok(());
        };
        let serialized = self.refusal(unmet, record, method, uri, headers, extensions);
        let mut reused = std::mem::take(extensions);
        reused.clear();
        Err(send(
            serialized,
            &Accept::of(headers),
            reused,
            ResponseBody::whole,
        ))
    }

    /// The problem for a request whose first unmet requirement is `unmet`:
    /// out of line, so that a passing request's path stays short.
    #[cold]
    #[inline(never)]
    fn refusal(
        &self,
        unmet: Unmet<'_>,
        record: Option<&Dependencies>,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Serialized {
        let request = RequestParts::new(method, uri, headers, extensions);
        let (request_id, trace_id) = ids_of(headers, &self.request_id_header, &self.policy);
        let trace_id = trace_id.as_ref().map(|id| id.as_str());
        let incident = |dependency, failure, event| Incident {
            record,
            request_id,
            trace_id,
            request: Some(&request),
            ..Incident::new(Some(dependency), failure, event)
        };
        let policy = &self.policy;
        match unmet {
            Unmet::Failed(name, failure) => {
                policy.render(&incident(name, failure, events::PREREQUISITE_FAILED))
            }
            // A skipped prerequisite answers for the failure that caused the
            // skip: 424 when it was a refusal, 503 when a dependency is down.
            Unmet::Skipped(name) => match record.and_then(|record| record.cause_of(name)) {
                Some((root, failure)) => {
                    policy.render(&incident(root, failure, events::PREREQUISITE_FAILED))
                }
                None => policy.render(&incident(
                    name,
                    &Failure::internal(),
                    events::SKIPPED_WITHOUT_CAUSE,
                )),
            },
            Unmet::Unevaluated(name) => policy.render(&incident(
                name,
                &Failure::new(policy.unevaluated()),
                events::UNEVALUATED,
            )),
        }
    }

    /// The way out: renders a [`DependencyError`] the inner service answered
    /// with, and guards against a 424 that names no dependency.
    pub(crate) fn finish<B>(
        &self,
        response: Response<B>,
        reply_to: &ReplyTo,
    ) -> Response<ResponseBody<B>> {
        let extensions = response.extensions();
        // Most answers carry no extension, and few are a 424: the usual
        // answer goes out after two cheap looks.
        let answered = extensions.get::<DependencyError>().is_some()
            || response.status() == StatusCode::FAILED_DEPENDENCY;
        if !answered || rendered_here(extensions) {
            return response.map(ResponseBody::inner);
        }
        self.answer(response, reply_to)
    }

    /// [`finish`](Self::finish) for an answer that is a `DependencyError`
    /// or a 424 not rendered here: out of line, as a refusal is.
    #[cold]
    #[inline(never)]
    fn answer<B>(&self, response: Response<B>, reply_to: &ReplyTo) -> Response<ResponseBody<B>> {
        let answering = |incident| reply_to.render(&self.policy, incident, true);
        let serialized = if let Some(error) = response.extensions().get::<DependencyError>() {
            answering(error.incident())
        } else {
            match self.policy.guard() {
                Guard::Enforce => answering(Incident::new(
                    None,
                    &Failure::internal(),
                    events::UNNAMED_424,
                )),
                Guard::Warn => {
                    events::unnamed_424_let_through(reply_to.request_id());
                    return response.map(ResponseBody::inner);
                }
            }
        };
        // The inner response's body is replaced; its headers (but for those
        // that describe the body) and its extensions (with the typed error,
        // for outer layers and tests) are kept.
        let head = response.into_parts().0;
        send_over(serialized, reply_to.accept(), head, ResponseBody::whole)
    }
}
