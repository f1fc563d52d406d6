//! Splitting text into the pieces the speech engines are given: sentences packed greedily up to a
//! character budget, like the Python tool's `segment_text`, and [`StreamAssembler`] for text that
//! arrives a message at a time.
//!
//! Unlike the Python tool, nothing is ever dropped: text after the last punctuation mark is a
//! segment of its own, unpunctuated text longer than the budget is split (at commas, then at
//! whitespace, then anywhere) instead of truncated, and every segment is a slice of the input in
//! order, so the segments joined with the whitespace between them give the input back.

use std::ops::Range;

/// Characters that end a sentence when whitespace or the end of the text follows them (the
/// Python tool's `[.!?;:]+`).
const TERMINATORS: &[char] = &['.', '!', '?', ';', ':', '…'];
/// Full-width terminators (Chinese, Japanese), which end a sentence even with no space after them.
const WIDE_TERMINATORS: &[char] = &['。', '！', '？', '；'];
/// Closing quotes and brackets that belong to the sentence they follow (`He said "hi." Then`).
const CLOSERS: &[char] = &['"', '\'', ')', ']', '}', '»', '”', '’', '」', '』', '）'];

/// The input as characters, with their byte offsets, so spans can be measured in characters (as
/// Python's `len` does) and cut as string slices.
struct Chars<'a> {
    text: &'a str,
    /// Byte offset of every character, plus the text's length at the end.
    offsets: Vec<usize>,
    chars: Vec<char>,
}

impl<'a> Chars<'a> {
    fn new(text: &'a str) -> Self {
        let (offsets, chars): (Vec<usize>, Vec<char>) = text.char_indices().unzip();
        let mut offsets = offsets;
        offsets.push(text.len());
        Self {
            text,
            offsets,
            chars,
        }
    }

    fn len(&self) -> usize {
        self.chars.len()
    }

    fn slice(&self, span: &Range<usize>) -> &'a str {
        &self.text[self.offsets[span.start]..self.offsets[span.end]]
    }

    fn is_space(&self, i: usize) -> bool {
        self.chars[i].is_whitespace()
    }

    /// `span` without leading and trailing whitespace (empty if it is all whitespace).
    fn trim(&self, span: Range<usize>) -> Range<usize> {
        let mut start = span.start;
        let mut end = span.end;
        while start < end && self.is_space(start) {
            start += 1;
        }
        while end > start && self.is_space(end - 1) {
            end -= 1;
        }
        start..end
    }

    /// Where the sentence ending at the terminator at `i` ends, if it ends there: after the run of
    /// terminators and closers, when whitespace or the end of the text follows (or at once, for
    /// a full-width terminator).
    fn sentence_end(&self, i: usize) -> Option<usize> {
        let c = self.chars[i];
        if !TERMINATORS.contains(&c) && !WIDE_TERMINATORS.contains(&c) {
            return None;
        }
        let mut j = i;
        let mut wide = false;
        while j < self.len()
            && (TERMINATORS.contains(&self.chars[j]) || WIDE_TERMINATORS.contains(&self.chars[j]))
        {
            wide |= WIDE_TERMINATORS.contains(&self.chars[j]);
            j += 1;
        }
        while j < self.len() && CLOSERS.contains(&self.chars[j]) {
            j += 1;
        }
        (wide || j == self.len() || self.is_space(j)).then_some(j)
    }

    /// The sentences of the text, trimmed, in order; the flag says whether the last one ends
    /// with a terminator (a complete sentence) or is an unfinished tail.
    fn sentences(&self) -> (Vec<Range<usize>>, bool) {
        let mut sentences = Vec::new();
        let mut start = 0;
        let mut i = 0;
        let mut last_complete = true;
        while i < self.len() {
            match self.sentence_end(i) {
                Some(end) => {
                    let span = self.trim(start..end);
                    if !span.is_empty() {
                        sentences.push(span);
                    }
                    start = end;
                    i = end;
                }
                None => i += 1,
            }
        }
        let tail = self.trim(start..self.len());
        if !tail.is_empty() {
            sentences.push(tail);
            last_complete = false;
        }
        (sentences, last_complete)
    }

    /// Pieces of `span` split after each `,` followed by whitespace (the comma stays left).
    fn comma_pieces(&self, span: &Range<usize>) -> Vec<Range<usize>> {
        let mut pieces = Vec::new();
        let mut start = span.start;
        for i in span.clone() {
            if self.chars[i] == ',' && i + 1 < span.end && self.is_space(i + 1) {
                pieces.push(self.trim(start..i + 1));
                start = i + 1;
            }
        }
        pieces.push(self.trim(start..span.end));
        pieces.retain(|p| !p.is_empty());
        pieces
    }

    /// The whitespace-separated words of `span`.
    fn words(&self, span: &Range<usize>) -> Vec<Range<usize>> {
        let mut words = Vec::new();
        let mut i = span.start;
        while i < span.end {
            if self.is_space(i) {
                i += 1;
                continue;
            }
            let start = i;
            while i < span.end && !self.is_space(i) {
                i += 1;
            }
            words.push(start..i);
        }
        words
    }
}

/// How an over-long span is broken, from the gentlest to the last resort.
#[derive(Clone, Copy)]
enum Break {
    Commas,
    Whitespace,
    Anywhere,
}

/// Appends `span` to `atoms`, broken into pieces of at most `max` characters.
fn break_long(
    text: &Chars<'_>,
    span: Range<usize>,
    max: usize,
    how: Break,
    atoms: &mut Vec<Range<usize>>,
) {
    if span.len() <= max {
        atoms.push(span);
        return;
    }
    match how {
        Break::Commas => {
            for piece in text.comma_pieces(&span) {
                break_long(text, piece, max, Break::Whitespace, atoms);
            }
        }
        Break::Whitespace => {
            for word in text.words(&span) {
                break_long(text, word, max, Break::Anywhere, atoms);
            }
        }
        Break::Anywhere => {
            let mut start = span.start;
            while start < span.end {
                let end = (start + max).min(span.end);
                atoms.push(start..end);
                start = end;
            }
        }
    }
}

/// Joins consecutive atoms greedily while the slice from the first to the last stays within
/// `max` characters.
fn pack(atoms: &[Range<usize>], max: usize) -> Vec<Range<usize>> {
    let mut packed: Vec<Range<usize>> = Vec::new();
    for atom in atoms {
        match packed.last_mut() {
            Some(current) if atom.end - current.start <= max => current.end = atom.end,
            _ => packed.push(atom.clone()),
        }
    }
    packed
}

/// Segments of `text` (trimmed, non-empty, in order) from the given sentences.
fn segments_of(text: &Chars<'_>, sentences: &[Range<usize>], max: usize) -> Vec<String> {
    let mut atoms = Vec::new();
    for sentence in sentences {
        break_long(text, sentence.clone(), max, Break::Commas, &mut atoms);
    }
    pack(&atoms, max)
        .iter()
        .map(|span| text.slice(span).to_owned())
        .collect()
}

/// Splits `text` into segments of at most `max_chars` characters (at least 1): sentences (ending
/// in `. ! ? ; : …`, with closing quotes, before whitespace or the end) packed greedily; a sentence
/// longer than the budget is split after commas, then at whitespace, then anywhere.
///
/// Every segment is a trimmed slice of `text`; together, with the whitespace between them, they
/// are exactly `text`. Whitespace-only text gives no segment.
pub fn segment_text(text: &str, max_chars: usize) -> Vec<String> {
    let chars = Chars::new(text);
    let (sentences, _) = chars.sentences();
    segments_of(&chars, &sentences, max_chars.max(1))
}

/// Collects text that arrives in pieces (chat messages in stream mode) and hands out segments as
/// soon as they are complete sentences, keeping the unfinished tail until more text or
/// [`flush`](Self::flush).
#[derive(Debug, Clone)]
pub struct StreamAssembler {
    max_chars: usize,
    pending: String,
}

impl StreamAssembler {
    /// An empty assembler producing segments of at most `max_chars` characters.
    pub fn new(max_chars: usize) -> Self {
        Self {
            max_chars: max_chars.max(1),
            pending: String::new(),
        }
    }

    /// Adds `text` (separated from earlier text by a space) and returns the segments that are
    /// ready: every complete sentence, and, when the unfinished tail has grown past the budget,
    /// all of it but its last segment.
    pub fn push(&mut self, text: &str) -> Vec<String> {
        if text.trim().is_empty() {
            return Vec::new();
        }
        if !self.pending.is_empty() {
            self.pending.push(' ');
        }
        self.pending.push_str(text);

        let chars = Chars::new(&self.pending);
        let (sentences, last_complete) = chars.sentences();
        let ready_count = if last_complete {
            sentences.len()
        } else {
            sentences.len() - 1
        };
        let mut ready = segments_of(&chars, &sentences[..ready_count], self.max_chars);
        let mut kept = String::new();
        if let Some(tail) = sentences.get(ready_count) {
            let mut tail_segments = segments_of(&chars, std::slice::from_ref(tail), self.max_chars);
            kept = tail_segments.pop().unwrap_or_default();
            ready.extend(tail_segments);
        }
        self.pending = kept;
        ready
    }

    /// Returns what is left (the unfinished tail, segmented) and empties the assembler.
    pub fn flush(&mut self) -> Vec<String> {
        let segments = segment_text(&self.pending, self.max_chars);
        self.pending.clear();
        segments
    }

    /// The text kept for later (empty when everything was handed out).
    pub fn pending(&self) -> &str {
        &self.pending
    }

    /// Forgets the kept text (`/yap:stop`).
    pub fn clear(&mut self) {
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    /// Checks that `segments` are `text` cut at whitespace (or inside over-long words): each is
    /// trimmed, non-empty, within the budget, and they appear in `text` in order with only
    /// whitespace around and between them.
    fn assert_lossless(text: &str, max: usize, segments: &[String]) {
        let mut rest = text;
        for segment in segments {
            assert!(!segment.is_empty(), "empty segment for {text:?}");
            assert_eq!(segment.trim(), segment, "untrimmed segment in {segments:?}");
            assert!(
                segment.chars().count() <= max.max(1),
                "{segment:?} is longer than {max} characters"
            );
            rest = rest.trim_start();
            assert!(
                rest.starts_with(segment.as_str()),
                "{segment:?} is not next in {rest:?} (text {text:?}, segments {segments:?})"
            );
            rest = &rest[segment.len()..];
        }
        assert!(rest.trim().is_empty(), "{rest:?} was dropped from {text:?}");
    }

    #[test]
    fn sentences_pack_up_to_the_budget() {
        let text = "Hello there. How are you? I am fine; thanks: really!";
        assert_eq!(segment_text(text, 350), vec![text]);
        assert_eq!(
            segment_text(text, 25),
            vec!["Hello there. How are you?", "I am fine; thanks:", "really!"]
        );
    }

    #[test]
    fn text_after_the_last_punctuation_is_kept() {
        // Python's segment_text returns ["Hello."] here.
        assert_eq!(
            segment_text("Hello. This is a test", 350),
            vec!["Hello. This is a test"]
        );
        assert_eq!(
            segment_text("Hello. This is a test", 10),
            vec!["Hello.", "This is a", "test"]
        );
    }

    #[test]
    fn unpunctuated_text_longer_than_the_budget_is_split_not_truncated() {
        let text = "word ".repeat(100);
        let segments = segment_text(&text, 350);
        assert_eq!(segments.len(), 2);
        assert_lossless(&text, 350, &segments);
    }

    #[test]
    fn long_sentences_split_after_commas_first() {
        let text = "one two three, four five six, seven eight nine.";
        assert_eq!(
            segment_text(text, 30),
            vec!["one two three, four five six,", "seven eight nine."]
        );
        assert_eq!(
            segment_text(text, 16),
            vec!["one two three,", "four five six,", "seven eight", "nine."]
        );
    }

    #[test]
    fn words_longer_than_the_budget_are_cut() {
        assert_eq!(
            segment_text("abcdefghij klm", 4),
            vec!["abcd", "efgh", "ij", "klm"]
        );
    }

    #[test]
    fn punctuation_needs_whitespace_after_it() {
        assert_eq!(
            segment_text("Visit example.com today. Then 3.14 is pi.", 24),
            vec!["Visit example.com today.", "Then 3.14 is pi."]
        );
        assert_eq!(
            segment_text("He said \"stop.\" Then left.", 16),
            vec!["He said \"stop.\"", "Then left."]
        );
    }

    #[test]
    fn full_width_terminators_end_sentences() {
        assert_eq!(segment_text("你好。再见。", 3), vec!["你好。", "再见。"]);
    }

    #[test]
    fn empty_and_blank_text_give_nothing() {
        assert!(segment_text("", 10).is_empty());
        assert!(segment_text(" \n\t ", 10).is_empty());
        assert!(segment_text("...", 10) == vec!["..."]);
    }

    #[test]
    fn a_zero_budget_counts_as_one() {
        assert_eq!(segment_text("ab", 0), vec!["a", "b"]);
    }

    #[test]
    fn no_character_is_ever_lost_or_reordered() {
        let pieces = [
            "Hello",
            "world",
            ".",
            "!",
            "?",
            ";",
            ":",
            ",",
            "…",
            "\"",
            "'",
            ")",
            "café",
            "naïve",
            "日本語",
            "。",
            "🙂",
            "x",
            "supercalifragilisticexpialidocious",
            "3.14",
            "e.g.",
            "-",
            "\u{301}",
            "",
        ];
        let spaces = [" ", "  ", "\n", "\t", "", ", ", ". ", "\u{a0}"];
        let mut rng = StdRng::seed_from_u64(7);
        for round in 0..3000 {
            let mut text = String::new();
            for _ in 0..rng.random_range(0..40) {
                text.push_str(pieces[rng.random_range(0..pieces.len())]);
                text.push_str(spaces[rng.random_range(0..spaces.len())]);
            }
            let max = [0, 1, 2, 5, 12, 40, 350][round % 7];
            assert_lossless(&text, max, &segment_text(&text, max));
        }
    }

    #[test]
    fn the_assembler_keeps_the_unfinished_tail() {
        // Python's assembler loses "How are" here.
        let mut assembler = StreamAssembler::new(350);
        assert_eq!(assembler.push("Hello there. How are"), vec!["Hello there."]);
        assert_eq!(assembler.pending(), "How are");
        assert_eq!(assembler.push("you? Fine"), vec!["How are you?"]);
        assert_eq!(assembler.flush(), vec!["Fine"]);
        assert_eq!(assembler.pending(), "");
        assert!(assembler.flush().is_empty());
    }

    #[test]
    fn the_assembler_emits_a_tail_that_outgrows_the_budget() {
        let mut assembler = StreamAssembler::new(10);
        assert!(assembler.push("one two").is_empty());
        assert_eq!(assembler.push("three four"), vec!["one two"]);
        assert_eq!(assembler.pending(), "three four");
        assert_eq!(assembler.push("five."), vec!["three four", "five."]);
        assert_eq!(assembler.pending(), "");
    }

    #[test]
    fn the_assembler_hands_out_everything_it_was_given() {
        let words = [
            "Hi.", "this", "is", "a", "stream", "of", "words;", "ok", "done!", "tail",
        ];
        let mut rng = StdRng::seed_from_u64(11);
        for max in [1, 3, 8, 30, 350] {
            let mut assembler = StreamAssembler::new(max);
            let mut given = String::new();
            let mut out = Vec::new();
            for _ in 0..200 {
                let message = (0..rng.random_range(1..4))
                    .map(|_| words[rng.random_range(0..words.len())])
                    .collect::<Vec<_>>()
                    .join(" ");
                given.push_str(&message);
                given.push(' ');
                out.extend(assembler.push(&message));
            }
            out.extend(assembler.flush());
            assert_lossless(&given, max, &out);
        }
    }

    #[test]
    fn clear_forgets_the_tail() {
        let mut assembler = StreamAssembler::new(350);
        assembler.push("half a sentence");
        assembler.clear();
        assert!(assembler.flush().is_empty());
    }
}
