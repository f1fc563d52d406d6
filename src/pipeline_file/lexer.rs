//! A light gst-launch lexer: splits the substituted launch text into tokens
//! and catches the mistakes GStreamer would only report as a position-less
//! "syntax error" (or not at all): an unterminated double quote, a link `!`
//! with nothing on one side, unbalanced parentheses, a property without a
//! name or a value.
//!
//! Only double quotes quote; a backslash escapes the next character. Inside
//! a word, parentheses pair up (`width=(int)640`), and caps may continue
//! after a comma and blanks (`video/x-raw, format=RGB`), as in GStreamer.

use super::position::Problem;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TokenKind {
    /// An element factory, a caps string or an element reference (`name.`).
    Word,
    /// `key=value`; `eq` is the byte offset of `=`.
    Property {
        /// Byte offset of the `=`.
        eq: usize,
    },
    /// `!`
    Link,
    /// `(`
    Open,
    /// `)`
    Close,
}

/// One token: its kind and byte range in the lexed text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Token {
    /// What the token is.
    pub kind: TokenKind,
    /// Offset of its first byte.
    pub start: usize,
    /// Offset just past its last byte.
    pub end: usize,
}

impl Token {
    /// The token's text.
    pub(super) fn text<'t>(&self, text: &'t str) -> &'t str {
        text.get(self.start..self.end).unwrap_or_default()
    }

    /// For a property, its key; otherwise the whole text.
    pub(super) fn key<'t>(&self, text: &'t str) -> &'t str {
        match self.kind {
            TokenKind::Property { eq } => text.get(self.start..eq).unwrap_or_default().trim_end(),
            _ => self.text(text),
        }
    }

    /// For a property, its value without surrounding double quotes.
    pub(super) fn value<'t>(&self, text: &'t str) -> &'t str {
        let TokenKind::Property { eq } = self.kind else {
            return "";
        };
        let value = text.get(eq + 1..self.end).unwrap_or_default().trim_start();
        value
            .strip_prefix('"')
            .and_then(|value| value.strip_suffix('"'))
            .unwrap_or(value)
    }
}

/// Splits `text` into tokens and checks its structure.
pub(super) fn lex(text: &str) -> Result<Vec<Token>, Problem> {
    let tokens = tokenize(text)?;
    check_structure(text, &tokens)?;
    Ok(tokens)
}

fn is_blank(byte: u8) -> bool {
    byte.is_ascii_whitespace()
}

/// Characters of property keys (GStreamer also allows `:` for child
/// properties and `%`).
fn is_key_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b':' | b'%')
}

fn tokenize(text: &str) -> Result<Vec<Token>, Problem> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let single = match byte {
            b'!' => Some(TokenKind::Link),
            b'(' => Some(TokenKind::Open),
            b')' => Some(TokenKind::Close),
            _ => None,
        };
        if let Some(kind) = single {
            tokens.push(Token {
                kind,
                start: i,
                end: i + 1,
            });
            i += 1;
            continue;
        }
        if is_blank(byte) {
            i += 1;
            continue;
        }
        let token = word_or_property(text, i)?;
        i = token.end;
        tokens.push(token);
    }
    Ok(tokens)
}

/// Reads the word starting at `start`; a word of key characters followed
/// by `=` (possibly with blanks around it) becomes a property.
fn word_or_property(text: &str, start: usize) -> Result<Token, Problem> {
    let bytes = text.as_bytes();
    if bytes.get(start) == Some(&b'=') {
        return Err(Problem::new(start, "'=' without a property name before it"));
    }
    let end = scan_word(text, start)?;
    let word = &bytes[start..end];
    let eq = match word.iter().position(|&b| b == b'=') {
        Some(at) if word[..at].iter().all(|&b| is_key_byte(b)) => Some(start + at),
        Some(_) => None,
        None if word.iter().all(|&b| is_key_byte(b)) => {
            let after = end + count_blanks(&bytes[end..]);
            (bytes.get(after) == Some(&b'=')).then_some(after)
        }
        None => None,
    };
    let Some(eq) = eq else {
        return Ok(Token {
            kind: TokenKind::Word,
            start,
            end,
        });
    };
    let value_start = eq + 1 + count_blanks(&bytes[eq + 1..]);
    let end = if eq + 1 < end {
        // `key=value` written as one word.
        end
    } else {
        // `key = value` or `key= value`.
        scan_word(text, value_start)?
    };
    if end <= value_start {
        let key = text.get(start..eq).unwrap_or_default().trim_end();
        return Err(Problem::new(
            start,
            format!("property \"{key}\" has no value"),
        ));
    }
    Ok(Token {
        kind: TokenKind::Property { eq },
        start,
        end,
    })
}

fn count_blanks(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|&&b| is_blank(b)).count()
}

/// Returns the end of the word starting at `start`.
fn scan_word(text: &str, start: usize) -> Result<usize, Problem> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = start;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'\\' => {
                i += 2;
                continue;
            }
            b'"' => {
                i = closing_quote(bytes, i)
                    .ok_or_else(|| Problem::new(i, "unterminated double-quoted string"))?
                    + 1;
                continue;
            }
            b'!' => break,
            b'(' if i == start || bytes[..i].ends_with(b".") => break,
            b'(' => depth += 1,
            b')' if depth == 0 => break,
            b')' => depth -= 1,
            b',' if looks_like_caps(&bytes[start..i]) => {
                let blanks = count_blanks(&bytes[i + 1..]);
                if blanks > 0 && bytes.get(i + 1 + blanks).is_some_and(|&b| b != b'!') {
                    i += 1 + blanks;
                    continue;
                }
            }
            _ if is_blank(byte) => break,
            _ => {}
        }
        i += 1;
    }
    Ok(i.min(bytes.len()))
}

/// Offset of the `"` closing the string opened at `open`.
fn closing_quote(bytes: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// Whether a word begins like a media type (`video/x-raw`).
fn looks_like_caps(word: &[u8]) -> bool {
    match word.iter().position(|&b| b == b'/') {
        Some(slash) => slash > 0 && word[..slash].iter().all(|&b| is_key_byte(b) || b == b'*'),
        None => false,
    }
}

/// Checks links and parentheses.
fn check_structure(text: &str, tokens: &[Token]) -> Result<(), Problem> {
    if tokens.is_empty() {
        return Err(Problem::new(0, "the pipeline description is empty"));
    }
    let mut open = Vec::new();
    for (index, token) in tokens.iter().enumerate() {
        match token.kind {
            TokenKind::Link => {
                let before = index.checked_sub(1).and_then(|i| tokens.get(i));
                if !before.is_some_and(|t| {
                    matches!(
                        t.kind,
                        TokenKind::Word | TokenKind::Property { .. } | TokenKind::Close
                    )
                }) {
                    return Err(Problem::new(
                        token.start,
                        "link '!' has no element on its left",
                    ));
                }
                match tokens.get(index + 1).map(|t| t.kind) {
                    Some(TokenKind::Word | TokenKind::Open) => {}
                    Some(TokenKind::Property { .. }) => {
                        let key = tokens[index + 1].key(text);
                        return Err(Problem::new(
                            token.start,
                            format!(
                                "link '!' is followed by property \"{key}\", not by an element"
                            ),
                        ));
                    }
                    _ => {
                        return Err(Problem::new(
                            token.start,
                            "link '!' has no element on its right",
                        ));
                    }
                }
            }
            TokenKind::Open => open.push(token.start),
            TokenKind::Close => {
                if open.pop().is_none() {
                    return Err(Problem::new(token.start, "')' without a matching '('"));
                }
            }
            TokenKind::Word | TokenKind::Property { .. } => {}
        }
    }
    match open.pop() {
        Some(at) => Err(Problem::new(at, "'(' is never closed")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(TokenKind, &str)> {
        lex(text)
            .unwrap()
            .iter()
            .map(|t| (t.kind, t.text(text)))
            .collect()
    }

    fn problem(text: &str) -> Problem {
        lex(text).unwrap_err()
    }

    #[test]
    fn splits_elements_properties_links_and_caps() {
        let text =
            "src url=\"a b ! c\" ! video/x-raw, format=RGB,width=(int)64 ! q leaky = 2 ! sink";
        let tokens = kinds(text);
        let texts: Vec<_> = tokens.iter().map(|&(_, t)| t).collect();
        assert_eq!(
            texts,
            vec![
                "src",
                "url=\"a b ! c\"",
                "!",
                "video/x-raw, format=RGB,width=(int)64",
                "!",
                "q",
                "leaky = 2",
                "!",
                "sink"
            ]
        );
        assert!(matches!(tokens[1].0, TokenKind::Property { eq: 7 }));
        assert_eq!(tokens[3].0, TokenKind::Word);
        let lexed = lex(text).unwrap();
        assert_eq!(lexed[6].key(text), "leaky");
        assert_eq!(lexed[6].value(text), "2");
        assert_eq!(lexed[1].value(text), "a b ! c");
        assert_eq!(lexed[0].value(text), "");
        assert_eq!(lexed[0].key(text), "src");
    }

    #[test]
    fn bins_and_references() {
        let tokens = kinds("a name=t ! bin.( b ) (c) t. ! d");
        let texts: Vec<_> = tokens.iter().map(|&(_, t)| t).collect();
        assert_eq!(
            texts,
            vec![
                "a", "name=t", "!", "bin.", "(", "b", ")", "(", "c", ")", "t.", "!", "d"
            ]
        );
    }

    #[test]
    fn escaped_quotes_do_not_end_strings() {
        let text = r#"a p="x\"y" q=\" ! b"#;
        assert_eq!(kinds(text).len(), 5);
    }

    #[test]
    fn unterminated_quote_is_reported_at_the_quote() {
        let problem = problem("a ! b location=\"abc ! c");
        assert_eq!(problem.offset, 15);
        assert!(problem.reason.contains("unterminated"));
    }

    #[test]
    fn dangling_links_are_reported_at_the_link() {
        assert_eq!(problem("! a").offset, 0);
        assert_eq!(problem("a ! ! b").offset, 2);
        assert_eq!(problem("a !").offset, 2);
        assert_eq!(problem("( a ! ) b").offset, 4);
        assert_eq!(problem("a (! b)").offset, 3);
        let problem = problem("a ! sync=false");
        assert_eq!(problem.offset, 2);
        assert!(problem.reason.contains("\"sync\""));
    }

    #[test]
    fn unbalanced_parentheses_are_reported() {
        let unclosed = problem("a ! ( b ! ( c )");
        assert_eq!(unclosed.offset, 4);
        assert!(unclosed.reason.contains("never closed"));
        let stray = problem("a ! b ) c");
        assert_eq!(stray.offset, 6);
        // Parentheses inside caps are part of the word.
        assert!(lex("a ! video/x-raw,width=(int)64 ! b").is_ok());
    }

    #[test]
    fn properties_need_a_name_and_a_value() {
        let missing = problem("a sync= ! b");
        assert_eq!(missing.offset, 2);
        assert!(missing.reason.contains("\"sync\""));
        assert_eq!(problem("a sync =").offset, 2);
        assert_eq!(problem("a ! = b").offset, 4);
        assert_eq!(kinds("a sync= false").len(), 2);
    }

    #[test]
    fn empty_text_is_refused() {
        assert_eq!(problem("  \n ").offset, 0);
    }

    #[test]
    fn never_panics_on_odd_input() {
        for text in [
            "\\", "a\\", "\"", "a=\"\\", "ç(ç)ç", "x/y,", "x/y, ", "a.(", "=\u{301}",
        ] {
            let _ = lex(text);
        }
    }
}
