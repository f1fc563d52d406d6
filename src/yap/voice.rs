//! A voice in a Neko room: the engine, the voice registry, the speaker and the voice pipeline
//! with its own Neko session (`nekosink`). `neko-agent yap` drives it from chat; `neko-agent run
//! --voice` narrates through it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use gst::prelude::*;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use super::player::{Player, PlayerFormat};
use super::settings::{Engine, VoiceArgs};
use super::shaping::Shaper;
use super::speaker::{Speaker, SpeakerConfig, SpeakerEvent};
use crate::connection::SessionSettings;
use crate::pipeline_file::{PipelineFile, find_pipeline};
use crate::session::{ErrorSink, Link, LinkError};
use crate::voice::commands::{AddVoice, SetVoice};
use crate::voice::segment::segment_text;
use crate::voice::selection::VoiceSelection;
use crate::voice::tts::Synthesizer;
use crate::voice::tts::espeak::EspeakTts;
use crate::voice::tts::f5::F5Tts;
use crate::voice::voices::VoiceRegistry;

/// Why the voice could not start.
#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    /// The engine, the registry or a pipeline file is wrong (a settings problem).
    #[error("{0}")]
    Setup(String),
    /// The room could not be joined.
    #[error(transparent)]
    Link(#[from] LinkError),
}

/// The text-to-speech engine the settings ask for.
pub fn engine(args: &VoiceArgs) -> Result<Arc<dyn Synthesizer>, VoiceError> {
    match args.resolved_engine() {
        Engine::F5 => {
            let engine = F5Tts::load(&args.f5).map_err(|e| VoiceError::Setup(e.to_string()))?;
            Ok(Arc::new(engine))
        }
        Engine::Espeak | Engine::Auto => {
            let engine = EspeakTts::new(&args.espeak_voice)
                .map_err(|e| VoiceError::Setup(format!("eSpeak NG: {e}")))?;
            Ok(Arc::new(engine))
        }
    }
}

/// Checks that the voice could start: the engine, the voices file and both pipeline files.
pub fn check(args: &VoiceArgs) -> Result<(), String> {
    engine(args).map_err(|e| e.to_string())?;
    VoiceRegistry::open(&args.voices_dir, &args.default_speaker).map_err(|e| e.to_string())?;
    Shaper::load(&args.shaping_pipeline, args.sample_rate, args.channels)
        .map_err(|e| e.to_string())?;
    PipelineFile::load(&find_pipeline(&args.voice_pipeline)).map_err(|e| e.to_string())?;
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
            .map_err(|e| VoiceError::Setup(e.to_string()))?;
        let shaper = Shaper::load(&args.shaping_pipeline, args.sample_rate, args.channels)
            .map_err(|e| VoiceError::Setup(e.to_string()))?;
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
    pub fn say(&mut self, text: &str) -> Result<Vec<String>, String> {
        self.say_chunks(segment_text(text, self.max_chars))
    }

    /// Speaks chunks already cut (stream mode).
    pub fn say_chunks(&mut self, chunks: Vec<String>) -> Result<Vec<String>, String> {
        let notes = self.reload_if_changed();
        let voice = self.selection.request(&self.registry).ok_or_else(|| {
            format!(
                "no voice to speak with: {} has no usable entry",
                self.registry.path().display()
            )
        })?;
        self.speaker.say(chunks, &voice);
        Ok(notes)
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
    pub fn reload(&mut self) -> Result<Vec<String>, String> {
        self.registry_modified = modified(&self.registry);
        self.registry
            .reload()
            .map(<[String]>::to_vec)
            .map_err(|e| e.to_string())
    }

    /// `/yap:voice add …`: the reply for chat.
    pub fn add(&mut self, flags: &str) -> Result<String, String> {
        let add = AddVoice::parse(flags).map_err(|e| e.to_string())?;
        add.check_reference().map_err(|e| e.to_string())?;
        self.registry
            .insert(&add.speaker, &add.voice)
            .map_err(|e| e.to_string())?;
        self.reload()?;
        Ok(format!("voice '{}' added/updated", add.speaker))
    }

    /// `/yap:voice set …`: the reply for chat.
    pub fn set(&mut self, flags: &str) -> Result<String, String> {
        let set = SetVoice::parse(flags).map_err(|e| e.to_string())?;
        self.selection
            .apply(&set, &self.registry)
            .map_err(|e| e.to_string())?;
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
