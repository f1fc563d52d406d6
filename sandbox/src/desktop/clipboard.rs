//! The desktop's clipboard: plain text, plus the HTML a client may set beside it.

/// What the clipboard holds; Ctrl+V types `text`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Clipboard {
    /// Plain text.
    pub text: String,
    /// Rich text as HTML; empty when the clipboard holds only plain text.
    pub html: String,
}

impl Clipboard {
    /// A clipboard holding plain `text` only (what a copy or a paste leaves).
    pub fn plain(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            html: String::new(),
        }
    }
}
