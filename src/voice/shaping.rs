//! Shapes one synthesised chunk for the speech queue through `pipelines/voice-shaping.toml`:
//! the voice's rate and pitch (SoundTouch), then the output rate and channel count.

use std::collections::BTreeMap;
use std::path::PathBuf;

use gst::prelude::*;

use super::cancel::CancelFlag;
use super::gst_audio::{self, DrainError, PipelineFailure};
use super::pcm;
use super::voices::VoiceParams;
use crate::pipeline_file::{PipelineFile, PipelineFileError, find_pipeline};

/// The shaping pipeline, loaded once and instantiated per chunk.
#[derive(Debug, Clone)]
pub struct Shaper {
    file: PipelineFile,
    rate: u32,
    channels: u32,
}

/// Why a chunk could not be shaped.
#[derive(Debug, thiserror::Error)]
pub enum ShapeError {
    /// The pipeline file is missing or wrong.
    #[error(transparent)]
    File(#[from] PipelineFileError),
    /// The pipeline lacks an element the shaper feeds or reads.
    #[error("the shaping pipeline has no {factory} `{name}`")]
    MissingElement {
        /// `appsrc` or `appsink`.
        factory: &'static str,
        /// The name it must have.
        name: &'static str,
    },
    /// The pipeline failed on this chunk.
    #[error("shaping the audio failed: {0}")]
    Failed(#[source] PipelineFailure),
    /// The pipeline did not take the chunk.
    #[error("shaping the audio failed: the pipeline refused the audio: {0:?}")]
    Refused(gst::FlowError),
    /// `/yap:stop` came first.
    #[error("cancelled")]
    Cancelled,
}

impl Shaper {
    /// Loads the pipeline file `name` (a name in `pipelines/` or a path) for output at `rate` Hz
    /// with `channels` channels.
    pub fn load(name: &str, rate: u32, channels: u32) -> Result<Self, ShapeError> {
        let path: PathBuf = find_pipeline(name);
        let file = PipelineFile::load(&path)?;
        let shaper = Self {
            file,
            rate,
            channels,
        };
        // Build it once now, so a broken file is reported at start, not at the first chunk.
        shaper.instantiate(&VoiceParams::default())?;
        Ok(shaper)
    }

    fn instantiate(
        &self,
        params: &VoiceParams,
    ) -> Result<(gst::Pipeline, gst_app::AppSrc, gst_app::AppSink), ShapeError> {
        let variables = BTreeMap::from([
            ("tempo".to_owned(), params.rate.to_string()),
            ("pitch".to_owned(), params.pitch_factor().to_string()),
        ]);
        let pipeline = self.file.instantiate(&variables)?;
        let appsrc = pipeline
            .by_name("raw")
            .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
            .ok_or(ShapeError::MissingElement {
                factory: "appsrc",
                name: "raw",
            })?;
        let appsink = pipeline
            .by_name("shaped")
            .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
            .ok_or(ShapeError::MissingElement {
                factory: "appsink",
                name: "shaped",
            })?;
        appsink.set_caps(Some(
            &gst::Caps::builder("audio/x-raw")
                .field("format", "F32LE")
                .field("layout", "interleaved")
                .field("rate", self.rate as i32)
                .field("channels", self.channels as i32)
                .build(),
        ));
        Ok((pipeline, appsrc, appsink))
    }

    /// `samples` (mono, `rate` Hz) with `params` applied, at the output rate and channels
    /// (interleaved). Neutral params at the output rate need no pipeline.
    pub fn shape(
        &self,
        samples: &[f32],
        rate: u32,
        params: &VoiceParams,
        cancel: &CancelFlag,
    ) -> Result<Vec<f32>, ShapeError> {
        if samples.is_empty() {
            return Ok(Vec::new());
        }
        if params.is_neutral() && rate == self.rate {
            return Ok(pcm::match_channels(samples, 1, self.channels as usize));
        }
        let (pipeline, appsrc, appsink) = self.instantiate(params)?;
        appsrc.set_caps(Some(
            &gst::Caps::builder("audio/x-raw")
                .field("format", "F32LE")
                .field("layout", "interleaved")
                .field("rate", rate as i32)
                .field("channels", 1i32)
                .build(),
        ));
        gst_audio::start(&pipeline).map_err(ShapeError::Failed)?;
        if let Err(flow) = gst_audio::feed_all(&appsrc, samples, rate) {
            let _ = pipeline.set_state(gst::State::Null);
            return Err(ShapeError::Refused(flow));
        }
        let mut shaped = Vec::with_capacity(
            samples.len() * self.rate as usize * self.channels as usize / rate as usize + 1024,
        );
        gst_audio::drain(&pipeline, &appsink, cancel, &mut |chunk| {
            shaped.extend_from_slice(chunk)
        })
        .map_err(|e| match e {
            DrainError::Cancelled => ShapeError::Cancelled,
            DrainError::Failed(reason) => ShapeError::Failed(reason),
        })?;
        Ok(shaped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, seconds: f32, frequency: f32) -> Vec<f32> {
        (0..(rate as f32 * seconds) as usize)
            .map(|i| (i as f32 / rate as f32 * frequency * std::f32::consts::TAU).sin() * 0.5)
            .collect()
    }

    fn crossings_per_second(samples: &[f32], channels: usize, rate: u32) -> f32 {
        let mono: Vec<f32> = samples.iter().step_by(channels).copied().collect();
        let rising = mono
            .windows(2)
            .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
            .count();
        rising as f32 * rate as f32 / mono.len() as f32
    }

    #[test]
    fn neutral_params_only_resample_and_match_channels() {
        gst::init().unwrap();
        let shaper = Shaper::load("voice-shaping", 48_000, 2).unwrap();
        let input = tone(22_050, 1.0, 440.0);
        let out = shaper
            .shape(&input, 22_050, &VoiceParams::default(), &CancelFlag::new())
            .unwrap();
        let frames = out.len() / 2;
        assert!((frames as i64 - 48_000).abs() < 1_000, "{frames} frames");
        let frequency = crossings_per_second(&out, 2, 48_000);
        assert!((frequency - 440.0).abs() < 5.0, "{frequency} Hz");
    }

    #[test]
    fn rate_shortens_and_pitch_raises() {
        gst::init().unwrap();
        let shaper = Shaper::load("voice-shaping", 48_000, 1).unwrap();
        let input = tone(24_000, 2.0, 300.0);
        let faster = VoiceParams {
            rate: 2.0,
            pitch: 0.0,
        };
        let out = shaper
            .shape(&input, 24_000, &faster, &CancelFlag::new())
            .unwrap();
        let seconds = out.len() as f32 / 48_000.0;
        assert!((seconds - 1.0).abs() < 0.1, "{seconds} s at rate 2");
        let octave = VoiceParams {
            rate: 1.0,
            pitch: 12.0,
        };
        let out = shaper
            .shape(&input, 24_000, &octave, &CancelFlag::new())
            .unwrap();
        let seconds = out.len() as f32 / 48_000.0;
        assert!((seconds - 2.0).abs() < 0.15, "{seconds} s at +12 semitones");
        let frequency = crossings_per_second(&out[4_800..out.len() - 4_800], 1, 48_000);
        assert!(
            (frequency - 600.0).abs() < 15.0,
            "{frequency} Hz at +12 semitones"
        );
    }

    #[test]
    fn a_missing_pipeline_file_names_the_file() {
        gst::init().unwrap();
        let error = Shaper::load("/nonexistent/shaping.toml", 48_000, 1).unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent/shaping.toml"),
            "{error}"
        );
    }
}
