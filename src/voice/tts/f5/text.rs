//! F5-TTS text side: the vocabulary (`vocab.txt`, id = line index), the reference-text
//! normalisation of the official code, the duration maths in UTF-8 bytes, and splitting long text
//! so reference plus generated audio fit the model's 4096 frames.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::voice::segment::segment_text;

/// Samples per mel frame.
pub const HOP_LENGTH: usize = 256;
/// Sample rate of the model's audio.
pub const F5_SAMPLE_RATE: u32 = 24000;
/// Frames (reference + generated) the exported RoPE tables cover.
pub const MAX_FRAMES: usize = 4096;
/// Seconds of reference + generated audio the official code aims each chunk at.
pub const CHUNK_TARGET_SECONDS: f64 = 22.0;
/// Generated text shorter than this many UTF-8 bytes is spoken at speed 0.3 (official code).
pub const SHORT_TEXT_BYTES: usize = 10;
/// The speed used for short text.
pub const SHORT_TEXT_SPEED: f64 = 0.3;

/// `vocab.txt` is missing or not an F5-TTS vocabulary.
#[derive(Debug, thiserror::Error)]
pub enum VocabError {
    /// The file cannot be read.
    #[error("cannot read the F5-TTS vocabulary {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The first line is not a single space.
    #[error(
        "{0} is not an F5-TTS vocab.txt: its first line must be a single space (id 0); use the vocab.txt of the F5TTS_v1_Base checkpoint"
    )]
    NotF5(PathBuf),
}

/// Token → id map of `vocab.txt` (one token per line; the id is the line index).
#[derive(Debug, Clone)]
pub struct Vocab {
    ids: HashMap<String, i32>,
}

impl Vocab {
    /// Reads `path`.
    pub fn load(path: &Path) -> Result<Self, VocabError> {
        let text = std::fs::read_to_string(path).map_err(|source| VocabError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).ok_or_else(|| VocabError::NotF5(path.to_owned()))
    }

    /// The vocabulary in `text`, or `None` if line 0 is not a space.
    fn parse(text: &str) -> Option<Self> {
        let body = text.strip_suffix('\n').unwrap_or(text);
        let mut ids = HashMap::new();
        for (id, token) in body.split('\n').enumerate() {
            ids.entry(token.to_owned()).or_insert(id as i32);
        }
        (ids.get(" ") == Some(&0)).then_some(Self { ids })
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the vocabulary is empty (never, for a loaded one).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// One id per character of `text` (after the official substitutions `;`→`,` and curly
    /// quotes → straight ones); characters not in the vocabulary map to 0. This is the official
    /// tokenisation for alphabetic text; Chinese would need pinyin conversion, which is not done.
    pub fn encode(&self, text: &str) -> Vec<i32> {
        let mut buffer = [0u8; 4];
        text.chars()
            .map(|c| match c {
                ';' => ',',
                '“' | '”' => '"',
                '‘' | '’' => '\'',
                other => other,
            })
            .map(|c| *self.ids.get(&*c.encode_utf8(&mut buffer)).unwrap_or(&0))
            .collect()
    }
}

/// The reference transcript as the official code feeds it: trailing whitespace removed, then
/// ending in `. ` (or `。`), then one more space if it ends in a one-byte character.
pub fn normalise_ref_text(text: &str) -> String {
    let mut text = text.trim_end().to_owned();
    if !text.ends_with('。') {
        text.push_str(if text.ends_with('.') { " " } else { ". " });
    }
    if text.chars().last().is_some_and(|c| c.len_utf8() == 1) {
        text.push(' ');
    }
    text
}

/// Mel frames of `samples` reference samples: `samples // 256 + 1`.
pub fn ref_audio_frames(samples: usize) -> usize {
    samples / HOP_LENGTH + 1
}

/// The speed for `gen_text`: 0.3 below 10 UTF-8 bytes (official), else 1.
pub fn speed_for(gen_text: &str) -> f64 {
    if gen_text.len() < SHORT_TEXT_BYTES {
        SHORT_TEXT_SPEED
    } else {
        1.0
    }
}

/// Total frames to generate (`max_duration`):
/// `ref_frames + int(ref_frames / ref_text_bytes · gen_text_bytes / speed)`, at least one frame
/// more than the reference.
pub fn max_duration(
    ref_frames: usize,
    ref_text_bytes: usize,
    gen_text_bytes: usize,
    speed: f64,
) -> usize {
    let generated =
        ref_frames as f64 / ref_text_bytes.max(1) as f64 * gen_text_bytes as f64 / speed;
    ref_frames + (generated as usize).max(1)
}

/// Text that cannot be split to fit the model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChunkError {
    /// The reference alone fills the model's frames.
    #[error(
        "the reference audio is {seconds:.1} s long, which leaves no room in F5-TTS's {MAX_FRAMES} frames (43.7 s); use a reference of 5 to 15 s"
    )]
    ReferenceTooLong {
        /// Reference length.
        seconds: f64,
    },
    /// Even one character needs more frames than remain.
    #[error(
        "{piece:?} needs {frames} frames with this reference (at most {MAX_FRAMES}): the reference audio is long for its transcript; use a shorter reference or a fuller transcript"
    )]
    TooLong {
        /// The piece that does not fit.
        piece: String,
        /// Frames it needs.
        frames: usize,
    },
}

/// What a chunk plan is computed from.
#[derive(Debug, Clone, Copy)]
pub struct ChunkBudget {
    /// Reference length in samples at 24 kHz.
    pub ref_samples: usize,
    /// UTF-8 bytes of the normalised reference text.
    pub ref_text_bytes: usize,
}

impl ChunkBudget {
    /// `max_duration` for `gen_text`.
    pub fn frames_for(&self, gen_text: &str) -> usize {
        max_duration(
            ref_audio_frames(self.ref_samples),
            self.ref_text_bytes,
            gen_text.len(),
            speed_for(gen_text),
        )
    }

    /// Characters per chunk as the official code sizes them: the reference's bytes per second
    /// times the seconds left to 22 s; when the reference is longer than that,
    /// what is left of the 4096 frames.
    fn chars_per_chunk(&self) -> Result<usize, ChunkError> {
        let ref_frames = ref_audio_frames(self.ref_samples);
        let ref_seconds = self.ref_samples as f64 / f64::from(F5_SAMPLE_RATE);
        if ref_frames >= MAX_FRAMES - 1 {
            return Err(ChunkError::ReferenceTooLong {
                seconds: ref_seconds,
            });
        }
        let bytes_per_second = self.ref_text_bytes as f64 / ref_seconds.max(1e-3);
        let target = bytes_per_second * (CHUNK_TARGET_SECONDS - ref_seconds);
        let room =
            (MAX_FRAMES - 1 - ref_frames) as f64 * self.ref_text_bytes as f64 / ref_frames as f64;
        let chars = if target >= 1.0 { target } else { room };
        Ok((chars as usize).max(1))
    }

    /// `gen_text` in chunks (sentences packed to the official size), each fitting in
    /// [`MAX_FRAMES`] with the reference.
    pub fn plan(&self, gen_text: &str) -> Result<Vec<String>, ChunkError> {
        let chars = self.chars_per_chunk()?;
        let mut chunks = Vec::new();
        let mut pending: Vec<(String, usize)> = segment_text(gen_text, chars)
            .into_iter()
            .rev()
            .map(|s| (s, chars))
            .collect();
        while let Some((piece, budget)) = pending.pop() {
            let frames = self.frames_for(&piece);
            if frames <= MAX_FRAMES {
                chunks.push(piece);
                continue;
            }
            let smaller = piece.chars().count().min(budget) / 2;
            if smaller == 0 {
                return Err(ChunkError::TooLong { piece, frames });
            }
            pending.extend(
                segment_text(&piece, smaller)
                    .into_iter()
                    .rev()
                    .map(|s| (s, smaller)),
            );
        }
        Ok(chunks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> Vocab {
        let mut text = String::new();
        for c in (0x20u8..0x7f).map(char::from) {
            text.push(c);
            text.push('\n');
        }
        Vocab::parse(&text).unwrap()
    }

    #[test]
    fn ids_are_line_indices_and_unknown_characters_are_zero() {
        let vocab = vocab();
        assert_eq!(vocab.len(), 95);
        assert_eq!(vocab.encode(" !A"), vec![0, 1, 33]);
        assert_eq!(vocab.encode("é中"), vec![0, 0]);
        // The official substitutions.
        assert_eq!(vocab.encode(";“’"), vocab.encode(",\"'"));
    }

    #[test]
    fn the_first_token_must_be_a_space() {
        assert!(Vocab::parse("a\n \n").is_none());
        assert!(Vocab::parse(" \nzhong1\n").is_some());
        let path = Path::new("/nonexistent/vocab.txt");
        assert!(
            Vocab::load(path)
                .unwrap_err()
                .to_string()
                .contains("/nonexistent/vocab.txt")
        );
    }

    #[test]
    fn reference_text_is_normalised_like_the_official_code() {
        assert_eq!(normalise_ref_text("Hello there"), "Hello there.  ");
        assert_eq!(normalise_ref_text("Hello there."), "Hello there.  ");
        assert_eq!(normalise_ref_text("Hello there. \n"), "Hello there.  ");
        assert_eq!(normalise_ref_text("你好。"), "你好。");
        assert_eq!(normalise_ref_text(""), ".  ");
    }

    #[test]
    fn duration_maths_uses_utf8_bytes() {
        // 3 s of reference: 72000 // 256 + 1 = 282 frames.
        assert_eq!(ref_audio_frames(72000), 282);
        let ref_text = normalise_ref_text("This is a default reference.");
        assert_eq!(ref_text.len(), 30);
        // 282 + int(282 / 30 · 28 / 1.0) = 282 + int(263.2) = 545.
        assert_eq!(
            max_duration(
                282,
                ref_text.len(),
                "Hello world, this is a test.".len(),
                1.0
            ),
            545
        );
        // "héllo" is 6 bytes for 5 characters.
        assert_eq!(max_duration(282, 30, "héllo".len(), 1.0), 282 + 56);
        assert_eq!(speed_for("Hi."), 0.3);
        assert_eq!(speed_for("Hello world."), 1.0);
        assert_eq!(max_duration(282, 30, 3, 0.3), 282 + 94);
        assert_eq!(max_duration(10, 1000, 1, 1.0), 11, "at least one frame");
    }

    #[test]
    fn long_text_is_chunked_to_the_official_size_and_fits() {
        let budget = ChunkBudget {
            ref_samples: 5 * 24000,
            ref_text_bytes: 80,
        };
        // 16 bytes per second × (22 − 5) s = 272 characters per chunk.
        assert_eq!(budget.chars_per_chunk().unwrap(), 272);
        let sentence = "This sentence is about fifty characters long, ok. ";
        let text = sentence.repeat(40);
        let chunks = budget.plan(&text).unwrap();
        assert!(chunks.len() >= 8, "{}", chunks.len());
        for chunk in &chunks {
            assert!(chunk.chars().count() <= 272);
            assert!(budget.frames_for(chunk) <= MAX_FRAMES);
        }
        assert_eq!(
            chunks.join(" ").split_whitespace().collect::<Vec<_>>(),
            text.split_whitespace().collect::<Vec<_>>()
        );
    }

    #[test]
    fn chunks_shrink_until_they_fit_in_4096_frames() {
        // 25 s of reference with a 10-byte transcript: 225 frames per byte of text.
        let budget = ChunkBudget {
            ref_samples: 25 * 24000,
            ref_text_bytes: 10,
        };
        let chunks = budget.plan("abc defgh ijklm nopq.").unwrap();
        assert!(chunks.iter().all(|c| budget.frames_for(c) <= MAX_FRAMES));
        assert_eq!(chunks.concat().replace(' ', ""), "abcdefghijklmnopq.");
    }

    #[test]
    fn impossible_budgets_are_explained() {
        let too_long = ChunkBudget {
            ref_samples: 44 * 24000,
            ref_text_bytes: 100,
        };
        assert!(matches!(
            too_long.plan("Hi."),
            Err(ChunkError::ReferenceTooLong { .. })
        ));
        let sparse = ChunkBudget {
            ref_samples: 40 * 24000,
            ref_text_bytes: 2,
        };
        assert!(matches!(
            sparse.plan("Hello."),
            Err(ChunkError::TooLong { .. })
        ));
    }
}
