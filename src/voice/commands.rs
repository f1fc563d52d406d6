//! The arguments of `/yap:voice add` and `/yap:voice set`, read with the Python tool's flag
//! names and validated (the Python tool stored whatever it was given): numbers must parse and be
//! in range, unknown flags are refused, and a reference recording must exist. Every error's
//! message is meant to be sent back in the chat as it is.

use std::path::Path;

use super::flags::{FlagError, parse_kv_flags};
use super::voices::{ESPEAK_PREFIX, ParamError, Voice, VoiceParams, check_pitch, check_rate};

/// Usage of `/yap:voice add`, as the Python tool replies it.
pub const ADD_USAGE: &str = "/yap:voice add --spk <id> --ref <wav> [--ref-text \"…\"] [--styles \"a,b\"] [--rate 1.0] [--pitch 0.0]";
/// Usage of `/yap:voice set`.
pub const SET_USAGE: &str = "/yap:voice set [--spk <id>] [--rate 1.0] [--pitch 0.0]";

/// Longest speaker id accepted.
const MAX_SPEAKER_LEN: usize = 64;

/// A `/yap:voice` command whose arguments are wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    /// The arguments are not `--key value` pairs.
    #[error("{0}; usage: {1}")]
    Flags(FlagError, &'static str),
    /// `add` without `--spk` or `--ref`.
    #[error("{ADD_USAGE}")]
    AddUsage,
    /// A flag the command does not know.
    #[error("unknown flag --{flag}; usage: {usage}")]
    UnknownFlag {
        /// The flag, without dashes.
        flag: String,
        /// The command's usage line.
        usage: &'static str,
    },
    /// A value that is not a number.
    #[error("--{flag} {value:?} is not a number")]
    NotANumber {
        /// The flag.
        flag: &'static str,
        /// What was given.
        value: String,
    },
    /// A number outside its range.
    #[error(transparent)]
    OutOfRange(ParamError),
    /// A speaker id that is empty, too long or has control characters.
    #[error(
        "speaker id {0:?} is not usable: give 1 to {MAX_SPEAKER_LEN} characters without control characters"
    )]
    BadSpeaker(String),
    /// A speaker that is not in the registry.
    #[error("no voice '{speaker}' (known: {known}); add it with {ADD_USAGE}")]
    UnknownSpeaker {
        /// The speaker asked for.
        speaker: String,
        /// The registered speakers, comma-separated.
        known: String,
    },
    /// `--ref` names a file that does not exist.
    #[error(
        "reference audio {0} does not exist on the machine running yap (give the path of a WAV or other audio file there, or espeak:<voice> for an eSpeak voice)"
    )]
    MissingReference(String),
    /// `--ref espeak:<voice>` with an unusable voice name.
    #[error(
        "{0:?} is not an eSpeak voice name: use espeak:<voice> with letters, digits and - _ + / (e.g. espeak:en-us)"
    )]
    BadEspeakVoice(String),
}

/// A parsed `/yap:voice add`: the speaker and the entry to store.
#[derive(Debug, Clone, PartialEq)]
pub struct AddVoice {
    /// Speaker id.
    pub speaker: String,
    /// The entry for `voices.json`.
    pub voice: Voice,
}

impl AddVoice {
    /// Reads the arguments after `/yap:voice add` (flags `--spk|--speaker`, `--ref|--ref_audio`,
    /// `--ref-text|--ref_text`, `--styles|--style`, `--rate`, `--pitch`). Does not look at the
    /// file system; see [`check_reference`](Self::check_reference).
    pub fn parse(args: &str) -> Result<Self, CommandError> {
        let mut speaker = None;
        let mut reference = None;
        let mut ref_text = None;
        let mut styles = Vec::new();
        let mut params = VoiceParams::default();
        for (key, value) in parse_kv_flags(args).map_err(|e| CommandError::Flags(e, ADD_USAGE))? {
            match key.as_str() {
                "spk" | "speaker" => speaker = Some(value),
                "ref" | "ref_audio" => reference = Some(value),
                "ref-text" | "ref_text" => ref_text = Some(value),
                "styles" | "style" => {
                    styles = value
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect();
                }
                "rate" => params.rate = parse_rate(&value)?,
                "pitch" => params.pitch = parse_pitch(&value)?,
                _ => {
                    return Err(CommandError::UnknownFlag {
                        flag: key,
                        usage: ADD_USAGE,
                    });
                }
            }
        }
        let (Some(speaker), Some(reference)) = (speaker, reference) else {
            return Err(CommandError::AddUsage);
        };
        let reference = reference.trim().to_owned();
        if reference.is_empty() {
            return Err(CommandError::AddUsage);
        }
        Ok(Self {
            speaker: check_speaker(speaker)?,
            voice: Voice {
                ref_audio: reference,
                ref_text: ref_text.filter(|t| !t.trim().is_empty()),
                styles,
                params,
            },
        })
    }

    /// Checks that the reference exists: a file for a recording, a well-formed name for
    /// `espeak:<voice>`.
    pub fn check_reference(&self) -> Result<(), CommandError> {
        let reference = &self.voice.ref_audio;
        if let Some(name) = reference.strip_prefix(ESPEAK_PREFIX) {
            let allowed = |c: char| c.is_ascii_alphanumeric() || "-_+/".contains(c);
            if name.is_empty() || !name.chars().all(allowed) {
                return Err(CommandError::BadEspeakVoice(reference.clone()));
            }
            return Ok(());
        }
        if Path::new(reference).is_file() {
            Ok(())
        } else {
            Err(CommandError::MissingReference(reference.clone()))
        }
    }
}

/// A parsed `/yap:voice set`: a speaker to switch to and live overrides of its params.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SetVoice {
    /// The speaker to use from now on.
    pub speaker: Option<String>,
    /// Tempo factor overriding the voice's.
    pub rate: Option<f32>,
    /// Pitch shift in semitones overriding the voice's.
    pub pitch: Option<f32>,
}

impl SetVoice {
    /// Reads the arguments after `/yap:voice set` (flags `--spk|--speaker`, `--rate`,
    /// `--pitch`).
    pub fn parse(args: &str) -> Result<Self, CommandError> {
        let mut set = Self::default();
        for (key, value) in parse_kv_flags(args).map_err(|e| CommandError::Flags(e, SET_USAGE))? {
            match key.as_str() {
                "spk" | "speaker" => set.speaker = Some(check_speaker(value)?),
                "rate" => set.rate = Some(parse_rate(&value)?),
                "pitch" => set.pitch = Some(parse_pitch(&value)?),
                _ => {
                    return Err(CommandError::UnknownFlag {
                        flag: key,
                        usage: SET_USAGE,
                    });
                }
            }
        }
        Ok(set)
    }
}

/// A speaker id, trimmed: 1 to 64 characters without control characters.
pub fn check_speaker(speaker: String) -> Result<String, CommandError> {
    let trimmed = speaker.trim();
    if trimmed.is_empty()
        || trimmed.chars().count() > MAX_SPEAKER_LEN
        || trimmed.chars().any(char::is_control)
    {
        return Err(CommandError::BadSpeaker(speaker));
    }
    Ok(trimmed.to_owned())
}

fn parse_number(flag: &'static str, value: &str) -> Result<f32, CommandError> {
    value
        .trim()
        .parse::<f32>()
        .map_err(|_| CommandError::NotANumber {
            flag,
            value: value.to_owned(),
        })
}

fn parse_rate(value: &str) -> Result<f32, CommandError> {
    let rate = parse_number("rate", value)?;
    check_rate(rate).map_err(CommandError::OutOfRange)?;
    Ok(rate)
}

fn parse_pitch(value: &str) -> Result<f32, CommandError> {
    let pitch = parse_number("pitch", value)?;
    check_pitch(pitch).map_err(CommandError::OutOfRange)?;
    Ok(pitch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_reads_every_flag_spelling() {
        let add = AddVoice::parse(
            r#"--speaker alice --ref_audio "/v/a b.wav" --ref_text "Hello there." --style "calm, warm," --rate 1.5 --pitch=-2"#,
        )
        .unwrap();
        assert_eq!(add.speaker, "alice");
        assert_eq!(
            add.voice,
            Voice {
                ref_audio: "/v/a b.wav".into(),
                ref_text: Some("Hello there.".into()),
                styles: vec!["calm".into(), "warm".into()],
                params: VoiceParams {
                    rate: 1.5,
                    pitch: -2.0
                },
            }
        );
        let short = AddVoice::parse("--spk bob --ref b.wav").unwrap();
        assert_eq!(short.voice.ref_text, None);
        assert_eq!(short.voice.params, VoiceParams::default());
    }

    #[test]
    fn add_without_speaker_or_reference_replies_the_usage() {
        for args in ["", "--spk a", "--ref a.wav", "--spk a --ref ''"] {
            let error = AddVoice::parse(args).unwrap_err();
            assert_eq!(error, CommandError::AddUsage, "{args}");
            assert_eq!(error.to_string(), ADD_USAGE);
        }
    }

    #[test]
    fn numbers_are_checked() {
        assert_eq!(
            AddVoice::parse("--spk a --ref a.wav --rate fast")
                .unwrap_err()
                .to_string(),
            "--rate \"fast\" is not a number"
        );
        for args in [
            "--rate 0",
            "--rate -1",
            "--rate 10",
            "--rate nan",
            "--pitch 30",
            "--pitch inf",
        ] {
            let error = SetVoice::parse(args).unwrap_err();
            assert!(
                matches!(error, CommandError::OutOfRange(_)),
                "{args}: {error}"
            );
        }
        let error = SetVoice::parse("--rate 0").unwrap_err().to_string();
        assert!(error.contains("tempo factor from 0.25 to 4"), "{error}");
    }

    #[test]
    fn unknown_flags_and_stray_text_are_refused() {
        let error = AddVoice::parse("--spk a --ref a.wav --volume 3").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("unknown flag --volume; usage: {ADD_USAGE}")
        );
        let error = SetVoice::parse("alice").unwrap_err().to_string();
        assert!(error.starts_with("unexpected \"alice\""), "{error}");
        assert!(error.ends_with(SET_USAGE), "{error}");
    }

    #[test]
    fn speakers_are_checked() {
        assert!(matches!(
            SetVoice::parse("--spk '  '"),
            Err(CommandError::BadSpeaker(_))
        ));
        assert!(matches!(
            SetVoice::parse(&format!("--spk {}", "x".repeat(65))),
            Err(CommandError::BadSpeaker(_))
        ));
        assert_eq!(
            SetVoice::parse("--SPK=carol --pitch 3").unwrap(),
            SetVoice {
                speaker: Some("carol".into()),
                rate: None,
                pitch: Some(3.0)
            }
        );
    }

    #[test]
    fn references_must_exist() {
        let missing = AddVoice::parse("--spk a --ref /nonexistent/voice.wav").unwrap();
        assert_eq!(
            missing.check_reference(),
            Err(CommandError::MissingReference(
                "/nonexistent/voice.wav".into()
            ))
        );
        let file = std::env::temp_dir().join(format!("neko-ref-{}.wav", std::process::id()));
        std::fs::write(&file, b"RIFF").unwrap();
        let present = AddVoice::parse(&format!("--spk a --ref {}", file.display())).unwrap();
        assert_eq!(present.check_reference(), Ok(()));
        std::fs::remove_file(&file).unwrap();
        let espeak = AddVoice::parse("--spk e --ref espeak:en-us+f3").unwrap();
        assert_eq!(espeak.check_reference(), Ok(()));
        let bad = AddVoice::parse("--spk e --ref 'espeak:en us'").unwrap();
        assert!(matches!(
            bad.check_reference(),
            Err(CommandError::BadEspeakVoice(_))
        ));
    }
}
