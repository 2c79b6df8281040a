//! Readiness: the layer is ready exactly when the inner service is, and a
//! refused request never reaches it.

use std::task::Poll;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower_failed_dependency::{Dependencies, DependencyLayer, Failure};
use tower_test::mock;

fn with_lock(held: bool) -> Request<()> {
    let mut record = Dependencies::new();
    if held {
        record.record_success("lock");
    } else {
        record.record_failure("lock", Failure::rejected(StatusCode::LOCKED));
    }
    let mut request = Request::new(());
    request.extensions_mut().insert(record);
    request
}

#[tokio::test]
async fn readiness_is_the_inner_services_and_a_refusal_leaves_it_unused() {
    let (mut service, mut handle) = mock::spawn_layer::<Request<()>, Response<Full<Bytes>>, _>(
        DependencyLayer::new().require("lock"),
    );

    handle.allow(0);
    assert!(
        service.poll_ready().is_pending(),
        "not ready while the inner service is not"
    );

    handle.allow(1);
    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
    let refused = service.call(with_lock(false)).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FAILED_DEPENDENCY);
    assert!(
        matches!(handle.poll_request(), Poll::Pending),
        "the refused request never reached the inner service"
    );

    // The readiness granted for the refused request is still there for the
    // next one: no second `allow` is needed.
    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
    let accepted = service.call(with_lock(true));
    let (request, send) = handle
        .next_request()
        .await
        .expect("the request reaches the inner service");
    assert!(request
        .extensions()
        .get::<Dependencies>()
        .unwrap()
        .get("lock")
        .unwrap()
        .is_success());
    send.send_response(Response::new(Full::from("done")));
    let response = accepted.await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "done"
    );
}

#[tokio::test]
async fn inner_errors_pass_through_unchanged() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request<()>, Response<Full<Bytes>>, _>(DependencyLayer::new());
    handle.allow(1);
    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
    let future = service.call(Request::new(()));
    let (_, send) = handle.next_request().await.unwrap();
    send.send_error("upstream exploded");
    let error = future.await.unwrap_err();
    assert_eq!(error.to_string(), "upstream exploded");
}
