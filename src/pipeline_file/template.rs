//! The launch text as written: literal text and `${name}` references.
//!
//! A value replaces its reference as one double-quoted gst-launch string
//! (`\` and `"` escaped), so characters such as `&`, `?`, `!` or spaces in a
//! value cannot change the pipeline's structure. A reference that already
//! sits inside a double-quoted string gets the escaped value without extra
//! quotes. `$${` stands for a literal `${`.

use std::ops::Range;

use super::position::Problem;

/// Whether `name` is usable as a variable name: ASCII letters, digits, `_`
/// and `-`, at least one character.
pub(super) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// One piece of the launch text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// Text copied as is: a byte range of the launch text.
    Literal(Range<usize>),
    /// A `${name}` reference starting (at its `$`) at byte `at`.
    Reference {
        name: String,
        at: usize,
        in_quotes: bool,
    },
}

/// A parsed launch text.
#[derive(Debug, Clone)]
pub(super) struct Template {
    text: String,
    pieces: Vec<Piece>,
}

impl Template {
    /// Splits `text` into literal text and references; problems carry byte
    /// offsets into `text`.
    pub(super) fn parse(text: &str) -> Result<Template, Problem> {
        let bytes = text.as_bytes();
        let mut pieces = Vec::new();
        let mut literal_start = 0;
        let mut in_quotes = false;
        let mut escaped = false;
        let mut i = 0;
        while let Some(&byte) = bytes.get(i) {
            let next = |n: usize| bytes.get(i + n).copied();
            if byte == b'$' && next(1) == Some(b'$') && next(2) == Some(b'{') {
                pieces.push(Piece::Literal(literal_start..i));
                // The literal goes on with the `${` after the first `$`.
                literal_start = i + 1;
                i += 3;
                escaped = false;
                continue;
            }
            if byte == b'$' && next(1) == Some(b'{') {
                pieces.push(Piece::Literal(literal_start..i));
                let rest = &text[i + 2..];
                let Some(close) = rest
                    .find(['}', '\n'])
                    .filter(|&k| rest[k..].starts_with('}'))
                else {
                    return Err(Problem::new(
                        i,
                        "unterminated variable reference: `${` without `}`",
                    ));
                };
                let name = &rest[..close];
                if !valid_name(name) {
                    return Err(Problem::new(
                        i,
                        format!(
                            "invalid variable name \"{name}\" (use letters, digits, `_` and `-`)"
                        ),
                    ));
                }
                pieces.push(Piece::Reference {
                    name: name.to_owned(),
                    at: i,
                    in_quotes,
                });
                i += 2 + close + 1;
                literal_start = i;
                escaped = false;
                continue;
            }
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_quotes = !in_quotes;
            }
            i += 1;
        }
        pieces.push(Piece::Literal(literal_start..text.len()));
        pieces.retain(|piece| !matches!(piece, Piece::Literal(range) if range.is_empty()));
        Ok(Template {
            text: text.to_owned(),
            pieces,
        })
    }

    /// The launch text as written in the file.
    pub(super) fn text(&self) -> &str {
        &self.text
    }

    /// Every reference: its name and the byte offset of its `$`.
    pub(super) fn references(&self) -> impl Iterator<Item = (&str, usize)> {
        self.pieces.iter().filter_map(|piece| match piece {
            Piece::Reference { name, at, .. } => Some((name.as_str(), *at)),
            Piece::Literal(_) => None,
        })
    }

    /// Replaces every reference with the quoted form of `value(name)`.
    pub(super) fn render<'v>(&self, value: impl Fn(&str) -> &'v str) -> Rendered {
        let mut text = String::with_capacity(self.text.len());
        let mut origins = Vec::with_capacity(self.text.len());
        for piece in &self.pieces {
            match piece {
                Piece::Literal(range) => {
                    text.push_str(self.text.get(range.clone()).unwrap_or_default());
                    origins.extend(range.clone());
                }
                Piece::Reference {
                    name,
                    at,
                    in_quotes,
                } => {
                    let quoted = quote(value(name), *in_quotes);
                    origins.extend(std::iter::repeat_n(*at, quoted.len()));
                    text.push_str(&quoted);
                }
            }
        }
        Rendered {
            text,
            origins,
            end: self.text.len(),
        }
    }
}

/// A value as a gst-launch string: escaped, and double-quoted unless it
/// already sits inside quotes.
fn quote(value: &str, in_quotes: bool) -> String {
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
    if in_quotes {
        escaped
    } else {
        format!("\"{escaped}\"")
    }
}

/// The launch text with values substituted, and where each byte came from.
#[derive(Debug, Clone)]
pub(super) struct Rendered {
    text: String,
    /// Launch-text offset of each rendered byte (the `$` of a reference for
    /// substituted bytes).
    origins: Vec<usize>,
    end: usize,
}

impl Rendered {
    /// The substituted text.
    pub(super) fn text(&self) -> &str {
        &self.text
    }

    /// The launch-text offset a rendered byte offset comes from.
    pub(super) fn template_offset(&self, offset: usize) -> usize {
        self.origins.get(offset).copied().unwrap_or(self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str, value: &str) -> Rendered {
        Template::parse(text).unwrap().render(|_| value)
    }

    #[test]
    fn substitutes_quoted_values() {
        let rendered = render("src url=${url} ! sink", "http://h/?a=1&b=\"x\\y\" ! z");
        assert_eq!(
            rendered.text(),
            r#"src url="http://h/?a=1&b=\"x\\y\" ! z" ! sink"#
        );
    }

    #[test]
    fn values_inside_quotes_are_escaped_only() {
        let rendered = render(r#"f location="/tmp/${name}.mp4""#, "a\"b");
        assert_eq!(rendered.text(), r#"f location="/tmp/a\"b.mp4""#);
        let rendered = render(r#"f a="\"" b=${x}"#, "v");
        assert_eq!(rendered.text(), r#"f a="\"" b="v""#);
    }

    #[test]
    fn double_dollar_escapes_a_reference() {
        let template = Template::parse("a=$${x} b=$x c=$$ ${y}").unwrap();
        let names: Vec<_> = template.references().collect();
        assert_eq!(names, vec![("y", 18)]);
        let rendered = template.render(|_| "v");
        assert_eq!(rendered.text(), "a=${x} b=$x c=$$ \"v\"");
        // The `$` and `{` of the escape map to the escaped characters.
        assert_eq!(rendered.template_offset(2), 3);
        assert_eq!(rendered.template_offset(3), 4);
    }

    #[test]
    fn rendered_offsets_map_back_to_the_template() {
        let rendered = render("ab ${v} cd", "xyz");
        assert_eq!(rendered.text(), "ab \"xyz\" cd");
        assert_eq!(rendered.template_offset(1), 1);
        assert_eq!(rendered.template_offset(5), 3);
        assert_eq!(rendered.template_offset(9), 8);
        assert_eq!(rendered.template_offset(100), 10);
    }

    #[test]
    fn unterminated_reference_is_reported_at_its_dollar() {
        let problem = Template::parse("a ${url\n b}").unwrap_err();
        assert_eq!(problem.offset, 2);
        assert!(
            problem.reason.contains("unterminated"),
            "{}",
            problem.reason
        );
        assert_eq!(Template::parse("x ${").unwrap_err().offset, 2);
    }

    #[test]
    fn invalid_names_are_reported() {
        let problem = Template::parse("a ${u rl}").unwrap_err();
        assert_eq!(problem.offset, 2);
        assert!(problem.reason.contains("\"u rl\""), "{}", problem.reason);
        assert!(Template::parse("${}").is_err());
        assert!(valid_name("a-b_9"));
        assert!(!valid_name("é"));
    }
}
