//! [`PanicProblem`]: a handler's panic answered as a 500 problem, with
//! tower-http's `CatchPanicLayer` (feature `catch-panic`).
//!
//! Without it, a panicking handler kills the connection (hyper) or, with a
//! plain `CatchPanicLayer`, answers a plain-text 500. With
//! `CatchPanicLayer::custom(PanicProblem::new())`, the answer is a 500
//! problem written by the policy (its hook and type base apply); the panic's
//! message is logged as an error, never rendered. `CatchPanicLayer` keeps
//! nothing of the request, so the problem has no request id or trace id:
//! put an [`ErrorsAsProblemsLayer`](crate::errors_as_problems::ErrorsAsProblemsLayer)
//! outside it, and that layer writes the problem again with them.
//!
//! ```
//! use axum::{body::Body, routing::get, Router};
//! use http::{Request, StatusCode};
//! use tower::ServiceExt;
//! use tower_failed_dependency::panic::PanicProblem;
//! use tower_http::catch_panic::CatchPanicLayer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! async fn boom() -> &'static str {
//!     panic!("the ledger at 10.0.0.7 is gone")
//! }
//!
//! let app = Router::new()
//!     .route("/boom", get(boom))
//!     .layer(CatchPanicLayer::custom(PanicProblem::new()));
//! let request = Request::get("/boom").body(Body::empty()).unwrap();
//! let response = app.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
//! assert_eq!(response.headers()["content-type"], "application/problem+json");
//! # }
//! ```

use std::any::Any;

use http::{Extensions, Response};
use tower_http::catch_panic::ResponseForPanic;

use crate::outcome::{Failure, Panicked};
use crate::policy::{Incident, StatusPolicy, Unanswered};
use crate::problem::ProblemBody;

/// What the log event of a panic says happened.
const PANICKED: &str = "the service panicked";

/// Answers a panic caught by tower-http's `CatchPanicLayer` with a 500
/// problem written by a [`StatusPolicy`]. See the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct PanicProblem {
    policy: StatusPolicy,
}

impl PanicProblem {
    /// With the default policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// The policy that writes the problem. Its hook runs with no request:
    /// `CatchPanicLayer` does not keep the request it was answering.
    pub fn policy(mut self, policy: StatusPolicy) -> Self {
        self.policy = policy;
        self
    }
}

impl ResponseForPanic for PanicProblem {
    type ResponseBody = ProblemBody;

    fn response_for_panic(
        &mut self,
        panic: Box<dyn Any + Send + 'static>,
    ) -> Response<ProblemBody> {
        let failure = Failure::internal().with_source(Panicked::from(&*panic));
        let serialized = self.policy.render(&Incident::new(None, &failure, PANICKED));
        // An outer ErrorsAsProblemsLayer, which saw the request, writes it
        // again with the request id and the trace id.
        let mut extensions = Extensions::new();
        extensions.insert(Unanswered(failure));
        serialized.into_response(extensions, ProblemBody::new)
    }
}
