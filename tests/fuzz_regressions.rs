//! One test per crash the fuzz targets under `fuzz/` found, reproduced
//! through the public API, named after what should hold. Each says which
//! target found it and with what.

#[cfg(feature = "xml")]
use http::StatusCode;
#[cfg(feature = "xml")]
use tower_failed_dependency::multistatus::{MultiStatus, MultiStatusError, Property, Propstat};

/// Found by `multistatus` (input `0c 00 00 3d 00 01 00 00 00 00 00 01`): a
/// property namespace holding U+0000 was accepted by `Property::new` and
/// written as it is into an `xmlns:ns1` attribute, so the 207 body was not
/// well-formed XML. Such a namespace is now refused where it is given, so
/// no 207 can carry it.
#[cfg(feature = "xml")]
#[test]
fn a_namespace_with_a_control_character_is_refused() {
    for namespace in ["urn:\u{0}", "urn:a\u{1}b", "urn:\u{fffe}"] {
        assert_eq!(
            Property::new(namespace, "a"),
            Err(MultiStatusError::BadNamespace(namespace.to_owned())),
            "{namespace:?}"
        );
    }
}

/// Found by `multistatus`, with the one above: a namespace holding a tab,
/// line feed or carriage return was written with the character as it is in
/// the attribute, which an XML parser reads back as a space (attribute-value
/// normalisation, XML 1.0 §3.3.3), so the property was read in another
/// namespace than the one it was given. Such a namespace is now refused; a
/// namespace an attribute carries as it is still reads back as given.
#[cfg(feature = "xml")]
#[test]
fn a_namespace_an_attribute_would_change_is_refused() {
    for namespace in ["urn:a\nb", "urn:a\tb", "urn:a\rb"] {
        assert_eq!(
            Property::new(namespace, "a"),
            Err(MultiStatusError::BadNamespace(namespace.to_owned())),
            "{namespace:?}"
        );
    }
    let namespace = "urn:caf\u{e9} & <x>";
    let property = Property::new(namespace, "a").expect("an attribute carries it");
    let xml = MultiStatus::new()
        .propstats(
            "/a",
            vec![Propstat::new(vec![property], StatusCode::FORBIDDEN)],
        )
        .to_xml()
        .unwrap();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let root = loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(root) => break root.into_owned(),
            quick_xml::events::Event::Eof => panic!("no root element in {xml}"),
            _ => {}
        }
    };
    let declared: Vec<String> = root
        .attributes()
        .map(|attribute| {
            attribute
                .expect("a well-formed attribute")
                .unescape_value()
                .expect("references resolve")
                .into_owned()
        })
        .collect();
    assert!(declared.iter().any(|ns| ns == namespace), "{xml}");
}

/// Found by `multistatus` (input, hex: `7dff ffff 0000 00ff ff00 ffff
/// 00ff 01d8 0000 00ff ff`): two hrefs that differ only in characters XML
/// 1.0 cannot hold were each written with U+FFFD in their place, so the
/// document had two responses for one href. Such an href is now refused
/// (`BadHref`), the first in document order.
#[cfg(feature = "xml")]
#[test]
fn an_href_with_a_character_xml_cannot_hold_is_refused() {
    let body = MultiStatus::new()
        .status("/a\u{1}", StatusCode::OK)
        .status("/a\u{2}", StatusCode::NOT_FOUND);
    assert_eq!(
        body.to_xml(),
        Err(MultiStatusError::BadHref("/a\u{1}".to_owned()))
    );
}

#[cfg(feature = "batch")]
mod batch {
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};

    use bytes::Bytes;
    use http::{Request, Response, StatusCode};
    use http_body_util::{BodyExt, Full};
    use serde_json::{json, Value};
    use tower::{service_fn, Layer, ServiceExt};
    use tower_failed_dependency::batch::BatchLayer;
    use tower_failed_dependency::RequestBody;

    /// Sends `batch` to a `BatchLayer` whose inner service answers 201 with
    /// `Location: /users/7`; returns the status, the answer and the paths
    /// the inner service was called with.
    async fn run(batch: Value) -> (StatusCode, Value, Vec<String>) {
        let paths = Arc::new(Mutex::new(Vec::new()));
        let inner = {
            let paths = Arc::clone(&paths);
            service_fn(move |request: Request<RequestBody<Full<Bytes>>>| {
                paths.lock().unwrap().push(request.uri().to_string());
                let response = Response::builder()
                    .status(StatusCode::CREATED)
                    .header("location", "/users/7")
                    .body(Full::new(Bytes::new()))
                    .unwrap();
                async move { Ok::<_, Infallible>(response) }
            })
        };
        let request = Request::post("/$batch")
            .header("host", "api.example")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(batch.to_string())))
            .unwrap();
        let response = BatchLayer::new()
            .layer(inner)
            .oneshot(request)
            .await
            .unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let answer = serde_json::from_slice(&body).unwrap();
        let paths = paths.lock().unwrap().clone();
        (status, answer, paths)
    }

    /// Found by `batch_parts`: `$<id>` in a url is matched against the
    /// part ids after the url was percent-encoded, so an id with a
    /// character that is encoded (non-ASCII, a space) is never recognised.
    /// A reference to an earlier part that is not in `dependsOn` was run as
    /// the literal path `/$caf%C3%A9/p1` instead of being refused (as
    /// `$1/p1` is), and one that is in `dependsOn` did not resolve below
    /// that part's `Location`.
    ///
    /// Minimised input: `{"requests": [{"id":"café","method":"get",
    /// "url":"/p3/café/{file}",...},{"id":"1","method":"PATCH",
    /// "url":"$café/p1",...}]}`.
    #[tokio::test]
    async fn a_reference_to_an_id_with_a_non_ascii_character_is_a_reference() {
        let (status, answer, paths) = run(json!({"requests": [
            {"id": "caf\u{e9}", "method": "POST", "url": "/users"},
            {"id": "1", "method": "PATCH", "url": "$caf\u{e9}/p1"}
        ]}))
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer} {paths:?}");
        assert_eq!(answer["part"], "1");
        assert_eq!(answer["field"], "url");
        assert!(paths.is_empty(), "{paths:?}");

        for id in ["caf\u{e9}", "p q"] {
            let (status, answer, paths) = run(json!({"requests": [
                {"id": id, "method": "POST", "url": "/users"},
                {"id": "2", "method": "GET", "url": format!("${id}/orders"), "dependsOn": [id]}
            ]}))
            .await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            assert_eq!(paths, ["/users", "/users/7/orders"], "{id:?}: {answer}");
        }
    }
}
