//! `tokenizer.json` through the `tokenizers` crate: prompt text to ids and generated ids to text,
//! with the Qwen2-VL special tokens checked against `config.json`.

use std::path::{Path, PathBuf};

use tokenizers::Tokenizer;

/// The tokenizer could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    /// `tokenizer.json` could not be read or parsed.
    #[error("cannot load the tokenizer {path}: {reason}")]
    Load {
        /// The file.
        path: PathBuf,
        /// What the tokenizers crate said.
        reason: String,
    },
    /// A special token the prompt needs is absent or has another id than `config.json` says.
    #[error(
        "{path} maps {token} to {found:?} but the model expects id {expected}; the tokenizer does not belong to this model (use the tokenizer.json exported with it)"
    )]
    SpecialToken {
        /// The file.
        path: PathBuf,
        /// The token text.
        token: &'static str,
        /// Its id in the tokenizer, if any.
        found: Option<u32>,
        /// The id the model expects.
        expected: u32,
    },
    /// Encoding or decoding failed.
    #[error("tokenizer failed to {action}: {reason}")]
    Run {
        /// "encode the prompt" or "decode the reply".
        action: &'static str,
        /// What the tokenizers crate said.
        reason: String,
    },
}

/// Ids of the special tokens the engine relies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialTokens {
    /// `<|image_pad|>`, the placeholder rows the image features replace.
    pub image_pad: u32,
    /// `<|im_end|>`, the end of a chat turn (always stops generation).
    pub im_end: u32,
}

/// The model's tokenizer plus the ids of its special tokens.
pub struct TextCodec {
    tokenizer: Tokenizer,
    special: SpecialTokens,
}

impl TextCodec {
    /// Loads `tokenizer.json` and checks that `<|image_pad|>` and `<|vision_start|>` have the
    /// ids `config.json` gives.
    pub fn load(path: &Path, image_pad: u32, vision_start: u32) -> Result<Self, TokenizerError> {
        let tokenizer = Tokenizer::from_file(path).map_err(|e| TokenizerError::Load {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let check = |token: &'static str, expected: u32| {
            let found = tokenizer.token_to_id(token);
            if found == Some(expected) {
                Ok(expected)
            } else {
                Err(TokenizerError::SpecialToken {
                    path: path.to_owned(),
                    token,
                    found,
                    expected,
                })
            }
        };
        check("<|image_pad|>", image_pad)?;
        check("<|vision_start|>", vision_start)?;
        let im_end =
            tokenizer
                .token_to_id("<|im_end|>")
                .ok_or_else(|| TokenizerError::SpecialToken {
                    path: path.to_owned(),
                    token: "<|im_end|>",
                    found: None,
                    expected: 151645,
                })?;
        Ok(Self {
            tokenizer,
            special: SpecialTokens { image_pad, im_end },
        })
    }

    /// The special-token ids.
    pub fn special(&self) -> SpecialTokens {
        self.special
    }

    /// Token ids of a rendered prompt (special tokens in the text keep their ids; no BOS added).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        self.tokenizer
            .encode_fast(text, false)
            .map(|encoding| encoding.get_ids().to_vec())
            .map_err(|e| TokenizerError::Run {
                action: "encode the prompt",
                reason: e.to_string(),
            })
    }

    /// Text of generated ids with special tokens left out.
    pub fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        self.tokenizer
            .decode(ids, true)
            .map_err(|e| TokenizerError::Run {
                action: "decode the reply",
                reason: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::prompt::{Message, Part, render_chat};

    fn fixture() -> TextCodec {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("models/showui-fixture/tokenizer.json");
        TextCodec::load(&path, 151655, 151652).unwrap()
    }

    #[test]
    fn special_tokens_keep_their_ids() {
        let codec = fixture();
        let text = render_chat(&[Message::user(vec![Part::Text("hi".into()), Part::Image])]);
        let ids = codec.encode(&text).unwrap();
        assert_eq!(ids[0], 151644);
        for id in [151645, 151652, 151655, 151653] {
            assert!(ids.contains(&id), "{id} missing from {ids:?}");
        }
        assert_eq!(ids.iter().filter(|&&id| id == 151655).count(), 1);
        let tail = codec.encode("<|im_start|>assistant\n").unwrap();
        assert!(ids.ends_with(&tail), "{ids:?}");
    }

    #[test]
    fn decoding_skips_special_tokens() {
        let codec = fixture();
        let mut ids = codec.encode("{'action': 'CLICK'}").unwrap();
        ids.push(codec.special().im_end);
        assert_eq!(codec.decode(&ids).unwrap(), "{'action': 'CLICK'}");
    }

    #[test]
    fn a_foreign_tokenizer_is_refused() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("models/showui-fixture/tokenizer.json");
        let err = TextCodec::load(&path, 42, 151652)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("<|image_pad|>") && err.contains("42"), "{err}");
        let missing = TextCodec::load(Path::new("/nonexistent/tokenizer.json"), 1, 2)
            .err()
            .unwrap()
            .to_string();
        assert!(missing.contains("/nonexistent/tokenizer.json"), "{missing}");
    }
}
