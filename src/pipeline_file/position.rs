//! Byte offsets in a pipeline file turned into `line:column` positions.

use super::error::{ErrorKind, PipelineFileError};

/// A problem found by one of the inner passes, at a byte offset in whatever
/// text that pass works on (file, launch value, substituted launch text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Problem {
    /// Byte offset of the problem in the pass's own text.
    pub offset: usize,
    /// Human-readable reason.
    pub reason: String,
}

impl Problem {
    /// A problem at `offset`.
    pub(super) fn new(offset: usize, reason: impl Into<String>) -> Self {
        Problem {
            offset,
            reason: reason.into(),
        }
    }
}

/// The name and full text of one pipeline file.
#[derive(Debug, Clone)]
pub(super) struct Source {
    origin: String,
    text: String,
}

impl Source {
    /// Wraps a file's text; `origin` is the name used in messages.
    pub(super) fn new(origin: &str, text: &str) -> Self {
        Source {
            origin: origin.to_owned(),
            text: text.to_owned(),
        }
    }

    /// The name used in messages.
    pub(super) fn origin(&self) -> &str {
        &self.origin
    }

    /// 1-based line and column (in characters) of a byte offset; offsets past
    /// the end or inside a character are clamped.
    pub(super) fn line_column(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        let line = before.matches('\n').count() + 1;
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// An error at a byte offset of the file.
    pub(super) fn error(
        &self,
        offset: usize,
        kind: ErrorKind,
        reason: impl Into<String>,
    ) -> PipelineFileError {
        PipelineFileError::new(&self.origin, self.line_column(offset), kind, reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_lines_and_character_columns() {
        let source = Source::new("f.toml", "ab\nçd\n\nx");
        assert_eq!(source.line_column(0), (1, 1));
        assert_eq!(source.line_column(2), (1, 3));
        assert_eq!(source.line_column(3), (2, 1));
        // 'ç' is two bytes, 'd' is the second character.
        assert_eq!(source.line_column(5), (2, 2));
        assert_eq!(source.line_column(7), (3, 1));
        assert_eq!(source.line_column(8), (4, 1));
    }

    #[test]
    fn clamps_offsets_out_of_range_or_inside_a_character() {
        let source = Source::new("f.toml", "aç");
        assert_eq!(source.line_column(2), (1, 2));
        assert_eq!(source.line_column(100), (1, 3));
        assert_eq!(Source::new("e", "").line_column(5), (1, 1));
    }

    #[test]
    fn builds_errors_with_position() {
        let source = Source::new("p.toml", "a\nbc");
        let error = source.error(3, ErrorKind::Syntax, "bad");
        assert_eq!(error.to_string(), "p.toml:2:2: bad");
        assert_eq!(source.origin(), "p.toml");
    }
}
