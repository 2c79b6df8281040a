//! XML names and text, shared by every XML document the crate writes: what
//! quick-xml leaves to its caller, element names without a colon
//! (XML 1.0 fifth edition §2.3, Namespaces in XML's NCName), and text with
//! characters XML 1.0 cannot hold.

use std::borrow::Cow;

use quick_xml::escape::escape;
use quick_xml::events::BytesText;

/// Whether `name` is an XML name without a colon.
pub(crate) fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(is_name_start) && chars.all(is_name_char)
}

/// An element name for `text`: the text itself when it is a name, otherwise
/// each character a name cannot hold replaced by `_`, with `_` in front when
/// the first one cannot start a name.
pub(crate) fn derived_name(text: &str) -> Cow<'_, str> {
    if is_name(text) {
        return Cow::Borrowed(text);
    }
    let mut name = String::with_capacity(text.len() + 1);
    if !text.starts_with(is_name_start) {
        name.push('_');
    }
    name.extend(text.chars().map(|c| if is_name_char(c) { c } else { '_' }));
    Cow::Owned(name)
}

/// A text node for `text`, escaped. A character XML 1.0 cannot hold (most
/// C0 controls, U+FFFE, U+FFFF) becomes U+FFFD; a carriage return is written
/// as a character reference, so that a parser does not turn it into a line
/// feed.
pub(crate) fn text(text: &str) -> BytesText<'_> {
    if !text.chars().any(|c| c == '\r' || !is_char(c)) {
        return BytesText::new(text);
    }
    let kept: String = text
        .chars()
        .map(|c| if is_char(c) { c } else { '\u{FFFD}' })
        .collect();
    BytesText::from_escaped(escape(kept).replace('\r', "&#13;"))
}

/// Whether `text` can be an attribute value that an XML parser reads back
/// as written: XML characters only, and no tab, line feed or carriage
/// return (attribute-value normalisation reads each as a space).
pub(crate) fn is_attribute_text(text: &str) -> bool {
    text.chars()
        .all(|c| is_char(c) && !matches!(c, '\t' | '\n' | '\r'))
}

/// XML 1.0's `Char` (surrogates cannot occur in a `char`).
pub(crate) fn is_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FFFD}' | '\u{10000}'..)
}

fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c,
            '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_by_the_xml_rules() {
        for good in [
            "balance",
            "out_of_credit",
            "_x",
            "a-b.c",
            "Größe",
            "名前",
            "x1",
        ] {
            assert!(is_name(good), "{good}");
        }
        for bad in ["", "1x", "-x", ".x", "a b", "a:b", "a<b", "a\u{0}"] {
            assert!(!is_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn text_is_escaped_and_kept_to_xml_characters() {
        let written = |t: &str| String::from_utf8(text(t).into_inner().into_owned()).unwrap();
        assert_eq!(written("a < b & 'c'"), "a &lt; b &amp; &apos;c&apos;");
        assert_eq!(written("bell\u{7}nul\u{0}"), "bell\u{FFFD}nul\u{FFFD}");
        assert_eq!(written("one\r\ntwo\t<"), "one&#13;\ntwo\t&lt;");
        assert_eq!(written("\u{FFFF}é"), "\u{FFFD}é");
    }

    #[test]
    fn any_text_derives_a_name() {
        assert_eq!(derived_name("balance"), "balance");
        assert_eq!(derived_name("a b"), "a_b");
        assert_eq!(derived_name("1st"), "_1st");
        assert_eq!(derived_name(""), "_");
        assert_eq!(derived_name("x:y</z>"), "x_y__z_");
        for text in ["", "1st", "a b", "<&>", "\u{0}", "é", "-"] {
            assert!(is_name(&derived_name(text)), "{text:?}");
        }
    }
}
