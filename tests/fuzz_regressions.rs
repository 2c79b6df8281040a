//! One test per crash the fuzz targets under `fuzz/` found, reproduced
//! through the public API, named after what should hold. Each says which
//! target found it and with what.

#[cfg(feature = "xml")]
use http::StatusCode;

/// Whether XML 1.0 allows `c` in a document.
#[cfg(feature = "xml")]
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The namespaces declared on the root of a 207 document, as an XML parser
/// reads them (attribute-value normalisation, XML 1.0 §3.3.3: each literal
/// tab, line feed or carriage return is a space; references resolved).
#[cfg(feature = "xml")]
fn declared_namespaces(xml: &str) -> Vec<String> {
    use quick_xml::events::Event;

    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(root) => {
                return root
                    .attributes()
                    .map(|attribute| {
                        let attribute = attribute.expect("a well-formed attribute");
                        let raw = std::str::from_utf8(&attribute.value).unwrap();
                        let normalised = raw.replace("\r\n", "\n").replace(['\t', '\n', '\r'], " ");
                        quick_xml::escape::unescape(&normalised)
                            .expect("references resolve")
                            .into_owned()
                    })
                    .collect();
            }
            Event::Eof => panic!("no root element"),
            _ => {}
        }
    }
}

/// Found by `multistatus` (input `0c 00 00 3d 00 01 00 00 00 00 00 01`): a
/// property namespace holding U+0000 was accepted by `Property::new` and
/// written as it is into an `xmlns:ns1` attribute, so the 207 body was not
/// well-formed XML. A namespace must be refused, or written so that the
/// document is well-formed and the namespace reads back.
#[cfg(feature = "xml")]
#[test]
fn a_namespace_with_a_control_character_never_makes_an_ill_formed_207() {
    use tower_failed_dependency::multistatus::{MultiStatus, Property, Propstat};

    for namespace in ["urn:\u{0}", "urn:a\u{1}b", "urn:\u{fffe}"] {
        let Ok(property) = Property::new(namespace, "a") else {
            continue;
        };
        let body = MultiStatus::new().propstats(
            "/a",
            vec![Propstat::new(vec![property], StatusCode::FORBIDDEN)],
        );
        let Ok(xml) = body.to_xml() else { continue };
        let bad = xml.chars().find(|&c| !is_xml_char(c));
        assert_eq!(bad, None, "{namespace:?} written as {xml:?}");
        assert!(
            declared_namespaces(&xml).iter().any(|ns| ns == namespace),
            "{namespace:?} does not read back from {xml:?}"
        );
    }
}

/// Found by `multistatus`, with the one above: a namespace holding a tab,
/// line feed or carriage return is written with the character as it is in
/// the attribute, which an XML parser reads back as a space (attribute-value
/// normalisation), so the property is read in another namespace than the
/// one it was given. It must be refused, or written as a character
/// reference (`&#10;`).
#[cfg(feature = "xml")]
#[test]
fn a_namespace_with_a_line_feed_reads_back_as_given() {
    use tower_failed_dependency::multistatus::{MultiStatus, Property};

    for namespace in ["urn:a\nb", "urn:a\tb", "urn:a\rb"] {
        let Ok(property) = Property::new(namespace, "a") else {
            continue;
        };
        let body = MultiStatus::new()
            .status("/a", StatusCode::LOCKED)
            .error(property);
        let Ok(xml) = body.to_xml() else { continue };
        assert!(
            declared_namespaces(&xml).iter().any(|ns| ns == namespace),
            "{namespace:?} does not read back from {xml:?}"
        );
    }
}

/// Found by `multistatus` (input, hex: `7dff ffff 0000 00ff ff00 ffff
/// 00ff 01d8 0000 00ff ff`): two hrefs that differ only in characters XML
/// 1.0 cannot hold are each written with U+FFFD in their place, so the
/// document has two responses for one href, which `to_xml` refuses
/// (`DuplicateHref`) for hrefs given twice. Such hrefs must be refused, or
/// written so that they stay apart.
#[cfg(feature = "xml")]
#[test]
fn hrefs_that_differ_only_in_characters_xml_cannot_hold_stay_apart() {
    use quick_xml::events::Event;
    use tower_failed_dependency::multistatus::MultiStatus;

    let body = MultiStatus::new()
        .status("/a\u{1}", StatusCode::OK)
        .status("/a\u{2}", StatusCode::NOT_FOUND);
    let Ok(xml) = body.to_xml() else { return };
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut hrefs, mut in_href) = (Vec::new(), false);
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(start) => {
                in_href = start.name().as_ref() == b"D:href";
                if in_href {
                    hrefs.push(String::new());
                }
            }
            Event::Text(text) if in_href => {
                hrefs.last_mut().unwrap().push_str(&text.decode().unwrap());
            }
            Event::GeneralRef(reference) if in_href => {
                let c = reference.resolve_char_ref().unwrap().expect("a character");
                hrefs.last_mut().unwrap().push(c);
            }
            Event::End(_) => in_href = false,
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(hrefs.len(), 2, "{xml}");
    assert_ne!(hrefs[0], hrefs[1], "one href for two responses: {xml}");
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
