//! The 207 renderer against RFC 4918 §9.2.2: fed the outcomes of the
//! PROPPATCH request vector, it answers a document equivalent to the RFC's
//! (same elements, namespaces, text and status lines; whitespace and
//! prefixes may differ).

#![cfg(feature = "xml")]

use http::StatusCode;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use tower_failed_dependency::multistatus::{proppatch, Property};

const REQUEST: &str = include_str!("fixtures/rfc4918-proppatch-request.xml");
const RESPONSE: &str = include_str!("fixtures/rfc4918-proppatch-response.xml");

/// One node of a parsed document: namespace and local name of an element,
/// or its text with whitespace runs collapsed.
#[derive(Debug, PartialEq)]
enum Node {
    Open(String, String),
    Close,
    Text(String),
}

fn parse(xml: &str) -> Vec<Node> {
    let mut reader = NsReader::from_str(xml);
    let mut nodes = Vec::new();
    loop {
        let (namespace, event) = reader.read_resolved_event().expect("well-formed XML");
        let namespace = match namespace {
            ResolveResult::Bound(ns) => String::from_utf8(ns.as_ref().to_vec()).unwrap(),
            _ => String::new(),
        };
        match event {
            Event::Start(start) => {
                let local = String::from_utf8(start.local_name().as_ref().to_vec()).unwrap();
                nodes.push(Node::Open(namespace, local));
            }
            Event::Empty(start) => {
                let local = String::from_utf8(start.local_name().as_ref().to_vec()).unwrap();
                nodes.push(Node::Open(namespace, local));
                nodes.push(Node::Close);
            }
            Event::End(_) => nodes.push(Node::Close),
            Event::Text(text) => {
                let text = text.decode().unwrap();
                let text = quick_xml::escape::unescape(&text).unwrap();
                let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
                if !collapsed.is_empty() {
                    nodes.push(Node::Text(collapsed));
                }
            }
            Event::Eof => return nodes,
            _ => {}
        }
    }
}

/// The properties the request sets or removes, in order.
fn requested() -> Vec<Property> {
    let nodes = parse(REQUEST);
    let mut properties = Vec::new();
    let mut depth_in_prop = None;
    let mut depth = 0;
    for node in &nodes {
        match node {
            Node::Open(ns, name) => {
                depth += 1;
                if ns == "DAV:" && name == "prop" {
                    depth_in_prop = Some(depth);
                } else if depth_in_prop == Some(depth - 1) {
                    properties.push(Property::new(ns.clone(), name.clone()).unwrap());
                }
            }
            Node::Close => {
                if depth_in_prop == Some(depth) {
                    depth_in_prop = None;
                }
                depth -= 1;
            }
            Node::Text(_) => {}
        }
    }
    properties
}

#[test]
fn the_proppatch_answer_matches_the_rfc() {
    let requested = requested();
    let names: Vec<&str> = requested.iter().map(Property::name).collect();
    assert_eq!(names, ["Authors", "Copyright-Owner"]);

    // Removing Z:Copyright-Owner fails with 409, so Z:Authors is not set.
    let owner = requested[1].clone();
    let xml = proppatch(
        "http://www.example.com/bar.html",
        &requested,
        &[(owner, StatusCode::CONFLICT)],
    )
    .description("Copyright Owner cannot be deleted or altered.")
    .to_xml()
    .unwrap();

    assert_eq!(parse(&xml), parse(RESPONSE), "{xml}");
}
