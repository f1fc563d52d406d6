//! A voice in a Neko room: the engine, the voice registry, the speaker and the voice pipeline
//! with its own Neko session (`nekosink`). `neko-agent yap` drives it from chat; `neko-agent run
//! --voice` narrates through it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use gst::prelude::*;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use super::commands::{AddVoice, CommandError, SetVoice};
use super::player::{Player, PlayerFormat};
use super::segment::segment_text;
use super::selection::VoiceSelection;
use super::settings::{Engine, VoiceArgs};
use super::shaping::{ShapeError, Shaper};
use super::speaker::{Speaker, SpeakerConfig, SpeakerEvent};
use super::tts::espeak::EspeakTts;
use super::tts::f5::F5Tts;
use super::tts::{Synthesizer, TtsError};
use super::voices::{VoiceRegistry, VoicesError};
use crate::connection::SessionSettings;
use crate::pipeline_file::{PipelineFile, PipelineFileError, find_pipeline};
use crate::session::{ErrorSink, Link, LinkError};

/// The engine, the registry or a pipeline file is wrong (a settings problem).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// F5-TTS cannot load.
    #[error(transparent)]
    F5(TtsError),
    /// eSpeak NG cannot speak.
    #[error("eSpeak NG: {0}")]
    Espeak(#[source] TtsError),
    /// The voices file cannot be read or created.
    #[error(transparent)]
    Registry(#[from] VoicesError),
    /// The shaping pipeline is wrong.
    #[error(transparent)]
    Shaping(#[from] ShapeError),
    /// The voice pipeline file is wrong.
    #[error(transparent)]
    Pipeline(#[from] PipelineFileError),
}

/// Why the voice could not start.
#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    /// The settings are wrong.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The room could not be joined.
    #[error(transparent)]
    Link(#[from] LinkError),
}

/// Why nothing can be spoken.
#[derive(Debug, thiserror::Error)]
pub enum SayError {
    /// The registry has no usable voice.
    #[error("no voice to speak with: {} has no usable entry", .0.display())]
    NoVoice(std::path::PathBuf),
}

/// Why `/yap:voice add` did not add the voice.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// The flags or the reference are wrong.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The voices file cannot be written or read back.
    #[error(transparent)]
    Registry(#[from] VoicesError),
}

/// The text-to-speech engine the settings ask for.
pub fn engine(args: &VoiceArgs) -> Result<Arc<dyn Synthesizer>, SetupError> {
    match args.resolved_engine() {
        Engine::F5 => {
            let engine = F5Tts::load(&args.f5).map_err(SetupError::F5)?;
            Ok(Arc::new(engine))
        }
        Engine::Espeak | Engine::Auto => {
            let engine = EspeakTts::new(&args.espeak_voice).map_err(SetupError::Espeak)?;
            Ok(Arc::new(engine))
        }
    }
}

/// Checks that the voice could start: the engine, the voices file and both pipeline files.
pub fn check(args: &VoiceArgs) -> Result<(), SetupError> {
    engine(args)?;
    VoiceRegistry::open(&args.voices_dir, &args.default_speaker)?;
    Shaper::load(&args.shaping_pipeline, args.sample_rate, args.channels)?;
    PipelineFile::load(&find_pipeline(&args.voice_pipeline))?;
    Ok(())
}

/// A running voice.
pub struct Voice {
    speaker: Speaker,
    player: Player,
    registry: VoiceRegistry,
    registry_modified: Option<SystemTime>,
    selection: VoiceSelection,
    engine_name: String,
    max_chars: usize,
    link: Link,
}

impl Voice {
    /// Starts the engine and the voice pipeline (its `nekosink` gets `session`; `variables` are
    /// the pipeline's own, the frame size…). Pipeline errors go to `on_error`. Speaker events come out of
    /// the returned receiver.
    pub fn open(
        args: &VoiceArgs,
        session: &SessionSettings,
        variables: &BTreeMap<String, String>,
        on_error: ErrorSink,
    ) -> Result<(Self, UnboundedReceiver<SpeakerEvent>), VoiceError> {
        let engine = engine(args)?;
        let registry = VoiceRegistry::open(&args.voices_dir, &args.default_speaker)
            .map_err(SetupError::from)?;
        let shaper = Shaper::load(&args.shaping_pipeline, args.sample_rate, args.channels)
            .map_err(SetupError::from)?;
        let player = Player::new(
            PlayerFormat {
                rate: args.sample_rate,
                channels: args.channels,
                frame_ms: args.frame_ms,
                capacity_sec: args.jitter_max_sec,
            },
            args.save_audio_dir.clone(),
        );
        let feeder = player.clone();
        let link = Link::media_prepared(
            &args.voice_pipeline,
            session,
            variables,
            on_error,
            move |pipeline| {
                let appsrc = pipeline
                    .by_name("speech")
                    .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
                    .ok_or("no appsrc named \"speech\"")?;
                feeder.attach(&appsrc);
                Ok(())
            },
        )?;
        let (events, received) = unbounded_channel();
        let engine_name = engine.name().to_owned();
        let speaker = Speaker::start(
            SpeakerConfig {
                engine,
                shaper,
                player: player.clone(),
                parallel: args.parallel,
                overlap_ms: args.overlap_ms,
            },
            events,
        );
        let registry_modified = modified(&registry);
        Ok((
            Self {
                speaker,
                player,
                registry,
                registry_modified,
                selection: VoiceSelection::new(),
                engine_name,
                max_chars: args.max_chars,
                link,
            },
            received,
        ))
    }

    /// The Neko session the voice speaks through.
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// The speech player (queue and counters).
    pub fn player(&self) -> &Player {
        &self.player
    }

    /// The engine's name.
    pub fn engine_name(&self) -> &str {
        &self.engine_name
    }

    /// Speaks `text`, cut into chunks of at most `YAP_MAX_CHARS`. Returns notes for chat (a
    /// voices.json that changed and did not reload) or why nothing can be spoken.
    pub fn say(&mut self, text: &str) -> Result<Vec<String>, SayError> {
        self.say_chunks(segment_text(text, self.max_chars))
    }

    /// Speaks chunks already cut (stream mode).
    pub fn say_chunks(&mut self, chunks: Vec<String>) -> Result<Vec<String>, SayError> {
        let selection = self.selection.clone();
        self.say_chunks_as(chunks, &selection)
    }

    /// Speaks chunks with the voice and params of `selection` (for this utterance only; the
    /// selection of `/yap:voice set` stays as it is).
    pub fn say_chunks_as(
        &mut self,
        chunks: Vec<String>,
        selection: &VoiceSelection,
    ) -> Result<Vec<String>, SayError> {
        let notes = self.reload_if_changed();
        let voice = selection
            .request(&self.registry)
            .ok_or_else(|| SayError::NoVoice(self.registry.path().to_owned()))?;
        self.speaker.say(chunks, &voice);
        Ok(notes)
    }

    /// The longest chunk an utterance is cut into (`YAP_MAX_CHARS`).
    pub fn max_chars(&self) -> usize {
        self.max_chars
    }

    /// Silences the room now and forgets everything queued.
    pub fn stop(&self) {
        self.speaker.stop();
    }

    /// Whether speech is queued or being synthesised.
    pub fn busy(&self) -> bool {
        self.speaker.busy() || !self.player.queued().is_zero()
    }

    /// `/yap:voice reload`: re-reads voices.json; warnings about skipped entries come back.
    pub fn reload(&mut self) -> Result<Vec<String>, VoicesError> {
        self.registry_modified = modified(&self.registry);
        self.registry.reload().map(<[String]>::to_vec)
    }

    /// `/yap:voice add …`: the reply for chat.
    pub fn add(&mut self, flags: &str) -> Result<String, AddError> {
        let add = AddVoice::parse(flags)?;
        add.check_reference()?;
        self.registry.insert(&add.speaker, &add.voice)?;
        self.reload()?;
        Ok(format!("voice '{}' added/updated", add.speaker))
    }

    /// `/yap:voice set …`: the reply for chat.
    pub fn set(&mut self, flags: &str) -> Result<String, CommandError> {
        let set = SetVoice::parse(flags)?;
        self.selection.apply(&set, &self.registry)?;
        Ok(self.selection.describe(&self.registry))
    }

    /// Hot reload: voices.json edited by hand is picked up before the next utterance.
    fn reload_if_changed(&mut self) -> Vec<String> {
        let now = modified(&self.registry);
        if now == self.registry_modified {
            return Vec::new();
        }
        match self.reload() {
            Ok(warnings) => {
                tracing::info!(path = %self.registry.path().display(), "voices reloaded");
                warnings
            }
            Err(error) => vec![format!("voices.json not reloaded: {error}")],
        }
    }

    /// Stops speaking and leaves the room.
    pub fn close(self) {
        self.speaker.stop();
        drop(self.speaker);
        self.link.close();
    }
}

fn modified(registry: &VoiceRegistry) -> Option<SystemTime> {
    std::fs::metadata(registry.path())
        .and_then(|m| m.modified())
        .ok()
}
