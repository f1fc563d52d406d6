//! The capture engine behind `/api/v1/capture`: the recorder of `neko-agent capture`, with its
//! own session in the service's default room, whose episodes the API starts and stops instead
//! of chat. Frames come from the room as the command takes them (the WebRTC stream, REST
//! screenshots when it gives none); `Action: {json}` lines in chat are recorded into the
//! running episode (only those of the episode's `neko_session_id` when it names one).
//!
//! The dataset and the session open on the first episode, so a service that never records
//! never locks the dataset directory or joins the room.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use gstneko::client::ClientNotice;
use gstneko::protocol::ServerEvent;
use serde::Serialize;
use serde_json::json;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use utoipa::ToSchema;

use crate::capture::chat::{ChatCommand, chat_text, parse_line};
use crate::capture::episode::unix_now;
use crate::capture::frames::feed_recorder;
use crate::capture::recorder::{Notice, RecorderConfig};
use crate::capture::workspace::Workspace;
use crate::capture::{CaptureError, CaptureService, CaptureSettings, CloseReport, EndReason};
use crate::connection::SessionSettings;
use crate::mds::Index;
use crate::session::{ControlError, ControlOptions, Controller, Link, LinkError};

/// Most episodes remembered by the API (the oldest ended ones are forgotten first).
const KEPT_EPISODES: usize = 1000;

/// How long the recorder may take to start an episode.
const START_WAIT: Duration = Duration::from_secs(10);

/// How long the recorder may take to package an episode once stopped.
const SAVE_WAIT: Duration = Duration::from_secs(120);

/// Rough size of one recorded frame at JPEG quality 85, for the size estimate.
const FRAME_BYTES_AT_85: f64 = 64.0 * 1024.0;

/// How the service records: the dataset and episode rules, and the session it joins.
#[derive(Debug, Clone)]
pub struct CaptureSetup {
    /// Dataset directory, remote, frame rate and episode rules (`CAPTURE_*`).
    pub settings: CaptureSettings,
    /// The session capture joins: the service's default room, with a login of its own.
    pub session: SessionSettings,
    /// Pipeline file of the media session (a name in `pipelines/` or a path).
    pub pipeline: String,
    /// Decoder: `auto`, `nvdec` or `software`.
    pub decoder: String,
    /// Signalling only: frames come from REST screenshots (an admin login).
    pub no_media: bool,
    /// How long joining the room may take.
    pub connect_timeout: Duration,
}

impl CaptureSetup {
    /// `settings` recorded through `session` with the command's defaults: the `capture`
    /// pipeline, the `auto` decoder, WebRTC media and 20 s to join.
    pub fn new(settings: CaptureSettings, session: SessionSettings) -> Self {
        Self {
            settings,
            session,
            pipeline: "capture".into(),
            decoder: "auto".into(),
            no_media: false,
            connect_timeout: Duration::from_secs(20),
        }
    }
}

/// Why an episode could not be started, stopped or found.
#[derive(Debug, thiserror::Error)]
pub enum CaptureEngineError {
    /// The dataset directory or the remote could not be opened.
    #[error("capture cannot open its dataset: {0}")]
    Open(#[source] CaptureError),
    /// The session's settings or pipeline file are unusable.
    #[error("capture cannot join the room: {0}")]
    Link(#[source] LinkError),
    /// The room was not joined in time.
    #[error("capture could not join the room: {0}")]
    Join(#[source] ControlError),
    /// Opening stopped unexpectedly.
    #[error("capture did not start: {0}")]
    Start(#[source] tokio::task::JoinError),
    /// No episode has this id.
    #[error("no episode {0:?}")]
    NotFound(String),
    /// Another episode is recording.
    #[error("episode {episode_id} is recording ({task}); stop it first")]
    Busy {
        /// The running episode.
        episode_id: String,
        /// Its task.
        task: String,
    },
    /// The episode is not recording any more.
    #[error("episode {0} is not recording (it has ended)")]
    Ended(String),
    /// The recorder could not start the episode.
    #[error("the episode did not start: {0}")]
    NotStarted(String),
    /// The recorder did not answer in time.
    #[error("the recorder did not answer within {} s", .0.as_secs())]
    NoAnswer(Duration),
    /// The service is shutting down.
    #[error("capture has been closed")]
    Closed,
}

/// Where an episode is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EpisodeStatus {
    /// Frames and actions are being recorded.
    Recording,
    /// In the dataset (durably spooled; in a shard file once the shard closes).
    Saved,
    /// Too short (`min_frames`) and dropped.
    Discarded,
    /// Could not be saved yet; kept on disk and saved as soon as possible.
    Delayed,
}

/// The episode rules in effect for one episode.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct EpisodeRules {
    /// Frames recorded per second (fixed when the service starts).
    pub fps: f64,
    /// JPEG quality of the frames (fixed when the service starts).
    pub jpeg_quality: u8,
    /// Episodes with fewer frames are discarded.
    pub min_frames: u64,
    /// Seconds without an action or a frame after which the episode ends (reason `timeout`).
    pub timeout_seconds: f64,
}

impl EpisodeRules {
    /// A rough size of the episode if it runs until its timeout, in MB.
    pub fn estimated_size_mb(&self) -> u64 {
        let frames = self.fps * self.timeout_seconds;
        let per_frame = FRAME_BYTES_AT_85 * (f64::from(self.jpeg_quality) / 85.0).max(0.1);
        (frames * per_frame / 1_000_000.0).ceil() as u64
    }

    fn recorder(&self) -> RecorderConfig {
        RecorderConfig {
            min_frames: self.min_frames,
            episode_timeout: Duration::from_secs_f64(self.timeout_seconds),
        }
    }
}

/// An episode recorded through the API.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Episode {
    /// Its id (also its `episode_id` in the dataset).
    pub episode_id: String,
    /// Where it is.
    pub status: EpisodeStatus,
    /// The task it records.
    pub task_description: String,
    /// The Neko session whose chat actions it records (all sessions when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub neko_session_id: Option<String>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it ended: `stopped`, `timeout` or `shutdown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
    /// Frames kept (once ended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames: Option<u64>,
    /// Actions kept (once ended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions: Option<u64>,
    /// A rough size if it runs until its timeout, in MB.
    pub estimated_size_mb: u64,
    /// The rules it is recorded with.
    pub capture_options: EpisodeRules,
    /// What went wrong while recording or saving it, one line each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// A request for a new episode, checked.
#[derive(Debug, Clone)]
pub struct EpisodeStart {
    /// The task recorded.
    pub task_description: String,
    /// Whose chat actions are recorded (all sessions when `None`).
    pub neko_session_id: Option<String>,
    /// Changes to the service's episode rules for this episode.
    pub min_frames: Option<u64>,
    /// Changes to the service's inactivity timeout for this episode, in seconds.
    pub timeout_seconds: Option<f64>,
}

/// The episodes the API knows and the answers it waits for.
#[derive(Default)]
struct Book {
    episodes: BTreeMap<String, Episode>,
    order: VecDeque<String>,
    /// Whose actions the running episode records, when limited to one session.
    running_session: Option<String>,
    /// The start waiting for the recorder's answer.
    pending_start: Option<tokio::sync::oneshot::Sender<Result<String, CaptureEngineError>>>,
}

impl Book {
    fn remember(&mut self, episode: Episode) {
        self.order.push_back(episode.episode_id.clone());
        self.episodes.insert(episode.episode_id.clone(), episode);
        while self.order.len() > KEPT_EPISODES {
            let Some(oldest) = self
                .order
                .iter()
                .position(|id| self.episodes[id].status != EpisodeStatus::Recording)
            else {
                break;
            };
            if let Some(id) = self.order.remove(oldest) {
                self.episodes.remove(&id);
            }
        }
    }

    fn end(
        &mut self,
        episode_id: &str,
        status: EpisodeStatus,
        reason: EndReason,
    ) -> Option<&mut Episode> {
        let episode = self.episodes.get_mut(episode_id)?;
        episode.status = status;
        episode.ended_at.get_or_insert_with(Utc::now);
        episode.end_reason = Some(reason.as_str().to_owned());
        self.running_session = None;
        Some(episode)
    }

    /// Takes in what the recorder did.
    fn note(&mut self, notice: Notice) {
        match notice {
            Notice::Started { episode_id, .. } => {
                if let Some(reply) = self.pending_start.take() {
                    let _ = reply.send(Ok(episode_id));
                }
            }
            Notice::AlreadyRunning { episode_id, task } => {
                if let Some(reply) = self.pending_start.take() {
                    let _ = reply.send(Err(CaptureEngineError::Busy { episode_id, task }));
                }
            }
            Notice::WriteFailed { episode_id, error } if episode_id.is_empty() => {
                if let Some(reply) = self.pending_start.take() {
                    let _ = reply.send(Err(CaptureEngineError::NotStarted(error)));
                }
            }
            Notice::WriteFailed { episode_id, error } => {
                if let Some(episode) = self.episodes.get_mut(&episode_id) {
                    episode.problems.push(error);
                }
            }
            Notice::Saved {
                episode_id,
                frames,
                actions,
                reason,
                losses,
            } => {
                if let Some(episode) = self.end(&episode_id, EpisodeStatus::Saved, reason) {
                    episode.frames = Some(frames);
                    episode.actions = Some(actions);
                    episode.problems.extend(losses);
                }
            }
            Notice::Discarded {
                episode_id,
                frames,
                min_frames,
                reason,
            } => {
                if let Some(episode) = self.end(&episode_id, EpisodeStatus::Discarded, reason) {
                    episode.frames = Some(frames);
                    episode.problems.push(format!(
                        "{frames} frames, fewer than min_frames={min_frames}"
                    ));
                }
            }
            Notice::Delayed {
                episode_id,
                error,
                kept_in,
            } => {
                if let Some(episode) = self.episodes.get_mut(&episode_id) {
                    if episode.status == EpisodeStatus::Recording {
                        episode.status = EpisodeStatus::Delayed;
                        episode.ended_at = Some(Utc::now());
                        self.running_session = None;
                    }
                    episode.problems.push(format!(
                        "not saved yet: {error}; kept in {}",
                        kept_in.display()
                    ));
                }
            }
            Notice::NotRecording => {}
        }
    }
}

/// The open dataset and session.
struct Running {
    service: CaptureService,
    link: Link,
    /// Feeding the recorder: stopped first at close.
    feeders: Vec<JoinHandle<()>>,
    /// Taking the recorder's notices: ends once the recorder has stopped.
    notices: JoinHandle<()>,
}

/// The capture engine of a service: cheap to share, opened on first use.
pub struct CaptureEngine {
    setup: CaptureSetup,
    rules: Mutex<EpisodeRules>,
    running: tokio::sync::Mutex<Option<Running>>,
    closed: std::sync::atomic::AtomicBool,
    book: Arc<Mutex<Book>>,
    changes: watch::Sender<u64>,
}

impl CaptureEngine {
    /// The engine for `setup`; nothing is opened until the first episode.
    pub fn new(setup: CaptureSetup) -> Self {
        let rules = EpisodeRules {
            fps: setup.settings.fps,
            jpeg_quality: setup.settings.jpeg_quality,
            min_frames: setup.settings.min_frames,
            timeout_seconds: setup.settings.episode_timeout.as_secs_f64(),
        };
        Self {
            setup,
            rules: Mutex::new(rules),
            running: tokio::sync::Mutex::new(None),
            closed: std::sync::atomic::AtomicBool::new(false),
            book: Arc::default(),
            changes: watch::channel(0).0,
        }
    }

    /// The settings it records with.
    pub fn settings(&self) -> &CaptureSettings {
        &self.setup.settings
    }

    /// The rules new episodes get unless they say otherwise.
    pub fn rules(&self) -> EpisodeRules {
        *lock(&self.rules)
    }

    /// Changes the rules of episodes started from now on.
    pub fn set_rules(&self, min_frames: Option<u64>, timeout_seconds: Option<f64>) -> EpisodeRules {
        let mut rules = lock(&self.rules);
        if let Some(min_frames) = min_frames {
            rules.min_frames = min_frames;
        }
        if let Some(timeout_seconds) = timeout_seconds {
            rules.timeout_seconds = timeout_seconds;
        }
        *rules
    }

    /// Whether the dataset and the session are open.
    pub async fn is_open(&self) -> bool {
        self.running.lock().await.is_some()
    }

    /// The episodes, oldest first.
    pub fn episodes(&self) -> Vec<Episode> {
        let book = lock(&self.book);
        book.order
            .iter()
            .filter_map(|id| book.episodes.get(id).cloned())
            .collect()
    }

    /// One episode.
    pub fn episode(&self, episode_id: &str) -> Result<Episode, CaptureEngineError> {
        lock(&self.book)
            .episodes
            .get(episode_id)
            .cloned()
            .ok_or_else(|| CaptureEngineError::NotFound(episode_id.to_owned()))
    }

    /// Starts an episode (opening the dataset and joining the room the first time).
    pub async fn start(&self, request: EpisodeStart) -> Result<Episode, CaptureEngineError> {
        let mut running = self.running.lock().await;
        if self.closed.load(std::sync::atomic::Ordering::Acquire) {
            return Err(CaptureEngineError::Closed);
        }
        if running.is_none() {
            *running = Some(self.open().await?);
        }
        let recorder = running
            .as_ref()
            .map(|running| running.service.recorder().clone())
            .ok_or(CaptureEngineError::Closed)?;
        if recorder.is_recording()
            && let Some(episode) = lock(&self.book)
                .episodes
                .values()
                .find(|e| e.status == EpisodeStatus::Recording)
        {
            return Err(CaptureEngineError::Busy {
                episode_id: episode.episode_id.clone(),
                task: episode.task_description.clone(),
            });
        }
        let mut rules = self.rules();
        if let Some(min_frames) = request.min_frames {
            rules.min_frames = min_frames;
        }
        if let Some(timeout_seconds) = request.timeout_seconds {
            rules.timeout_seconds = timeout_seconds;
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        lock(&self.book).pending_start = Some(reply);
        recorder.configure(rules.recorder());
        recorder.start(
            &request.task_description,
            json!({
                "source": "neko+api",
                "neko_session_id": request.neko_session_id,
                "notes": "frames via the WebRTC stream (REST shot.jpg when it gives none); actions via chat",
            }),
        );
        let episode_id = match tokio::time::timeout(START_WAIT, answer).await {
            Ok(Ok(answer)) => answer?,
            Ok(Err(_)) => return Err(CaptureEngineError::Closed),
            Err(_) => {
                lock(&self.book).pending_start = None;
                return Err(CaptureEngineError::NoAnswer(START_WAIT));
            }
        };
        let episode = Episode {
            episode_id,
            status: EpisodeStatus::Recording,
            task_description: request.task_description,
            neko_session_id: request.neko_session_id.clone(),
            started_at: Utc::now(),
            ended_at: None,
            end_reason: None,
            frames: None,
            actions: None,
            estimated_size_mb: rules.estimated_size_mb(),
            capture_options: rules,
            problems: Vec::new(),
        };
        let mut book = lock(&self.book);
        book.running_session = request.neko_session_id;
        book.remember(episode.clone());
        Ok(episode)
    }

    /// Stops a recording episode and waits until it is packaged into the dataset (or
    /// discarded, or kept on disk to be saved later).
    pub async fn stop(&self, episode_id: &str) -> Result<Episode, CaptureEngineError> {
        let mut changes = self.changes.subscribe();
        {
            let running = self.running.lock().await;
            let episode = self.episode(episode_id)?;
            if episode.status != EpisodeStatus::Recording {
                return Err(CaptureEngineError::Ended(episode_id.to_owned()));
            }
            let running = running.as_ref().ok_or(CaptureEngineError::Closed)?;
            running.service.recorder().stop(EndReason::Stopped);
        }
        let ended = async {
            loop {
                let episode = self.episode(episode_id)?;
                if episode.status != EpisodeStatus::Recording {
                    return Ok(episode);
                }
                if changes.changed().await.is_err() {
                    return Err(CaptureEngineError::Closed);
                }
            }
        };
        tokio::time::timeout(SAVE_WAIT, ended)
            .await
            .map_err(|_| CaptureEngineError::NoAnswer(SAVE_WAIT))?
    }

    /// Ends the running episode (reason `shutdown`), closes the last shard, gives pending
    /// uploads their time (`CAPTURE_UPLOAD_WAIT`) and leaves the room. `None` when capture
    /// never opened. Later episodes are refused.
    pub async fn close(&self) -> Option<CloseReport> {
        let mut running = self.running.lock().await;
        self.closed
            .store(true, std::sync::atomic::Ordering::Release);
        let running = running.take()?;
        for feeder in &running.feeders {
            feeder.abort();
        }
        let report = running.service.close().await;
        if let Err(error) = running.notices.await {
            tracing::warn!(%error, "capture's notices stopped unexpectedly");
        }
        let link = running.link;
        if let Err(error) = tokio::task::spawn_blocking(move || link.close()).await {
            tracing::warn!(%error, "capture's session did not close cleanly");
        }
        Some(report)
    }

    /// Opens the dataset, joins the room and starts feeding the recorder.
    async fn open(&self) -> Result<Running, CaptureEngineError> {
        let setup = self.setup.clone();
        let link = tokio::task::spawn_blocking(move || open_link(&setup))
            .await
            .map_err(CaptureEngineError::Start)?
            .map_err(CaptureEngineError::Link)?;
        let (service, lines, notices) = match CaptureService::open(&self.setup.settings).await {
            Ok(opened) => opened,
            Err(error) => {
                close_link(link).await;
                return Err(CaptureEngineError::Open(error));
            }
        };
        for line in lines {
            tracing::info!("capture: {line}");
        }
        let controller = Controller::start(
            link.client.clone(),
            link.notices.resubscribe(),
            ControlOptions::watch_only(),
            Arc::new(|line: &str| tracing::debug!("{line}")),
        );
        if let Err(error) = controller.wait_connected(self.setup.connect_timeout).await {
            service.close().await;
            close_link(link).await;
            return Err(CaptureEngineError::Join(error));
        }
        let recorder = service.recorder().clone();
        let screenshots =
            feed_recorder(&link, &recorder, &self.setup.settings, self.setup.no_media);
        let own_session = controller.session_id();
        let room = tokio::spawn(follow_room(
            link.client.subscribe(),
            recorder,
            own_session,
            self.book.clone(),
        ));
        let notices = tokio::spawn(take_notices(
            notices,
            self.book.clone(),
            self.changes.clone(),
        ));
        tracing::info!(
            out = %self.setup.settings.out.display(),
            "capture is in the room; episodes are started and stopped through the API"
        );
        Ok(Running {
            service,
            link,
            feeders: vec![screenshots, room],
            notices,
        })
    }

    /// The shards of the dataset and the episodes waiting for theirs.
    pub fn dataset(&self) -> Result<DatasetView, crate::mds::MdsError> {
        let out = &self.setup.settings.out;
        let index = Index::load(out)?.unwrap_or_default();
        let shards: Vec<ShardView> = index
            .shards
            .iter()
            .map(|shard| {
                let file = shard.zip_data.as_ref().unwrap_or(&shard.raw_data);
                ShardView {
                    basename: file.basename.clone(),
                    bytes: file.bytes,
                    samples: shard.samples,
                    on_disk: out.join(&file.basename).is_file(),
                }
            })
            .collect();
        let spool = Workspace::spool_of(out);
        let pending_episodes = std::fs::read_dir(&spool)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.path().is_file())
                    .count()
            })
            .unwrap_or(0);
        Ok(DatasetView {
            location: out.display().to_string(),
            remote: self.setup.settings.remote.as_ref().map(ToString::to_string),
            episodes: index.num_samples(),
            pending_episodes: pending_episodes as u64,
            bytes: shards.iter().map(|s| s.bytes).sum(),
            shards,
        })
    }
}

/// The dataset capture writes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DatasetView {
    /// The local dataset directory.
    pub location: String,
    /// The S3 copy (`s3://bucket/prefix`), when configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
    /// Episodes in closed shards.
    pub episodes: u64,
    /// Episodes saved but waiting for their shard to close (at the size limit or shutdown).
    pub pending_episodes: u64,
    /// Bytes of the shard files.
    pub bytes: u64,
    /// The shards, in order.
    pub shards: Vec<ShardView>,
}

/// One shard of the dataset.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShardView {
    /// Its file name.
    pub basename: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Episodes it holds.
    pub samples: u64,
    /// Whether the file is on disk (uploaded shards are removed unless `CAPTURE_KEEP_LOCAL`).
    pub on_disk: bool,
}

fn open_link(setup: &CaptureSetup) -> Result<Link, LinkError> {
    if setup.no_media {
        return Link::signalling(&setup.session);
    }
    let variables = BTreeMap::from([
        ("decoder".to_owned(), setup.decoder.clone()),
        ("framerate".to_owned(), setup.settings.framerate()),
        (
            "quality".to_owned(),
            setup.settings.jpeg_quality.to_string(),
        ),
    ]);
    Link::media(
        &setup.pipeline,
        &setup.session,
        &variables,
        Arc::new(|message| {
            tracing::error!(
                "capture media pipeline: {message}; frames come from REST screenshots while the stream gives none"
            );
        }),
    )
}

async fn close_link(link: Link) {
    if let Err(error) = tokio::task::spawn_blocking(move || link.close()).await {
        tracing::warn!(%error, "capture's session did not close cleanly");
    }
}

/// Screen sizes and chat actions from the room, into the recorder.
async fn follow_room(
    mut events: broadcast::Receiver<ClientNotice>,
    recorder: crate::capture::RecorderHandle,
    own_session: Option<String>,
    book: Arc<Mutex<Book>>,
) {
    loop {
        let event = match events.recv().await {
            Ok(ClientNotice::Event(event)) => event,
            Ok(ClientNotice::Fatal(error)) => {
                tracing::error!(%error, "capture lost the room for good");
                return;
            }
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        match event.as_ref() {
            ServerEvent::SystemInit(init) => {
                recorder.screen(init.screen_size.width, init.screen_size.height);
                continue;
            }
            ServerEvent::ScreenUpdated(update) => {
                recorder.screen(update.size.width, update.size.height);
                continue;
            }
            _ => {}
        }
        let Some((sender, text)) = chat_text(&event) else {
            continue;
        };
        if own_session.as_deref() == Some(sender) {
            continue;
        }
        let wanted = lock(&book).running_session.clone();
        if wanted.as_deref().is_some_and(|wanted| wanted != sender) {
            continue;
        }
        match parse_line(&text) {
            Some(ChatCommand::Action(action)) => {
                recorder.action(unix_now(), action.action, action.raw);
            }
            Some(ChatCommand::BadAction { reason, raw }) => {
                tracing::warn!(%raw, "action not recorded: {reason}");
            }
            _ => {}
        }
    }
}

/// The recorder's notices, into the book.
async fn take_notices(
    mut notices: mpsc::UnboundedReceiver<Notice>,
    book: Arc<Mutex<Book>>,
    changes: watch::Sender<u64>,
) {
    while let Some(notice) = notices.recv().await {
        tracing::info!("capture: {notice}");
        lock(&book).note(notice);
        changes.send_modify(|generation| *generation += 1);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
