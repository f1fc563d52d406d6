//! A machine-readable timestamp strip painted into the top-left corner of frames.
//!
//! The strip survives lossy VP8/H.264 coding and RGB→I420→RGB conversion, so a
//! client that decodes the picture can read back when the frame was made.
//!
//! # Layout
//!
//! The strip is [`STAMP_WIDTH`] × [`STAMP_HEIGHT`] pixels with its top-left
//! corner at pixel (0, 0): two rows of [`COLUMNS`] square blocks, each
//! [`BLOCK`] × [`BLOCK`] pixels and aligned to the 16-pixel macroblock grid.
//! A block is white (255, 255, 255) for a 1 bit and black for a 0 bit. Read
//! left to right, top row first, the 52 blocks are:
//!
//! | blocks | content |
//! |--------|---------|
//! | 0–3    | start marker `1 0 1 0` |
//! | 4–43   | the value's low [`VALUE_BITS`] bits, most significant first |
//! | 44–51  | CRC-8 (polynomial 0x07, initial value 0xFF) of the value as 5 big-endian bytes, most significant bit first |
//!
//! Decoding averages the luminance of the central 8 × 8 pixels of each block
//! and requires every block to be clearly dark or clearly light, the start
//! marker to match and the CRC to agree; otherwise there is no stamp.

/// Side of one block, in pixels.
pub const BLOCK: u32 = 16;
/// Blocks per row.
pub const COLUMNS: u32 = 26;
/// Rows of blocks.
const ROWS: u32 = 2;
/// Width of the strip, in pixels.
pub const STAMP_WIDTH: u32 = BLOCK * COLUMNS;
/// Height of the strip, in pixels.
pub const STAMP_HEIGHT: u32 = BLOCK * ROWS;
/// How many low bits of the value the strip carries (2^40 ms is about 34.8 years).
pub const VALUE_BITS: u32 = 40;

const SYNC: [bool; 4] = [true, false, true, false];
const CRC_BITS: usize = 8;
const BITS: usize = SYNC.len() + VALUE_BITS as usize + CRC_BITS;
const VALUE_MASK: u64 = (1 << VALUE_BITS) - 1;

/// Wall-clock milliseconds since the Unix epoch: the clock stamps are written and read with.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
/// Mean luminance at or above which a block reads as 1.
const LIGHT: u32 = 160;
/// Mean luminance at or below which a block reads as 0.
const DARK: u32 = 95;
/// Offset of the sampled centre within each block, in pixels.
const SAMPLE_FROM: usize = 4;
/// Side of the sampled centre of each block, in pixels.
const SAMPLE_SIZE: usize = 8;

/// CRC-8 (polynomial 0x07, initial 0xFF) of the 40-bit value's 5 big-endian bytes.
fn crc8(value: u64) -> u8 {
    let mut crc = 0xffu8;
    for byte in value.to_be_bytes()[3..].iter() {
        crc ^= byte;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x07
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The strip's bits in reading order.
fn bits_of(value: u64) -> [bool; BITS] {
    let value = value & VALUE_MASK;
    let crc = crc8(value);
    let mut bits = [false; BITS];
    bits[..SYNC.len()].copy_from_slice(&SYNC);
    let payload = &mut bits[SYNC.len()..];
    for (i, bit) in payload.iter_mut().enumerate() {
        *bit = if i < VALUE_BITS as usize {
            value >> (VALUE_BITS as usize - 1 - i) & 1 == 1
        } else {
            crc >> (CRC_BITS - 1 - (i - VALUE_BITS as usize)) & 1 == 1
        };
    }
    bits
}

/// The byte range of pixel `(x, y)`, if it fits in `len` bytes.
fn pixel_range(
    len: usize,
    stride: usize,
    bpp: usize,
    x: usize,
    y: usize,
) -> Option<std::ops::Range<usize>> {
    let start = y.checked_mul(stride)?.checked_add(x.checked_mul(bpp)?)?;
    let end = start.checked_add(bpp)?;
    (end <= len).then_some(start..end)
}

/// Paints the strip for `value_ms` (its low [`VALUE_BITS`] bits) at the top-left of `out`.
///
/// `out` holds rows `stride` bytes apart of `bytes_per_pixel`-byte pixels whose
/// first three bytes are colour channels; a fourth byte is set to 255. Parts of
/// the strip that do not fit are skipped.
pub fn encode(out: &mut [u8], stride: usize, bytes_per_pixel: usize, value_ms: u64) {
    if bytes_per_pixel == 0 {
        return;
    }
    let bits = bits_of(value_ms);
    let width = (STAMP_WIDTH as usize).min(stride / bytes_per_pixel);
    for y in 0..STAMP_HEIGHT as usize {
        let row_bits = &bits[y / BLOCK as usize * COLUMNS as usize..];
        for x in 0..width {
            let Some(range) = pixel_range(out.len(), stride, bytes_per_pixel, x, y) else {
                return;
            };
            let level = if row_bits[x / BLOCK as usize] { 255 } else { 0 };
            for (byte, value) in out[range].iter_mut().zip([level, level, level, 255]) {
                *byte = value;
            }
        }
    }
}

/// Luminance of one pixel; symmetric in the first and third channel so RGB and BGR agree.
fn luma(pixel: &[u8]) -> u32 {
    match *pixel {
        [a, b, c, ..] => (u32::from(a) + 2 * u32::from(b) + u32::from(c)) / 4,
        [a, ..] => u32::from(a),
        [] => 0,
    }
}

/// Reads the strip back from `pixels` (RGB, BGR, RGBx, BGRx or grey, `stride` bytes per row).
///
/// Returns the value's low [`VALUE_BITS`] bits, or `None` when the strip is
/// missing, unreadable or fails its start marker or CRC.
pub fn decode(pixels: &[u8], stride: usize, bytes_per_pixel: usize) -> Option<u64> {
    if bytes_per_pixel == 0 || stride / bytes_per_pixel < STAMP_WIDTH as usize {
        return None;
    }
    let mut bits = [false; BITS];
    for (i, bit) in bits.iter_mut().enumerate() {
        let bx = i % COLUMNS as usize * BLOCK as usize + SAMPLE_FROM;
        let by = i / COLUMNS as usize * BLOCK as usize + SAMPLE_FROM;
        let mut sum = 0;
        for y in by..by + SAMPLE_SIZE {
            for x in bx..bx + SAMPLE_SIZE {
                let range = pixel_range(pixels.len(), stride, bytes_per_pixel, x, y)?;
                sum += luma(&pixels[range]);
            }
        }
        let mean = sum / (SAMPLE_SIZE * SAMPLE_SIZE) as u32;
        *bit = match mean {
            m if m >= LIGHT => true,
            m if m <= DARK => false,
            _ => return None,
        };
    }
    if bits[..SYNC.len()] != SYNC {
        return None;
    }
    let value = bits[SYNC.len()..]
        .iter()
        .take(VALUE_BITS as usize)
        .fold(0u64, |acc, &b| acc << 1 | u64::from(b));
    let crc = bits[BITS - CRC_BITS..]
        .iter()
        .fold(0u8, |acc, &b| acc << 1 | u8::from(b));
    (crc == crc8(value)).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: usize = 480;
    const H: usize = 48;

    /// A colourful background with the strip painted on it.
    fn stamped(bpp: usize, value: u64) -> Vec<u8> {
        let mut buf: Vec<u8> = (0..W * H * bpp).map(|i| (i * 7 % 251) as u8).collect();
        encode(&mut buf, W * bpp, bpp, value);
        buf
    }

    /// Deterministic pseudo-random numbers in -amplitude..=amplitude.
    fn noise(seed: &mut u64, amplitude: i32) -> i32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 33) as i32 % (amplitude + 1) * if *seed & 1 == 0 { 1 } else { -1 }
    }

    fn clamp(v: f32) -> u8 {
        v.round().clamp(0.0, 255.0) as u8
    }

    /// RGB → BT.601 limited-range YUV 4:2:0 → RGB, as an encoder pipeline would do.
    fn i420_round_trip(buf: &mut [u8], bpp: usize) {
        let mut yuv = vec![[0f32; 3]; W * H];
        for (i, p) in buf.chunks_exact(bpp).enumerate() {
            let [r, g, b] = [p[0], p[1], p[2]].map(f32::from);
            yuv[i] = [
                16.0 + 0.257 * r + 0.504 * g + 0.098 * b,
                128.0 - 0.148 * r - 0.291 * g + 0.439 * b,
                128.0 + 0.439 * r - 0.368 * g - 0.071 * b,
            ];
        }
        for by in (0..H).step_by(2) {
            for bx in (0..W).step_by(2) {
                let cells = [
                    by * W + bx,
                    by * W + bx + 1,
                    (by + 1) * W + bx,
                    (by + 1) * W + bx + 1,
                ];
                let mean = |ch: usize| cells.iter().map(|&c| yuv[c][ch]).sum::<f32>() / 4.0;
                let (u, v) = (mean(1), mean(2));
                for c in cells {
                    yuv[c][1] = u;
                    yuv[c][2] = v;
                }
            }
        }
        for (p, [y, u, v]) in buf.chunks_exact_mut(bpp).zip(yuv) {
            let (y, u, v) = (1.164 * (y - 16.0), u - 128.0, v - 128.0);
            p[0] = clamp(y + 1.596 * v);
            p[1] = clamp(y - 0.392 * u - 0.813 * v);
            p[2] = clamp(y + 2.017 * u);
        }
    }

    #[test]
    fn round_trips_in_every_pixel_format() {
        for bpp in [1, 3, 4] {
            for value in [0, 1, 1_700_000_000_123, VALUE_MASK, u64::MAX] {
                let buf = stamped(bpp, value);
                assert_eq!(decode(&buf, W * bpp, bpp), Some(value & VALUE_MASK));
            }
        }
    }

    #[test]
    fn survives_noise() {
        let mut seed = 42;
        for bpp in [3, 4] {
            let mut buf = stamped(bpp, 234_567_890_123);
            for byte in buf.iter_mut() {
                *byte = (i32::from(*byte) + noise(&mut seed, 20)).clamp(0, 255) as u8;
            }
            assert_eq!(decode(&buf, W * bpp, bpp), Some(234_567_890_123));
        }
    }

    #[test]
    fn survives_chroma_subsampling_and_noise() {
        let mut seed = 7;
        let mut buf = stamped(4, 987_654_321_000);
        i420_round_trip(&mut buf, 4);
        for byte in buf.iter_mut() {
            *byte = (i32::from(*byte) + noise(&mut seed, 20)).clamp(0, 255) as u8;
        }
        assert_eq!(decode(&buf, W * 4, 4), Some(987_654_321_000));
    }

    #[test]
    fn reads_bgr_and_padded_rows() {
        let stride = W * 4 + 64;
        let mut buf = vec![0u8; stride * H];
        encode(&mut buf, stride, 4, 555);
        for p in buf.chunks_exact_mut(4) {
            p.swap(0, 2);
        }
        assert_eq!(decode(&buf, stride, 4), Some(555));
    }

    #[test]
    fn absent_or_damaged_strips_are_rejected() {
        assert_eq!(decode(&vec![0; W * H * 4], W * 4, 4), None);
        assert_eq!(decode(&vec![255; W * H * 4], W * 4, 4), None);
        let background: Vec<u8> = (0..W * H * 4).map(|i| (i * 7 % 251) as u8).collect();
        assert_eq!(decode(&background, W * 4, 4), None);

        let mut flipped = stamped(4, 1_000_000);
        let block = (SYNC.len() + 20) * BLOCK as usize;
        for y in 0..BLOCK as usize {
            for x in block..block + BLOCK as usize {
                let i = (y * W + x) * 4;
                flipped[i..i + 3].iter_mut().for_each(|b| *b = 255 - *b);
            }
        }
        assert_eq!(decode(&flipped, W * 4, 4), None);
    }

    #[test]
    fn short_buffers_neither_panic_nor_decode() {
        let mut small = vec![0u8; 100 * 10 * 4];
        encode(&mut small, 100 * 4, 4, 99);
        assert_eq!(decode(&small, 100 * 4, 4), None);
        let mut truncated = stamped(4, 99);
        truncated.truncate(W * 4 * 20);
        assert_eq!(decode(&truncated, W * 4, 4), None);
        encode(&mut truncated, W * 4, 0, 1);
        assert_eq!(decode(&truncated, W * 4, 0), None);
        encode(&mut [], usize::MAX, 3, 1);
        assert_eq!(decode(&[], usize::MAX, 3), None);
    }
}
