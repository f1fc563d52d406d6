//! [`RawFrame`]: a decoded frame as the pipeline delivered it, converted to RGB only when
//! someone looks at it.

use gst_video::prelude::*;

use super::{FrameError, RgbImage};

/// A decoded frame as it came out of the pipeline, not yet converted.
#[derive(Debug, Clone)]
pub struct RawFrame {
    /// 1 for the first frame, counting up.
    pub number: u64,
    sample: gst::Sample,
}

impl RawFrame {
    /// A frame from a sample of raw video (the appsink's, or one made for a benchmark).
    pub fn from_sample(number: u64, sample: gst::Sample) -> Self {
        Self { number, sample }
    }

    /// The decoded picture as GStreamer delivered it.
    pub fn sample(&self) -> &gst::Sample {
        &self.sample
    }

    /// Width and height of the decoded picture.
    pub fn size(&self) -> Result<(u32, u32), FrameError> {
        let info = self.info()?;
        Ok((info.width(), info.height()))
    }

    fn info(&self) -> Result<gst_video::VideoInfo, FrameError> {
        let caps = self
            .sample
            .caps()
            .ok_or_else(|| FrameError::Format("no caps".into()))?;
        if caps.features(0).is_some_and(|f| {
            !f.is_equal(gst::CapsFeatures::new_empty().as_ref())
                && !f.contains("memory:SystemMemory")
        }) {
            return Err(FrameError::Format(caps.to_string()));
        }
        gst_video::VideoInfo::from_caps(caps).map_err(|_| FrameError::Format(caps.to_string()))
    }

    /// Converts to packed RGB, scaled down (Lanczos, aspect kept) so that the longest edge is at
    /// most `max_edge` — the one conversion a step pays for.
    pub fn to_rgb(&self, max_edge: u32) -> Result<RgbImage, FrameError> {
        let info = self.info()?;
        let (width, height) = fit_longest_edge(info.width(), info.height(), max_edge);
        let convert_error = |source: gst::glib::BoolError| FrameError::Convert {
            from: format!("{:?} {}x{}", info.format(), info.width(), info.height()),
            source,
        };
        let out_info = gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgb, width, height)
            .build()
            .map_err(convert_error)?;
        let buffer = self
            .sample
            .buffer()
            .ok_or_else(|| FrameError::Format("sample without buffer".into()))?;
        let input = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info)
            .map_err(convert_error)?;
        let mut out_buffer = gst::Buffer::with_size(out_info.size()).map_err(convert_error)?;
        {
            let out_ref = out_buffer.get_mut().ok_or_else(|| {
                convert_error(gst::glib::bool_error!("output buffer not writable"))
            })?;
            let mut output = gst_video::VideoFrameRef::from_buffer_ref_writable(out_ref, &out_info)
                .map_err(convert_error)?;
            let mut config = gst_video::VideoConverterConfig::new();
            config.set_resampler_method(gst_video::VideoResamplerMethod::Lanczos);
            let converter = gst_video::VideoConverter::new(&info, &out_info, Some(config))
                .map_err(convert_error)?;
            converter.frame_ref(&input, &mut output);
        }
        let map = out_buffer.map_readable().map_err(convert_error)?;
        let stride = out_info.stride()[0] as usize;
        let row = width as usize * 3;
        let mut data = Vec::with_capacity(row * height as usize);
        for y in 0..height as usize {
            data.extend_from_slice(&map[y * stride..y * stride + row]);
        }
        Ok(RgbImage {
            width,
            height,
            data,
        })
    }

    /// A coarse luma grid (every 8th pixel of every 8th row), cheap to compare between frames.
    pub fn fingerprint(&self) -> Result<Fingerprint, FrameError> {
        let info = self.info()?;
        let buffer = self
            .sample
            .buffer()
            .ok_or_else(|| FrameError::Format("sample without buffer".into()))?;
        let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info)
            .map_err(FrameError::Unreadable)?;
        let format = info.format_info();
        let (width, height) = (info.width() as usize, info.height() as usize);
        let plane = frame.plane_data(0).map_err(FrameError::Unreadable)?;
        let stride = frame.plane_stride()[0] as usize;
        let (pixel_stride, offset) = if format.is_yuv() {
            (
                format.pixel_stride()[0] as usize,
                format.poffset()[0] as usize,
            )
        } else {
            // RGB-like: the green sample stands in for brightness.
            (
                format.pixel_stride()[1] as usize,
                format.poffset()[1] as usize,
            )
        };
        let mut samples = Vec::with_capacity((width / 8) * (height / 8));
        for y in (0..height).step_by(8) {
            for x in (0..width).step_by(8) {
                samples.push(
                    plane
                        .get(y * stride + x * pixel_stride + offset)
                        .copied()
                        .unwrap_or(0),
                );
            }
        }
        Ok(Fingerprint { samples })
    }
}

/// A frame's coarse luma samples (see [`RawFrame::fingerprint`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    samples: Vec<u8>,
}

impl Fingerprint {
    /// The share (0..1) of samples whose luma differs by more than 8 between two frames.
    pub fn changed_fraction(&self, other: &Fingerprint) -> f64 {
        if self.samples.len() != other.samples.len() || self.samples.is_empty() {
            return 1.0;
        }
        let changed = self
            .samples
            .iter()
            .zip(&other.samples)
            .filter(|(a, b)| a.abs_diff(**b) > 8)
            .count();
        changed as f64 / self.samples.len() as f64
    }
}

/// The size with the longest edge brought down to `max_edge` (never up), aspect kept.
pub fn fit_longest_edge(width: u32, height: u32, max_edge: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= max_edge || max_edge == 0 {
        return (width, height);
    }
    let scale = f64::from(max_edge) / f64::from(longest);
    let scaled = |v: u32| ((f64::from(v) * scale).round() as u32).max(1);
    (scaled(width), scaled(height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_edge_is_capped_with_the_aspect_kept() {
        assert_eq!(fit_longest_edge(1920, 1080, 1344), (1344, 756));
        assert_eq!(fit_longest_edge(1080, 1920, 1344), (756, 1344));
        assert_eq!(fit_longest_edge(800, 600, 1344), (800, 600));
        assert_eq!(fit_longest_edge(800, 600, 0), (800, 600));
    }

    fn raw(format: &str, width: u32, height: u32, fill: impl Fn(usize) -> u8) -> RawFrame {
        gst::init().unwrap();
        let info = gst_video::VideoInfo::builder(format.parse().unwrap(), width, height)
            .build()
            .unwrap();
        let data: Vec<u8> = (0..info.size()).map(fill).collect();
        let buffer = gst::Buffer::from_mut_slice(data);
        let sample = gst::Sample::builder()
            .buffer(&buffer)
            .caps(&info.to_caps().unwrap())
            .build();
        RawFrame::from_sample(1, sample)
    }

    #[test]
    fn i420_frames_convert_to_scaled_rgb() {
        // Mid-grey I420: Y = 128 everywhere, chroma neutral.
        let frame = raw("I420", 64, 32, |_| 128);
        let rgb = frame.to_rgb(32).unwrap();
        assert_eq!((rgb.width, rgb.height), (32, 16));
        assert_eq!(rgb.data.len(), 32 * 16 * 3);
        let [r, g, b] = rgb.pixel(10, 10).unwrap();
        for c in [r, g, b] {
            assert!((120..=140).contains(&c), "{r} {g} {b}");
        }
    }

    #[test]
    fn fingerprints_notice_change() {
        let grey = raw("I420", 64, 64, |_| 100).fingerprint().unwrap();
        let same = raw("I420", 64, 64, |_| 104).fingerprint().unwrap();
        let other = raw("I420", 64, 64, |i| if i < 2048 { 200 } else { 100 })
            .fingerprint()
            .unwrap();
        assert_eq!(grey.changed_fraction(&same), 0.0);
        let changed = grey.changed_fraction(&other);
        assert!((0.4..=0.6).contains(&changed), "{changed}");
    }
}
