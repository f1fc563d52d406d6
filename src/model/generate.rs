//! Greedy generation for a batch of sequences (rooms) in one set of model runs: the images in
//! one vision encoder call, the prompts left-padded into one prefill with an attention-mask row
//! and M-RoPE positions per sequence, then decode steps over the rows still generating. A row
//! that reaches its end token (or its token limit, or is no longer wanted) is answered at once
//! and leaves the batch; the others go on without it.
//!
//! A batch of one is the plain [`ShowUi::generate`]: there is one generation path.

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::graphs::{DecoderInput, GraphError, Graphs};
use super::image::{ImageSize, PixelValues};
use super::prompt::{Message, expand_image_pads, render_chat};
use super::rope::rope_index;
use super::showui::{
    Generation, ImageFeatures, ModelError, ShowUi, StopReason, Timings, merge_image_features,
};
use crate::frame::RgbImage;

/// The M-RoPE position transformers gives left padding (it is masked out; any value would do,
/// this one keeps the graphs' inputs identical to transformers').
const PADDING_POSITION: i64 = 1;

/// One sequence of a batched call: a frame, the chat about it, and its token limit.
#[derive(Debug, Clone, Copy)]
pub struct BatchRow<'a> {
    /// The frame (fills the chat's single image part).
    pub image: &'a RgbImage,
    /// The chat.
    pub messages: &'a [Message],
    /// Most tokens to generate.
    pub max_new_tokens: usize,
}

/// What a loaded export can put in one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// Several sequences per decoder run (the decoder's batch axis is not fixed to 1).
    pub sequences: bool,
    /// Several images per vision encoder run.
    pub images: bool,
}

/// A row being generated: its prompt, its answer so far, and its place in the padded batch.
struct Sequence {
    /// Index of the row in the caller's batch.
    index: usize,
    prompt_ids: Vec<u32>,
    /// Merged `[t, h, w]` grid of the image.
    merged_grid: [usize; 3],
    image_size: ImageSize,
    max_new_tokens: usize,
    timings: Timings,
    generated: Vec<u32>,
    /// The row's attention mask over the cache and the next position.
    mask: Vec<i64>,
    /// M-RoPE position of the next token (all three axes).
    next_position: i64,
}

impl Sequence {
    fn last(&self) -> u32 {
        *self.generated.last().expect("prefill produced a token")
    }

    /// Left padding positions at the front of the cache.
    fn padding(&self) -> usize {
        self.mask.iter().take_while(|m| **m == 0).count()
    }
}

impl ShowUi {
    /// Generates greedily for every row of `rows` together. Each row's answer goes to
    /// `answered(index, result)` as soon as that row is finished (end token or token limit); a
    /// row for which `wanted(index)` turns false leaves the batch without an answer. A row whose
    /// frame or prompt is unusable is answered with its error and the others go on.
    ///
    /// Returns an error, and answers no further rows, when a model run fails; the caller may
    /// retry the unanswered rows one at a time (the error is then the row's own).
    pub fn generate_batch(
        &self,
        rows: &[BatchRow<'_>],
        wanted: &dyn Fn(usize) -> bool,
        answered: &mut dyn FnMut(usize, Result<Generation, ModelError>),
    ) -> Result<(), ModelError> {
        let started = Instant::now();
        let mut sequences = Vec::with_capacity(rows.len());
        let mut pixels = Vec::with_capacity(rows.len());
        for (index, row) in rows.iter().enumerate() {
            match self.prepare(index, row, started) {
                Ok((sequence, _)) if sequence.max_new_tokens == 0 => {
                    answered(index, self.answer(sequence, StopReason::MaxTokens, started));
                }
                Ok((sequence, row_pixels)) => {
                    sequences.push(sequence);
                    pixels.push(row_pixels);
                }
                Err(error) => answered(index, Err(error)),
            }
        }
        if sequences.is_empty() {
            return Ok(());
        }
        let mut graphs = self.graphs.lock().unwrap_or_else(|e| e.into_inner());
        let clock = Instant::now();
        let features = self.encode(&mut graphs, pixels)?;
        let vision = clock.elapsed();

        let clock = Instant::now();
        let (tokens, mut cache) = self.prefill(&mut graphs, &mut sequences, &features)?;
        let prefill = clock.elapsed();
        let batch_rows = sequences.len();
        for (sequence, token) in sequences.iter_mut().zip(tokens) {
            sequence.timings.vision = vision;
            sequence.timings.prefill = prefill;
            sequence.timings.batch_rows = batch_rows;
            sequence.generated.push(token);
        }

        let decoding = Instant::now();
        loop {
            let before = sequences.len();
            let mut kept = Vec::with_capacity(before);
            let mut remaining = Vec::with_capacity(before);
            for (row, mut sequence) in sequences.into_iter().enumerate() {
                let stop = if self.stop_ids.contains(&sequence.last()) {
                    Some(StopReason::EndOfTurn)
                } else if sequence.generated.len() >= sequence.max_new_tokens {
                    Some(StopReason::MaxTokens)
                } else {
                    None
                };
                if let Some(stop) = stop {
                    sequence.timings.decode = decoding.elapsed();
                    let index = sequence.index;
                    answered(index, self.answer(sequence, stop, started));
                } else if wanted(sequence.index) {
                    kept.push(row);
                    remaining.push(sequence);
                }
            }
            sequences = remaining;
            if sequences.is_empty() {
                return Ok(());
            }
            if sequences.len() < before {
                let skip = sequences.iter().map(Sequence::padding).min().unwrap_or(0);
                for sequence in &mut sequences {
                    sequence.mask.drain(..skip);
                }
                cache = cache.select(&kept, skip)?;
            }
            let last: Vec<u32> = sequences.iter().map(Sequence::last).collect();
            let embeds = graphs.embed.run(&last)?;
            let rows = sequences.len();
            let mut mask = Vec::with_capacity(rows * (cache.len() + 1));
            let mut positions = vec![0; 3 * rows];
            for (row, sequence) in sequences.iter_mut().enumerate() {
                sequence.mask.push(1);
                mask.extend_from_slice(&sequence.mask);
                for axis in 0..3 {
                    positions[axis * rows + row] = sequence.next_position;
                }
                sequence.next_position += 1;
            }
            let input = DecoderInput {
                embeds,
                rows,
                seq: 1,
                mask,
                positions,
            };
            let (tokens, grown) = graphs.decoder.step(input, cache)?;
            cache = grown;
            for (sequence, token) in sequences.iter_mut().zip(tokens) {
                sequence.generated.push(token);
            }
        }
    }

    /// Preprocesses row `index`'s frame and tokenizes its chat.
    fn prepare(
        &self,
        index: usize,
        row: &BatchRow<'_>,
        started: Instant,
    ) -> Result<(Sequence, PixelValues), ModelError> {
        let pixels = self.processor.preprocess(row.image)?;
        let preprocess = started.elapsed();
        let image_tokens = pixels.rows() / self.processor.merge_area();
        let prompt = self.codec.encode(&render_chat(row.messages))?;
        let prompt_ids =
            expand_image_pads(&prompt, self.codec.special().image_pad, &[image_tokens])?;
        if let Some(limits) = self.limits {
            // The last token generated is never fed back.
            let fed = prompt_ids.len() + row.max_new_tokens.saturating_sub(1);
            limits
                .check("decoder_model_merged", 1, fed)
                .map_err(GraphError::from)?;
        }
        let [t, h, w] = pixels.grid_thw;
        let sequence = Sequence {
            index,
            prompt_ids,
            merged_grid: [t, h / self.merge_size, w / self.merge_size],
            image_size: pixels.size,
            max_new_tokens: row.max_new_tokens,
            timings: Timings {
                preprocess,
                batch_rows: 1,
                ..Timings::default()
            },
            generated: Vec::new(),
            mask: Vec::new(),
            next_position: 0,
        };
        Ok((sequence, pixels))
    }

    /// Every row's image features: one encoder call for all when the export takes several
    /// images, else one call per image (and, when a first batched call shows the export cannot
    /// take them, one per image from then on).
    fn encode(
        &self,
        graphs: &mut Graphs,
        pixels: Vec<PixelValues>,
    ) -> Result<Vec<ImageFeatures>, ModelError> {
        if pixels.len() > 1 && self.vision_batches.load(Ordering::Relaxed) {
            match self.encode_in_one_call(graphs, &pixels) {
                Err(ModelError::NoImageBatching { source, .. }) => {
                    self.vision_batches.store(false, Ordering::Relaxed);
                    tracing::warn!(
                        error = %source,
                        images = pixels.len(),
                        "the vision encoder does not take several images per call (an export from before batched images); encoding one image per call from now on: export the model again with `neko-agent model export` to batch images"
                    );
                }
                result => return result,
            }
        }
        let mut features = Vec::with_capacity(pixels.len());
        for image in &pixels {
            features.extend(self.encode_in_one_call(graphs, std::slice::from_ref(image))?);
        }
        Ok(features)
    }

    /// Embeds every prompt, merges its image features and runs the left-padded prefill; sets
    /// each sequence's mask and next position; returns each row's first token and the cache.
    fn prefill(
        &self,
        graphs: &mut Graphs,
        sequences: &mut [Sequence],
        features: &[ImageFeatures],
    ) -> Result<(Vec<u32>, super::graphs::KvCache), ModelError> {
        let pad = self.codec.special().image_pad;
        let all_ids: Vec<u32> = sequences
            .iter()
            .flat_map(|s| s.prompt_ids.iter().copied())
            .collect();
        let embeds = graphs.embed.run(&all_ids)?;
        let hidden = embeds.len() / all_ids.len().max(1);
        let rows = sequences.len();
        let seq = sequences
            .iter()
            .map(|s| s.prompt_ids.len())
            .max()
            .unwrap_or(0);
        let mut padded = vec![0.0f32; rows * seq * hidden];
        let mut mask = vec![0i64; rows * seq];
        let mut positions = vec![PADDING_POSITION; 3 * rows * seq];
        let mut offset = 0;
        for (row, (sequence, image)) in sequences.iter_mut().zip(features).enumerate() {
            let ids = &sequence.prompt_ids;
            let len = ids.len();
            let padding = seq - len;
            let mine = &mut padded[(row * seq + padding) * hidden..(row + 1) * seq * hidden];
            mine.copy_from_slice(&embeds[offset * hidden..(offset + len) * hidden]);
            offset += len;
            merge_image_features(mine, ids, pad, &image.values, image.width)?;
            mask[row * seq + padding..(row + 1) * seq].fill(1);
            let rope = rope_index(ids, pad, &[sequence.merged_grid]);
            for axis in 0..3 {
                let to = (axis * rows + row) * seq + padding;
                positions[to..to + len]
                    .copy_from_slice(&rope.positions[axis * len..(axis + 1) * len]);
            }
            sequence.mask = mask[row * seq..(row + 1) * seq].to_vec();
            sequence.next_position = len as i64 + rope.delta;
        }
        let cache = graphs.decoder.empty_cache(rows)?;
        let input = DecoderInput {
            embeds: padded,
            rows,
            seq,
            mask,
            positions,
        };
        Ok(graphs.decoder.step(input, cache)?)
    }

    /// The finished `sequence` as a [`Generation`].
    fn answer(
        &self,
        sequence: Sequence,
        stop: StopReason,
        started: Instant,
    ) -> Result<Generation, ModelError> {
        let Sequence {
            prompt_ids,
            image_size,
            mut timings,
            generated,
            ..
        } = sequence;
        timings.decode_steps = generated.len().saturating_sub(1);
        timings.total = started.elapsed();
        let text = self.codec.decode(&generated)?.trim().to_owned();
        tracing::debug!(
            tokens = generated.len(),
            prompt_tokens = prompt_ids.len(),
            image = %image_size,
            total_ms = timings.total.as_secs_f64() * 1e3,
            "generated"
        );
        Ok(Generation {
            text,
            tokens: generated.len(),
            prompt_tokens: prompt_ids.len(),
            prompt_ids,
            token_ids: generated,
            stop,
            image_size,
            timings,
        })
    }
}
