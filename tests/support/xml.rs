//! Reading an XML answer back as a tree, for assertions.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

/// An element: its namespace and local name, its text (references
/// resolved) and its child elements.
#[derive(Debug, Default, PartialEq)]
pub struct Element {
    pub namespace: String,
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child called `name`; panics (failing the test) when absent.
    pub fn child(&self, name: &str) -> &Element {
        self.children
            .iter()
            .find(|child| child.name == name)
            .unwrap_or_else(|| panic!("<{}> has no <{name}>: {self:#?}", self.name))
    }

    /// The text of the first child called `name`.
    pub fn text_of(&self, name: &str) -> &str {
        &self.child(name).text
    }

    /// The children's names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.children.iter().map(|c| c.name.as_str()).collect()
    }

    /// The texts of the `i` items of the child called `name`.
    pub fn items(&self, name: &str) -> Vec<&str> {
        let list = self.child(name);
        assert!(
            list.children.iter().all(|item| item.name == "i"),
            "{list:#?}"
        );
        list.children
            .iter()
            .map(|item| item.text.as_str())
            .collect()
    }
}

/// The root element of a well-formed document; panics (failing the test)
/// on anything else.
pub fn parse(xml: &[u8]) -> Element {
    let mut reader = NsReader::from_reader(xml);
    let mut buffer = Vec::new();
    let mut open: Vec<Element> = vec![Element::default()];
    loop {
        let (namespace, event) = reader
            .read_resolved_event_into(&mut buffer)
            .unwrap_or_else(|e| {
                panic!(
                    "not well-formed XML ({e}): {}",
                    String::from_utf8_lossy(xml)
                )
            });
        let namespace = match namespace {
            ResolveResult::Bound(ns) => String::from_utf8(ns.as_ref().to_vec()).unwrap(),
            _ => String::new(),
        };
        let top = open.len() - 1;
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                let element = Element {
                    namespace,
                    name: String::from_utf8(start.local_name().as_ref().to_vec()).unwrap(),
                    ..Element::default()
                };
                if matches!(event, Event::Empty(_)) {
                    open[top].children.push(element);
                } else {
                    open.push(element);
                }
            }
            Event::End(_) => {
                let element = open.pop().unwrap();
                open.last_mut().unwrap().children.push(element);
            }
            Event::Text(text) => open[top].text.push_str(&text.decode().unwrap()),
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref().unwrap() {
                    Some(c) => c.to_string(),
                    None => {
                        let name = reference.decode().unwrap();
                        quick_xml::escape::unescape(&format!("&{name};"))
                            .unwrap()
                            .into_owned()
                    }
                };
                open[top].text.push_str(&resolved);
            }
            Event::Eof => break,
            _ => {}
        }
        buffer.clear();
    }
    let mut document = open.pop().unwrap();
    assert_eq!(document.children.len(), 1, "one root element");
    document.children.pop().unwrap()
}
