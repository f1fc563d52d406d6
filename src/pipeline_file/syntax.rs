//! The mistakes in a launch text that GStreamer reports only as a position-less "syntax error"
//! (or not at all): an unterminated double quote, a link `!` with nothing on one side, and
//! unbalanced parentheses. Checked once when the file is parsed, so they come with a position.
//!
//! Only double quotes quote; a backslash escapes the next character. Inside a word, parentheses
//! pair up (`width=(int)640`); a `(` that starts a word, or follows a reference (`name.(`),
//! opens a bin.

use super::position::Problem;

/// What the scan saw last, for the checks on links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    Nothing,
    Element,
    Link(usize),
    Open,
    Close,
}

/// Checks the structure of `text`.
pub(super) fn check(text: &str) -> Result<(), Problem> {
    let bytes = text.as_bytes();
    let mut last = Last::Nothing;
    let mut open = Vec::new();
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            _ if byte.is_ascii_whitespace() => {}
            b'!' => {
                last = match last {
                    Last::Element | Last::Close => Last::Link(i),
                    Last::Link(link) => return Err(nothing_right(link)),
                    Last::Nothing | Last::Open => {
                        return Err(Problem::new(i, "link '!' has no element on its left"));
                    }
                };
            }
            b'(' => {
                open.push(i);
                last = Last::Open;
            }
            b')' => {
                if let Last::Link(link) = last {
                    return Err(nothing_right(link));
                }
                if open.pop().is_none() {
                    return Err(Problem::new(i, "')' without a matching '('"));
                }
                last = Last::Close;
            }
            _ => {
                i = word_end(bytes, i)?;
                last = Last::Element;
                continue;
            }
        }
        i += 1;
    }
    if let Last::Link(link) = last {
        return Err(nothing_right(link));
    }
    if last == Last::Nothing {
        return Err(Problem::new(0, "the pipeline description is empty"));
    }
    match open.pop() {
        Some(at) => Err(Problem::new(at, "'(' is never closed")),
        None => Ok(()),
    }
}

fn nothing_right(link: usize) -> Problem {
    Problem::new(link, "link '!' has no element on its right")
}

/// The end of the word (element, property, caps or reference) starting at `start`.
fn word_end(bytes: &[u8], start: usize) -> Result<usize, Problem> {
    let mut depth = 0usize;
    let mut i = start;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'\\' => i += 1,
            b'"' => {
                i = closing_quote(bytes, i)
                    .ok_or_else(|| Problem::new(i, "unterminated double-quoted string"))?;
            }
            b'!' => break,
            b'(' if bytes[..i].ends_with(b".") => break,
            b'(' => depth += 1,
            b')' if depth == 0 => break,
            b')' => depth -= 1,
            _ if byte.is_ascii_whitespace() => break,
            _ => {}
        }
        i += 1;
    }
    Ok(i.min(bytes.len()))
}

/// Offset of the `"` closing the string opened at `open`.
pub(super) fn closing_quote(bytes: &[u8], open: usize) -> Option<usize> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> Problem {
        check(text).unwrap_err()
    }

    #[test]
    fn well_formed_texts_pass() {
        for text in [
            "videotestsrc ! video/x-raw,width=(int)640, format=RGB ! fakesink",
            "a name=t ! ( b ! c ) t. ! d",
            "decodebin name=d d.( fakesink )",
            "filesrc location=\"a ! (b\\\" c\" ! fakesink",
            "appsrc name=in",
        ] {
            assert_eq!(check(text), Ok(()), "{text}");
        }
    }

    #[test]
    fn unterminated_quote_is_reported_at_the_quote() {
        assert_eq!(
            problem("a location=\"x\\\" ! b"),
            Problem::new(11, "unterminated double-quoted string")
        );
    }

    #[test]
    fn dangling_links_are_reported_at_the_link() {
        assert_eq!(problem("! a").offset, 0);
        assert!(problem("! a").reason.contains("left"));
        assert_eq!(problem("a ! ! b").offset, 2);
        assert!(problem("a ! ! b").reason.contains("right"));
        assert_eq!(problem("a !").offset, 2);
        assert_eq!(problem("( a ! ) b").offset, 4);
        assert!(problem("( ! a )").reason.contains("left"));
    }

    #[test]
    fn unbalanced_parentheses_are_reported() {
        assert_eq!(problem("a ! ( b").offset, 4);
        assert!(problem("a ! ( b").reason.contains("never closed"));
        assert_eq!(problem("a ) b").offset, 2);
        assert!(problem("a ) b").reason.contains("'('"));
    }

    #[test]
    fn empty_text_is_refused() {
        assert!(problem("  \n ").reason.contains("empty"));
    }

    #[test]
    fn never_panics_on_odd_input() {
        for text in ["\\", "\"", "a\\", "((", "))", "=", "!!", "a.(", "\"\\"] {
            let _ = check(text);
        }
    }
}
