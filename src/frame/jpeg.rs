//! JPEG pictures of frames (the service's screenshots).

use super::RgbImage;

/// `image` as a baseline JPEG of `quality` (1–100). Pictures wider or taller than 65 535
/// pixels (JPEG's limit) are refused by the encoder.
pub fn encode_jpeg(image: &RgbImage, quality: u8) -> Result<Vec<u8>, jpeg_encoder::EncodingError> {
    let mut out = Vec::new();
    let encoder = jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100));
    let side = |pixels: u32| u16::try_from(pixels).unwrap_or(u16::MAX);
    encoder.encode(
        &image.data,
        side(image.width),
        side(image.height),
        jpeg_encoder::ColorType::Rgb,
    )?;
    Ok(out)
}
