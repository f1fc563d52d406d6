//! Qwen2VLImageProcessor in Rust: `smart_resize`, Pillow-compatible bicubic resize, rescale,
//! CLIP normalisation and the patch flattening the vision encoder expects.

use super::config::PreprocessorConfig;
use super::parallel::for_each_row_chunk;
use super::resize::resize_rgb8_bicubic;
use crate::frame::RgbImage;

/// ShowUI's recommended smallest image: 256 tokens of 28×28 pixels.
pub const SHOWUI_MIN_PIXELS: u64 = 256 * 28 * 28;
/// ShowUI's recommended largest image: 1344 tokens of 28×28 pixels.
pub const SHOWUI_MAX_PIXELS: u64 = 1344 * 28 * 28;

/// A frame that cannot be turned into vision-encoder input.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImageError {
    /// The buffer does not hold `width × height` RGB8 pixels.
    #[error(
        "image buffer has {actual} bytes but a tightly packed {width}x{height} RGB8 frame needs {expected}; convert the frame to RGB (3 bytes per pixel, no row padding) first"
    )]
    BufferSize {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// `width × height × 3`.
        expected: usize,
        /// The buffer's length.
        actual: usize,
    },
    /// A side is zero.
    #[error("image is {width}x{height}; both sides must be at least 1 pixel")]
    Empty {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// Qwen2-VL refuses images more than 200 times longer than wide (or the reverse).
    #[error(
        "image is {width}x{height}, an aspect ratio above 200 that Qwen2-VL refuses; crop it first"
    )]
    AspectRatio {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// The pixel budget cannot hold a single merged patch, or min is above max.
    #[error(
        "pixel budget min {min_pixels} / max {max_pixels} is unusable: need {factor}² = {} ≤ min ≤ max (NEKO_MIN_PIXELS / NEKO_MAX_PIXELS)",
        factor * factor
    )]
    Budget {
        /// Smallest image area.
        min_pixels: u64,
        /// Largest image area.
        max_pixels: u64,
        /// Side of one merged patch.
        factor: u64,
    },
}

/// Checks that `image` is a non-empty, tightly packed RGB picture (3 bytes per pixel, no row
/// padding), as the model's preprocessing needs it.
pub fn check_packed(image: &RgbImage) -> Result<(), ImageError> {
    let (width, height) = (image.width, image.height);
    if width == 0 || height == 0 {
        return Err(ImageError::Empty { width, height });
    }
    let expected = width as usize * height as usize * 3;
    if image.data.len() != expected {
        return Err(ImageError::BufferSize {
            width,
            height,
            expected,
            actual: image.data.len(),
        });
    }
    Ok(())
}

/// Width and height of an image in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImageSize {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl std::fmt::Display for ImageSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

/// Python's `smart_resize` from transformers' Qwen2-VL image processor: the size the whole frame
/// is scaled to (never cropped), with both sides multiples of `factor` and the area inside
/// `[min_pixels, max_pixels]`. `round` is Python's round-half-to-even.
pub fn smart_resize(
    width: u32,
    height: u32,
    factor: u32,
    min_pixels: u64,
    max_pixels: u64,
) -> Result<ImageSize, ImageError> {
    if width == 0 || height == 0 {
        return Err(ImageError::Empty { width, height });
    }
    if width.max(height) as f64 / width.min(height) as f64 > 200.0 {
        return Err(ImageError::AspectRatio { width, height });
    }
    let f = factor as f64;
    let (h, w) = (height as f64, width as f64);
    let mut h_bar = (h / f).round_ties_even() * f;
    let mut w_bar = (w / f).round_ties_even() * f;
    if h_bar * w_bar > max_pixels as f64 {
        let beta = (h * w / max_pixels as f64).sqrt();
        h_bar = f.max((h / beta / f).floor() * f);
        w_bar = f.max((w / beta / f).floor() * f);
    } else if h_bar * w_bar < min_pixels as f64 {
        let beta = (min_pixels as f64 / (h * w)).sqrt();
        h_bar = (h * beta / f).ceil() * f;
        w_bar = (w * beta / f).ceil() * f;
    }
    if h_bar < f || w_bar < f {
        return Err(ImageError::Budget {
            min_pixels,
            max_pixels,
            factor: factor.into(),
        });
    }
    Ok(ImageSize {
        width: w_bar as u32,
        height: h_bar as u32,
    })
}

/// Vision-encoder input for one image.
#[derive(Debug, Clone)]
pub struct PixelValues {
    /// `rows × row_len` values, row-major (`pixel_values`).
    pub values: Vec<f32>,
    /// Values per row: channels × temporal patch × patch × patch (1176 for Qwen2-VL).
    pub row_len: usize,
    /// `[grid_t, grid_h, grid_w]` in patches (`grid_thw`).
    pub grid_thw: [usize; 3],
    /// The size the frame was resized to.
    pub size: ImageSize,
}

impl PixelValues {
    /// Number of patch rows (`grid_t × grid_h × grid_w`).
    pub fn rows(&self) -> usize {
        self.grid_thw.iter().product()
    }
}

/// Turns RGB frames into `pixel_values` exactly as transformers' (slow, Pillow-based)
/// Qwen2VLImageProcessor does.
#[derive(Debug, Clone)]
pub struct ImageProcessor {
    config: PreprocessorConfig,
    min_pixels: u64,
    max_pixels: u64,
    /// Byte → normalised value, per channel (rescale in f64 then cast, normalise in f32, as numpy).
    table: [[f32; 256]; 3],
}

impl ImageProcessor {
    /// A processor for `config` that keeps image areas inside `[min_pixels, max_pixels]`.
    pub fn new(
        config: PreprocessorConfig,
        min_pixels: u64,
        max_pixels: u64,
    ) -> Result<Self, ImageError> {
        let factor = (config.patch_size * config.merge_size) as u64;
        if min_pixels < factor * factor || min_pixels > max_pixels {
            return Err(ImageError::Budget {
                min_pixels,
                max_pixels,
                factor,
            });
        }
        let mut table = [[0f32; 256]; 3];
        for (c, channel) in table.iter_mut().enumerate() {
            let mean = config.image_mean[c] as f32;
            let std = config.image_std[c] as f32;
            for (byte, value) in channel.iter_mut().enumerate() {
                let rescaled = (byte as f64 * config.rescale_factor) as f32;
                *value = (rescaled - mean) / std;
            }
        }
        Ok(Self {
            config,
            min_pixels,
            max_pixels,
            table,
        })
    }

    /// Side of one image token in pixels (patch × merge, 28 for Qwen2-VL).
    pub fn factor(&self) -> u32 {
        (self.config.patch_size * self.config.merge_size) as u32
    }

    /// Patches merged into one image token (4 for Qwen2-VL).
    pub fn merge_area(&self) -> usize {
        self.config.merge_size * self.config.merge_size
    }

    /// The size a `width × height` frame is resized to before patching (the whole frame, scaled;
    /// normalised model coordinates map back onto the original frame unchanged).
    pub fn resized_size(&self, width: u32, height: u32) -> Result<ImageSize, ImageError> {
        smart_resize(
            width,
            height,
            self.factor(),
            self.min_pixels,
            self.max_pixels,
        )
    }

    /// Resizes, normalises and flattens one frame into vision-encoder rows.
    pub fn preprocess(&self, image: &RgbImage) -> Result<PixelValues, ImageError> {
        check_packed(image)?;
        let size = self.resized_size(image.width, image.height)?;
        let (w, h) = (size.width as usize, size.height as usize);
        let resized = resize_rgb8_bicubic(
            &image.data,
            image.width as usize,
            image.height as usize,
            w,
            h,
        );
        let p = self.config.patch_size;
        let m = self.config.merge_size;
        let t = self.config.temporal_patch_size;
        let (gh, gw) = (h / p, w / p);
        let plane = p * p;
        let row_len = 3 * t * plane;
        let mut values = vec![0f32; gh * gw * row_len];
        // Rows: merge blocks in raster order, the m×m patches of each block in raster order;
        // inside a row: channel, then temporal copy, then patch row and column. One unit of
        // parallel work is a band of blocks m patches high.
        let band = (gw / m) * m * m * row_len;
        for_each_row_chunk(&mut values, band, |first_band, chunk| {
            let bands = chunk.len() / band;
            let mut rows = chunk.chunks_exact_mut(row_len);
            for bh in first_band..first_band + bands {
                for bw in 0..gw / m {
                    for mh in 0..m {
                        for mw in 0..m {
                            let row = rows.next().expect("row count matches the grid");
                            let (y0, x0) = ((bh * m + mh) * p, (bw * m + mw) * p);
                            for (c, table) in self.table.iter().enumerate() {
                                let channel = &mut row[c * t * plane..(c + 1) * t * plane];
                                for py in 0..p {
                                    let start = ((y0 + py) * w + x0) * 3 + c;
                                    let src = resized[start..start + p * 3 - 2].iter().step_by(3);
                                    let dst = &mut channel[py * p..(py + 1) * p];
                                    for (dst, &byte) in dst.iter_mut().zip(src) {
                                        *dst = table[byte as usize];
                                    }
                                }
                                for copy in 1..t {
                                    channel.copy_within(0..plane, copy * plane);
                                }
                            }
                        }
                    }
                }
            }
        });
        Ok(PixelValues {
            values,
            row_len,
            grid_thw: [1, gh, gw],
            size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QWEN_MIN: u64 = 56 * 56;
    const QWEN_MAX: u64 = 28 * 28 * 16384;

    fn size(width: u32, height: u32) -> ImageSize {
        ImageSize { width, height }
    }

    #[test]
    fn showui_budget_turns_full_hd_into_1344x756() {
        let s = smart_resize(1920, 1080, 28, SHOWUI_MIN_PIXELS, SHOWUI_MAX_PIXELS).unwrap();
        assert_eq!(s, size(1344, 756));
        assert_eq!((s.width / 28) * (s.height / 28), 1296);
    }

    #[test]
    fn round_is_half_to_even() {
        // 70 / 28 = 2.5 rounds to 2 in Python (JavaScript would give 3).
        assert_eq!(
            smart_resize(56, 70, 28, QWEN_MIN, QWEN_MAX).unwrap(),
            size(56, 56)
        );
        // 98 / 28 = 3.5 rounds to 4.
        assert_eq!(
            smart_resize(98, 98, 28, QWEN_MIN, QWEN_MAX).unwrap(),
            size(112, 112)
        );
    }

    #[test]
    fn small_images_grow_to_the_minimum() {
        assert_eq!(
            smart_resize(40, 30, 28, QWEN_MIN, QWEN_MAX).unwrap(),
            size(84, 56)
        );
        let s = smart_resize(200, 100, 28, SHOWUI_MIN_PIXELS, SHOWUI_MAX_PIXELS).unwrap();
        assert!(u64::from(s.width * s.height) >= SHOWUI_MIN_PIXELS, "{s}");
    }

    #[test]
    fn large_images_shrink_below_the_maximum() {
        assert_eq!(
            smart_resize(300, 200, 28, QWEN_MIN, 10_000).unwrap(),
            size(112, 56)
        );
        let s = smart_resize(3840, 2160, 28, SHOWUI_MIN_PIXELS, SHOWUI_MAX_PIXELS).unwrap();
        assert_eq!(s, size(1344, 756));
    }

    #[test]
    fn extreme_aspect_ratios_are_refused() {
        assert_eq!(
            smart_resize(201, 1, 28, QWEN_MIN, QWEN_MAX),
            Err(ImageError::AspectRatio {
                width: 201,
                height: 1
            })
        );
        assert!(smart_resize(200, 1, 28, QWEN_MIN, QWEN_MAX).is_ok());
    }

    #[test]
    fn buffers_must_be_tight_rgb() {
        let image = |width, height, bytes| RgbImage {
            width,
            height,
            data: vec![0; bytes],
        };
        assert!(check_packed(&image(2, 2, 12)).is_ok());
        let err = check_packed(&image(2, 2, 16)).unwrap_err();
        assert!(err.to_string().contains("needs 12"), "{err}");
        assert_eq!(
            check_packed(&image(0, 2, 0)).unwrap_err(),
            ImageError::Empty {
                width: 0,
                height: 2
            }
        );
    }

    #[test]
    fn budgets_below_one_token_are_refused() {
        let err = ImageProcessor::new(PreprocessorConfig::default(), 100, 1000).unwrap_err();
        assert!(err.to_string().contains("784"), "{err}");
        assert!(ImageProcessor::new(PreprocessorConfig::default(), 5000, 4000).is_err());
    }

    /// transformers.js's oracle: a 224×224 white image.
    #[test]
    fn white_224_matches_the_transformers_js_oracle() {
        let processor =
            ImageProcessor::new(PreprocessorConfig::default(), QWEN_MIN, QWEN_MAX).unwrap();
        let rgb = vec![255u8; 224 * 224 * 3];
        let pv = processor
            .preprocess(&RgbImage {
                width: 224,
                height: 224,
                data: rgb.clone(),
            })
            .unwrap();
        assert_eq!(pv.grid_thw, [1, 16, 16]);
        assert_eq!((pv.rows(), pv.row_len), (256, 1176));
        assert_eq!(pv.values.len(), 256 * 1176);
        let mean = pv.values.iter().map(|v| f64::from(*v)).sum::<f64>() / pv.values.len() as f64;
        assert!((mean - 2.0503724).abs() < 1e-6, "mean {mean}");
    }

    /// The synthetic frame of `scripts/models/make_preprocess_golden.py`.
    fn synthetic(width: usize, height: usize) -> Vec<u8> {
        let mut rgb = Vec::with_capacity(width * height * 3);
        for y in 0..height {
            for x in 0..width {
                rgb.push(if (x / 5 + y / 7) % 2 == 0 { 255 } else { 0 });
                rgb.push((x * 255 / (width - 1).max(1)) as u8);
                rgb.push(((x * x + 3 * y * y + 17 * x * y + 11) % 256) as u8);
            }
        }
        rgb
    }

    /// Against Pillow 13 + numpy (tests/fixtures/model-preprocess): the resized bytes and the
    /// pixel values are identical, not just close.
    #[test]
    fn matches_pillow_and_numpy_golden_data() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/model-preprocess");
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("golden.json")).unwrap())
                .unwrap();
        let cases = manifest["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 5);
        let mut full_cases = 0;
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let n = |key: &str| case[key].as_u64().unwrap();
            let (width, height) = (n("width") as u32, n("height") as u32);
            let processor = ImageProcessor::new(
                PreprocessorConfig::default(),
                n("min_pixels"),
                n("max_pixels"),
            )
            .unwrap();
            let resized = processor.resized_size(width, height).unwrap();
            assert_eq!(
                resized,
                size(n("resized_width") as u32, n("resized_height") as u32),
                "{name}"
            );
            let rgb = synthetic(width as usize, height as usize);
            let ours = resize_rgb8_bicubic(
                &rgb,
                width as usize,
                height as usize,
                resized.width as usize,
                resized.height as usize,
            );
            let pillow = std::fs::read(dir.join(format!("{name}.rgb"))).unwrap();
            let worst = ours
                .iter()
                .zip(&pillow)
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap();
            assert_eq!(ours.len(), pillow.len(), "{name}");
            assert_eq!(
                worst, 0,
                "{name}: resized bytes differ from Pillow by up to {worst}"
            );
            if let Ok(bytes) = std::fs::read(dir.join(format!("{name}.f32"))) {
                full_cases += 1;
                let expected: Vec<f32> = bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                let pv = processor
                    .preprocess(&RgbImage {
                        width,
                        height,
                        data: rgb.clone(),
                    })
                    .unwrap();
                let grid: Vec<usize> = case["grid_thw"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap() as usize)
                    .collect();
                assert_eq!(pv.grid_thw.to_vec(), grid, "{name}");
                assert_eq!(pv.values.len(), expected.len(), "{name}");
                let worst = pv
                    .values
                    .iter()
                    .zip(&expected)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0f32, f32::max);
                assert!(
                    worst <= 1e-5,
                    "{name}: pixel_values differ by up to {worst}"
                );
                assert!(
                    pv.values
                        .iter()
                        .zip(&expected)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{name}: pixel_values are close but not bit-identical (max {worst})"
                );
            }
        }
        assert_eq!(full_cases, 1);
    }

    #[test]
    fn rows_follow_the_merge_block_order() {
        // A 56×28 image whose red channel encodes the 14×14 patch column and green the patch row.
        let (w, h) = (56usize, 28usize);
        let mut rgb = vec![0u8; w * h * 3];
        for y in 0..h {
            for x in 0..w {
                rgb[(y * w + x) * 3] = (x / 14 * 60) as u8;
                rgb[(y * w + x) * 3 + 1] = (y / 14 * 60) as u8;
            }
        }
        let processor = ImageProcessor::new(PreprocessorConfig::default(), 784, QWEN_MAX).unwrap();
        let pv = processor
            .preprocess(&RgbImage {
                width: w as u32,
                height: h as u32,
                data: rgb.clone(),
            })
            .unwrap();
        assert_eq!(pv.grid_thw, [1, 2, 4]);
        let value = |c: usize, byte: u8| processor.table[c][byte as usize];
        // Block (0,0) holds patches (0,0) (0,1) (1,0) (1,1); block (0,1) the next two columns.
        let expect = [
            (0, 0),
            (0, 1),
            (1, 0),
            (1, 1),
            (0, 2),
            (0, 3),
            (1, 2),
            (1, 3),
        ];
        for (row, (py, px)) in pv.values.chunks_exact(1176).zip(expect) {
            assert!(
                row[..392].iter().all(|v| *v == value(0, px * 60)),
                "red of {py},{px}"
            );
            assert!(
                row[392..784].iter().all(|v| *v == value(1, py * 60)),
                "green of {py},{px}"
            );
            assert!(row[784..].iter().all(|v| *v == value(2, 0)));
        }
    }
}
