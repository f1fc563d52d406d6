//! The shape ranges TensorRT builds the token embedding and the decoder for, and the limits they
//! put on a model call: at most `rows` sequences per call (the batch size), each at most
//! `tokens` long (prompt and generated tokens). The KV cache's past length starts at 0 (the
//! prefill) and grows by one per token; the ranges cover all of it, so the engines are built
//! once instead of whenever a sequence grows past the lengths seen.

use std::ops::RangeInclusive;

use super::config::ModelConfig;
use crate::onnx::ShapeProfile;

/// Qwen2-VL's `max_position_embeddings`: no sequence is longer.
const MAX_TOKENS_LIMIT: usize = 32768;

/// The sequence lengths an engine can be built for: a prompt token and a generated one, up to
/// Qwen2-VL's limit.
pub const TOKENS_RANGE: RangeInclusive<usize> = 2..=MAX_TOKENS_LIMIT;

/// How many sequences, and how long, one model call may hold on TensorRT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequenceLimits {
    /// Most sequences per decoder run.
    pub rows: usize,
    /// Most tokens (prompt and generated) per sequence.
    pub tokens: usize,
}

/// Limits no engine can be built for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot build TensorRT ranges for {rows} sequence(s) of {tokens} tokens: --max-batch must be at least 1 and --trt-max-tokens from 2 to {MAX_TOKENS_LIMIT}"
)]
pub struct BadLimits {
    /// The batch size asked for.
    pub rows: usize,
    /// The sequence length asked for.
    pub tokens: usize,
}

/// A model call would leave the shapes the TensorRT engines were built for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BeyondProfile {
    /// More sequences than the engine's batch range.
    #[error(
        "{graph} would run {rows} sequences in one call, more than the {limit} its TensorRT engine was built for; raise --max-batch (NEKO_MAX_BATCH) and load the model again, or run on --execution-provider cuda"
    )]
    Rows {
        /// The graph.
        graph: &'static str,
        /// Sequences in the call.
        rows: usize,
        /// The most the engine takes.
        limit: usize,
    },
    /// A longer sequence than the engine's range.
    #[error(
        "{graph} would take {tokens} tokens in one sequence, more than the {limit} its TensorRT engine was built for; raise --trt-max-tokens (NEKO_TRT_MAX_TOKENS) and load the model again, shorten the task, its history or the token limit, or run on --execution-provider cuda"
    )]
    Tokens {
        /// The graph.
        graph: &'static str,
        /// Tokens the sequence would reach.
        tokens: usize,
        /// The most the engine takes.
        limit: usize,
    },
}

impl SequenceLimits {
    /// Limits of `rows` sequences of `tokens` tokens, if an engine can be built for them.
    pub fn new(rows: usize, tokens: usize) -> Result<Self, BadLimits> {
        if rows >= 1 && TOKENS_RANGE.contains(&tokens) {
            Ok(Self { rows, tokens })
        } else {
            Err(BadLimits { rows, tokens })
        }
    }

    /// Whether `graph` can run `rows` sequences the longest of which reaches `tokens` tokens.
    pub fn check(
        &self,
        graph: &'static str,
        rows: usize,
        tokens: usize,
    ) -> Result<(), BeyondProfile> {
        if rows > self.rows {
            return Err(BeyondProfile::Rows {
                graph,
                rows,
                limit: self.rows,
            });
        }
        if tokens > self.tokens {
            return Err(BeyondProfile::Tokens {
                graph,
                tokens,
                limit: self.tokens,
            });
        }
        Ok(())
    }

    /// What `embed_tokens` takes: one sequence per run, the prefill's being every prompt of a
    /// batch one after another.
    pub fn embedding(&self) -> SequenceLimits {
        SequenceLimits {
            rows: 1,
            tokens: self.rows * self.tokens,
        }
    }

    /// `embed_tokens` (`input_ids [1, tokens]`): one token per sequence while decoding, every
    /// prompt of a batch at once for the prefill.
    pub fn embed_profiles(&self) -> Vec<ShapeProfile> {
        let tokens = self.embedding().tokens as i64;
        vec![ShapeProfile::new().input("input_ids", vec![1, 1], vec![1, 1], vec![1, tokens])]
    }

    /// `decoder_model_merged` in the layout `scripts/models/export_showui.py` writes, tuned for
    /// a decode step of one sequence half way to the limit. Two variants, tried in order:
    /// `num_logits_to_keep` as a shape value (TensorRT makes one of an input that a Range's
    /// bounds come from), then without it (a plain tensor of fixed rank 0 needs no range).
    ///
    /// A profile is a box: every input ranges on its own. TensorRT checks the graph's shape
    /// rules at the box's corners, and the mask must span the past and the new tokens, so the
    /// largest mask is the largest past plus the largest prefill (`2·tokens − 1`), though no
    /// call reaches it: a prefill starts from an empty cache and a decode step adds one token
    /// ([`SequenceLimits::check`] keeps every call within `tokens`).
    pub fn decoder_profiles(&self, config: &ModelConfig) -> Vec<ShapeProfile> {
        let rows = self.rows as i64;
        let tokens = self.tokens as i64;
        let typical_past = tokens / 2;
        let max_past = tokens - 1;
        let hidden = config.hidden_size as i64;
        let kv_heads = config.num_key_value_heads as i64;
        let head_dim = config.head_dim() as i64;
        let mut profile = ShapeProfile::new()
            .input(
                "inputs_embeds",
                vec![1, 1, hidden],
                vec![1, 1, hidden],
                vec![rows, tokens, hidden],
            )
            .input(
                "attention_mask",
                vec![1, 1],
                vec![1, typical_past + 1],
                vec![rows, max_past + tokens],
            )
            .input(
                "position_ids",
                vec![3, 1, 1],
                vec![3, 1, 1],
                vec![3, rows, tokens],
            );
        for layer in 0..config.num_hidden_layers {
            for part in ["key", "value"] {
                profile = profile.input(
                    &format!("past_key_values.{layer}.{part}"),
                    vec![1, kv_heads, 0, head_dim],
                    vec![1, kv_heads, typical_past, head_dim],
                    vec![rows, kv_heads, max_past, head_dim],
                );
            }
        }
        let with_keep = profile
            .clone()
            .input("num_logits_to_keep", vec![1], vec![1], vec![1]);
        vec![with_keep, profile]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ModelConfig {
        serde_json::from_str(
            r#"{"hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
                "num_hidden_layers": 2, "vision_config": {}}"#,
        )
        .unwrap()
    }

    /// The dims of `name` in one of a profile's option strings.
    fn dims(shapes: &str, name: &str) -> Option<Vec<i64>> {
        let entry = shapes
            .split(',')
            .find_map(|e| e.strip_prefix(&format!("{name}:")))?;
        Some(entry.split('x').map(|d| d.parse().unwrap()).collect())
    }

    #[test]
    fn the_decoder_ranges_cover_an_empty_cache_up_to_the_limit() {
        let limits = SequenceLimits::new(8, 4096).unwrap();
        let profiles = limits.decoder_profiles(&config());
        assert_eq!(profiles.len(), 2);
        let [with_keep, without] = [&profiles[0], &profiles[1]];
        let min = with_keep.min_shapes();
        assert!(min.starts_with("inputs_embeds:1x1x64,attention_mask:1x1,position_ids:3x1x1,"));
        assert!(min.contains("past_key_values.0.key:1x2x0x16,past_key_values.0.value:1x2x0x16"));
        assert!(min.ends_with("past_key_values.1.value:1x2x0x16,num_logits_to_keep:1"));
        let opt = with_keep.opt_shapes();
        assert_eq!(
            dims(&opt, "past_key_values.1.key"),
            Some(vec![1, 2, 2048, 16])
        );
        let max = with_keep.max_shapes();
        assert_eq!(dims(&max, "inputs_embeds"), Some(vec![8, 4096, 64]));
        assert_eq!(
            dims(&max, "past_key_values.1.value"),
            Some(vec![8, 2, 4095, 16])
        );
        // At every corner of the box the mask spans the past and the new tokens, as the
        // graph's shape rules require.
        for shapes in [min, opt, max] {
            let dim = |name, axis| dims(&shapes, name).unwrap()[axis];
            let seq = dim("inputs_embeds", 1);
            let past = dim("past_key_values.0.key", 2);
            assert_eq!(dim("attention_mask", 1), past + seq, "{shapes}");
            assert_eq!(dim("position_ids", 2), seq, "{shapes}");
        }
        assert_eq!(
            without.max_shapes(),
            with_keep.max_shapes().replace(",num_logits_to_keep:1", "")
        );
    }

    #[test]
    fn the_embedding_takes_every_prompt_of_a_full_batch_at_once() {
        let profiles = SequenceLimits::new(2, 100).unwrap().embed_profiles();
        assert_eq!(profiles[0].min_shapes(), "input_ids:1x1");
        assert_eq!(profiles[0].max_shapes(), "input_ids:1x200");
    }

    #[test]
    fn a_call_beyond_the_limits_names_the_setting_to_raise() {
        let limits = SequenceLimits::new(4, 4096).unwrap();
        assert!(limits.check("decoder_model_merged", 4, 4096).is_ok());
        let long = limits.check("decoder_model_merged", 1, 5000).unwrap_err();
        let text = long.to_string();
        assert!(text.contains("5000 tokens"), "{text}");
        assert!(text.contains("NEKO_TRT_MAX_TOKENS"), "{text}");
        assert!(!text.contains("NEKO_MAX_BATCH"), "{text}");
        let wide = limits.check("decoder_model_merged", 5, 10).unwrap_err();
        assert_eq!(
            wide,
            BeyondProfile::Rows {
                graph: "decoder_model_merged",
                rows: 5,
                limit: 4
            }
        );
        assert!(wide.to_string().contains("NEKO_MAX_BATCH"));
    }

    #[test]
    fn limits_no_engine_can_take_are_an_error() {
        assert!(SequenceLimits::new(0, 4096).is_err());
        assert!(SequenceLimits::new(1, 1).is_err());
        let err = SequenceLimits::new(1, MAX_TOKENS_LIMIT + 1).unwrap_err();
        assert!(err.to_string().contains("--trt-max-tokens"), "{err}");
    }
}
