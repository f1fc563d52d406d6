//! The one error type of the loader: every failure names the file, a line,
//! a column and the reason.

/// What went wrong, for callers that want to react differently per class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be read.
    Io,
    /// TOML syntax, or a key or value that does not fit the file format.
    Format,
    /// A `${name}` reference or a variable value is wrong.
    Variable,
    /// The launch text failed the loader's own gst-launch syntax checks.
    Syntax,
    /// GStreamer refused the launch text.
    Launch,
    /// An element listed in `appsinks`/`appsrcs` is missing or of the wrong type.
    Element,
}

/// A pipeline file problem, displayed as `file:line:column: reason`.
///
/// Lines and columns are 1-based; columns count characters, not bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}:{line}:{column}: {reason}")]
pub struct PipelineFileError {
    origin: String,
    line: usize,
    column: usize,
    kind: ErrorKind,
    reason: String,
}

impl PipelineFileError {
    /// Builds an error at an already computed position.
    pub(super) fn new(
        origin: &str,
        (line, column): (usize, usize),
        kind: ErrorKind,
        reason: impl Into<String>,
    ) -> Self {
        PipelineFileError {
            origin: origin.to_owned(),
            line,
            column,
            kind,
            reason: reason.into(),
        }
    }

    /// The file the error is about, as given to [`super::PipelineFile::parse`].
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// 1-based line in the file.
    pub fn line(&self) -> usize {
        self.line
    }

    /// 1-based column (in characters) in the file.
    pub fn column(&self) -> usize {
        self.column
    }

    /// The class of the problem.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The reason alone, without the position.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_file_line_column_reason() {
        let error = PipelineFileError::new(
            "pipelines/watch.toml",
            (12, 7),
            ErrorKind::Launch,
            "no element \"vidoeconvert\"",
        );
        assert_eq!(
            error.to_string(),
            "pipelines/watch.toml:12:7: no element \"vidoeconvert\""
        );
        assert_eq!(error.kind(), ErrorKind::Launch);
        assert_eq!(error.reason(), "no element \"vidoeconvert\"");
        assert_eq!((error.line(), error.column()), (12, 7));
        assert_eq!(error.origin(), "pipelines/watch.toml");
    }
}
