//! Where each byte of a decoded TOML string value sits in the file.
//!
//! Literal strings (`'…'`, and best of all multi-line `'''…'''`) keep the
//! file's bytes as they are, so offsets inside them are exact. Basic strings
//! (`"…"`, `"""…"""`) are decoded here a second time to follow their escapes:
//! a character written as an escape maps to its backslash, and a line-ending
//! backslash simply disappears. If the re-decoding does not reproduce the
//! value the TOML parser produced, every offset falls back to the start of
//! the value.

use std::ops::Range;

/// Maps byte offsets in a decoded string value to byte offsets in the file.
#[derive(Debug, Clone)]
pub(super) struct ValueMap {
    /// File offset of each value byte; empty when the mapping is not exact.
    offsets: Vec<usize>,
    /// File offset of the first content byte.
    start: usize,
    /// File offset just past the last content byte.
    end: usize,
}

impl ValueMap {
    /// Builds the map for `value`, the decoded form of the string literal
    /// found at `span` (delimiters included) in `file`.
    pub(super) fn new(file: &str, span: Range<usize>, value: &str) -> Self {
        let raw = file.get(span.clone()).unwrap_or_default();
        let delimiter = Delimiter::of(raw);
        let (start, end) = match delimiter {
            Some(delimiter) if raw.len() >= 2 * delimiter.len => {
                (span.start + delimiter.len, span.end - delimiter.len)
            }
            _ => (span.start, span.start),
        };
        let offsets = delimiter
            .and_then(|delimiter| {
                [false, true].into_iter().find_map(|normalize_crlf| {
                    let body = file.get(start..end)?;
                    let (decoded, offsets) = decode(body, start, delimiter, normalize_crlf)?;
                    (decoded == value).then_some(offsets)
                })
            })
            .unwrap_or_default();
        ValueMap {
            offsets,
            start,
            end,
        }
    }

    /// File offset of byte `offset` of the value; the end of the value for
    /// offsets past it, the start of the value when the map is not exact.
    pub(super) fn file_offset(&self, offset: usize) -> usize {
        if self.offsets.is_empty() {
            return self.start;
        }
        self.offsets.get(offset).copied().unwrap_or(self.end)
    }
}

/// The kind of TOML string literal.
#[derive(Debug, Clone, Copy)]
struct Delimiter {
    /// Length of the opening (and closing) delimiter.
    len: usize,
    /// Basic strings process backslash escapes; literal strings do not.
    basic: bool,
    /// Multi-line strings trim a newline right after the opening delimiter.
    multiline: bool,
}

impl Delimiter {
    fn of(raw: &str) -> Option<Delimiter> {
        let (len, basic) = if raw.starts_with("'''") {
            (3, false)
        } else if raw.starts_with("\"\"\"") {
            (3, true)
        } else if raw.starts_with('\'') {
            (1, false)
        } else if raw.starts_with('"') {
            (1, true)
        } else {
            return None;
        };
        Some(Delimiter {
            len,
            basic,
            multiline: len == 3,
        })
    }
}

/// Decodes the body of a string literal (between the delimiters) that starts
/// at file offset `base`, recording the file offset of every produced byte.
fn decode(
    body: &str,
    base: usize,
    delimiter: Delimiter,
    normalize_crlf: bool,
) -> Option<(String, Vec<usize>)> {
    let mut decoded = String::with_capacity(body.len());
    let mut offsets = Vec::with_capacity(body.len());
    let mut chars = body.char_indices().peekable();
    if delimiter.multiline {
        if body.starts_with("\r\n") {
            chars.nth(1);
        } else if body.starts_with('\n') {
            chars.next();
        }
    }
    let push = |decoded: &mut String, offsets: &mut Vec<usize>, c: char, at: usize, own: bool| {
        decoded.push(c);
        for byte in 0..c.len_utf8() {
            offsets.push(if own { at + byte } else { at });
        }
    };
    while let Some((index, c)) = chars.next() {
        let at = base + index;
        if c == '\r' && normalize_crlf && matches!(chars.peek(), Some((_, '\n'))) {
            continue;
        }
        if c != '\\' || !delimiter.basic {
            push(&mut decoded, &mut offsets, c, at, true);
            continue;
        }
        let (_, escape) = chars.next()?;
        let simple = match escape {
            'b' => Some('\u{8}'),
            't' => Some('\t'),
            'n' => Some('\n'),
            'f' => Some('\u{c}'),
            'r' => Some('\r'),
            'e' => Some('\u{1b}'),
            '"' => Some('"'),
            '\\' => Some('\\'),
            _ => None,
        };
        if let Some(value) = simple {
            push(&mut decoded, &mut offsets, value, at, false);
            continue;
        }
        let digits = match escape {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            c if delimiter.multiline && c.is_whitespace() => {
                // Line-ending backslash: drop all whitespace up to the next
                // non-blank character.
                while chars.next_if(|(_, next)| next.is_whitespace()).is_some() {}
                continue;
            }
            _ => return None,
        };
        let mut code = 0u32;
        for _ in 0..digits {
            let (_, digit) = chars.next()?;
            code = code * 16 + digit.to_digit(16)?;
        }
        push(&mut decoded, &mut offsets, char::from_u32(code)?, at, false);
    }
    Some((decoded, offsets))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Maps `value` found as the first string literal after `launch = `.
    fn map_launch(file: &str, value: &str) -> (ValueMap, usize) {
        let start = file
            .find("launch = ")
            .map_or(0, |at| at + "launch = ".len());
        let end = file.trim_end().len();
        (ValueMap::new(file, start..end, value), start)
    }

    #[test]
    fn multiline_literal_offsets_are_exact() {
        let file = "launch = '''\nab ç\n  cd'''";
        let (map, start) = map_launch(file, "ab ç\n  cd");
        assert_eq!(map.file_offset(0), start + 4);
        assert_eq!(map.file_offset(3), start + 7);
        assert_eq!(map.file_offset(8), start + 12);
        assert_eq!(map.file_offset(100), file.len() - 3);
    }

    #[test]
    fn single_line_literal_offsets_are_exact() {
        let file = "launch = 'a\\b'";
        let (map, start) = map_launch(file, "a\\b");
        assert_eq!(map.file_offset(2), start + 3);
    }

    #[test]
    fn basic_string_escapes_map_to_their_backslash() {
        let file = r#"launch = "a\tb\u00e7c""#;
        let (map, start) = map_launch(file, "a\tbçc");
        assert_eq!(map.file_offset(1), start + 2);
        assert_eq!(map.file_offset(2), start + 4);
        assert_eq!(map.file_offset(3), start + 5);
        assert_eq!(map.file_offset(4), start + 5);
        assert_eq!(map.file_offset(5), start + 11);
    }

    #[test]
    fn multiline_basic_line_ending_backslash_is_skipped() {
        let file = "launch = \"\"\"\nab \\\n    cd\"\"\"";
        let (map, start) = map_launch(file, "ab cd");
        assert_eq!(map.file_offset(3), start + 13);
    }

    #[test]
    fn crlf_normalised_by_the_parser_still_maps() {
        let file = "launch = '''\r\na\r\nb'''";
        let (map, start) = map_launch(file, "a\nb");
        assert_eq!(map.file_offset(2), start + 8);
    }

    #[test]
    fn mismatch_falls_back_to_value_start() {
        let file = "launch = 'abc'";
        let (map, start) = map_launch(file, "something else");
        assert_eq!(map.file_offset(5), start + 1);
        let (broken, _) = map_launch("launch = x", "x");
        assert_eq!(broken.file_offset(0), 9);
        let nowhere = ValueMap::new("", 4..90, "x");
        assert_eq!(nowhere.file_offset(3), 4);
    }
}
