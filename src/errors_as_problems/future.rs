use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::{Buf, BufMut, BytesMut};
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response};
use http_body::Body;
use pin_project_lite::pin_project;

use super::config::Config;
use super::MAX_DETAIL;
use crate::body::ResponseBody;
use crate::policy::{rendered_here, send_over, DependencyError, Incident, ReplyTo, Unanswered};
use crate::problem::{is_problem, media_type};

/// What the log event of a server error turned into a problem says.
const ERROR_RESPONSE: &str = "the service answered with an error";

pin_project! {
    /// The response future of [`ErrorsAsProblems`](super::ErrorsAsProblems).
    pub struct ResponseFuture<F> {
        #[pin]
        future: F,
        config: Arc<Config>,
        reply_to: ReplyTo,
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(future: F, config: Arc<Config>, reply_to: ReplyTo) -> Self {
        Self {
            future,
            config,
            reply_to,
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.future.poll(cx))?;
        let status = response.status();
        let extensions = response.extensions();
        if rendered_here(extensions) {
            return Poll::Ready(Ok(response.map(ResponseBody::inner)));
        }
        // A failure whose problem was written without this request in
        // sight: written again, answering it.
        // (Cloned out of the response, which the answer consumes.)
        if let Some(error) = extensions.get::<DependencyError>().cloned() {
            // Written quietly by `From<DependencyError>`: logged here.
            let incident = error.incident();
            let answered = answer(this.config, this.reply_to, incident, response, true);
            return Poll::Ready(Ok(answered));
        }
        if let Some(Unanswered(failure)) = extensions.get::<Unanswered>().cloned() {
            let incident = Incident::new(None, &failure, ERROR_RESPONSE);
            let answered = answer(this.config, this.reply_to, incident, response, false);
            return Poll::Ready(Ok(answered));
        }
        let passes = !(status.is_client_error() || status.is_server_error())
            || response.headers().get(CONTENT_TYPE).is_some_and(is_problem);
        if passes {
            return Poll::Ready(Ok(response.map(ResponseBody::inner)));
        }
        let (head, body) = response.into_parts();
        let text = if status.is_client_error() && is_plain_text(head.headers.get(CONTENT_TYPE)) {
            read_now(body, cx)
        } else {
            None
        };
        let detail = text.as_deref().and_then(safe_detail);
        let reply_to = &*this.reply_to;
        let incident = Incident {
            detail,
            ..Incident::of_status(Some(status), ERROR_RESPONSE)
        };
        // A server error is logged; a client error (a 404) is not worth it.
        let log = status.is_server_error();
        let serialized = reply_to.render(&this.config.policy, incident, log);
        let response = send_over(serialized, reply_to.accept(), head, ResponseBody::whole);
        Poll::Ready(Ok(response))
    }
}

/// The response for `incident`, written again in place of `response`,
/// answering the request (its id, trace id and head for the hook); logged
/// unless it was when first written.
fn answer<B>(
    config: &Config,
    reply_to: &ReplyTo,
    incident: Incident<'_>,
    response: Response<B>,
    log: bool,
) -> Response<ResponseBody<B>> {
    let serialized = reply_to.render(&config.policy, incident, log);
    let head = response.into_parts().0;
    send_over(serialized, reply_to.accept(), head, ResponseBody::whole)
}

/// Whether a body is plain text: `text/plain`, or no media type at all (as
/// some layers send their short messages).
fn is_plain_text(content_type: Option<&HeaderValue>) -> bool {
    match content_type {
        None => true,
        Some(value) => {
            media_type(value).is_some_and(|media| media.eq_ignore_ascii_case("text/plain"))
        }
    }
}

/// The whole body as text, when it is small and already complete in memory:
/// it is polled while it has frames ready, never waited for. A body that
/// is larger than a detail may be, would have to be waited for, or fails,
/// gives nothing.
fn read_now<B: Body>(body: B, cx: &mut Context<'_>) -> Option<String> {
    // Four bytes per character at most.
    let limit = MAX_DETAIL * 4;
    if body.size_hint().lower() > limit as u64 {
        return None;
    }
    let mut body = pin!(body);
    let mut read = BytesMut::new();
    loop {
        match body.as_mut().poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    if read.len() + data.remaining() > limit {
                        return None;
                    }
                    read.put(data);
                }
            }
            Poll::Ready(None) => break,
            Poll::Ready(Some(Err(_))) | Poll::Pending => return None,
        }
    }
    String::from_utf8(read.into()).ok()
}

/// A client error's text as a problem's `detail`: one line of at most
/// [`MAX_DETAIL`] characters, without control characters, trimmed; nothing
/// otherwise.
fn safe_detail(text: &str) -> Option<&str> {
    let text = text.trim();
    let safe = !text.is_empty()
        && text.chars().count() <= MAX_DETAIL
        && !text.chars().any(char::is_control);
    safe.then_some(text)
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_single_line_text_is_a_detail() {
        assert_eq!(
            safe_detail(" Failed to parse the request body as JSON: expected value \n"),
            Some("Failed to parse the request body as JSON: expected value")
        );
        assert_eq!(safe_detail(""), None);
        assert_eq!(safe_detail("line one\nline two"), None);
        assert_eq!(safe_detail("bell\u{7}"), None);
        let long = "x".repeat(MAX_DETAIL + 1);
        assert_eq!(safe_detail(&long), None);
        let fits = "é".repeat(MAX_DETAIL);
        assert_eq!(safe_detail(&fits), Some(fits.as_str()));
    }

    #[test]
    fn plain_text_or_no_media_type() {
        assert!(is_plain_text(None));
        assert!(is_plain_text(Some(&HeaderValue::from_static(
            "text/plain; charset=utf-8"
        ))));
        assert!(!is_plain_text(Some(&HeaderValue::from_static("text/html"))));
        assert!(!is_plain_text(Some(&HeaderValue::from_static(
            "application/json"
        ))));
    }

    /// A body whose first frame has not arrived.
    struct Waiting;

    impl Body for Waiting {
        type Data = bytes::Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
            Poll::Pending
        }
    }

    #[test]
    fn a_body_is_read_only_when_complete_and_small() {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let full = http_body_util::Full::new(bytes::Bytes::from_static(b"Missing field `sku`"));
        assert_eq!(
            read_now(full, &mut cx).as_deref(),
            Some("Missing field `sku`")
        );
        let large = http_body_util::Full::new(bytes::Bytes::from(vec![b'x'; MAX_DETAIL * 4 + 1]));
        assert_eq!(read_now(large, &mut cx), None);
        assert_eq!(read_now(Waiting, &mut cx), None, "never waited for");
    }
}
