//! Finds the token a GStreamer launch error is about.
//!
//! GStreamer's parser reports no positions, only messages such as
//! `no element "x"`, `no property "y" in element "z"` or
//! `could not link a0 to b0`. The names in the message are looked up among
//! the tokens of the launch text; elements are recognised by factory name,
//! by factory name plus GStreamer's instance number (`videotestsrc0`), by
//! their `name=` property or through a reference (`name.`).

use super::lexer::{Token, TokenKind};

/// Byte offset in `text` of what `message` is about, if it can be found.
pub(super) fn locate(message: &str, text: &str, tokens: &[Token]) -> Option<usize> {
    let elements = Elements { text, tokens };
    let quoted: Vec<&str> = message.split('"').skip(1).step_by(2).collect();
    let specific = if message.starts_with("no element ") {
        quoted.first().and_then(|name| elements.word(name))
    } else if message.starts_with("no property ") || message.starts_with("could not set property ")
    {
        quoted
            .first()
            .and_then(|key| elements.property(key, quoted.get(1).copied()))
    } else if let Some(rest) = message.strip_prefix("could not link ") {
        rest.split_once(" to ").and_then(|(from, rest)| {
            let to = rest.split([',', ' ']).next().unwrap_or_default();
            elements.link(from, to)
        })
    } else if message.starts_with("specified empty bin") {
        elements.empty_bin()
    } else {
        None
    };
    specific.or_else(|| elements.quoted_text(message))
}

/// The tokens of a launch text, searched by element.
struct Elements<'a> {
    text: &'a str,
    tokens: &'a [Token],
}

impl Elements<'_> {
    fn is_word(&self, index: usize) -> bool {
        self.tokens
            .get(index)
            .is_some_and(|token| token.kind == TokenKind::Word)
    }

    /// The word token (element or reference) a token belongs to.
    fn owner(&self, index: usize) -> Option<usize> {
        let mut index = index;
        loop {
            match self.tokens.get(index)?.kind {
                TokenKind::Word => return Some(index),
                TokenKind::Property { .. } => index = index.checked_sub(1)?,
                _ => return None,
            }
        }
    }

    /// Whether the element or reference starting at word `index` can be
    /// the element GStreamer calls `name`.
    fn matches(&self, index: usize, name: &str) -> bool {
        let Some(word) = self.tokens.get(index).map(|token| token.text(self.text)) else {
            return false;
        };
        let numbered = name
            .strip_prefix(word)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        let referenced = word
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('.'));
        let named = self.tokens[index + 1..]
            .iter()
            .take_while(|token| matches!(token.kind, TokenKind::Property { .. }))
            .any(|token| token.key(self.text) == "name" && token.value(self.text) == name);
        word == name || numbered || referenced || named
    }

    /// The first word spelled exactly `word`.
    fn word(&self, word: &str) -> Option<usize> {
        self.tokens
            .iter()
            .find(|token| token.kind == TokenKind::Word && token.text(self.text) == word)
            .map(|token| token.start)
    }

    /// The property `key`, preferably one of the element named `element`.
    fn property(&self, key: &str, element: Option<&str>) -> Option<usize> {
        let candidates: Vec<usize> = (0..self.tokens.len())
            .filter(|&index| {
                let token = &self.tokens[index];
                matches!(token.kind, TokenKind::Property { .. }) && token.key(self.text) == key
            })
            .collect();
        let of_element = candidates.iter().find(|&&index| {
            element.is_some_and(|element| {
                self.owner(index)
                    .is_some_and(|owner| self.matches(owner, element))
            })
        });
        of_element
            .or(candidates.first())
            .map(|&index| self.tokens[index].start)
    }

    /// The link from element `from` to element `to`, or failing that a
    /// link leaving `from` or one entering `to`.
    fn link(&self, from: &str, to: &str) -> Option<usize> {
        let links: Vec<usize> = (0..self.tokens.len())
            .filter(|&index| self.tokens[index].kind == TokenKind::Link)
            .collect();
        let leaves = |index: usize| {
            index
                .checked_sub(1)
                .and_then(|before| self.owner(before))
                .is_some_and(|owner| self.matches(owner, from))
        };
        let enters = |index: usize| self.is_word(index + 1) && self.matches(index + 1, to);
        let found = links
            .iter()
            .find(|&&index| leaves(index) && enters(index))
            .or_else(|| links.iter().find(|&&index| leaves(index)))
            .or_else(|| links.iter().find(|&&index| enters(index)));
        found.map(|&index| self.tokens[index].start)
    }

    /// The first `(` directly followed by `)`.
    fn empty_bin(&self) -> Option<usize> {
        self.tokens
            .windows(2)
            .find(|pair| pair[0].kind == TokenKind::Open && pair[1].kind == TokenKind::Close)
            .map(|pair| pair[0].start)
    }

    /// What the message quotes (from its first to its last double quote):
    /// a token spelled so, or else the text standing alone in the launch
    /// text (not inside a longer name).
    fn quoted_text(&self, message: &str) -> Option<usize> {
        let first = message.find('"')?;
        let last = message.rfind('"')?;
        let quoted = message.get(first + 1..last).filter(|q| !q.is_empty())?;
        if let Some(token) = self
            .tokens
            .iter()
            .find(|token| token.text(self.text) == quoted)
        {
            return Some(token.start);
        }
        let is_name_byte = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-');
        let bytes = self.text.as_bytes();
        self.text
            .match_indices(quoted)
            .map(|(at, _)| at)
            .find(|&at| {
                let before = at.checked_sub(1).and_then(|i| bytes.get(i));
                let after = bytes.get(at + quoted.len());
                !before.is_some_and(is_name_byte) && !after.is_some_and(is_name_byte)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline_file::lexer::lex;

    fn at(message: &str, text: &str) -> Option<usize> {
        locate(message, text, &lex(text).unwrap())
    }

    #[test]
    fn missing_elements_point_at_the_factory_name() {
        let text = "videotestsrc ! vidoeconvert ! fakesink";
        assert_eq!(at("no element \"vidoeconvert\"", text), Some(15));
    }

    #[test]
    fn properties_prefer_the_named_element() {
        let text = "a foo=1 ! b name=x foo=2 ! b foo=3";
        assert_eq!(at("no property \"foo\" in element \"x\"", text), Some(19));
        assert_eq!(at("no property \"foo\" in element \"b1\"", text), Some(19));
        assert_eq!(at("no property \"foo\" in element \"a\"", text), Some(2));
        assert_eq!(
            at(
                "could not set property \"foo\" in element \"zz\" to \"3\"",
                text
            ),
            Some(2)
        );
    }

    #[test]
    fn links_point_at_the_bang() {
        let text = "a ! b name=n ! c";
        assert_eq!(at("could not link a0 to b0", text), Some(2));
        assert_eq!(
            at("could not link n to c0, n can't handle caps x/y", text),
            Some(13)
        );
        assert_eq!(at("could not link zz to c3", text), Some(13));
        let text = "a name=t ! b t. ! c";
        assert_eq!(at("could not link t to c0", text), Some(16));
    }

    #[test]
    fn other_messages_use_the_quoted_text() {
        let text = "a ! video/x-raw,width=(int)\"64\" ! b";
        assert_eq!(
            at(
                "could not parse caps \"video/x-raw,width=(int)\"64\"\"",
                text
            ),
            Some(4)
        );
        assert_eq!(
            at(
                "specified empty bin \"bin\", not allowed",
                "decodebin ! ( )"
            ),
            Some(12)
        );
        assert_eq!(at("no bin \"bin\"", "decodebin ! bin"), Some(12));
        assert_eq!(at("no bin \"bin\"", "decodebin"), None);
        assert_eq!(at("syntax error", "a ! b"), None);
    }
}
