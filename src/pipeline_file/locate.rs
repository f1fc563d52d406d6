//! Finds the place in the launch text that a GStreamer parse error is about.
//!
//! GStreamer reports no positions, only an error kind ([`gst::ParseError`]), the names of missing
//! elements ([`gst::ParseContext::missing_elements`]) and the names it quotes in its message
//! (a property, an element). Those names are searched for in the text: an element by its
//! `name=`, or by its factory name (GStreamer numbers unnamed elements: `videotestsrc0`).

use super::syntax::closing_quote;

/// Byte offset in `text` of what the error of `kind` is about, if it can be found. `missing`
/// are the elements GStreamer could not find, `message` its message.
pub(super) fn locate(
    kind: Option<gst::ParseError>,
    missing: &[String],
    message: &str,
    text: &str,
) -> Option<usize> {
    let search = Search::new(text);
    let quoted: Vec<&str> = message.split('"').skip(1).step_by(2).collect();
    let specific = match kind {
        Some(gst::ParseError::NoSuchElement) => missing
            .first()
            .map(String::as_str)
            .or(quoted.first().copied())
            .and_then(|name| search.word(name)),
        Some(gst::ParseError::NoSuchProperty | gst::ParseError::CouldNotSetProperty) => quoted
            .first()
            .and_then(|key| search.property(key, quoted.get(1).copied())),
        Some(gst::ParseError::Link) => search.link(message),
        Some(gst::ParseError::EmptyBin) => search.empty_bin(),
        _ => None,
    };
    specific.or_else(|| search.quoted_text(message))
}

fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-')
}

/// The launch text and where its double-quoted strings are.
struct Search<'a> {
    text: &'a str,
    quoted: Vec<(usize, usize)>,
}

impl<'a> Search<'a> {
    fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let mut quoted = Vec::new();
        let mut i = 0;
        while let Some(&byte) = bytes.get(i) {
            match byte {
                b'\\' => i += 1,
                b'"' => {
                    let end = closing_quote(bytes, i).unwrap_or(bytes.len());
                    quoted.push((i, end));
                    i = end;
                }
                _ => {}
            }
            i += 1;
        }
        Self { text, quoted }
    }

    fn in_quotes(&self, at: usize) -> bool {
        self.quoted
            .iter()
            .any(|&(open, close)| open < at && at < close)
    }

    /// Offsets where `name` stands alone (not inside a longer name), quoted or not.
    fn standalone(&self, name: &'a str) -> impl Iterator<Item = usize> + 'a {
        let bytes = self.text.as_bytes();
        self.text
            .match_indices(name)
            .map(|(at, _)| at)
            .filter(move |&at| {
                let before = at.checked_sub(1).and_then(|i| bytes.get(i));
                let after = bytes.get(at + name.len());
                !name.is_empty()
                    && !before.is_some_and(|&b| is_name_byte(b))
                    && !after.is_some_and(|&b| is_name_byte(b))
            })
    }

    /// The first unquoted `word`.
    fn word(&self, word: &str) -> Option<usize> {
        self.standalone(word).find(|&at| !self.in_quotes(at))
    }

    /// Where the element GStreamer calls `name` is: its `name=` property, or its factory name
    /// when `name` is the factory name with an instance number.
    fn element(&self, name: &str) -> Option<usize> {
        let named = self.standalone(name).find(|&at| {
            let before = self.text[..at]
                .strip_suffix('"')
                .unwrap_or(&self.text[..at]);
            before
                .trim_end()
                .strip_suffix('=')
                .map(str::trim_end)
                .and_then(|key| key.strip_suffix("name"))
                .is_some_and(|rest| !rest.bytes().last().is_some_and(is_name_byte))
        });
        named.or_else(|| {
            let factory = name.trim_end_matches(|c: char| c.is_ascii_digit());
            (factory.len() < name.len())
                .then(|| self.word(factory))
                .flatten()
        })
    }

    /// The property `key`: the first one after the element GStreamer names `element`, else the
    /// first one.
    fn property(&self, key: &str, element: Option<&str>) -> Option<usize> {
        let keys: Vec<usize> = self
            .standalone(key)
            .filter(|&at| !self.in_quotes(at))
            .filter(|&at| self.text[at + key.len()..].trim_start().starts_with('='))
            .collect();
        let from = element.and_then(|element| self.element(element).or_else(|| self.word(element)));
        from.and_then(|from| keys.iter().copied().find(|&at| at >= from))
            .or(keys.first().copied())
    }

    /// The link into the last element named before the first comma of the message (the
    /// element that could not be linked to), else the link after the first one named.
    fn link(&self, message: &str) -> Option<usize> {
        let head = message.split(',').next().unwrap_or_default();
        let elements: Vec<usize> = head
            .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-')))
            .filter_map(|name| self.element(name))
            .collect();
        let links: Vec<usize> = self
            .text
            .match_indices('!')
            .map(|(at, _)| at)
            .filter(|&at| !self.in_quotes(at))
            .collect();
        let into = elements
            .last()
            .and_then(|&to| links.iter().rev().find(|&&at| at < to));
        let out_of = || {
            elements
                .first()
                .and_then(|&from| links.iter().find(|&&at| at > from))
        };
        into.or_else(out_of).copied()
    }

    /// The first `(` followed only by blanks up to its `)`.
    fn empty_bin(&self) -> Option<usize> {
        self.text
            .match_indices('(')
            .map(|(at, _)| at)
            .filter(|&at| !self.in_quotes(at))
            .find(|&at| self.text[at + 1..].trim_start().starts_with(')'))
    }

    /// What the message quotes (from its first to its last double quote), standing alone in the
    /// text.
    fn quoted_text(&self, message: &str) -> Option<usize> {
        let first = message.find('"')?;
        let last = message.rfind('"')?;
        let quoted = message.get(first + 1..last).filter(|q| !q.is_empty())?;
        self.standalone(quoted).next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gst::ParseError::{CouldNotSetProperty, EmptyBin, Link, NoSuchElement, NoSuchProperty};

    fn at(kind: gst::ParseError, message: &str, text: &str) -> Option<usize> {
        locate(Some(kind), &[], message, text)
    }

    #[test]
    fn missing_elements_point_at_the_factory_name() {
        let text = "videotestsrc ! vidoeconvert ! fakesink";
        assert_eq!(
            locate(Some(NoSuchElement), &["vidoeconvert".to_owned()], "", text),
            Some(15)
        );
        assert_eq!(
            at(NoSuchElement, "no element \"vidoeconvert\"", text),
            Some(15)
        );
        let text = "filesrc location=\"/x/vidoeconvert\" ! vidoeconvert";
        assert_eq!(at(NoSuchElement, "\"vidoeconvert\"", text), Some(37));
    }

    #[test]
    fn properties_prefer_the_named_element() {
        let text = "a foo=1 ! b name=x foo=2 ! b foo=3";
        assert_eq!(
            at(NoSuchProperty, "no property \"foo\" in element \"x\"", text),
            Some(19)
        );
        assert_eq!(
            at(
                NoSuchProperty,
                "no property \"foo\" in element \"b1\"",
                text
            ),
            Some(19)
        );
        assert_eq!(
            at(NoSuchProperty, "no property \"foo\" in element \"a\"", text),
            Some(2)
        );
        assert_eq!(
            at(
                CouldNotSetProperty,
                "could not set property \"foo\" in element \"zz\" to \"3\"",
                text
            ),
            Some(2)
        );
    }

    #[test]
    fn links_point_at_the_bang() {
        let text = "a ! b name=n ! c";
        assert_eq!(at(Link, "could not link a0 to b0", text), Some(2));
        assert_eq!(
            at(
                Link,
                "could not link n to c0, n can't handle caps x/y",
                text
            ),
            Some(13)
        );
        assert_eq!(at(Link, "could not link zz to c3", text), Some(13));
        let text = "a name=t ! b t. ! c";
        assert_eq!(at(Link, "could not link t to c0", text), Some(16));
        let text = "audiotestsrc ! videoconvert name=vc ! fakesink";
        assert_eq!(
            at(Link, "could not link audiotestsrc0 to vc", text),
            Some(13)
        );
    }

    #[test]
    fn other_errors_use_the_quoted_text() {
        let text = "a ! video/x-raw,width=(int)\"64\" ! b";
        assert_eq!(
            locate(
                None,
                &[],
                "could not parse caps \"video/x-raw,width=(int)\"64\"\"",
                text
            ),
            Some(4)
        );
        assert_eq!(
            at(
                EmptyBin,
                "specified empty bin \"bin\", not allowed",
                "decodebin ! ( )"
            ),
            Some(12)
        );
        assert_eq!(
            locate(None, &[], "no bin \"bin\"", "decodebin ! bin"),
            Some(12)
        );
        assert_eq!(locate(None, &[], "no bin \"bin\"", "decodebin"), None);
        assert_eq!(at(gst::ParseError::Syntax, "syntax error", "a ! b"), None);
    }
}
