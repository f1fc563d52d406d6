//! `neko-agent run --capture`: each task the agent works on is recorded as an episode, from the
//! frames the agent receives and the actions it takes, in-process (no chat round-trip).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gstneko::client::{ClientNotice, NekoClient};
use gstneko::protocol::ServerEvent;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::encoder::{ENCODE_PIPELINE, EncodeError, JpegEncoder};
use super::episode::{EndReason, unix_now};
use super::error::CaptureError;
use super::recorder::RecorderHandle;
use super::service::{CaptureService, CloseReport};
use super::settings::CaptureSettings;
use crate::session::Printer;

/// Capture attached to an agent run.
pub struct AgentCapture {
    service: CaptureService,
    shutting_down: Arc<AtomicBool>,
    /// Prints the recorder's notices; ends by itself when the recorder stops.
    announcer: JoinHandle<()>,
    /// Frame and screen-size feeders, stopped at close.
    feeders: Mutex<Vec<JoinHandle<()>>>,
}

impl AgentCapture {
    /// Opens the dataset (finishing what an earlier run left) and prints what the recorder does
    /// with `print`; returns the capture and lines describing what was found.
    pub async fn open(
        settings: &CaptureSettings,
        print: Printer,
    ) -> Result<(Self, Vec<String>), CaptureError> {
        let (service, lines, mut notices) = CaptureService::open(settings).await?;
        let announcer = tokio::spawn(async move {
            while let Some(notice) = notices.recv().await {
                print(&format!("capture: {notice}"));
            }
        });
        Ok((
            Self {
                service,
                shutting_down: Arc::default(),
                announcer,
                feeders: Mutex::default(),
            },
            lines,
        ))
    }

    /// Starts taking frames (`latest` gives the newest raw frame) and following the screen size
    /// of `client`; returns the handle the agent records its tasks with.
    pub fn attach(
        &self,
        client: &NekoClient,
        latest: impl Fn() -> Option<gst::Sample> + Send + Sync + 'static,
    ) -> Result<TaskRecorder, EncodeError> {
        let settings = self.service.settings();
        let encoder = Arc::new(JpegEncoder::start(ENCODE_PIPELINE, settings.jpeg_quality)?);
        let recorder = self.service.recorder().clone();
        let interval = settings.frame_interval();
        let frames = {
            let recorder = recorder.clone();
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(interval);
                ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
                loop {
                    ticks.tick().await;
                    if !recorder.is_recording() {
                        continue;
                    }
                    let Some(sample) = latest() else { continue };
                    let ts = unix_now();
                    let encoder = encoder.clone();
                    match tokio::task::spawn_blocking(move || encoder.encode(&sample)).await {
                        Ok(Ok(jpeg)) => recorder.frame(jpeg, ts),
                        Ok(Err(error)) => {
                            tracing::error!(%error, "a frame could not be encoded for capture")
                        }
                        Err(error) => tracing::error!(%error, "the capture encoder stopped"),
                    }
                }
            })
        };
        if let Some(screen) = client.state().screen {
            recorder.screen(screen.width, screen.height);
        }
        let mut events = client.subscribe();
        let screens = {
            let recorder = recorder.clone();
            tokio::spawn(async move {
                loop {
                    match events.recv().await {
                        Ok(ClientNotice::Event(event)) => match event.as_ref() {
                            ServerEvent::SystemInit(init) => {
                                recorder.screen(init.screen_size.width, init.screen_size.height);
                            }
                            ServerEvent::ScreenUpdated(update) => {
                                recorder.screen(update.size.width, update.size.height);
                            }
                            _ => {}
                        },
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => break,
                    }
                }
            })
        };
        self.feeders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend([frames, screens]);
        Ok(TaskRecorder {
            recorder,
            shutting_down: self.shutting_down.clone(),
        })
    }

    /// The process is being stopped: a task ended from now on ends with reason `shutdown`.
    pub fn interrupted(&self) {
        self.shutting_down.store(true, Ordering::Relaxed);
    }

    /// Ends the running episode, closes the last shard, and gives uploads their time.
    pub async fn close(self) -> CloseReport {
        let feeders = std::mem::take(
            &mut *self
                .feeders
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for feeder in feeders {
            feeder.abort();
        }
        let report = self.service.close().await;
        // Let the last notices (the final episode) be printed.
        let _ = tokio::time::timeout(Duration::from_secs(1), self.announcer).await;
        report
    }
}

/// What the agent records its tasks with.
#[derive(Clone)]
pub struct TaskRecorder {
    recorder: RecorderHandle,
    shutting_down: Arc<AtomicBool>,
}

impl std::fmt::Debug for TaskRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskRecorder").finish_non_exhaustive()
    }
}

impl TaskRecorder {
    /// Starts the episode of a task; it ends when the returned guard is dropped (the task
    /// finished, failed or was cancelled).
    pub fn start(&self, task: &str) -> TaskEpisode {
        self.recorder.start(
            task,
            json!({"source": "neko+showui", "notes": "frames and actions from neko-agent run --capture"}),
        );
        TaskEpisode {
            recorder: self.recorder.clone(),
            shutting_down: self.shutting_down.clone(),
        }
    }

    /// Records an action as the agent announces it (`action_json`'s text).
    pub fn action(&self, action_json: &str) {
        match serde_json::from_str::<Value>(action_json) {
            Ok(Value::Object(action)) => {
                self.recorder
                    .action(unix_now(), action, action_json.to_owned());
            }
            _ => tracing::error!(
                action = action_json,
                "the agent's action is not a JSON object; not recorded"
            ),
        }
    }
}

/// The episode of one task; ends when dropped.
pub struct TaskEpisode {
    recorder: RecorderHandle,
    shutting_down: Arc<AtomicBool>,
}

impl Drop for TaskEpisode {
    fn drop(&mut self) {
        let reason = if self.shutting_down.load(Ordering::Relaxed) {
            EndReason::Shutdown
        } else {
            EndReason::Stopped
        };
        self.recorder.stop(reason);
    }
}
