//! The frame as the request carries it: scaled down to the configured longest edge (bicubic,
//! as the local engine's processor resizes) and encoded as a base64 `data:` URL.

use base64::Engine;

use super::settings::ImageFormat;
use crate::frame::RgbImage;
use crate::model::{ImageError, check_packed, resize_rgb8_bicubic};

/// JPEG quality of the frames sent (the Python agent's).
const JPEG_QUALITY: u8 = 95;

/// The frame could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The picture is not a tightly packed RGB picture.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// The JPEG encoder refused the image.
    #[error("cannot encode the {width}×{height} frame as JPEG: {source}")]
    Jpeg {
        /// Width sent.
        width: u32,
        /// Height sent.
        height: u32,
        /// The encoder's error.
        source: jpeg_encoder::EncodingError,
    },
    /// The PNG encoder refused the image.
    #[error("cannot encode the {width}×{height} frame as PNG: {source}")]
    Png {
        /// Width sent.
        width: u32,
        /// Height sent.
        height: u32,
        /// The encoder's error.
        source: png::EncodingError,
    },
}

/// An image ready for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedImage {
    /// Width after scaling.
    pub width: u32,
    /// Height after scaling.
    pub height: u32,
    /// Bytes of the encoded file (before base64).
    pub encoded_bytes: usize,
    /// `data:image/jpeg;base64,…` or `data:image/png;base64,…`.
    pub data_url: String,
}

/// Scales `image` down so its longest edge is at most `max_edge` (never up; at most 65 535, the
/// JPEG limit) and encodes it.
pub fn encode_image(
    image: &RgbImage,
    max_edge: u32,
    format: ImageFormat,
) -> Result<EncodedImage, EncodeError> {
    check_packed(image)?;
    let (width, height) = scaled_size(image.width, image.height, max_edge);
    let resized;
    let rgb = if (width, height) == (image.width, image.height) {
        &image.data
    } else {
        resized = resize_rgb8_bicubic(
            &image.data,
            image.width as usize,
            image.height as usize,
            width as usize,
            height as usize,
        );
        &resized
    };
    let file = match format {
        ImageFormat::Jpeg => jpeg(rgb, width, height)?,
        ImageFormat::Png => png(rgb, width, height)?,
    };
    let mut data_url = format!("data:{};base64,", format.mime());
    base64::engine::general_purpose::STANDARD.encode_string(&file, &mut data_url);
    Ok(EncodedImage {
        width,
        height,
        encoded_bytes: file.len(),
        data_url,
    })
}

/// The size with the longest edge brought down to `max_edge`, aspect kept.
fn scaled_size(width: u32, height: u32, max_edge: u32) -> (u32, u32) {
    let max_edge = max_edge.clamp(1, u32::from(u16::MAX));
    let longest = width.max(height);
    if longest <= max_edge {
        return (width, height);
    }
    let scale = f64::from(max_edge) / f64::from(longest);
    let scaled = |v: u32| ((f64::from(v) * scale).round() as u32).max(1);
    (scaled(width), scaled(height))
}

fn jpeg(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, EncodeError> {
    let mut file = Vec::new();
    let fail = |source| EncodeError::Jpeg {
        width,
        height,
        source,
    };
    // `scaled_size` keeps both edges within u16 (JPEG's limit).
    let (w, h) = (width as u16, height as u16);
    jpeg_encoder::Encoder::new(&mut file, JPEG_QUALITY)
        .encode(rgb, w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(fail)?;
    Ok(file)
}

fn png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, EncodeError> {
    let mut file = Vec::new();
    let fail = |source| EncodeError::Png {
        width,
        height,
        source,
    };
    let mut encoder = png::Encoder::new(&mut file, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(fail)?;
    writer.write_image_data(rgb).map_err(fail)?;
    writer.finish().map_err(fail)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_scaled_down_to_the_edge_and_never_up() {
        assert_eq!(scaled_size(1920, 1080, 1280), (1280, 720));
        assert_eq!(scaled_size(1080, 1920, 1280), (720, 1280));
        assert_eq!(scaled_size(640, 360, 1280), (640, 360));
        assert_eq!(scaled_size(1000, 1, 100), (100, 1));
    }

    #[test]
    fn data_urls_name_their_format() {
        let rgb = vec![200u8; 64 * 48 * 3];
        let image = &RgbImage {
            width: 64,
            height: 48,
            data: rgb,
        };
        let jpeg = encode_image(image, 32, ImageFormat::Jpeg).unwrap();
        assert_eq!((jpeg.width, jpeg.height), (32, 24));
        assert!(jpeg.data_url.starts_with("data:image/jpeg;base64,/9j/"));
        let png = encode_image(image, 100, ImageFormat::Png).unwrap();
        assert_eq!((png.width, png.height), (64, 48));
        assert!(
            png.data_url
                .starts_with("data:image/png;base64,iVBORw0KGgo")
        );
    }
}
