//! eSpeak NG through the GStreamer `espeak` element (Debian `gstreamer1.0-espeak`): a short
//! offline pipeline per segment, `espeak text=… voice=… ! audioconvert ! capsfilter ! appsink`,
//! giving mono audio at 22050 Hz within milliseconds.
//!
//! Voices: a registry entry whose `ref_audio` is `espeak:<voice>` (e.g. `espeak:en-us`,
//! `espeak:fr`, `espeak:en-us+f3` with a variant) is spoken with that eSpeak voice; any other
//! entry (a recording, which eSpeak cannot imitate) with the engine's default voice.
//!
//! The element's voice is a process-wide eSpeak setting, so every synthesis in this process is
//! serialised behind one lock, and the voice is always set explicitly (the element's own default,
//! `english`, does not exist in espeak-ng 1.51 and yields silence).

use std::sync::{Mutex, OnceLock};

use gst::prelude::*;

use super::super::cancel::CancelFlag;
use super::super::gst_audio::{self, DrainError, PipelineFailure};
use super::{Synthesizer, TtsError, VoiceReference, VoiceRequest};

/// Sample rate of the `espeak` element's output.
pub const ESPEAK_SAMPLE_RATE: u32 = 22050;
/// The voice used when a request names none.
pub const DEFAULT_ESPEAK_VOICE: &str = "en-us";

/// eSpeak's voice and parameters are global to the process: one synthesis (or voice listing) at
/// a time.
static ESPEAK: Mutex<()> = Mutex::new(());
/// The voice names, read once.
static VOICES: OnceLock<Vec<String>> = OnceLock::new();

/// The eSpeak engine cannot speak.
#[derive(Debug, thiserror::Error)]
pub enum EspeakError {
    /// The voice is not one eSpeak NG has.
    #[error(
        "eSpeak has no voice {voice:?}; use a language code such as {examples} (optionally with a variant, e.g. en-us+f3)"
    )]
    UnknownVoice {
        /// The name asked for.
        voice: String,
        /// Some names that exist.
        examples: String,
    },
    /// The element lists no voice at all.
    #[error(
        "the espeak element lists no voices; check that espeak-ng-data is installed (apt install espeak-ng-data)"
    )]
    NoVoices,
    /// The pipeline failed.
    #[error("eSpeak synthesis failed: {0}")]
    Failed(#[source] PipelineFailure),
    /// The voice said nothing for text with letters or digits in it.
    #[error("eSpeak synthesis failed: voice {voice:?} produced no audio for {text:?}")]
    Silent {
        /// The eSpeak voice.
        voice: String,
        /// The text.
        text: String,
    },
}

/// The eSpeak NG engine.
#[derive(Debug, Clone)]
pub struct EspeakTts {
    default_voice: String,
    known: Vec<String>,
}

impl EspeakTts {
    /// The engine speaking with `default_voice` (e.g. [`DEFAULT_ESPEAK_VOICE`]) when a request
    /// names no eSpeak voice. Fails if the `espeak` element or the voice is missing.
    pub fn new(default_voice: &str) -> Result<Self, TtsError> {
        gst_audio::init()?;
        let known = known_voices()?;
        let engine = Self {
            default_voice: default_voice.to_owned(),
            known,
        };
        engine.check_voice(default_voice)?;
        Ok(engine)
    }

    /// The voice names eSpeak accepts (language codes such as `en` and `en-us`, lower case).
    pub fn voices(&self) -> &[String] {
        &self.known
    }

    /// The voice used for requests that do not name an eSpeak voice.
    pub fn default_voice(&self) -> &str {
        &self.default_voice
    }

    /// Whether eSpeak has `voice` (ignoring case and a `+variant` suffix).
    fn check_voice(&self, voice: &str) -> Result<(), EspeakError> {
        let base = voice
            .split('+')
            .next()
            .unwrap_or(voice)
            .to_ascii_lowercase();
        if self.known.contains(&base) {
            return Ok(());
        }
        let examples = ["en-us", "en-gb", "de", "fr", "es"]
            .into_iter()
            .filter(|name| self.known.iter().any(|k| k == name))
            .collect::<Vec<_>>()
            .join(", ");
        Err(EspeakError::UnknownVoice {
            voice: voice.to_owned(),
            examples,
        })
    }

    /// The eSpeak voice for `request`.
    fn voice_for<'a>(&'a self, request: &'a VoiceRequest) -> &'a str {
        match &request.reference {
            VoiceReference::Espeak(name) => name,
            VoiceReference::Recording { .. } => &self.default_voice,
        }
    }

    /// Like [`Synthesizer::synthesize`], but hands each buffer to `on_audio` as soon as eSpeak
    /// produces it (the first one within a few milliseconds).
    pub fn synthesize_streaming(
        &self,
        text: &str,
        request: &VoiceRequest,
        cancel: &CancelFlag,
        on_audio: &mut dyn FnMut(&[f32]),
    ) -> Result<(), TtsError> {
        if text.trim().is_empty() {
            return Ok(());
        }
        if cancel.is_cancelled() {
            return Err(TtsError::Cancelled);
        }
        let voice = self.voice_for(request);
        self.check_voice(voice)?;
        // Held from the element's creation: setting its voice may touch eSpeak's global state.
        let _espeak = ESPEAK.lock().unwrap_or_else(|e| e.into_inner());
        let source = gst_audio::make("espeak")?;
        source.set_property("text", text);
        source.set_property("voice", voice);
        let convert = gst_audio::make("audioconvert")?;
        let filter = gst_audio::mono_filter(ESPEAK_SAMPLE_RATE)?;
        let sink = gst_audio::fast_sink();
        let chain = [&source, &convert, &filter, sink.upcast_ref()];
        let pipeline = gst::Pipeline::new();
        pipeline
            .add_many(chain)
            .expect("fresh elements join a fresh pipeline");
        gst::Element::link_many(chain).expect("raw audio elements link");

        gst_audio::start(&pipeline).map_err(EspeakError::Failed)?;
        let mut produced = false;
        gst_audio::drain(&pipeline, &sink, cancel, &mut |chunk| {
            produced |= !chunk.is_empty();
            on_audio(chunk);
        })
        .map_err(|e| match e {
            DrainError::Cancelled => TtsError::Cancelled,
            DrainError::Failed(reason) => EspeakError::Failed(reason).into(),
        })?;
        if !produced && text.chars().any(char::is_alphanumeric) {
            return Err(EspeakError::Silent {
                voice: voice.to_owned(),
                text: text.to_owned(),
            }
            .into());
        }
        Ok(())
    }
}

impl Synthesizer for EspeakTts {
    fn name(&self) -> &str {
        "espeak"
    }

    fn sample_rate(&self) -> u32 {
        ESPEAK_SAMPLE_RATE
    }

    fn synthesize(
        &self,
        text: &str,
        voice: &VoiceRequest,
        cancel: &CancelFlag,
    ) -> Result<Vec<f32>, TtsError> {
        let mut audio = Vec::new();
        self.synthesize_streaming(text, voice, cancel, &mut |chunk| {
            audio.extend_from_slice(chunk)
        })?;
        Ok(audio)
    }
}

/// The voice names eSpeak has, read from an element once per process (under the eSpeak lock:
/// listing voices while another thread synthesises returns nothing).
fn known_voices() -> Result<Vec<String>, TtsError> {
    if let Some(known) = VOICES.get() {
        return Ok(known.clone());
    }
    let known = {
        let _espeak = ESPEAK.lock().unwrap_or_else(|e| e.into_inner());
        voice_names(&gst_audio::make("espeak")?)
    };
    if known.is_empty() {
        return Err(EspeakError::NoVoices.into());
    }
    Ok(VOICES.get_or_init(|| known).clone())
}

/// The names the element's `voices` property lists: each entry is (name, language, variant),
/// and eSpeak accepts `language` and `language-variant`.
fn voice_names(element: &gst::Element) -> Vec<String> {
    let Ok(list) = element
        .property_value("voices")
        .get::<gst::glib::ValueArray>()
    else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for entry in list.iter() {
        let Ok(fields) = entry.get::<gst::glib::ValueArray>() else {
            continue;
        };
        let text = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.get::<String>().ok())
                .map(|s| s.to_ascii_lowercase())
        };
        if let Some(language) = text(1) {
            if let Some(variant) = text(2).filter(|v| v != "none" && !v.is_empty()) {
                names.push(format!("{language}-{variant}"));
            }
            names.push(language);
        }
    }
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voice::voices::VoiceParams;

    fn engine() -> EspeakTts {
        EspeakTts::new(DEFAULT_ESPEAK_VOICE).expect("gstreamer1.0-espeak is installed")
    }

    fn voiced_seconds(audio: &[f32]) -> f32 {
        audio.iter().filter(|s| s.abs() > 0.01).count() as f32 / ESPEAK_SAMPLE_RATE as f32
    }

    #[test]
    fn hello_world_is_over_half_a_second_of_speech() {
        let engine = engine();
        assert_eq!(engine.sample_rate(), 22050);
        let audio = engine
            .synthesize(
                "Hello world",
                &VoiceRequest::espeak("en-us"),
                &CancelFlag::new(),
            )
            .unwrap();
        let seconds = audio.len() as f32 / ESPEAK_SAMPLE_RATE as f32;
        assert!(seconds > 0.5, "{seconds} s");
        assert!(voiced_seconds(&audio) > 0.3, "mostly silent");
        assert!(audio.iter().all(|s| s.abs() <= 1.0));
    }

    #[test]
    fn the_voice_list_has_the_usual_languages() {
        let engine = engine();
        for name in ["en", "en-us", "en-gb", "fr", "de"] {
            assert!(engine.voices().iter().any(|v| v == name), "{name}");
        }
    }

    #[test]
    fn unknown_voices_are_refused_with_examples() {
        let error = EspeakTts::new("klingon").unwrap_err().to_string();
        assert!(error.contains("no voice \"klingon\""), "{error}");
        assert!(error.contains("en-us"), "{error}");
        let error = engine()
            .synthesize("Hello", &VoiceRequest::espeak("xx-yy"), &CancelFlag::new())
            .unwrap_err();
        assert!(matches!(
            error,
            TtsError::Espeak(EspeakError::UnknownVoice { .. })
        ));
    }

    #[test]
    fn recordings_fall_back_to_the_default_voice_and_variants_work() {
        let engine = engine();
        let request = VoiceRequest {
            speaker: "alice".into(),
            reference: VoiceReference::Recording {
                audio: "alice.wav".into(),
                text: None,
            },
            params: VoiceParams::default(),
        };
        let audio = engine
            .synthesize("Hello", &request, &CancelFlag::new())
            .unwrap();
        assert!(voiced_seconds(&audio) > 0.1);
        let audio = engine
            .synthesize(
                "Hello",
                &VoiceRequest::espeak("en-us+f3"),
                &CancelFlag::new(),
            )
            .unwrap();
        assert!(voiced_seconds(&audio) > 0.1);
    }

    #[test]
    fn blank_text_and_cancelled_requests() {
        let engine = engine();
        let none = engine
            .synthesize("  ", &VoiceRequest::espeak("en-us"), &CancelFlag::new())
            .unwrap();
        assert!(none.is_empty());
        let cancel = CancelFlag::new();
        cancel.cancel();
        assert!(matches!(
            engine.synthesize("Hello", &VoiceRequest::espeak("en-us"), &cancel),
            Err(TtsError::Cancelled)
        ));
    }
}
