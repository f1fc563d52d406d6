//! Raw video frames to JPEG through the pipeline file `capture-encode` (appsrc `raw` →
//! `jpegenc` → appsink `jpeg`), for `run --capture`, which records the agent's own frames.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use gst::prelude::*;

use crate::pipeline_file::{PipelineFile, PipelineFileError, find_pipeline};

/// The pipeline file used by default.
pub const ENCODE_PIPELINE: &str = "capture-encode";

/// Longest wait for one frame's JPEG.
const ENCODE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a frame could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The pipeline file is wrong.
    #[error(transparent)]
    PipelineFile(#[from] PipelineFileError),
    /// The pipeline failed.
    #[error("the JPEG encoder pipeline failed: {0}")]
    Pipeline(String),
}

/// A running encoder pipeline; one frame at a time.
pub struct JpegEncoder {
    pipeline: gst::Pipeline,
    parts: Mutex<Parts>,
}

struct Parts {
    source: gst_app::AppSrc,
    sink: gst_app::AppSink,
    caps: Option<gst::Caps>,
}

impl JpegEncoder {
    /// Starts the pipeline file `name` with JPEG quality `quality`.
    pub fn start(name: &str, quality: u8) -> Result<Self, EncodeError> {
        let file = PipelineFile::load(&find_pipeline(name))?;
        let values = BTreeMap::from([("quality".to_owned(), quality.to_string())]);
        let pipeline = file.instantiate(&values)?;
        let element = |name: &str| {
            pipeline
                .by_name(name)
                .ok_or_else(|| EncodeError::Pipeline(format!("no element named {name:?}")))
        };
        let source = element("raw")?
            .downcast::<gst_app::AppSrc>()
            .map_err(|_| EncodeError::Pipeline("\"raw\" is not an appsrc".into()))?;
        let sink = element("jpeg")?
            .downcast::<gst_app::AppSink>()
            .map_err(|_| EncodeError::Pipeline("\"jpeg\" is not an appsink".into()))?;
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| EncodeError::Pipeline(format!("it did not start: {e}")))?;
        Ok(Self {
            pipeline,
            parts: Mutex::new(Parts {
                source,
                sink,
                caps: None,
            }),
        })
    }

    /// Encodes one raw video sample (blocks; call from a blocking thread).
    pub fn encode(&self, sample: &gst::Sample) -> Result<Vec<u8>, EncodeError> {
        let mut parts = self
            .parts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let caps = sample
            .caps()
            .ok_or_else(|| EncodeError::Pipeline("a frame without caps".into()))?;
        let caps = caps.to_owned();
        if parts.caps.as_ref() != Some(&caps) {
            parts.source.set_caps(Some(&caps));
            parts.caps = Some(caps);
        }
        let buffer = sample
            .buffer_owned()
            .ok_or_else(|| EncodeError::Pipeline("a frame without data".into()))?;
        parts.source.push_buffer(buffer).map_err(|e| {
            EncodeError::Pipeline(format!("pushing a frame: {e:?}; {}", self.bus_error()))
        })?;
        let jpeg = parts
            .sink
            .try_pull_sample(gst::ClockTime::from_nseconds(
                ENCODE_TIMEOUT.as_nanos() as u64
            ))
            .ok_or_else(|| {
                EncodeError::Pipeline(format!(
                    "no JPEG within {} s; {}",
                    ENCODE_TIMEOUT.as_secs(),
                    self.bus_error()
                ))
            })?;
        let buffer = jpeg
            .buffer()
            .ok_or_else(|| EncodeError::Pipeline("a JPEG without data".into()))?;
        let map = buffer
            .map_readable()
            .map_err(|e| EncodeError::Pipeline(e.to_string()))?;
        Ok(map.to_vec())
    }

    /// The pipeline's latest error message, if any.
    fn bus_error(&self) -> String {
        self.pipeline
            .bus()
            .and_then(|bus| bus.pop_filtered(&[gst::MessageType::Error]))
            .and_then(|message| match message.view() {
                gst::MessageView::Error(error) => Some(error.error().to_string()),
                _ => None,
            })
            .unwrap_or_else(|| "no error reported".into())
    }
}

impl Drop for JpegEncoder {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_frames_become_jpegs_of_the_same_size() {
        gst::init().unwrap();
        let encoder = JpegEncoder::start(ENCODE_PIPELINE, 85).unwrap();
        for (width, height) in [(64, 48), (32, 16)] {
            let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::I420, width, height)
                .build()
                .unwrap();
            let buffer = gst::Buffer::from_mut_slice(vec![128u8; info.size()]);
            let sample = gst::Sample::builder()
                .buffer(&buffer)
                .caps(&info.to_caps().unwrap())
                .build();
            let jpeg = encoder.encode(&sample).unwrap();
            assert!(jpeg.starts_with(&[0xff, 0xd8]), "not a JPEG");
            assert!(jpeg.ends_with(&[0xff, 0xd9]), "not a whole JPEG");
            // The size is in the SOF0 marker: FF C0, length, precision, height, width.
            let sof = jpeg.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
            let h = u16::from_be_bytes([jpeg[sof + 5], jpeg[sof + 6]]);
            let w = u16::from_be_bytes([jpeg[sof + 7], jpeg[sof + 8]]);
            assert_eq!((u32::from(w), u32::from(h)), (width, height));
        }
    }
}
