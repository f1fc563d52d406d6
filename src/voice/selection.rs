//! [`VoiceSelection`]: the speaker in use and the live tempo/pitch overrides that
//! `/yap:voice set` changes, turned into a [`VoiceRequest`] for each utterance.

use super::commands::{CommandError, SetVoice};
use super::tts::VoiceRequest;
use super::voices::{Voice, VoiceParams, VoiceRegistry};

/// The speaker chosen by `/yap:voice set --spk` (none: the registry's default) and the params
/// overriding that voice's own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VoiceSelection {
    speaker: Option<String>,
    rate: Option<f32>,
    pitch: Option<f32>,
}

impl VoiceSelection {
    /// No speaker chosen, no overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// The speaker chosen, if any.
    pub fn speaker(&self) -> Option<&str> {
        self.speaker.as_deref()
    }

    /// Applies a `/yap:voice set`: the speaker must be in `registry` (unlike the Python tool,
    /// which accepted any name); rate and pitch become overrides kept across speaker changes.
    pub fn apply(&mut self, set: &SetVoice, registry: &VoiceRegistry) -> Result<(), CommandError> {
        if let Some(speaker) = &set.speaker {
            if registry.get(speaker).is_none() {
                return Err(CommandError::UnknownSpeaker {
                    speaker: speaker.clone(),
                    known: registry.speakers().collect::<Vec<_>>().join(", "),
                });
            }
            self.speaker = Some(speaker.clone());
        }
        if set.rate.is_some() {
            self.rate = set.rate;
        }
        if set.pitch.is_some() {
            self.pitch = set.pitch;
        }
        Ok(())
    }

    /// `voice`'s params with the overrides laid over them.
    pub fn params(&self, voice: &Voice) -> VoiceParams {
        VoiceParams {
            rate: self.rate.unwrap_or(voice.params.rate),
            pitch: self.pitch.unwrap_or(voice.params.pitch),
        }
    }

    /// The request for the next utterance: the chosen speaker (else the default, else the
    /// first) with the merged params; `None` when the registry is empty.
    pub fn request(&self, registry: &VoiceRegistry) -> Option<VoiceRequest> {
        let (speaker, voice) = registry.resolve(self.speaker.as_deref())?;
        Some(VoiceRequest::new(speaker, voice, self.params(voice)))
    }

    /// The reply to `/yap:voice set`, e.g. `voice set: spk=alice params={"rate": 1.2, "pitch": 0.0}`.
    pub fn describe(&self, registry: &VoiceRegistry) -> String {
        match registry.resolve(self.speaker.as_deref()) {
            Some((speaker, voice)) => {
                let params = self.params(voice);
                format!(
                    "voice set: spk={speaker} params={{\"rate\": {:?}, \"pitch\": {:?}}}",
                    params.rate, params.pitch
                )
            }
            None => format!(
                "voice set: no voice registered in {}",
                registry.path().display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voice::tts::VoiceReference;
    use crate::voice::voices::VOICES_FILE;

    fn registry(name: &str) -> (std::path::PathBuf, VoiceRegistry) {
        let dir =
            std::env::temp_dir().join(format!("neko-selection-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(VOICES_FILE),
            r#"{"default": {"ref_audio": "d.wav", "ref_text": "D.", "params": {"rate": 0.9, "pitch": 1.0}},
                "robot": {"ref_audio": "espeak:en-us"}}"#,
        )
        .unwrap();
        let registry = VoiceRegistry::open(&dir, "default").unwrap();
        (dir, registry)
    }

    #[test]
    fn overrides_merge_over_the_voice_params() {
        let (dir, registry) = registry("merge");
        let mut selection = VoiceSelection::new();
        let request = selection.request(&registry).unwrap();
        assert_eq!(request.speaker, "default");
        assert_eq!(
            request.params,
            VoiceParams {
                rate: 0.9,
                pitch: 1.0
            }
        );
        selection
            .apply(&SetVoice::parse("--rate 1.5").unwrap(), &registry)
            .unwrap();
        selection
            .apply(&SetVoice::parse("--spk robot").unwrap(), &registry)
            .unwrap();
        let request = selection.request(&registry).unwrap();
        assert_eq!(request.reference, VoiceReference::Espeak("en-us".into()));
        assert_eq!(
            request.params,
            VoiceParams {
                rate: 1.5,
                pitch: 0.0
            }
        );
        assert_eq!(
            selection.describe(&registry),
            "voice set: spk=robot params={\"rate\": 1.5, \"pitch\": 0.0}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn unknown_speakers_are_refused_and_change_nothing() {
        let (dir, registry) = registry("unknown");
        let mut selection = VoiceSelection::new();
        let error = selection
            .apply(
                &SetVoice::parse("--spk nobody --rate 2").unwrap(),
                &registry,
            )
            .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("no voice 'nobody' (known: default, robot)"),
            "{error}"
        );
        assert_eq!(selection, VoiceSelection::new());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
