//! What a check is: [`Prerequisite`], and the request head it sees.

use std::any::TypeId;
use std::future::Future;
use std::ops::Deref;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;
use http::{Extensions, Request};

use super::span::{CheckSpan, Traced};
use crate::outcome::Failure;
use crate::schedule::StepFuture;

/// The request head a check sees: method, URI, version, headers and
/// extensions, shared by every check of the request. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RequestHead(Arc<Parts>);

impl RequestHead {
    pub(crate) fn new(parts: Parts) -> Self {
        Self(Arc::new(parts))
    }

    /// The parts back, for the request the inner service receives. When a
    /// check kept a clone of the head, the parts are cloned instead of taken:
    /// nothing of the request is lost either way.
    pub(crate) fn into_parts(self) -> Parts {
        Arc::try_unwrap(self.0).unwrap_or_else(|shared| {
            let mut parts = Request::new(()).into_parts().0;
            parts.method = shared.method.clone();
            parts.uri = shared.uri.clone();
            parts.version = shared.version;
            parts.headers = shared.headers.clone();
            parts.extensions = shared.extensions.clone();
            parts
        })
    }
}

impl Deref for RequestHead {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

/// A prerequisite the layer evaluates itself, before the inner service.
///
/// Implemented for every `Fn(RequestHead) -> impl Future<Output =
/// Result<T, Failure>>`. A value other than `()` is inserted into the
/// request's extensions for the handler (a reservation id, a verified
/// token's claims).
pub trait Prerequisite: Send + Sync + 'static {
    /// What a successful check produces.
    type Value: Clone + Send + Sync + 'static;
    /// The check's future.
    type Future: Future<Output = Result<Self::Value, Failure>> + Send + 'static;

    /// Runs the check for one request.
    fn check(&self, head: RequestHead) -> Self::Future;
}

impl<F, Fut, T> Prerequisite for F
where
    F: Fn(RequestHead) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, Failure>> + Send + 'static,
    T: Clone + Send + Sync + 'static,
{
    type Value = T;
    type Future = Fut;

    fn check(&self, head: RequestHead) -> Fut {
        self(head)
    }
}

/// Puts a check's value into the request's extensions.
pub(crate) type Insert = Box<dyn FnOnce(&mut Extensions) + Send>;

/// What a check gives: the value to insert, if any, or its failure.
pub(crate) type Checked = Result<Option<Insert>, Failure>;

/// A [`Prerequisite`] with its types erased, as the layer stores it.
pub(crate) trait ErasedPrerequisite: Send + Sync + 'static {
    /// Runs the check inside `span`, failing it as a timeout after `limit`.
    /// Boxed once: the user's own async code has to be stored in the layer's
    /// future, one per check, and its timer and span go in the same
    /// allocation.
    fn run(&self, head: RequestHead, limit: Duration, span: CheckSpan) -> StepFuture<Checked>;
}

impl<P: Prerequisite> ErasedPrerequisite for P {
    fn run(&self, head: RequestHead, limit: Duration, span: CheckSpan) -> StepFuture<Checked> {
        // A check that panics before returning its future has its panic
        // logged in its span; the schedule contains it.
        let future = match span.in_scope(|| catch_unwind(AssertUnwindSafe(|| self.check(head)))) {
            Ok(future) => future,
            Err(payload) => {
                span.panicked(&*payload);
                resume_unwind(payload)
            }
        };
        let checked = async move {
            let value = match tokio::time::timeout(limit, future).await {
                Ok(result) => result?,
                Err(elapsed) => return Err(Failure::timeout().with_source(elapsed)),
            };
            if TypeId::of::<P::Value>() == TypeId::of::<()>() {
                return Ok(None);
            }
            let insert: Insert = Box::new(move |extensions: &mut Extensions| {
                extensions.insert(value);
            });
            Ok(Some(insert))
        };
        Box::pin(Traced::new(checked, span))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn the_parts_come_back_whole_even_when_a_check_kept_the_head() {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/orders?x=1")
            .header("authorization", "Bearer t")
            .body(())
            .unwrap();
        request.extensions_mut().insert(42_u32);
        let head = RequestHead::new(request.into_parts().0);
        let kept = head.clone();
        let parts = head.into_parts();
        assert_eq!(parts.method, Method::POST);
        assert_eq!(parts.uri, "/orders?x=1");
        assert_eq!(parts.headers["authorization"], "Bearer t");
        assert_eq!(parts.extensions.get::<u32>(), Some(&42));
        assert_eq!(kept.uri.path(), "/orders");
    }
}
