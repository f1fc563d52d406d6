//! The voice registry: `voices.json` in the voices directory, with the Python tool's schema
//!
//! ```json
//! {"<speaker>": {"ref_audio": "voices/alice.wav", "ref_text": "Transcript.", "styles": ["calm"],
//!                "params": {"rate": 1.0, "pitch": 0.0}}}
//! ```
//!
//! `ref_audio` is required; `ref_text` may be null; `rate` is a tempo factor (1.0 = as spoken)
//! and `pitch` a shift in semitones (a frequency factor of 2^(pitch/12)). A `ref_audio` of the form
//! `espeak:<voice>` (e.g. `espeak:en-us`) names an eSpeak NG voice instead of a recording, so one
//! file can hold voices for both engines and stays readable by the Python tool.
//!
//! Entries without `ref_audio`, or with values out of range, are skipped with a warning;
//! [`VoiceRegistry::reload`] keeps the previous registry when the file cannot be read.

use std::io::Write as _;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// File name of the registry inside the voices directory.
pub const VOICES_FILE: &str = "voices.json";
/// Prefix of a `ref_audio` that names an eSpeak NG voice rather than a recording.
pub const ESPEAK_PREFIX: &str = "espeak:";
/// Tempo factors accepted for `rate`.
pub const RATE_RANGE: RangeInclusive<f32> = 0.25..=4.0;
/// Semitones accepted for `pitch` (two octaves either way).
pub const PITCH_RANGE: RangeInclusive<f32> = -24.0..=24.0;

/// The registry file cannot be created, read or written.
#[derive(Debug, thiserror::Error)]
pub enum VoicesError {
    /// A file operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done ("read", "create the voices directory", …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("{path} is not a voices file: {source}; {VOICES_FILE_SHAPE}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What the JSON parser reported.
        source: serde_json::Error,
    },
    /// The file is JSON but not an object of speakers.
    #[error("{path} is not a voices file: the top level is {found}; {VOICES_FILE_SHAPE}")]
    NotAnObject {
        /// The file.
        path: PathBuf,
        /// What the top level is ("an array", …).
        found: &'static str,
    },
}

/// What a voices file must look like, appended to the errors about one that does not.
const VOICES_FILE_SHAPE: &str = "it must be a JSON object mapping speaker ids to {\"ref_audio\": …} entries (fix or delete it to get the default one)";

/// A rate or pitch outside what the voice accepts.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum ParamError {
    /// The tempo factor is outside [`RATE_RANGE`] or not finite.
    #[error(
        "rate {0} is out of range: it is a tempo factor from {min} to {max} (1.0 = normal speed)",
        min = RATE_RANGE.start(),
        max = RATE_RANGE.end()
    )]
    Rate(f32),
    /// The pitch shift is outside [`PITCH_RANGE`] or not finite.
    #[error(
        "pitch {0} is out of range: it is a shift in semitones from {min} to {max} (0 = unchanged)",
        min = PITCH_RANGE.start(),
        max = PITCH_RANGE.end()
    )]
    Pitch(f32),
}

/// How a voice sounds: tempo and pitch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VoiceParams {
    /// Tempo factor: 2.0 speaks twice as fast, 0.5 half as fast (pitch unchanged).
    #[serde(default = "unit_rate", serialize_with = "shortest")]
    pub rate: f32,
    /// Pitch shift in semitones: the frequency factor is 2^(pitch/12) (duration unchanged).
    #[serde(default, serialize_with = "shortest")]
    pub pitch: f32,
}

/// Writes an `f32` as the shortest decimal that reads back as it (1.3, not 1.2999999523162842),
/// as a person or the Python tool would write it.
fn shortest<S: serde::Serializer>(value: &f32, serializer: S) -> Result<S::Ok, S::Error> {
    let decimal: f64 = value.to_string().parse().unwrap_or(f64::from(*value));
    serializer.serialize_f64(decimal)
}

fn unit_rate() -> f32 {
    1.0
}

impl Default for VoiceParams {
    fn default() -> Self {
        Self {
            rate: 1.0,
            pitch: 0.0,
        }
    }
}

impl VoiceParams {
    /// The frequency factor of the pitch shift, 2^(pitch/12).
    pub fn pitch_factor(&self) -> f32 {
        (self.pitch / 12.0).exp2()
    }

    /// Whether the params leave the voice as it is (rate 1, pitch 0).
    pub fn is_neutral(&self) -> bool {
        self.rate == 1.0 && self.pitch == 0.0
    }

    /// Checks both values against [`RATE_RANGE`] and [`PITCH_RANGE`].
    pub fn validate(&self) -> Result<(), ParamError> {
        check_rate(self.rate)?;
        check_pitch(self.pitch)
    }
}

/// Checks a tempo factor: finite and within [`RATE_RANGE`].
pub fn check_rate(rate: f32) -> Result<(), ParamError> {
    if RATE_RANGE.contains(&rate) {
        Ok(())
    } else {
        Err(ParamError::Rate(rate))
    }
}

/// Checks a pitch shift: finite and within [`PITCH_RANGE`] semitones.
pub fn check_pitch(pitch: f32) -> Result<(), ParamError> {
    if PITCH_RANGE.contains(&pitch) {
        Ok(())
    } else {
        Err(ParamError::Pitch(pitch))
    }
}

/// Where a voice's timbre comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoiceSource<'a> {
    /// A reference recording (F5-TTS clones it).
    Recording(&'a Path),
    /// An eSpeak NG voice name (`espeak:<name>`).
    Espeak(&'a str),
}

/// One speaker's entry in `voices.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Voice {
    /// Path of the reference recording, or `espeak:<voice>`.
    pub ref_audio: String,
    /// Transcript of the reference recording (F5-TTS needs it).
    #[serde(default)]
    pub ref_text: Option<String>,
    /// Style tags (kept for compatibility; no engine uses them).
    #[serde(default)]
    pub styles: Vec<String>,
    /// Tempo and pitch.
    #[serde(default)]
    pub params: VoiceParams,
}

impl Voice {
    /// What `ref_audio` designates.
    pub fn source(&self) -> VoiceSource<'_> {
        match self.ref_audio.strip_prefix(ESPEAK_PREFIX) {
            Some(name) => VoiceSource::Espeak(name),
            None => VoiceSource::Recording(Path::new(&self.ref_audio)),
        }
    }

    /// The entry the Python tool writes when `voices.json` is missing.
    pub fn python_default(voices_dir: &Path) -> Self {
        Self {
            ref_audio: voices_dir.join("default.wav").display().to_string(),
            ref_text: Some("This is a default reference.".to_owned()),
            styles: vec!["calm".to_owned()],
            params: VoiceParams::default(),
        }
    }
}

/// The speakers of `voices.json`, in file order.
#[derive(Debug, Clone)]
pub struct VoiceRegistry {
    dir: PathBuf,
    file: PathBuf,
    default_speaker: String,
    voices: Vec<(String, Voice)>,
    warnings: Vec<String>,
}

impl VoiceRegistry {
    /// Opens `voices_dir/voices.json`, creating the directory and a file with the Python tool's
    /// default entry if they are missing. `default_speaker` is the fallback of
    /// [`resolve`](Self::resolve).
    pub fn open(
        voices_dir: impl Into<PathBuf>,
        default_speaker: impl Into<String>,
    ) -> Result<Self, VoicesError> {
        let dir = voices_dir.into();
        let file = dir.join(VOICES_FILE);
        std::fs::create_dir_all(&dir).map_err(|source| VoicesError::Io {
            action: "create the voices directory",
            path: dir.clone(),
            source,
        })?;
        if !file.exists() {
            let mut entries = Map::new();
            entries.insert(
                "default".to_owned(),
                serde_json::to_value(Voice::python_default(&dir)).expect("a voice serialises"),
            );
            write_atomically(&file, &entries)?;
            tracing::info!(path = %file.display(), "created the default voices file");
        }
        let mut registry = Self {
            dir,
            file,
            default_speaker: default_speaker.into(),
            voices: Vec::new(),
            warnings: Vec::new(),
        };
        registry.reload()?;
        Ok(registry)
    }

    /// Re-reads the file. On success returns the warnings about skipped entries; on failure the
    /// registry keeps the voices it had.
    pub fn reload(&mut self) -> Result<&[String], VoicesError> {
        let entries = read_entries(&self.file)?;
        let (voices, warnings) = parse_entries(&entries);
        for warning in &warnings {
            tracing::warn!(path = %self.file.display(), "{warning}");
        }
        self.voices = voices;
        self.warnings = warnings;
        Ok(&self.warnings)
    }

    /// Warnings of the last successful load (entries skipped and why).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The registry file.
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// The voices directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The speaker used when none is requested or the requested one is unknown.
    pub fn default_speaker(&self) -> &str {
        &self.default_speaker
    }

    /// The speaker ids, in file order.
    pub fn speakers(&self) -> impl Iterator<Item = &str> {
        self.voices.iter().map(|(name, _)| name.as_str())
    }

    /// The voice of `speaker`, if it is registered.
    pub fn get(&self, speaker: &str) -> Option<&Voice> {
        self.voices
            .iter()
            .find(|(name, _)| name == speaker)
            .map(|(_, voice)| voice)
    }

    /// The voice to use for `requested`: that speaker, else the default speaker, else the first
    /// one in the file (`None` only when the registry is empty).
    pub fn resolve(&self, requested: Option<&str>) -> Option<(&str, &Voice)> {
        requested
            .and_then(|speaker| self.entry(speaker))
            .or_else(|| self.entry(&self.default_speaker))
            .or_else(|| self.voices.first().map(|(n, v)| (n.as_str(), v)))
    }

    fn entry(&self, speaker: &str) -> Option<(&str, &Voice)> {
        self.voices
            .iter()
            .find(|(name, _)| name == speaker)
            .map(|(n, v)| (n.as_str(), v))
    }

    /// Writes `voice` as `speaker` (replacing an entry of that name, keeping every other entry
    /// of the file as it is, skipped ones included) and reloads.
    pub fn insert(&mut self, speaker: &str, voice: &Voice) -> Result<(), VoicesError> {
        let mut entries = read_entries(&self.file)?;
        entries.insert(
            speaker.to_owned(),
            serde_json::to_value(voice).expect("a voice serialises"),
        );
        write_atomically(&self.file, &entries)?;
        self.reload().map(drop)
    }

    /// Removes `speaker`'s entry from the file (every other entry stays as it is) and reloads.
    /// False when the file has no such entry.
    pub fn remove(&mut self, speaker: &str) -> Result<bool, VoicesError> {
        let mut entries = read_entries(&self.file)?;
        if entries.remove(speaker).is_none() {
            return Ok(false);
        }
        write_atomically(&self.file, &entries)?;
        self.reload().map(|_| true)
    }
}

/// The top-level object of `file`.
fn read_entries(file: &Path) -> Result<Map<String, Value>, VoicesError> {
    let text = std::fs::read_to_string(file).map_err(|source| VoicesError::Io {
        action: "read",
        path: file.to_owned(),
        source,
    })?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(entries)) => Ok(entries),
        Ok(other) => Err(VoicesError::NotAnObject {
            path: file.to_owned(),
            found: kind(&other),
        }),
        Err(source) => Err(VoicesError::Json {
            path: file.to_owned(),
            source,
        }),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The usable voices of `entries`, and a warning for each skipped one.
fn parse_entries(entries: &Map<String, Value>) -> (Vec<(String, Voice)>, Vec<String>) {
    let mut voices = Vec::new();
    let mut warnings = Vec::new();
    for (speaker, value) in entries {
        let has_ref = value
            .get("ref_audio")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty());
        if !has_ref {
            warnings.push(format!("voice '{speaker}' skipped: it has no ref_audio"));
            continue;
        }
        let voice = match Voice::deserialize(value) {
            Ok(voice) => voice,
            Err(e) => {
                warnings.push(format!("voice '{speaker}' skipped: {e}"));
                continue;
            }
        };
        if let Err(problem) = voice.params.validate() {
            warnings.push(format!("voice '{speaker}' skipped: {problem}"));
            continue;
        }
        voices.push((speaker.clone(), voice));
    }
    (voices, warnings)
}

/// Replaces `file` with `entries` (pretty JSON) through a temporary file and a rename, so a
/// reader never sees a half-written file.
fn write_atomically(file: &Path, entries: &Map<String, Value>) -> Result<(), VoicesError> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let io = |action| {
        move |source| VoicesError::Io {
            action,
            path: file.to_owned(),
            source,
        }
    };
    let mut text = serde_json::to_string_pretty(entries).expect("JSON values serialise");
    text.push('\n');
    let mut temp = tempfile::Builder::new()
        .prefix(".voices-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io("create a temporary file next to"))?;
    temp.write_all(text.as_bytes()).map_err(io("write"))?;
    temp.as_file().sync_all().map_err(io("write"))?;
    temp.persist(file).map_err(|e| io("replace")(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("neko-voices-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_missing_file_is_created_with_the_python_default() {
        let dir = scratch("default").join("nested");
        let registry = VoiceRegistry::open(&dir, "default").unwrap();
        let written: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(VOICES_FILE)).unwrap()).unwrap();
        let expected = serde_json::json!({"default": {
            "ref_audio": format!("{}/default.wav", dir.display()),
            "ref_text": "This is a default reference.",
            "styles": ["calm"],
            "params": {"rate": 1.0, "pitch": 0.0}
        }});
        assert_eq!(written, expected);
        assert_eq!(registry.speakers().collect::<Vec<_>>(), ["default"]);
        assert!(registry.warnings().is_empty());
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn entries_without_ref_audio_or_with_bad_params_are_skipped_with_a_warning() {
        let dir = scratch("skip");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(VOICES_FILE),
            r#"{"a": {"ref_text": "x"}, "b": {"ref_audio": "b.wav"},
                "c": {"ref_audio": "c.wav", "params": {"rate": 0}},
                "d": {"ref_audio": "espeak:en-us", "ref_text": null, "params": {"pitch": -3.5}}}"#,
        )
        .unwrap();
        let registry = VoiceRegistry::open(&dir, "default").unwrap();
        assert_eq!(registry.speakers().collect::<Vec<_>>(), ["b", "d"]);
        assert_eq!(registry.warnings().len(), 2);
        assert!(registry.warnings()[0].contains("'a'"));
        assert!(registry.warnings()[1].contains("'c'") && registry.warnings()[1].contains("rate"));
        let b = registry.get("b").unwrap();
        assert_eq!(b.params, VoiceParams::default());
        assert_eq!(b.source(), VoiceSource::Recording(Path::new("b.wav")));
        let d = registry.get("d").unwrap();
        assert_eq!(d.source(), VoiceSource::Espeak("en-us"));
        assert_eq!(d.params.rate, 1.0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn lookup_falls_back_to_the_default_then_the_first() {
        let dir = scratch("lookup");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(VOICES_FILE),
            r#"{"x": {"ref_audio": "x.wav"}, "main": {"ref_audio": "m.wav"}}"#,
        )
        .unwrap();
        let registry = VoiceRegistry::open(&dir, "main").unwrap();
        assert_eq!(registry.resolve(Some("x")).unwrap().0, "x");
        assert_eq!(registry.resolve(Some("nobody")).unwrap().0, "main");
        assert_eq!(registry.resolve(None).unwrap().0, "main");
        let registry = VoiceRegistry::open(&dir, "absent").unwrap();
        assert_eq!(registry.resolve(None).unwrap().0, "x");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_broken_file_keeps_the_previous_registry() {
        let dir = scratch("broken");
        let mut registry = VoiceRegistry::open(&dir, "default").unwrap();
        std::fs::write(dir.join(VOICES_FILE), "{not json").unwrap();
        let error = registry.reload().unwrap_err().to_string();
        assert!(
            error.contains("voices.json is not a voices file"),
            "{error}"
        );
        assert_eq!(registry.speakers().collect::<Vec<_>>(), ["default"]);
        std::fs::write(dir.join(VOICES_FILE), "[1]").unwrap();
        let error = registry.reload().unwrap_err().to_string();
        assert!(error.contains("the top level is an array"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn insert_replaces_one_entry_and_keeps_the_others() {
        let dir = scratch("insert");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(VOICES_FILE),
            r#"{"keep": {"note": "no ref_audio, skipped but preserved"}, "a": {"ref_audio": "old.wav"}}"#,
        )
        .unwrap();
        let mut registry = VoiceRegistry::open(&dir, "default").unwrap();
        let voice = Voice {
            ref_audio: "new.wav".into(),
            ref_text: Some("Hi.".into()),
            styles: vec!["warm".into()],
            params: VoiceParams {
                rate: 1.25,
                pitch: -2.0,
            },
        };
        registry.insert("a", &voice).unwrap();
        registry.insert("b", &voice).unwrap();
        assert_eq!(registry.get("a"), Some(&voice));
        assert_eq!(registry.speakers().collect::<Vec<_>>(), ["a", "b"]);
        let text = std::fs::read_to_string(dir.join(VOICES_FILE)).unwrap();
        assert!(text.contains("preserved"), "{text}");
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn pitch_factor_is_two_to_the_semitones_over_twelve() {
        let params = VoiceParams {
            rate: 1.0,
            pitch: 12.0,
        };
        assert!((params.pitch_factor() - 2.0).abs() < 1e-6);
        let params = VoiceParams {
            rate: 1.0,
            pitch: -7.0,
        };
        assert!((params.pitch_factor() - 0.667_42).abs() < 1e-4);
        assert!(VoiceParams::default().is_neutral());
    }

    #[test]
    fn remove_drops_one_entry_and_keeps_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let mut registry = VoiceRegistry::open(dir.path(), "default").unwrap();
        let espeak = Voice {
            ref_audio: "espeak:en-us".into(),
            ref_text: None,
            styles: Vec::new(),
            params: VoiceParams::default(),
        };
        registry.insert("narrator", &espeak).unwrap();
        assert!(registry.remove("narrator").unwrap());
        assert!(registry.get("narrator").is_none());
        assert!(!registry.remove("narrator").unwrap());
        let text = std::fs::read_to_string(registry.path()).unwrap();
        assert!(
            text.contains("default") && !text.contains("narrator"),
            "{text}"
        );
    }

    #[test]
    fn ranges_reject_nonsense() {
        assert!(check_rate(0.0).is_err());
        assert!(check_rate(-1.0).is_err());
        assert!(check_rate(f32::NAN).is_err());
        assert!(check_rate(5.0).is_err());
        assert!(check_rate(0.25).is_ok());
        assert!(check_pitch(24.5).is_err());
        assert!(check_pitch(f32::INFINITY).is_err());
        assert!(check_pitch(-24.0).is_ok());
    }
}
