//! Bicubic resize of RGB8 images that reproduces Pillow's `Image.resize(size, Image.BICUBIC)`.
//!
//! Qwen2VLImageProcessor resizes the uint8 image with Pillow before rescaling it, so matching
//! Pillow's integer arithmetic gives the same pixels the Python tool fed the model. Pillow's
//! algorithm (`libImaging/Resample.c`): a separable Keys cubic kernel with `a = -0.5` whose support
//! grows with the downscale factor (antialiasing), weights normalised per output pixel and turned
//! into 22-bit fixed point, a horizontal pass then a vertical pass, each rounded and clamped to
//! 0..=255.

use std::ops::Range;

use super::parallel::for_each_row_chunk;

/// Fractional bits of the fixed-point weights (Pillow's `PRECISION_BITS`).
const PRECISION_BITS: u32 = 32 - 8 - 2;
/// Reach of the bicubic kernel at scale 1.
const SUPPORT: f64 = 2.0;

/// The Keys cubic convolution kernel with `a = -0.5`.
fn bicubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// Fixed-point weights of one resampling direction: for each output index, the first input index
/// it reads and its weights (`taps` slots each, unused ones zero).
struct Weights {
    taps: usize,
    first: Vec<usize>,
    count: Vec<usize>,
    fixed: Vec<i32>,
}

impl Weights {
    /// Weights that map `in_size` samples onto `out_size`, as Pillow's `precompute_coeffs` and
    /// `normalize_coeffs_8bpc` compute them.
    fn new(in_size: usize, out_size: usize) -> Self {
        let scale = in_size as f64 / out_size as f64;
        let filter_scale = scale.max(1.0);
        let support = SUPPORT * filter_scale;
        let taps = support.ceil() as usize * 2 + 1;
        let mut first = Vec::with_capacity(out_size);
        let mut count = Vec::with_capacity(out_size);
        let mut fixed = vec![0i32; out_size * taps];
        let mut weights = vec![0f64; taps];
        for (xx, row) in fixed.chunks_exact_mut(taps).enumerate() {
            let center = (xx as f64 + 0.5) * scale;
            let inv = 1.0 / filter_scale;
            // `(int)(v + 0.5)` in C: truncation toward zero, then clamped to the image.
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
            let n = xmax.saturating_sub(xmin);
            let mut total = 0.0;
            for (x, w) in weights[..n].iter_mut().enumerate() {
                *w = bicubic(((x + xmin) as f64 - center + 0.5) * inv);
                total += *w;
            }
            for (w, k) in weights[..n].iter().zip(row.iter_mut()) {
                let w = if total != 0.0 { w / total } else { *w };
                let v = w * f64::from(1u32 << PRECISION_BITS);
                *k = if w < 0.0 {
                    (v - 0.5) as i32
                } else {
                    (v + 0.5) as i32
                };
            }
            first.push(xmin);
            count.push(n);
        }
        Self {
            taps,
            first,
            count,
            fixed,
        }
    }

    /// The input range and weights of output index `i`.
    fn of(&self, i: usize) -> (usize, &[i32]) {
        let start = i * self.taps;
        (self.first[i], &self.fixed[start..start + self.count[i]])
    }

    /// Input indices that any output reads.
    fn span(&self) -> Range<usize> {
        let last = self.first.len() - 1;
        self.first[0]..self.first[last] + self.count[last]
    }
}

/// Rounds a fixed-point accumulator to a byte the way Pillow's `clip8` does.
#[inline]
fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// The rounding offset every accumulator starts from.
const HALF: i32 = 1 << (PRECISION_BITS - 1);

/// Resizes a tightly packed RGB8 image (`width × height × 3` bytes) to `out_width × out_height`,
/// with the same result as Pillow's bicubic resize of an RGB image.
pub fn resize_rgb8_bicubic(
    rgb: &[u8],
    width: usize,
    height: usize,
    out_width: usize,
    out_height: usize,
) -> Vec<u8> {
    assert_eq!(rgb.len(), width * height * 3, "RGB8 buffer size");
    assert!(width > 0 && height > 0 && out_width > 0 && out_height > 0);
    if width == out_width && height == out_height {
        return rgb.to_vec();
    }
    let vertical = Weights::new(height, out_height);
    if width == out_width {
        return resize_vertical(rgb, width, &vertical, out_height);
    }
    let horizontal = Weights::new(width, out_width);
    // Only the rows the vertical pass reads are resampled horizontally.
    let rows = if height == out_height {
        0..height
    } else {
        vertical.span()
    };
    let mut temp = vec![0u8; rows.len() * out_width * 3];
    for_each_row_chunk(&mut temp, out_width * 3, |first, chunk| {
        for (i, out_row) in chunk.chunks_exact_mut(out_width * 3).enumerate() {
            let y = rows.start + first + i;
            resize_row(
                &rgb[y * width * 3..(y + 1) * width * 3],
                &horizontal,
                out_row,
            );
        }
    });
    if height == out_height {
        return temp;
    }
    let shifted = Weights {
        first: vertical.first.iter().map(|f| f - rows.start).collect(),
        ..vertical
    };
    resize_vertical(&temp, out_width, &shifted, out_height)
}

/// Horizontal pass over one row of RGB pixels.
fn resize_row(input: &[u8], weights: &Weights, output: &mut [u8]) {
    for (xx, out) in output.chunks_exact_mut(3).enumerate() {
        let (first, k) = weights.of(xx);
        let pixels = &input[first * 3..(first + k.len()) * 3];
        let (mut r, mut g, mut b) = (HALF, HALF, HALF);
        for (p, &w) in pixels.chunks_exact(3).zip(k) {
            r += i32::from(p[0]) * w;
            g += i32::from(p[1]) * w;
            b += i32::from(p[2]) * w;
        }
        out[0] = clip8(r);
        out[1] = clip8(g);
        out[2] = clip8(b);
    }
}

/// Vertical pass: every output row is a weighted sum of whole input rows.
fn resize_vertical(input: &[u8], width: usize, weights: &Weights, out_height: usize) -> Vec<u8> {
    let stride = width * 3;
    let mut output = vec![0u8; out_height * stride];
    for_each_row_chunk(&mut output, stride, |first_row, chunk| {
        let mut acc = vec![0i32; stride];
        for (i, out_row) in chunk.chunks_exact_mut(stride).enumerate() {
            let (first, k) = weights.of(first_row + i);
            acc.fill(HALF);
            for (dy, &w) in k.iter().enumerate() {
                let row = &input[(first + dy) * stride..(first + dy + 1) * stride];
                for (a, &p) in acc.iter_mut().zip(row) {
                    *a += i32::from(p) * w;
                }
            }
            for (o, &a) in out_row.iter_mut().zip(&acc) {
                *o = clip8(a);
            }
        }
    });
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_in_fixed_point() {
        for (input, output) in [(1920, 1344), (40, 84), (300, 112), (7, 7), (5, 1)] {
            let w = Weights::new(input, output);
            for i in 0..output {
                let sum: i32 = w.of(i).1.iter().sum();
                assert!(
                    (sum - (1 << PRECISION_BITS)).abs() <= w.taps as i32,
                    "{input}->{output} at {i}: {sum}"
                );
            }
        }
    }

    #[test]
    fn downscale_support_grows_with_the_factor() {
        assert_eq!(Weights::new(100, 100).taps, 5);
        assert_eq!(Weights::new(100, 200).taps, 5);
        assert_eq!(Weights::new(1920, 1344).taps, 7);
        assert_eq!(Weights::new(300, 100).taps, 13);
    }

    #[test]
    fn flat_images_stay_flat() {
        let rgb: Vec<u8> = [10u8, 128, 250].repeat(37 * 23);
        let out = resize_rgb8_bicubic(&rgb, 37, 23, 64, 9);
        assert_eq!(out.len(), 64 * 9 * 3);
        assert!(out.chunks_exact(3).all(|p| p == [10, 128, 250]));
    }

    #[test]
    fn same_size_is_a_copy() {
        let rgb: Vec<u8> = (0..4 * 3 * 3).map(|v| v as u8).collect();
        assert_eq!(resize_rgb8_bicubic(&rgb, 4, 3, 4, 3), rgb);
    }

    #[test]
    fn overshoot_is_clamped() {
        // A hard black/white edge makes the cubic lobes over- and undershoot.
        let mut rgb = vec![0u8; 8 * 3];
        rgb[12..].fill(255);
        let out = resize_rgb8_bicubic(&rgb, 8, 1, 13, 1);
        assert_eq!(out[0], 0);
        assert_eq!(out[out.len() - 1], 255);
    }
}
