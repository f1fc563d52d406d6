//! Text-to-speech engines behind one interface, [`Synthesizer`]: eSpeak NG (instant, robotic,
//! needs nothing but `gstreamer1.0-espeak`) and F5-TTS (clones a reference recording, needs the
//! ONNX graphs and ideally a GPU).
//!
//! An engine turns one segment of text (see [`segment_text`](super::segment::segment_text)) into
//! plain mono float samples at its own [`sample_rate`](Synthesizer::sample_rate); the voice's
//! tempo and pitch, resampling to the room's rate and channel matching are the shaping
//! pipeline's, splicing the caller's (see [`splice`](super::splice)).

pub mod espeak;
pub mod f5;

use std::path::PathBuf;

use super::cancel::CancelFlag;
use super::gst_audio::AudioError;
use super::voices::{Voice, VoiceParams, VoiceSource};

/// What an engine is asked to sound like: the speaker's reference and the params to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct VoiceRequest {
    /// Speaker id (for messages).
    pub speaker: String,
    /// Where the timbre comes from.
    pub reference: VoiceReference,
    /// Tempo and pitch, already merged with any live overrides (applied after synthesis by
    /// the shaping pipeline; engines speak plainly).
    pub params: VoiceParams,
}

/// The timbre source of a [`VoiceRequest`].
#[derive(Debug, Clone, PartialEq)]
pub enum VoiceReference {
    /// A recording and its transcript (F5-TTS clones it; eSpeak uses its default voice).
    Recording {
        /// The audio file.
        audio: PathBuf,
        /// What is said in it.
        text: Option<String>,
    },
    /// An eSpeak NG voice name such as `en-us` (F5-TTS cannot use it).
    Espeak(String),
}

impl VoiceRequest {
    /// The request for `speaker`'s registry entry with `params` (the voice's own params, or
    /// those merged with live overrides).
    pub fn new(speaker: &str, voice: &Voice, params: VoiceParams) -> Self {
        let reference = match voice.source() {
            VoiceSource::Recording(path) => VoiceReference::Recording {
                audio: path.to_owned(),
                text: voice.ref_text.clone(),
            },
            VoiceSource::Espeak(name) => VoiceReference::Espeak(name.to_owned()),
        };
        Self {
            speaker: speaker.to_owned(),
            reference,
            params,
        }
    }

    /// A request for the eSpeak voice `name` with neutral params.
    pub fn espeak(name: &str) -> Self {
        Self {
            speaker: format!("espeak:{name}"),
            reference: VoiceReference::Espeak(name.to_owned()),
            params: VoiceParams::default(),
        }
    }
}

/// Why a synthesis produced no audio.
#[derive(Debug, thiserror::Error)]
pub enum TtsError {
    /// The cancel flag was raised (`/yap:stop`).
    #[error("synthesis cancelled")]
    Cancelled,
    /// The engine cannot speak with this voice.
    #[error("voice '{speaker}' cannot be used with {engine}: {reason}")]
    Voice {
        /// Engine name.
        engine: &'static str,
        /// Speaker id.
        speaker: String,
        /// What is missing or wrong, and how to fix it.
        reason: String,
    },
    /// An audio pipeline (decoding the reference) failed.
    #[error(transparent)]
    Audio(AudioError),
    /// The eSpeak engine failed.
    #[error(transparent)]
    Espeak(#[from] espeak::EspeakError),
    /// The F5-TTS engine failed.
    #[error(transparent)]
    F5(#[from] f5::F5Error),
}

impl From<AudioError> for TtsError {
    fn from(error: AudioError) -> Self {
        match error {
            AudioError::Cancelled => TtsError::Cancelled,
            other => TtsError::Audio(other),
        }
    }
}

/// A text-to-speech engine. Implementations are shared between worker threads; they serialise
/// internally what cannot run concurrently.
pub trait Synthesizer: Send + Sync {
    /// Short engine name for logs and replies (`espeak`, `f5-tts`).
    fn name(&self) -> &str;

    /// Sample rate of the audio [`synthesize`](Self::synthesize) returns.
    fn sample_rate(&self) -> u32;

    /// Speaks `text` with `voice`, returning mono samples in [-1, 1] at
    /// [`sample_rate`](Self::sample_rate). Checks `cancel` between steps and returns
    /// [`TtsError::Cancelled`] once it is raised. Empty or blank text gives no samples.
    fn synthesize(
        &self,
        text: &str,
        voice: &VoiceRequest,
        cancel: &CancelFlag,
    ) -> Result<Vec<f32>, TtsError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_follow_the_registry_entry() {
        let voice = Voice {
            ref_audio: "voices/a.wav".into(),
            ref_text: Some("Hi.".into()),
            styles: vec![],
            params: VoiceParams::default(),
        };
        let params = VoiceParams {
            rate: 1.2,
            pitch: 1.0,
        };
        let request = VoiceRequest::new("a", &voice, params);
        assert_eq!(
            request.reference,
            VoiceReference::Recording {
                audio: "voices/a.wav".into(),
                text: Some("Hi.".into())
            }
        );
        assert_eq!(request.params, params);
        let espeak = Voice {
            ref_audio: "espeak:fr".into(),
            ..voice
        };
        assert_eq!(
            VoiceRequest::new("e", &espeak, params).reference,
            VoiceReference::Espeak("fr".into())
        );
    }

    #[test]
    fn cancelled_audio_is_a_cancelled_synthesis() {
        assert!(matches!(
            TtsError::from(AudioError::Cancelled),
            TtsError::Cancelled
        ));
    }
}
