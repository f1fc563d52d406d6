//! Frames from the watch appsink: PNG export and reading the room's time stamp.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use neko_sandbox::stamp;

/// An RGB frame copied out of a sample.
#[derive(Debug, Clone)]
pub struct RgbFrame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Bytes per row.
    pub stride: usize,
    /// Pixel data, `stride * height` bytes.
    pub data: Vec<u8>,
}

/// Errors handling frames.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The sample is not packed RGB.
    #[error("the watch pipeline must end in video/x-raw,format=RGB; got {0}")]
    Format(String),
    /// Writing the PNG failed.
    #[error("cannot write {path}: {reason}")]
    Write {
        /// Target file.
        path: String,
        /// Why.
        reason: String,
    },
}

impl RgbFrame {
    /// Copies an RGB sample.
    pub fn from_sample(sample: &gst::Sample) -> Result<Self, FrameError> {
        let caps = sample
            .caps()
            .ok_or_else(|| FrameError::Format("no caps".into()))?;
        let info = gst_video::VideoInfo::from_caps(caps)
            .map_err(|_| FrameError::Format(caps.to_string()))?;
        if info.format() != gst_video::VideoFormat::Rgb {
            return Err(FrameError::Format(caps.to_string()));
        }
        let buffer = sample
            .buffer()
            .ok_or_else(|| FrameError::Format("sample without buffer".into()))?;
        let map = buffer
            .map_readable()
            .map_err(|_| FrameError::Format("unreadable buffer".into()))?;
        let stride = info.stride()[0] as usize;
        let needed = stride * info.height() as usize;
        let data = map
            .as_slice()
            .get(..needed)
            .ok_or_else(|| FrameError::Format("short buffer".into()))?
            .to_vec();
        Ok(Self {
            width: info.width(),
            height: info.height(),
            stride,
            data,
        })
    }

    /// The RGB value at a pixel.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        let i = y as usize * self.stride + x as usize * 3;
        self.data.get(i..i + 3).map(|p| [p[0], p[1], p[2]])
    }

    /// Milliseconds between the room stamping this picture and now, if it carries a stamp.
    pub fn latency_ms(&self) -> Option<f64> {
        let sent = stamp::decode(&self.data, self.stride, 3)?;
        let now = stamp::now_ms();
        let modulus = 1u64 << stamp::VALUE_BITS;
        let elapsed = (now % modulus + modulus - sent % modulus) % modulus;
        // A wrapped or foreign value would be absurdly large: report nothing rather than garbage.
        (elapsed < 60_000).then_some(elapsed as f64)
    }

    /// Writes the frame as an 8-bit RGB PNG.
    pub fn write_png(&self, path: &Path) -> Result<(), FrameError> {
        let fail = |reason: String| FrameError::Write {
            path: path.display().to_string(),
            reason,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| fail(e.to_string()))?;
        }
        let file = File::create(path).map_err(|e| fail(e.to_string()))?;
        let mut encoder = png::Encoder::new(BufWriter::new(file), self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| fail(e.to_string()))?;
        let row = self.width as usize * 3;
        let packed: Vec<u8> = self
            .data
            .chunks(self.stride)
            .flat_map(|r| &r[..row.min(r.len())])
            .copied()
            .collect();
        writer
            .write_image_data(&packed)
            .map_err(|e| fail(e.to_string()))
    }
}
