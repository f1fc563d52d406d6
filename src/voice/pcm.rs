//! Sample-level conversions between the engines' output and what is sent to the room: channel
//! count matching and float to 16-bit integer.

/// `samples` (interleaved, `from` channels) as `to` channels: averaged to mono when `to` is 1,
/// the mono channel repeated when `from` is 1, otherwise channel `c` taken from channel
/// `c % from`. A trailing partial frame is ignored. A count of 0 is treated as 1.
pub fn match_channels(samples: &[f32], from: usize, to: usize) -> Vec<f32> {
    let (from, to) = (from.max(1), to.max(1));
    if from == to {
        return samples[..samples.len() / from * from].to_vec();
    }
    let frames = samples.chunks_exact(from);
    if to == 1 {
        return frames
            .map(|frame| frame.iter().sum::<f32>() / from as f32)
            .collect();
    }
    let mut out = Vec::with_capacity(samples.len() / from * to);
    for frame in frames {
        out.extend((0..to).map(|c| frame[c % from]));
    }
    out
}

/// One float sample in [-1, 1] as a 16-bit sample: clipped, scaled by 32767 and rounded (NaN
/// becomes 0).
pub fn sample_to_i16(sample: f32) -> i16 {
    if sample.is_nan() {
        return 0;
    }
    (sample.clamp(-1.0, 1.0) * 32767.0).round() as i16
}

/// Float samples as 16-bit samples (see [`sample_to_i16`]).
pub fn to_i16(samples: &[f32]) -> Vec<i16> {
    samples.iter().copied().map(sample_to_i16).collect()
}

/// 16-bit samples as floats in [-1, 1) (divided by 32768).
pub fn from_i16(samples: &[i16]) -> Vec<f32> {
    samples.iter().map(|&s| f32::from(s) / 32768.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stereo_averages_to_mono_and_mono_repeats_to_stereo() {
        assert_eq!(match_channels(&[1.0, 0.0, 0.5, 0.5], 2, 1), vec![0.5, 0.5]);
        assert_eq!(match_channels(&[0.1, 0.2], 1, 2), vec![0.1, 0.1, 0.2, 0.2]);
        assert_eq!(match_channels(&[0.1, 0.2, 0.3], 1, 1), vec![0.1, 0.2, 0.3]);
        assert_eq!(match_channels(&[0.1, 0.2, 0.3], 2, 2), vec![0.1, 0.2]);
        assert_eq!(match_channels(&[1.0, 2.0, 3.0], 3, 2), vec![1.0, 2.0]);
        assert!(match_channels(&[], 2, 1).is_empty());
    }

    #[test]
    fn conversion_clips_and_rounds() {
        assert_eq!(
            to_i16(&[0.0, 1.0, -1.0, 2.0, -2.0, 0.5, f32::NAN]),
            vec![0, 32767, -32767, 32767, -32767, 16384, 0]
        );
        assert_eq!(from_i16(&[16384, -32768]), vec![0.5, -1.0]);
    }
}
