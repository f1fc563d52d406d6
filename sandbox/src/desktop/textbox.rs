//! The text box's editing model: contents, select-all, clipboard and scrolling.
//!
//! Editing always happens at the end of the text. The view shows the last lines
//! of the hard-wrapped text, moved back into the history by scrolling.

/// The text box holds at most this many characters; further input is dropped.
pub const MAX_CHARS: usize = 32_768;

use super::clipboard::Clipboard;

/// What Tab inserts.
const TAB_SPACES: &str = "    ";

/// Contents and editing state of the text box.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextBox {
    text: String,
    chars: usize,
    selected_all: bool,
    clipboard: Clipboard,
    scroll_back: usize,
}

/// The lines currently visible in the text box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextView<'a> {
    /// The visible lines, top to bottom.
    pub lines: Vec<&'a str>,
    /// Index of the first visible line among all wrapped lines.
    pub first: usize,
    /// Number of wrapped lines in the whole text.
    pub total: usize,
}

impl TextBox {
    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether everything is selected (Ctrl+A).
    pub fn is_selected(&self) -> bool {
        self.selected_all
    }

    /// Types `input` at the end, replacing the selection.
    ///
    /// CR and CRLF become newlines, Tab becomes spaces, other control characters are dropped.
    pub fn insert(&mut self, input: &str) {
        if self.selected_all {
            self.clear();
        }
        self.scroll_back = 0;
        let mut chars = input.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' if chars.peek() == Some(&'\n') => {}
                '\r' | '\n' => self.push('\n'),
                '\t' => TAB_SPACES.chars().for_each(|c| self.push(c)),
                c if c.is_control() => {}
                c => self.push(c),
            }
        }
    }

    /// Appends one character unless the box is full.
    fn push(&mut self, c: char) {
        if self.chars < MAX_CHARS {
            self.text.push(c);
            self.chars += 1;
        }
    }

    /// Deletes the selection, or else the last character.
    pub fn backspace(&mut self) {
        self.scroll_back = 0;
        if self.selected_all {
            self.clear();
        } else if self.text.pop().is_some() {
            self.chars -= 1;
        }
    }

    /// Selects everything.
    pub fn select_all(&mut self) {
        self.selected_all = true;
    }

    /// Copies the selection to the clipboard; without a selection nothing happens.
    pub fn copy(&mut self) {
        if self.selected_all {
            self.clipboard = Clipboard::plain(&self.text);
        }
    }

    /// Copies the selection to the clipboard and deletes it.
    pub fn cut(&mut self) {
        if self.selected_all {
            self.copy();
            self.clear();
        }
    }

    /// Types the clipboard contents (Ctrl+V).
    pub fn paste_clipboard(&mut self) {
        let clipboard = std::mem::take(&mut self.clipboard);
        self.insert(&clipboard.text);
        self.clipboard = clipboard;
    }

    /// Makes `text` the clipboard and types it.
    pub fn paste(&mut self, text: &str) {
        self.clipboard = Clipboard::plain(text);
        self.insert(text);
    }

    /// What the clipboard holds.
    pub fn clipboard(&self) -> &Clipboard {
        &self.clipboard
    }

    /// Replaces the clipboard without typing anything.
    pub fn set_clipboard(&mut self, clipboard: Clipboard) {
        self.clipboard = clipboard;
    }

    /// Empties the box and drops the selection.
    fn clear(&mut self) {
        self.text.clear();
        self.chars = 0;
        self.selected_all = false;
    }

    /// Moves the view `lines` lines back into the history (negative: forward),
    /// for a box of `cols` × `rows` characters.
    pub fn scroll(&mut self, lines: i64, cols: usize, rows: usize) {
        let max_back = self.wrap(cols).len().saturating_sub(rows);
        let back = i64::try_from(self.scroll_back).unwrap_or(i64::MAX);
        let back = back.saturating_add(lines).clamp(0, max_back as i64);
        self.scroll_back = usize::try_from(back).unwrap_or(0);
    }

    /// The lines visible in a box of `cols` × `rows` characters.
    pub fn view(&self, cols: usize, rows: usize) -> TextView<'_> {
        let wrapped = self.wrap(cols);
        let total = wrapped.len();
        let end = total.saturating_sub(self.scroll_back.min(total.saturating_sub(rows)));
        let first = end.saturating_sub(rows);
        let lines = wrapped[first..end]
            .iter()
            .map(|&(start, stop)| &self.text[start..stop])
            .collect();
        TextView {
            lines,
            first,
            total,
        }
    }

    /// Byte ranges of the lines of the text hard-wrapped at `cols` characters.
    fn wrap(&self, cols: usize) -> Vec<(usize, usize)> {
        let cols = cols.max(1);
        let mut lines = Vec::new();
        let (mut start, mut col) = (0, 0);
        for (i, c) in self.text.char_indices() {
            if c == '\n' {
                lines.push((start, i));
                (start, col) = (i + 1, 0);
                continue;
            }
            if col == cols {
                lines.push((start, i));
                (start, col) = (i, 0);
            }
            col += 1;
        }
        lines.push((start, self.text.len()));
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(text: &str) -> TextBox {
        let mut tb = TextBox::default();
        tb.insert(text);
        tb
    }

    #[test]
    fn insert_normalises_control_characters() {
        let tb = boxed("a\r\nb\rc\td\u{7}é");
        assert_eq!(tb.text(), "a\nb\nc    dé");
    }

    #[test]
    fn select_all_then_type_or_backspace() {
        let mut tb = boxed("hello");
        tb.select_all();
        tb.insert("x");
        assert_eq!(tb.text(), "x");
        tb.select_all();
        tb.backspace();
        assert_eq!(tb.text(), "");
        tb.backspace();
        assert_eq!(tb.text(), "");
    }

    #[test]
    fn copy_cut_and_paste() {
        let mut tb = boxed("abc");
        tb.copy();
        tb.paste_clipboard();
        assert_eq!(tb.text(), "abc", "nothing selected, nothing copied");
        tb.select_all();
        tb.cut();
        assert_eq!(tb.text(), "");
        tb.paste_clipboard();
        tb.paste_clipboard();
        assert_eq!(tb.text(), "abcabc");
        tb.paste("Z");
        tb.paste_clipboard();
        assert_eq!(tb.text(), "abcabcZZ");
    }

    #[test]
    fn wrapping_and_view() {
        let tb = boxed("abcdefg\nhi\n");
        let view = tb.view(3, 10);
        assert_eq!(view.lines, vec!["abc", "def", "g", "hi", ""]);
        assert_eq!((view.first, view.total), (0, 5));
        let view = tb.view(3, 2);
        assert_eq!(view.lines, vec!["hi", ""]);
        assert_eq!(view.first, 3);
    }

    #[test]
    fn scrolling_is_clamped_and_reset_by_typing() {
        let mut tb = boxed("1\n2\n3\n4\n5");
        tb.scroll(100, 10, 2);
        assert_eq!(tb.view(10, 2).lines, vec!["1", "2"]);
        tb.scroll(-1, 10, 2);
        assert_eq!(tb.view(10, 2).lines, vec!["2", "3"]);
        tb.scroll(i64::MIN, 10, 2);
        assert_eq!(tb.view(10, 2).lines, vec!["4", "5"]);
        tb.scroll(2, 10, 2);
        tb.insert("6");
        assert_eq!(tb.view(10, 2).lines, vec!["4", "56"]);
        assert_eq!(tb.view(0, 0).lines, Vec::<&str>::new());
    }

    #[test]
    fn length_is_capped() {
        let mut tb = TextBox::default();
        tb.paste(&"x".repeat(MAX_CHARS + 10));
        tb.insert("y");
        assert_eq!(tb.text().len(), MAX_CHARS);
        tb.backspace();
        tb.insert("é");
        assert!(tb.text().ends_with('é'));
    }
}
