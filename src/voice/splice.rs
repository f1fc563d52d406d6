//! Joining successive synthesised chunks without clicks: the end of each chunk is held back and
//! crossfaded into the start of the next with an equal-power fade, like the Python tool's
//! `_splice_with_carry`, but without its failure on short chunks.
//!
//! With an overlap of N frames, each join mixes the last `k` frames held back with the first `k`
//! frames of the new chunk as `held·cos(t) + new·sin(t)`, `t = (π/2)·i/k` for `i` in `0..k`
//! (Python's `linspace(0, π/2, N, endpoint=False)` when `k = N`). `k` is N, or less when the
//! frames held back or the new chunk are shorter; a frame takes part in one crossfade at most, so
//! a chunk shorter than N that was already faded in is joined to the next one without a second
//! fade. The `k` frames of each join are the only samples removed; [`finish`](Splicer::finish)
//! hands over whatever is held back.

use super::pcm::match_channels;

/// Crossfading joiner of interleaved float chunks at one sample rate and channel count.
#[derive(Debug, Clone)]
pub struct Splicer {
    channels: usize,
    overlap: usize,
    carry: Vec<f32>,
    /// Frames at the end of `carry` not yet part of a crossfade.
    fresh: usize,
}

impl Splicer {
    /// A splicer for `channels`-channel audio at `sample_rate` Hz, crossfading over `overlap_ms`
    /// milliseconds (N = sample_rate · overlap_ms / 1000 frames, rounded down, as in Python).
    pub fn new(channels: usize, sample_rate: u32, overlap_ms: u32) -> Self {
        Self {
            channels: channels.max(1),
            overlap: (u64::from(sample_rate) * u64::from(overlap_ms) / 1000) as usize,
            carry: Vec::new(),
            fresh: 0,
        }
    }

    /// Frames each join overlaps at most (N).
    pub fn overlap_frames(&self) -> usize {
        self.overlap
    }

    /// Channels of the output.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Frames currently held back.
    pub fn held_frames(&self) -> usize {
        self.carry.len() / self.channels
    }

    /// Adds `chunk` (interleaved, `chunk_channels` channels, matched to the splicer's channels)
    /// and returns the frames that are final: everything but the last N frames so far.
    pub fn push(&mut self, chunk: &[f32], chunk_channels: usize) -> Vec<f32> {
        let chunk = match_channels(chunk, chunk_channels, self.channels);
        let ch = self.channels;
        let chunk_frames = chunk.len() / ch;
        if chunk_frames == 0 {
            return Vec::new();
        }
        let mut joined = std::mem::take(&mut self.carry);
        let k = self.overlap.min(self.fresh).min(chunk_frames);
        let fade_start = joined.len() - k * ch;
        for i in 0..k {
            let t = std::f32::consts::FRAC_PI_2 * i as f32 / k as f32;
            let (fade_out, fade_in) = (t.cos(), t.sin());
            for c in 0..ch {
                let held = &mut joined[fade_start + i * ch + c];
                *held = *held * fade_out + chunk[i * ch + c] * fade_in;
            }
        }
        joined.extend_from_slice(&chunk[k * ch..]);
        let keep = self.overlap.min(joined.len() / ch);
        // The frames after the fade are fresh; if the chunk was all fade, none are.
        self.fresh = keep.min(chunk_frames - k);
        self.carry = joined.split_off(joined.len() - keep * ch);
        joined
    }

    /// Returns the frames held back (unfaded) and starts afresh: call at the end of an
    /// utterance.
    pub fn finish(&mut self) -> Vec<f32> {
        self.fresh = 0;
        std::mem::take(&mut self.carry)
    }

    /// Drops the frames held back (`/yap:stop`).
    pub fn clear(&mut self) {
        self.fresh = 0;
        self.carry.clear();
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    #[test]
    fn overlap_is_counted_in_frames_like_python() {
        assert_eq!(Splicer::new(1, 48000, 30).overlap_frames(), 1440);
        assert_eq!(Splicer::new(2, 22050, 30).overlap_frames(), 661);
    }

    #[test]
    fn a_full_join_is_an_equal_power_crossfade() {
        let mut splicer = Splicer::new(1, 1000, 4); // N = 4 frames
        let first = splicer.push(&[1.0; 10], 1);
        assert_eq!(first, vec![1.0; 6]);
        assert_eq!(splicer.held_frames(), 4);
        let second = splicer.push(&[0.5; 10], 1);
        // carry·cos(t) + head·sin(t), t = 0, π/8, π/4, 3π/8 (linspace without the end point).
        let expected: Vec<f32> = (0..4)
            .map(|i| {
                let t = std::f32::consts::FRAC_PI_2 * i as f32 / 4.0;
                t.cos() + 0.5 * t.sin()
            })
            .chain([0.5, 0.5])
            .collect();
        assert_eq!(second.len(), 6);
        for (a, b) in second.iter().zip(&expected) {
            assert!((a - b).abs() < 1e-6, "{second:?} vs {expected:?}");
        }
        assert_eq!(splicer.finish(), vec![0.5; 4]);
        assert_eq!(splicer.held_frames(), 0);
    }

    #[test]
    fn short_chunks_never_fail_and_lose_only_the_overlap() {
        let mut rng = StdRng::seed_from_u64(3);
        for channels in [1usize, 2] {
            for _ in 0..200 {
                let mut splicer = Splicer::new(channels, 1000, rng.random_range(0..20));
                let mut out = 0;
                let mut lost = 0;
                let mut pushed = 0;
                for _ in 0..rng.random_range(1..12) {
                    let frames = rng.random_range(0..40);
                    let held = splicer.held_frames();
                    let emitted = splicer.push(&vec![0.25; frames * channels], channels).len();
                    assert_eq!(emitted % channels, 0);
                    let loss = frames + held - emitted / channels - splicer.held_frames();
                    assert!(loss <= splicer.overlap_frames().min(held).min(frames));
                    out += emitted / channels;
                    lost += loss;
                    pushed += frames;
                }
                out += splicer.finish().len() / channels;
                assert_eq!(out + lost, pushed);
            }
        }
    }

    #[test]
    fn a_constant_signal_stays_within_the_equal_power_bound() {
        let mut splicer = Splicer::new(1, 1000, 20);
        let mut out = Vec::new();
        for frames in [3, 50, 7, 1, 30, 0, 25] {
            out.extend(splicer.push(&vec![0.5; frames], 1));
        }
        out.extend(splicer.finish());
        // cos + sin peaks at √2 when both sides are equal.
        assert!(
            out.iter()
                .all(|s| *s >= 0.5 - 1e-6 && *s <= 0.5 * 2f32.sqrt() + 1e-6)
        );
    }

    #[test]
    fn channels_are_matched_before_joining() {
        let mut splicer = Splicer::new(2, 1000, 0);
        assert_eq!(splicer.push(&[0.1, 0.2], 1), vec![0.1, 0.1, 0.2, 0.2]);
        let mut mono = Splicer::new(1, 1000, 0);
        assert_eq!(mono.push(&[0.0, 1.0], 2), vec![0.5]);
        assert_eq!(mono.channels(), 1);
    }

    #[test]
    fn clear_drops_the_held_frames() {
        let mut splicer = Splicer::new(1, 1000, 5);
        splicer.push(&[1.0; 3], 1);
        splicer.clear();
        assert!(splicer.finish().is_empty());
        assert_eq!(splicer.push(&[1.0; 8], 1).len(), 3);
    }

    #[test]
    fn an_empty_chunk_changes_nothing() {
        let mut splicer = Splicer::new(1, 1000, 4);
        splicer.push(&[1.0; 10], 1);
        assert!(splicer.push(&[], 1).is_empty());
        let out = splicer.push(&[0.0; 10], 1);
        assert!(out[1] < 1.0, "the next chunk is still faded in: {out:?}");
    }
}
