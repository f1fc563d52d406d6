//! The recorder: one thread that owns the episode in progress and the dataset, fed by frames,
//! chat commands and agent actions through a channel (so no caller ever waits on the disk).
//!
//! It starts and ends episodes, writes frames and actions as they come, ends an episode after
//! `CAPTURE_EPISODE_TIMEOUT` without actions or frames, keeps episodes of at least
//! `CAPTURE_MIN_FRAMES` frames, packages them into the dataset and hands closed shards to the
//! uploader. What cannot be written (a full disk) stays where it is and is tried again.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use tokio::sync::{mpsc as async_mpsc, oneshot};

use crate::mds::ClosedShard;

use super::episode::{
    EndReason, EpisodeEnd, EpisodeHeader, EpisodeWriter, ScreenSize, unix_now, utc_text,
};
use super::error::CaptureError;
use super::package::package;
use super::store::EpisodeStore;

/// How often the recorder looks at the clock when nothing arrives.
const TICK: Duration = Duration::from_millis(250);
/// How long after a failure packaging is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(30);

/// What the recorder needs to know.
#[derive(Debug, Clone)]
pub struct RecorderConfig {
    /// Fewest frames an episode needs to be kept.
    pub min_frames: u64,
    /// Inactivity after which an episode ends.
    pub episode_timeout: Duration,
}

/// Something the recorder did that the people in the room may want to hear about.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// An episode started.
    Started {
        /// Its id.
        episode_id: String,
        /// Its task.
        task: String,
    },
    /// `/start` while an episode was running (ignored).
    AlreadyRunning {
        /// The running episode.
        episode_id: String,
        /// Its task.
        task: String,
    },
    /// `/stop` with no episode running.
    NotRecording,
    /// An episode was saved into the dataset.
    Saved {
        /// Its id.
        episode_id: String,
        /// Frames kept.
        frames: u64,
        /// Actions kept.
        actions: u64,
        /// Why it ended.
        reason: EndReason,
        /// What could not be kept, one line each (empty normally).
        losses: Vec<String>,
    },
    /// An episode was too short and dropped (`CAPTURE_MIN_FRAMES`).
    Discarded {
        /// Its id.
        episode_id: String,
        /// Frames it had.
        frames: u64,
        /// Frames it needed.
        min_frames: u64,
        /// Why it ended.
        reason: EndReason,
    },
    /// An episode could not be saved yet; it stays on disk and is tried again.
    Delayed {
        /// Its id.
        episode_id: String,
        /// Why.
        error: String,
        /// Where it is kept.
        kept_in: PathBuf,
    },
    /// Frames or actions could not be written (the disk is full, for example).
    WriteFailed {
        /// The episode.
        episode_id: String,
        /// What failed.
        error: String,
    },
}

/// A notice as one line, for chat and the log.
impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let line = match self {
            Notice::Started { episode_id, task } => {
                format!("Recording episode {episode_id}: {task} (send /stop to end it)")
            }
            Notice::AlreadyRunning { episode_id, task } => {
                format!("Episode {episode_id} is already recording ({task}); send /stop first")
            }
            Notice::NotRecording => "Nothing is being recorded; send /start <task>".into(),
            Notice::Saved {
                episode_id,
                frames,
                actions,
                reason,
                losses,
            } => {
                let left_out = if losses.is_empty() {
                    String::new()
                } else {
                    format!("; left out: {}", losses.join("; "))
                };
                format!(
                    "Episode {episode_id} saved: {frames} frames, {actions} actions ({}){left_out}",
                    reason.as_str()
                )
            }
            Notice::Discarded {
                episode_id,
                frames,
                min_frames,
                reason,
            } => format!(
                "Episode {episode_id} discarded ({}): {frames} frames, fewer than CAPTURE_MIN_FRAMES={min_frames}",
                reason.as_str()
            ),
            Notice::Delayed {
                episode_id,
                error,
                kept_in,
            } => format!(
                "Episode {episode_id} could not be saved yet: {error}. It is kept in {} and saved as soon as possible",
                kept_in.display()
            ),
            Notice::WriteFailed { episode_id, error } => {
                format!("Recording problem in episode {episode_id}: {error}")
            }
        };
        f.write_str(&line)
    }
}

/// What shutting down left behind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShutdownReport {
    /// Problems that left data on disk to be finished on the next start.
    pub left_on_disk: Vec<String>,
}

enum Command {
    Event(Event),
    Shutdown(oneshot::Sender<ShutdownReport>),
}

enum Event {
    Start {
        task: String,
        agent: Value,
    },
    Stop(EndReason),
    Frame {
        jpeg: Vec<u8>,
        ts: f64,
    },
    Action {
        ts: f64,
        action: Map<String, Value>,
        raw: String,
    },
    Screen(ScreenSize),
    Configure(RecorderConfig),
}

/// A handle on the recorder thread; cheap to clone.
#[derive(Clone)]
pub struct RecorderHandle {
    commands: mpsc::Sender<Command>,
    recording: Arc<AtomicBool>,
}

impl RecorderHandle {
    /// Starts an episode for `task` (ignored, with a notice, when one is running).
    pub fn start(&self, task: &str, agent: Value) {
        self.send(Event::Start {
            task: task.to_owned(),
            agent,
        });
    }

    /// Ends the running episode.
    pub fn stop(&self, reason: EndReason) {
        self.send(Event::Stop(reason));
    }

    /// Adds a JPEG frame taken at `ts` (unix seconds) to the running episode, if any.
    pub fn frame(&self, jpeg: Vec<u8>, ts: f64) {
        if self.is_recording() {
            self.send(Event::Frame { jpeg, ts });
        }
    }

    /// Adds an action received at `ts` to the running episode, if any.
    pub fn action(&self, ts: f64, action: Map<String, Value>, raw: String) {
        self.send(Event::Action { ts, action, raw });
    }

    /// Episodes that end from now on follow `config` (the running one included).
    pub fn configure(&self, config: RecorderConfig) {
        self.send(Event::Configure(config));
    }

    /// The screen size is now this.
    pub fn screen(&self, width: u32, height: u32) {
        self.send(Event::Screen(ScreenSize { width, height }));
    }

    /// Whether an episode is running (frames are wanted).
    pub fn is_recording(&self) -> bool {
        self.recording.load(Ordering::Relaxed)
    }

    /// Ends the running episode (reason `shutdown`), closes the shard being filled and stops.
    pub async fn shutdown(&self) -> ShutdownReport {
        let (reply, done) = oneshot::channel();
        let _ = self.commands.send(Command::Shutdown(reply));
        done.await.unwrap_or_else(|_| ShutdownReport {
            left_on_disk: vec!["the recorder thread stopped unexpectedly".into()],
        })
    }

    fn send(&self, event: Event) {
        // The thread only stops after shutdown; later events have nowhere to go.
        let _ = self.commands.send(Command::Event(event));
    }
}

/// The recorder's state, owned by its thread.
pub struct Recorder {
    config: RecorderConfig,
    store: EpisodeStore,
    episodes_dir: PathBuf,
    closed: Box<dyn Fn(&ClosedShard) + Send>,
    notices: Option<async_mpsc::UnboundedSender<Notice>>,
    recording: Arc<AtomicBool>,
    screen: ScreenSize,
    active: Option<Active>,
    /// Ended episodes that could not be saved yet, and when that was last tried.
    delayed: Vec<PathBuf>,
    last_retry: Instant,
}

struct Active {
    writer: EpisodeWriter,
    last_action: Instant,
    last_frame: Instant,
    /// Actions not written yet (the disk refused), retried with every event.
    unwritten: Vec<(f64, Map<String, Value>, String)>,
    lost_frames: LostFrames,
}

/// A run of frames that could not be written.
#[derive(Default)]
struct LostFrames {
    count: u64,
    first_ts: f64,
    last_ts: f64,
    total: u64,
}

impl Recorder {
    /// A recorder over an open store; `closed` is called with every shard that closes.
    pub fn new(
        config: RecorderConfig,
        store: EpisodeStore,
        episodes_dir: PathBuf,
        closed: Box<dyn Fn(&ClosedShard) + Send>,
        notices: Option<async_mpsc::UnboundedSender<Notice>>,
    ) -> Self {
        Self {
            config,
            store,
            episodes_dir,
            closed,
            notices,
            recording: Arc::default(),
            screen: ScreenSize::default(),
            active: None,
            delayed: Vec::new(),
            last_retry: Instant::now(),
        }
    }

    /// Saves episodes a killed process left in the episodes folder; one line per episode.
    pub fn recover(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        let mut dirs: Vec<PathBuf> = match fs::read_dir(&self.episodes_dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect(),
            Err(error) => {
                return vec![format!(
                    "cannot list {}: {error}",
                    self.episodes_dir.display()
                )];
            }
        };
        dirs.sort();
        for dir in dirs {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            lines.push(match self.save(&dir) {
                Ok(Notice::Saved {
                    frames,
                    actions,
                    reason,
                    losses,
                    ..
                }) => {
                    let lost = if losses.is_empty() {
                        "nothing lost".to_owned()
                    } else {
                        format!("lost: {}", losses.join("; "))
                    };
                    format!(
                        "recovered episode {name} ({}): {frames} frames, {actions} actions; {lost}",
                        reason.as_str()
                    )
                }
                Ok(Notice::Discarded {
                    frames,
                    min_frames,
                    reason,
                    ..
                }) => format!(
                    "episode {name} discarded, not recovered ({}): {frames} frames, fewer than CAPTURE_MIN_FRAMES={min_frames}; its folder is removed",
                    reason.as_str()
                ),
                Ok(_) => format!("episode {name}: nothing to recover"),
                Err(error) if is_unusable(&error) => {
                    let aside = self.episodes_dir.with_file_name("unusable").join(&name);
                    let moved = fs::create_dir_all(self.episodes_dir.with_file_name("unusable"))
                        .and_then(|()| fs::rename(&dir, &aside));
                    match moved {
                        Ok(()) => format!(
                            "episode folder {name} cannot be saved ({error}); moved to {} for inspection",
                            aside.display()
                        ),
                        Err(move_error) => format!(
                            "episode folder {name} cannot be saved ({error}) nor moved aside ({move_error}); remove {} by hand",
                            dir.display()
                        ),
                    }
                }
                Err(error) => {
                    self.delayed.push(dir.clone());
                    format!(
                        "episode {name} could not be recovered yet ({error}); it stays in {} and is tried again",
                        dir.display()
                    )
                }
            });
        }
        lines
    }

    /// Runs the recorder on its own thread.
    pub fn spawn(mut self) -> RecorderHandle {
        let (commands, receiver) = mpsc::channel();
        let handle = RecorderHandle {
            commands,
            recording: self.recording.clone(),
        };
        std::thread::Builder::new()
            .name("capture-recorder".into())
            .spawn(move || self.run(&receiver))
            .expect("the recorder thread starts");
        handle
    }

    fn run(&mut self, commands: &mpsc::Receiver<Command>) {
        loop {
            match commands.recv_timeout(TICK) {
                Ok(Command::Shutdown(reply)) => {
                    let report = self.shut_down();
                    let _ = reply.send(report);
                    return;
                }
                Ok(Command::Event(event)) => self.handle(event),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.shut_down();
                    return;
                }
            }
            self.check_timeout();
            self.retry_delayed(false);
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Start { task, agent } => self.start(&task, agent),
            Event::Stop(reason) => {
                if self.active.is_some() {
                    self.end(reason);
                } else {
                    self.notify(Notice::NotRecording);
                }
            }
            Event::Frame { jpeg, ts } => self.frame(&jpeg, ts),
            Event::Action { ts, action, raw } => self.action(ts, action, raw),
            Event::Configure(config) => self.config = config,
            Event::Screen(screen) => {
                self.screen = screen;
                if let Some(active) = &mut self.active
                    && let Err(error) = active.writer.set_screen(screen)
                {
                    tracing::warn!(%error, "could not record the new screen size");
                }
            }
        }
    }

    fn start(&mut self, task: &str, agent: Value) {
        if let Some(active) = &self.active {
            let header = active.writer.header();
            tracing::warn!(episode = %header.episode_id, "an episode is running; ignoring the new start");
            self.notify(Notice::AlreadyRunning {
                episode_id: header.episode_id.clone(),
                task: header.task.clone(),
            });
            return;
        }
        let header = EpisodeHeader::new(task, self.screen, agent);
        match EpisodeWriter::create(&self.episodes_dir, header) {
            Ok(writer) => {
                let header = writer.header();
                tracing::info!(episode = %header.episode_id, task, "episode started");
                self.notify(Notice::Started {
                    episode_id: header.episode_id.clone(),
                    task: task.to_owned(),
                });
                self.active = Some(Active {
                    writer,
                    last_action: Instant::now(),
                    last_frame: Instant::now(),
                    unwritten: Vec::new(),
                    lost_frames: LostFrames::default(),
                });
                self.recording.store(true, Ordering::Relaxed);
            }
            Err(error) => {
                tracing::error!(%error, task, "cannot start an episode");
                self.notify(Notice::WriteFailed {
                    episode_id: String::new(),
                    error: format!("the episode for {task:?} could not start: {error}"),
                });
            }
        }
    }

    fn frame(&mut self, jpeg: &[u8], ts: f64) {
        let Some(active) = &mut self.active else {
            return;
        };
        if ts < active.writer.header().started_ts {
            // Shown before the episode started (it arrived late).
            return;
        }
        active.last_frame = Instant::now();
        let result = active.writer.add_frame(jpeg, ts);
        let episode_id = active.writer.header().episode_id.clone();
        let lost = &mut active.lost_frames;
        let mut notice = None;
        match result {
            Ok(()) if lost.count > 0 => {
                tracing::warn!(
                    episode = %episode_id,
                    frames = lost.count,
                    from = %utc_text(lost.first_ts),
                    to = %utc_text(lost.last_ts),
                    "frames are written again; the frames in between were lost"
                );
                lost.count = 0;
            }
            Ok(()) => {}
            Err(error) => {
                if lost.count == 0 {
                    lost.first_ts = ts;
                    tracing::error!(episode = %episode_id, %error, "frames cannot be written and are lost until this is fixed");
                    notice = Some(Notice::WriteFailed {
                        episode_id,
                        error: error.to_string(),
                    });
                }
                lost.count += 1;
                lost.total += 1;
                lost.last_ts = ts;
            }
        }
        if let Some(notice) = notice {
            self.notify(notice);
        }
        self.write_unwritten_actions();
    }

    fn action(&mut self, ts: f64, action: Map<String, Value>, raw: String) {
        let Some(active) = &mut self.active else {
            tracing::info!(%raw, "an action outside an episode is not recorded (send /start <task> first)");
            return;
        };
        active.last_action = Instant::now();
        active.unwritten.push((ts, action, raw));
        self.write_unwritten_actions();
    }

    /// Writes held-back actions in order; keeps them (and says so once) while the disk refuses.
    fn write_unwritten_actions(&mut self) {
        let Some(active) = &mut self.active else {
            return;
        };
        let had_failed = active.unwritten.len() > 1;
        let mut failure = None;
        while let Some((ts, action, raw)) = active.unwritten.first() {
            if let Err(error) = active.writer.add_action(*ts, action, raw) {
                failure = Some(error);
                break;
            }
            active.unwritten.remove(0);
        }
        if let Some(error) = failure
            && !had_failed
        {
            let episode_id = active.writer.header().episode_id.clone();
            tracing::error!(episode = %episode_id, %error, "an action cannot be written yet; it is kept in memory and written when the disk allows");
            self.notify(Notice::WriteFailed {
                episode_id,
                error: error.to_string(),
            });
        }
    }

    fn check_timeout(&mut self) {
        let Some(active) = &self.active else { return };
        let limit = self.config.episode_timeout;
        if active.last_action.elapsed() >= limit || active.last_frame.elapsed() >= limit {
            tracing::info!(
                episode = %active.writer.header().episode_id,
                timeout_s = limit.as_secs_f64(),
                "no action or frame for CAPTURE_EPISODE_TIMEOUT: ending the episode"
            );
            self.end(EndReason::Timeout);
        }
    }

    /// Ends the running episode and saves it (or keeps it on disk to try again).
    fn end(&mut self, reason: EndReason) {
        self.write_unwritten_actions();
        let Some(active) = self.active.take() else {
            return;
        };
        self.recording.store(false, Ordering::Relaxed);
        let episode_id = active.writer.header().episode_id.clone();
        let frames = active.writer.frames();
        for (_, _, raw) in &active.unwritten {
            tracing::error!(episode = %episode_id, action = %raw, "this action could not be written to disk and is lost");
        }
        if active.lost_frames.total > 0 {
            tracing::warn!(episode = %episode_id, frames = active.lost_frames.total, "frames of this episode could not be written");
        }
        if frames < self.config.min_frames {
            let dir = active.writer.dir().to_owned();
            if let Err(error) = fs::remove_dir_all(&dir) {
                tracing::warn!(%error, dir = %dir.display(), "could not remove the discarded episode");
            }
            tracing::info!(episode = %episode_id, frames, min_frames = self.config.min_frames, "episode discarded (too short: CAPTURE_MIN_FRAMES)");
            self.notify(Notice::Discarded {
                episode_id,
                frames,
                min_frames: self.config.min_frames,
                reason,
            });
            return;
        }
        let dir = active.writer.dir().to_owned();
        let end = EpisodeEnd {
            ended_ts: unix_now(),
            end_reason: reason,
        };
        if let Err(error) = active.writer.end(end) {
            // Without end.json the next attempt saves it as recovered; nothing is lost.
            tracing::error!(episode = %episode_id, %error, "could not mark the episode as ended");
        }
        match self.save(&dir) {
            Ok(notice) => self.notify(notice),
            Err(error) => self.delay(dir, &episode_id, &error),
        }
    }

    /// Packages an ended episode folder into the dataset and removes the folder; an episode
    /// with fewer frames than `CAPTURE_MIN_FRAMES` (one a killed process left, say) is removed
    /// instead, as a normal stop would discard it.
    fn save(&mut self, dir: &std::path::Path) -> Result<Notice, CaptureError> {
        let (episode, losses) = package(dir)?;
        if episode.num_frames < self.config.min_frames {
            fs::remove_dir_all(dir).map_err(super::error::io_error("remove", dir))?;
            tracing::info!(
                episode = %episode.episode_id,
                frames = episode.num_frames,
                min_frames = self.config.min_frames,
                reason = episode.end_reason.as_str(),
                "episode discarded (too short: CAPTURE_MIN_FRAMES)"
            );
            return Ok(Notice::Discarded {
                episode_id: episode.episode_id,
                frames: episode.num_frames,
                min_frames: self.config.min_frames,
                reason: episode.end_reason,
            });
        }
        for problem in &losses.problems {
            tracing::warn!(episode = %episode.episode_id, "left out of the episode: {problem}");
        }
        if let Some(shard) = self.store.commit(&episode)? {
            (self.closed)(&shard);
        }
        fs::remove_dir_all(dir).map_err(super::error::io_error("remove", dir))?;
        tracing::info!(
            episode = %episode.episode_id,
            frames = episode.num_frames,
            actions = episode.num_actions,
            reason = episode.end_reason.as_str(),
            "episode saved"
        );
        Ok(Notice::Saved {
            episode_id: episode.episode_id,
            frames: episode.num_frames,
            actions: episode.num_actions,
            reason: episode.end_reason,
            losses: losses.problems,
        })
    }

    fn delay(&mut self, dir: PathBuf, episode_id: &str, error: &CaptureError) {
        tracing::error!(episode = %episode_id, %error, dir = %dir.display(), "the episode could not be saved yet; it stays on disk and is tried again");
        let mut error_text = error.to_string();
        if error.is_disk_full() && !error_text.contains("the disk is full") {
            error_text.push_str(" (the disk is full)");
        }
        self.notify(Notice::Delayed {
            episode_id: episode_id.to_owned(),
            error: error_text,
            kept_in: dir.clone(),
        });
        if !self.delayed.contains(&dir) {
            self.delayed.push(dir);
        }
        self.last_retry = Instant::now();
    }

    /// Tries the delayed episodes again (every [`RETRY_AFTER`], or now when `now`).
    fn retry_delayed(&mut self, now: bool) {
        if self.delayed.is_empty() || (!now && self.last_retry.elapsed() < RETRY_AFTER) {
            return;
        }
        self.last_retry = Instant::now();
        for dir in std::mem::take(&mut self.delayed) {
            match self.save(&dir) {
                Ok(notice) => self.notify(notice),
                Err(error) => {
                    tracing::warn!(%error, dir = %dir.display(), "the episode still cannot be saved");
                    self.delayed.push(dir);
                }
            }
        }
    }

    fn shut_down(&mut self) -> ShutdownReport {
        if self.active.is_some() {
            self.end(EndReason::Shutdown);
        }
        self.retry_delayed(true);
        let mut report = ShutdownReport::default();
        for dir in &self.delayed {
            report.left_on_disk.push(format!(
                "episode {} could not be saved; it stays in {} and is saved on the next start",
                dir.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default(),
                dir.display()
            ));
        }
        let pending = self.store.pending();
        match self.store.flush() {
            Ok(Some(shard)) => (self.closed)(&shard),
            Ok(None) => {}
            Err(error) if pending == 0 => {
                tracing::warn!(%error, "index.json could not be rewritten; the next start writes it");
            }
            Err(error) => report.left_on_disk.push(format!(
                "the last shard could not be written ({error}); its {} episode(s) stay in the spool and are written on the next start",
                self.store.pending()
            )),
        }
        report
    }

    fn notify(&self, notice: Notice) {
        if let Some(notices) = &self.notices {
            let _ = notices.send(notice);
        }
    }
}

/// Whether an episode folder can never be saved (its header is missing or unreadable), as
/// opposed to failing for now (a full disk).
fn is_unusable(error: &CaptureError) -> bool {
    match error {
        CaptureError::Corrupt { .. } | CaptureError::Zip { .. } => true,
        CaptureError::Io { source, path, .. } => {
            source.kind() == std::io::ErrorKind::NotFound
                && path
                    .file_name()
                    .is_some_and(|n| n == super::episode::HEADER_FILE)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::store::EpisodeStore;
    use crate::capture::workspace::Workspace;
    use crate::mds::{MdsReader, WriterOptions};
    use serde_json::json;
    use std::sync::Mutex;

    fn jpeg() -> Vec<u8> {
        vec![0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]
    }

    fn notices(receiver: &mut async_mpsc::UnboundedReceiver<Notice>) -> Vec<Notice> {
        std::iter::from_fn(|| receiver.try_recv().ok()).collect()
    }

    #[test]
    fn failing_writes_are_reported_and_what_was_recorded_is_saved_later() {
        let dir = tempfile::tempdir().unwrap();
        let workspace = Workspace::lock(dir.path()).unwrap();
        let (store, _) = EpisodeStore::open(
            workspace.dataset(),
            workspace.spool(),
            WriterOptions::default(),
        )
        .unwrap();
        let closed = Arc::new(Mutex::new(Vec::new()));
        let sink = closed.clone();
        let (sender, mut receiver) = async_mpsc::unbounded_channel();
        let config = RecorderConfig {
            min_frames: 1,
            episode_timeout: Duration::from_secs(900),
        };
        let mut recorder = Recorder::new(
            config,
            store,
            workspace.episodes(),
            Box::new(move |shard: &ClosedShard| sink.lock().unwrap().push(shard.number)),
            Some(sender),
        );
        recorder.handle(Event::Start {
            task: "write through trouble".into(),
            agent: json!({"source": "test"}),
        });
        let Notice::Started { episode_id, .. } = notices(&mut receiver).remove(0) else {
            panic!("no start");
        };
        let frames_dir = workspace.episodes().join(&episode_id).join("frames");
        let moved = frames_dir.with_file_name("frames.away");
        recorder.handle(Event::Frame {
            jpeg: jpeg(),
            ts: unix_now(),
        });
        // The disk refuses frames for a while: said once, counted, recording goes on.
        fs::rename(&frames_dir, &moved).unwrap();
        for _ in 0..3 {
            recorder.handle(Event::Frame {
                jpeg: jpeg(),
                ts: unix_now(),
            });
        }
        let failed = notices(&mut receiver);
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert!(
            matches!(&failed[0], Notice::WriteFailed { error, .. } if error.contains("cannot write frame")),
            "{failed:?}"
        );
        fs::rename(&moved, &frames_dir).unwrap();
        recorder.handle(Event::Frame {
            jpeg: jpeg(),
            ts: unix_now(),
        });
        recorder.handle(Event::Action {
            ts: unix_now(),
            action: json!({"type": "click"}).as_object().unwrap().clone(),
            raw: String::new(),
        });
        // Saving fails (the spool is gone): the episode is kept and tried again.
        fs::remove_dir_all(workspace.spool()).unwrap();
        recorder.handle(Event::Stop(EndReason::Stopped));
        let delayed = notices(&mut receiver);
        assert!(
            matches!(&delayed[..], [Notice::Delayed { episode_id: id, .. }] if *id == episode_id),
            "{delayed:?}"
        );
        assert!(workspace.episodes().join(&episode_id).is_dir());
        fs::create_dir(workspace.spool()).unwrap();
        recorder.retry_delayed(true);
        let saved = notices(&mut receiver);
        assert_eq!(
            saved,
            [Notice::Saved {
                episode_id: episode_id.clone(),
                frames: 2,
                actions: 1,
                reason: EndReason::Stopped,
                losses: Vec::new(),
            }]
        );
        assert!(!workspace.episodes().join(&episode_id).exists());
        assert_eq!(recorder.shut_down(), ShutdownReport::default());
        assert_eq!(*closed.lock().unwrap(), [0]);
        assert_eq!(MdsReader::open(dir.path()).unwrap().num_samples(), 1);
    }

    #[test]
    fn short_and_idle_episodes_end_as_configured() {
        let dir = tempfile::tempdir().unwrap();
        let workspace = Workspace::lock(dir.path()).unwrap();
        let (store, _) = EpisodeStore::open(
            workspace.dataset(),
            workspace.spool(),
            WriterOptions::default(),
        )
        .unwrap();
        let (sender, mut receiver) = async_mpsc::unbounded_channel();
        let config = RecorderConfig {
            min_frames: 2,
            episode_timeout: Duration::from_millis(200),
        };
        let mut recorder = Recorder::new(
            config,
            store,
            workspace.episodes(),
            Box::new(|_| {}),
            Some(sender),
        );
        recorder.handle(Event::Stop(EndReason::Stopped));
        assert_eq!(notices(&mut receiver), [Notice::NotRecording]);
        recorder.handle(Event::Start {
            task: "too short".into(),
            agent: json!({}),
        });
        recorder.handle(Event::Frame {
            jpeg: jpeg(),
            ts: unix_now(),
        });
        // A frame shown before the episode started is not part of it.
        recorder.handle(Event::Frame {
            jpeg: jpeg(),
            ts: unix_now() - 60.0,
        });
        std::thread::sleep(Duration::from_millis(250));
        recorder.check_timeout();
        let seen = notices(&mut receiver);
        assert!(
            matches!(
                &seen[..],
                [
                    Notice::Started { .. },
                    Notice::Discarded {
                        frames: 1,
                        min_frames: 2,
                        reason: EndReason::Timeout,
                        ..
                    }
                ]
            ),
            "{seen:?}"
        );
        assert_eq!(fs::read_dir(workspace.episodes()).unwrap().count(), 0);
    }

    #[test]
    fn new_rules_apply_to_the_episode_that_ends() {
        let dir = tempfile::tempdir().unwrap();
        let workspace = Workspace::lock(dir.path()).unwrap();
        let (store, _) = EpisodeStore::open(
            workspace.dataset(),
            workspace.spool(),
            WriterOptions::default(),
        )
        .unwrap();
        let (sender, mut receiver) = async_mpsc::unbounded_channel();
        let strict = RecorderConfig {
            min_frames: 5,
            episode_timeout: Duration::from_secs(900),
        };
        let mut recorder = Recorder::new(
            strict,
            store,
            workspace.episodes(),
            Box::new(|_| {}),
            Some(sender),
        );
        recorder.handle(Event::Configure(RecorderConfig {
            min_frames: 1,
            episode_timeout: Duration::from_secs(900),
        }));
        recorder.handle(Event::Start {
            task: "one frame is enough".into(),
            agent: json!({}),
        });
        recorder.handle(Event::Frame {
            jpeg: jpeg(),
            ts: unix_now(),
        });
        recorder.handle(Event::Stop(EndReason::Stopped));
        let seen = notices(&mut receiver);
        assert!(
            matches!(
                &seen[..],
                [Notice::Started { .. }, Notice::Saved { frames: 1, .. }]
            ),
            "{seen:?}"
        );
    }

    /// A recorder over `workspace` that keeps episodes of at least `min_frames` frames.
    fn recorder(workspace: &Workspace, min_frames: u64) -> Recorder {
        let (store, _) = EpisodeStore::open(
            workspace.dataset(),
            workspace.spool(),
            WriterOptions::default(),
        )
        .unwrap();
        let config = RecorderConfig {
            min_frames,
            episode_timeout: Duration::from_secs(900),
        };
        Recorder::new(config, store, workspace.episodes(), Box::new(|_| {}), None)
    }

    /// Starts an episode with `frames` frames and leaves it as a killed process would.
    fn abandoned_episode(workspace: &Workspace, frames: usize) {
        let mut recorder = recorder(workspace, 2);
        recorder.handle(Event::Start {
            task: "killed early".into(),
            agent: json!({}),
        });
        for _ in 0..frames {
            recorder.handle(Event::Frame {
                jpeg: jpeg(),
                ts: unix_now(),
            });
        }
    }

    #[test]
    fn recovery_discards_episodes_shorter_than_the_minimum_and_keeps_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let workspace = Workspace::lock(dir.path()).unwrap();
        abandoned_episode(&workspace, 1);
        let mut restarted = recorder(&workspace, 2);
        let lines = restarted.recover();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].contains(
                "discarded, not recovered (recovered): 1 frames, fewer than CAPTURE_MIN_FRAMES=2"
            ),
            "{lines:?}"
        );
        assert_eq!(fs::read_dir(workspace.episodes()).unwrap().count(), 0);
        assert_eq!(fs::read_dir(workspace.spool()).unwrap().count(), 0);
        assert_eq!(restarted.store.pending(), 0);
        drop(restarted);

        abandoned_episode(&workspace, 2);
        let mut restarted = recorder(&workspace, 2);
        let lines = restarted.recover();
        assert!(
            lines[0].starts_with("recovered episode") && lines[0].contains("2 frames"),
            "{lines:?}"
        );
        assert_eq!(fs::read_dir(workspace.episodes()).unwrap().count(), 0);
        assert_eq!(restarted.store.pending(), 1);
    }
}
