//! The shape ranges TensorRT builds the token embedding and the decoder for, and the limits they
//! put on a model call: at most `rows` sequences per call (the batch size), each at most
//! `positions` long (prompt and generated tokens). The KV cache's past length starts at 0 (the
//! prefill) and grows by one per token; the ranges cover all of it, so the engines are built
//! once instead of whenever a sequence grows past the lengths seen.

use std::fmt;

use super::config::ModelConfig;
use crate::onnx::ShapeProfile;

/// Qwen2-VL's `max_position_embeddings`: no sequence is longer.
pub const MAX_POSITIONS_LIMIT: usize = 32768;

/// How many sequences, and how long, one model call may hold on TensorRT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequenceLimits {
    /// Most sequences per decoder run.
    pub rows: usize,
    /// Most positions (prompt and generated tokens) per sequence.
    pub positions: usize,
}

impl fmt::Display for SequenceLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at most {} sequence(s) of {} positions",
            self.rows, self.positions
        )
    }
}

/// A model call would leave the shapes the TensorRT engines were built for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{graph} would run {rows} sequence(s) of {positions} positions, beyond what its TensorRT engine was built for ({limits}); raise --trt-max-positions (NEKO_TRT_MAX_POSITIONS) or --max-batch (NEKO_MAX_BATCH) and load the model again, shorten the prompt or the token limit, or run on --execution-provider cuda"
)]
pub struct BeyondProfile {
    /// The graph.
    pub graph: &'static str,
    /// Sequences in the run.
    pub rows: usize,
    /// Positions the longest one would reach.
    pub positions: usize,
    /// What the engine takes.
    pub limits: SequenceLimits,
}

impl SequenceLimits {
    /// Whether `graph` can run `rows` sequences reaching `positions` positions.
    pub fn check(
        &self,
        graph: &'static str,
        rows: usize,
        positions: usize,
    ) -> Result<(), BeyondProfile> {
        if rows <= self.rows && positions <= self.positions {
            return Ok(());
        }
        Err(BeyondProfile {
            graph,
            rows,
            positions,
            limits: *self,
        })
    }

    /// The past length TensorRT tunes the decoder for: one decode step half way to the limit.
    fn typical_past(&self) -> i64 {
        (self.positions / 2) as i64
    }

    /// What `embed_tokens` takes: one sequence per run, the prefill's being every prompt of a
    /// batch one after another.
    pub fn embedding(&self) -> SequenceLimits {
        SequenceLimits {
            rows: 1,
            positions: self.rows * self.positions,
        }
    }

    /// `embed_tokens` (`input_ids [1, tokens]`): one token per sequence while decoding, every
    /// prompt of a batch at once for the prefill.
    pub fn embed_profiles(&self) -> Vec<ShapeProfile> {
        let tokens = self.embedding().positions as i64;
        vec![ShapeProfile::new().input("input_ids", vec![1, 1], vec![1, 1], vec![1, tokens])]
    }

    /// `decoder_model_merged` in the layout `scripts/models/export_showui.py` writes, tuned for
    /// a decode step of one sequence. Two variants, tried in order: `num_logits_to_keep` as a
    /// shape value (TensorRT usually makes an input that a Slice's bounds come from one), then
    /// without it (a plain tensor of fixed rank 0 needs no range).
    ///
    /// A profile is a box: every input ranges on its own. TensorRT checks the graph's shape
    /// rules at the box's corners, and the mask must span the past and the new positions, so
    /// the largest mask is the largest past plus the largest new run (`2·positions − 1`), though
    /// no call reaches it: a prefill starts from an empty cache and a decode step adds one
    /// position ([`SequenceLimits::check`] keeps every call within `positions`).
    pub fn decoder_profiles(&self, config: &ModelConfig) -> Vec<ShapeProfile> {
        let rows = self.rows as i64;
        let positions = self.positions as i64;
        let past = self.typical_past();
        let max_past = positions - 1;
        let hidden = config.hidden_size as i64;
        let kv_heads = config.num_key_value_heads as i64;
        let head_dim = (config.hidden_size / config.num_attention_heads.max(1)) as i64;
        let mut profile = ShapeProfile::new()
            .input(
                "inputs_embeds",
                vec![1, 1, hidden],
                vec![1, 1, hidden],
                vec![rows, positions, hidden],
            )
            .input(
                "attention_mask",
                vec![1, 1],
                vec![1, past + 1],
                vec![rows, max_past + positions],
            )
            .input(
                "position_ids",
                vec![3, 1, 1],
                vec![3, 1, 1],
                vec![3, rows, positions],
            );
        for layer in 0..config.num_hidden_layers {
            for part in ["key", "value"] {
                profile = profile.input(
                    &format!("past_key_values.{layer}.{part}"),
                    vec![1, kv_heads, 0, head_dim],
                    vec![1, kv_heads, past, head_dim],
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

    #[test]
    fn the_decoder_ranges_cover_an_empty_cache_up_to_the_limit() {
        let limits = SequenceLimits {
            rows: 8,
            positions: 4096,
        };
        let profiles = limits.decoder_profiles(&config());
        assert_eq!(profiles.len(), 2);
        let [with_keep, without] = [&profiles[0], &profiles[1]];
        let min = with_keep.min_shapes();
        assert!(min.starts_with("inputs_embeds:1x1x64,attention_mask:1x1,position_ids:3x1x1,"));
        assert!(min.contains("past_key_values.0.key:1x2x0x16,past_key_values.0.value:1x2x0x16"));
        assert!(min.ends_with("past_key_values.1.value:1x2x0x16,num_logits_to_keep:1"));
        let opt = with_keep.opt_shapes();
        assert!(opt.contains("attention_mask:1x2049,"), "{opt}");
        assert!(opt.contains("past_key_values.1.key:1x2x2048x16,"), "{opt}");
        let max = with_keep.max_shapes();
        assert!(max.contains("inputs_embeds:8x4096x64,"), "{max}");
        assert!(max.contains("position_ids:3x8x4096,"), "{max}");
        assert!(
            max.contains("past_key_values.1.value:8x2x4095x16,"),
            "{max}"
        );
        // At every corner of the box the mask spans the past and the new positions, as the
        // graph's shape rules require.
        for shapes in [min, opt, max] {
            let dims = |name: &str| -> Vec<i64> {
                let entry = shapes
                    .split(',')
                    .find_map(|e| e.strip_prefix(&format!("{name}:")))
                    .unwrap();
                entry.split('x').map(|d| d.parse().unwrap()).collect()
            };
            let seq = dims("inputs_embeds")[1];
            let past = dims("past_key_values.0.key")[2];
            assert_eq!(dims("attention_mask")[1], past + seq, "{shapes}");
            assert_eq!(dims("position_ids")[2], seq, "{shapes}");
        }
        assert_eq!(without.names().count(), 3 + 2 * 2);
        assert!(!without.max_shapes().contains("num_logits_to_keep"));
    }

    #[test]
    fn the_embedding_takes_every_prompt_of_a_full_batch_at_once() {
        let limits = SequenceLimits {
            rows: 2,
            positions: 100,
        };
        let profiles = limits.embed_profiles();
        assert_eq!(profiles[0].min_shapes(), "input_ids:1x1");
        assert_eq!(profiles[0].max_shapes(), "input_ids:1x200");
    }

    #[test]
    fn a_call_beyond_the_limits_says_which_setting_to_raise() {
        let limits = SequenceLimits {
            rows: 4,
            positions: 4096,
        };
        assert!(limits.check("decoder_model_merged", 4, 4096).is_ok());
        let long = limits.check("decoder_model_merged", 1, 5000).unwrap_err();
        assert_eq!(long.positions, 5000);
        let text = long.to_string();
        assert!(
            text.contains("at most 4 sequence(s) of 4096 positions"),
            "{text}"
        );
        assert!(text.contains("NEKO_TRT_MAX_POSITIONS"), "{text}");
        let wide = limits.check("decoder_model_merged", 5, 10).unwrap_err();
        assert!(wide.to_string().contains("NEKO_MAX_BATCH"));
    }
}
