//! The voice engine behind `/api/v1/tts` and `/api/v1/voices`: the [`Voice`] of `neko-agent
//! yap` (its own session in the service's default room), the same voices file and the same
//! stream segmenter, driven by requests instead of chat.
//!
//! The voices file opens with the engine; the room is joined on the first utterance, so a
//! service that never speaks never joins.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use gstneko::client::{ClientNotice, wait_for_notice};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::connection::SessionSettings;
use crate::voice::commands::{CommandError, SetVoice};
use crate::voice::live::{SayError, Voice, VoiceError};
use crate::voice::segment::{StreamAssembler, segment_text};
use crate::voice::selection::VoiceSelection;
use crate::voice::settings::VoiceArgs;
use crate::voice::speaker::SpeakerEvent;
use crate::voice::voices::{self as registry, VoiceRegistry, VoicesError};

/// How the service speaks: the voice settings and the session it joins.
#[derive(Debug, Clone)]
pub struct VoiceSetup {
    /// Engine, voices directory, audio format, chunking (`YAP_*`).
    pub args: VoiceArgs,
    /// The session the voice joins: the service's default room, with a login of its own.
    pub session: SessionSettings,
    /// How long joining the room may take.
    pub connect_timeout: Duration,
}

impl VoiceSetup {
    /// `args` spoken through `session`, with 20 s to join.
    pub fn new(args: VoiceArgs, session: SessionSettings) -> Self {
        Self {
            args,
            session,
            connect_timeout: Duration::from_secs(20),
        }
    }
}

/// Why speech or a voice change was refused.
#[derive(Debug, thiserror::Error)]
pub enum VoiceEngineError {
    /// The voice could not start (engine, pipeline file or room).
    #[error("the voice cannot start: {0}")]
    Start(#[source] VoiceError),
    /// Starting the voice stopped unexpectedly.
    #[error("the voice did not start: {0}")]
    StartTask(#[source] tokio::task::JoinError),
    /// The room was not joined in time.
    #[error("the voice could not join the room within {} s{}", .limit.as_secs(), .last_problem.as_ref().map(|p| format!(": {p}")).unwrap_or_default())]
    Join {
        /// How long it waited.
        limit: Duration,
        /// Why the last attempt failed.
        last_problem: Option<String>,
    },
    /// The voices file cannot be read or written.
    #[error(transparent)]
    Registry(#[from] VoicesError),
    /// Nothing can be spoken.
    #[error(transparent)]
    Say(#[from] SayError),
    /// The speaker or its params are refused.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// No voice has this id.
    #[error("no voice {0:?}")]
    NotFound(String),
    /// A voice with this id exists already.
    #[error("voice {0:?} exists; change it with PUT /voices/{0}")]
    Exists(String),
    /// Stream text or stop without a stream.
    #[error("no stream is open: POST /tts/stream/start first")]
    NoStream,
    /// A second stream.
    #[error("a stream is open: POST /tts/stream/stop first")]
    StreamOpen,
    /// The service is shutting down.
    #[error("the voice has been closed")]
    Closed,
}

/// A voice of the registry, with its id.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedVoice {
    /// The speaker id.
    pub voice_id: String,
    /// Its entry.
    pub voice: registry::Voice,
}

/// The voice in the room and the stream being spoken.
struct Live {
    voice: Voice,
    stream: Option<StreamAssembler>,
    /// Counts stream texts, so that an idle flush only fires after the last one.
    stream_generation: u64,
}

/// The voice engine of a service: cheap to share.
pub struct VoiceEngine {
    setup: VoiceSetup,
    registry: Mutex<VoiceRegistry>,
    live: Arc<tokio::sync::Mutex<Option<Live>>>,
    closed: std::sync::atomic::AtomicBool,
}

impl VoiceEngine {
    /// The engine for `setup`, with its voices file open (created with the default voice when
    /// missing).
    pub fn new(setup: VoiceSetup) -> Result<Self, VoicesError> {
        let registry = VoiceRegistry::open(&setup.args.voices_dir, &setup.args.default_speaker)?;
        Ok(Self {
            setup,
            registry: Mutex::new(registry),
            live: Arc::default(),
            closed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The longest text one request may speak, in characters.
    pub fn max_text_chars(&self) -> usize {
        (self.setup.args.max_chars * 32).max(2000)
    }

    /// The voices, in file order, and the warnings about skipped entries.
    pub fn voices(&self) -> (Vec<NamedVoice>, Vec<String>, String) {
        let registry = lock(&self.registry);
        let voices = registry
            .speakers()
            .filter_map(|id| {
                registry.get(id).map(|voice| NamedVoice {
                    voice_id: id.to_owned(),
                    voice: voice.clone(),
                })
            })
            .collect();
        (
            voices,
            registry.warnings().to_vec(),
            registry.default_speaker().to_owned(),
        )
    }

    /// One voice.
    pub fn voice(&self, voice_id: &str) -> Result<NamedVoice, VoiceEngineError> {
        lock(&self.registry)
            .get(voice_id)
            .map(|voice| NamedVoice {
                voice_id: voice_id.to_owned(),
                voice: voice.clone(),
            })
            .ok_or_else(|| VoiceEngineError::NotFound(voice_id.to_owned()))
    }

    /// Adds a voice to the voices file (`replace`: changes an existing one instead).
    pub async fn put(
        &self,
        voice_id: &str,
        voice: &registry::Voice,
        replace: bool,
    ) -> Result<NamedVoice, VoiceEngineError> {
        {
            let mut registry = lock(&self.registry);
            let exists = registry.get(voice_id).is_some();
            match (exists, replace) {
                (true, false) => return Err(VoiceEngineError::Exists(voice_id.to_owned())),
                (false, true) => return Err(VoiceEngineError::NotFound(voice_id.to_owned())),
                _ => {}
            }
            registry.insert(voice_id, voice)?;
        }
        self.reload_live().await?;
        self.voice(voice_id)
    }

    /// Removes a voice from the voices file.
    pub async fn remove(&self, voice_id: &str) -> Result<(), VoiceEngineError> {
        if !lock(&self.registry).remove(voice_id)? {
            return Err(VoiceEngineError::NotFound(voice_id.to_owned()));
        }
        self.reload_live().await
    }

    /// Re-reads the voices file; the warnings about skipped entries come back.
    pub async fn reload(&self) -> Result<Vec<String>, VoiceEngineError> {
        let warnings = lock(&self.registry).reload()?.to_vec();
        self.reload_live().await?;
        Ok(warnings)
    }

    /// Speaks `text` as `voice_id` (the default voice when `None`) with `rate`/`pitch` laid
    /// over the voice's own. Returns notes (a voices file that did not reload).
    pub async fn speak(
        &self,
        text: &str,
        voice_id: Option<&str>,
        rate: Option<f32>,
        pitch: Option<f32>,
    ) -> Result<Vec<String>, VoiceEngineError> {
        let selection = self.selection(voice_id, rate, pitch)?;
        let mut live = self.live().await?;
        let live = live.as_mut().ok_or(VoiceEngineError::Closed)?;
        let chunks = segment_text(text, live.voice.max_chars());
        Ok(live.voice.say_chunks_as(chunks, &selection)?)
    }

    /// Opens a stream: texts that follow are spoken sentence by sentence as they complete.
    pub async fn stream_start(&self) -> Result<(), VoiceEngineError> {
        let mut live = self.live().await?;
        let live = live.as_mut().ok_or(VoiceEngineError::Closed)?;
        if live.stream.is_some() {
            return Err(VoiceEngineError::StreamOpen);
        }
        live.stream = Some(StreamAssembler::new(live.voice.max_chars()));
        Ok(())
    }

    /// Adds text to the stream; what completes a chunk is spoken now, the rest after the idle
    /// flush (`YAP_CHUNK_SEC`) unless more comes. Returns the chunks spoken now.
    pub async fn stream_text(&self, text: &str) -> Result<usize, VoiceEngineError> {
        let mut guard = self.live().await?;
        let live = guard.as_mut().ok_or(VoiceEngineError::Closed)?;
        let assembler = live.stream.as_mut().ok_or(VoiceEngineError::NoStream)?;
        let ready = assembler.push(text);
        let pending = !assembler.pending().trim().is_empty();
        let spoken = ready.len();
        if !ready.is_empty() {
            live.voice.say_chunks(ready)?;
        }
        live.stream_generation += 1;
        if pending {
            let generation = live.stream_generation;
            let shared = self.live.clone();
            let idle = Duration::from_millis(self.setup.args.idle_flush_ms());
            tokio::spawn(async move {
                tokio::time::sleep(idle).await;
                let mut live = shared.lock().await;
                if let Some(live) = live.as_mut()
                    && live.stream_generation == generation
                {
                    flush(live);
                }
            });
        }
        Ok(spoken)
    }

    /// Speaks what the stream holds and closes it.
    pub async fn stream_stop(&self) -> Result<(), VoiceEngineError> {
        let mut guard = self.live.lock().await;
        let live = guard.as_mut().ok_or(VoiceEngineError::NoStream)?;
        if live.stream.is_none() {
            return Err(VoiceEngineError::NoStream);
        }
        flush(live);
        live.stream = None;
        live.stream_generation += 1;
        Ok(())
    }

    /// Silences the room now, forgets the queue and drops the stream's pending text.
    pub async fn stop(&self) {
        if let Some(live) = self.live.lock().await.as_mut() {
            live.voice.stop();
            if let Some(stream) = live.stream.as_mut() {
                stream.clear();
            }
            live.stream_generation += 1;
        }
    }

    /// Stops speaking and leaves the room; later speech is refused.
    pub async fn close(&self) {
        self.closed
            .store(true, std::sync::atomic::Ordering::Release);
        if let Some(live) = self.live.lock().await.take()
            && let Err(error) = tokio::task::spawn_blocking(move || live.voice.close()).await
        {
            tracing::warn!(%error, "the voice did not close cleanly");
        }
    }

    /// The per-utterance selection: the voice must exist; params are checked by the caller.
    fn selection(
        &self,
        voice_id: Option<&str>,
        rate: Option<f32>,
        pitch: Option<f32>,
    ) -> Result<VoiceSelection, VoiceEngineError> {
        let mut selection = VoiceSelection::new();
        let set = SetVoice {
            speaker: voice_id.map(str::to_owned),
            rate,
            pitch,
        };
        selection.apply(&set, &lock(&self.registry))?;
        Ok(selection)
    }

    /// The live voice, started (and the room joined) on first use.
    async fn live(&self) -> Result<tokio::sync::MutexGuard<'_, Option<Live>>, VoiceEngineError> {
        let mut live = self.live.lock().await;
        if self.closed.load(std::sync::atomic::Ordering::Acquire) {
            return Err(VoiceEngineError::Closed);
        }
        if live.is_none() {
            *live = Some(self.open().await?);
        }
        Ok(live)
    }

    /// A voices change the live voice should know before its next utterance.
    async fn reload_live(&self) -> Result<(), VoiceEngineError> {
        if let Some(live) = self.live.lock().await.as_mut() {
            live.voice.reload()?;
        }
        Ok(())
    }

    async fn open(&self) -> Result<Live, VoiceEngineError> {
        let args = self.setup.args.clone();
        let session = self.setup.session.clone();
        let variables = BTreeMap::from([("frame_ms".to_owned(), args.frame_ms.to_string())]);
        let on_error = Arc::new(|error: String| {
            tracing::error!("voice pipeline: {error}");
        });
        let (voice, events) =
            tokio::task::spawn_blocking(move || Voice::open(&args, &session, &variables, on_error))
                .await
                .map_err(VoiceEngineError::StartTask)?
                .map_err(VoiceEngineError::Start)?;
        if let Err(error) = wait_joined(&voice, self.setup.connect_timeout).await {
            let _ = tokio::task::spawn_blocking(move || voice.close()).await;
            return Err(error);
        }
        tokio::spawn(report_failures(events));
        tracing::info!(engine = voice.engine_name(), "the voice is in the room");
        Ok(Live {
            voice,
            stream: None,
            stream_generation: 0,
        })
    }
}

/// Speaks what the stream holds (the idle flush and the end of a stream).
fn flush(live: &mut Live) {
    let Some(assembler) = live.stream.as_mut() else {
        return;
    };
    let tail = assembler.flush();
    if !tail.is_empty()
        && let Err(error) = live.voice.say_chunks(tail)
    {
        tracing::warn!(%error, "the stream's last words could not be spoken");
    }
}

/// Waits until the voice's session has joined the room.
async fn wait_joined(voice: &Voice, limit: Duration) -> Result<(), VoiceEngineError> {
    let client = &voice.link().client;
    let mut notices = client.subscribe();
    if client.state().connected {
        return Ok(());
    }
    let mut last_problem = None;
    let outcome = wait_for_notice(&mut notices, limit, |notice| match notice {
        ClientNotice::Connected { .. } => Some(Ok(())),
        ClientNotice::Fatal(error) => Some(Err(error.to_string())),
        ClientNotice::Retrying { error, .. } => {
            last_problem = Some(error.clone());
            None
        }
        _ => None,
    })
    .await;
    match outcome {
        Some(Ok(())) => Ok(()),
        Some(Err(problem)) => Err(VoiceEngineError::Join {
            limit,
            last_problem: Some(problem),
        }),
        None => Err(VoiceEngineError::Join {
            limit,
            last_problem,
        }),
    }
}

/// Chunks that could not be spoken, into the log.
async fn report_failures(mut events: UnboundedReceiver<SpeakerEvent>) {
    while let Some(event) = events.recv().await {
        if let SpeakerEvent::Failed { text, error } = event {
            tracing::warn!(%error, %text, "a chunk could not be spoken");
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
