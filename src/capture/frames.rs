//! Where `neko-agent capture` gets its frames: JPEGs from the capture pipeline's appsink
//! `frames` (the WebRTC stream at `CAPTURE_FPS`), and the REST screenshot
//! `/api/room/screen/shot.jpg` at the same rate whenever the stream gives nothing (media off or
//! not flowing).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gstneko::client::{NekoClient, RestError};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::episode::unix_now;
use super::recorder::RecorderHandle;
use super::settings::CaptureSettings;
use crate::session::Link;

/// The REST screenshot endpoint of Neko v3.
pub const SCREENSHOT_PATH: &str = "api/room/screen/shot.jpg";

/// The stream counts as stalled after this long without a frame (or three frame intervals,
/// whichever is longer).
const STALL_AFTER: Duration = Duration::from_secs(3);

/// When the stream last delivered a frame.
#[derive(Clone)]
struct StreamHealth {
    origin: Instant,
    /// Milliseconds after `origin` of the last frame (the creation time until one arrives).
    last_ms: Arc<AtomicU64>,
}

impl StreamHealth {
    /// Starts counting now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
            last_ms: Arc::default(),
        }
    }

    fn mark(&self) {
        let ms = self.origin.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// How long ago the last stream frame arrived.
    pub fn silence(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.origin.elapsed().saturating_sub(last)
    }
}

impl Default for StreamHealth {
    fn default() -> Self {
        Self::new()
    }
}

/// Why the stream frames cannot be taken.
#[derive(Debug, thiserror::Error)]
#[error("the capture pipeline needs an appsink named \"frames\" that receives image/jpeg")]
pub struct NoFramesAppsink;

/// Hands every JPEG reaching the pipeline's appsink `frames` to the recorder (while it records).
fn attach_stream(
    pipeline: &gst::Pipeline,
    recorder: RecorderHandle,
    health: StreamHealth,
) -> Result<(), NoFramesAppsink> {
    use gst::prelude::*;
    let appsink = pipeline
        .by_name("frames")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .ok_or(NoFramesAppsink)?;
    appsink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let ts = capture_time(sink.upcast_ref(), &sample).unwrap_or_else(unix_now);
                health.mark();
                if recorder.is_recording()
                    && let Some(buffer) = sample.buffer()
                    && let Ok(map) = buffer.map_readable()
                {
                    recorder.frame(map.to_vec(), ts);
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    Ok(())
}

/// When a frame was shown, as unix seconds: its running time on the pipeline clock, which
/// videorate spaces exactly, rather than its arrival (frames can arrive in bursts).
fn capture_time(element: &gst::Element, sample: &gst::Sample) -> Option<f64> {
    use gst::prelude::*;
    let pts = sample.buffer()?.pts()?;
    let segment = sample.segment()?.downcast_ref::<gst::ClockTime>()?;
    let running = segment.to_running_time(pts)?;
    let now = element.clock()?.time();
    let shown = element.base_time()? + running;
    let age = now.nseconds() as f64 - shown.nseconds() as f64;
    Some(unix_now() - age / 1e9)
}

/// Feeds `recorder` from `link`'s session: the room's screen size, the pipeline's `frames`
/// appsink, and REST screenshots whenever the stream is silent (always, with `no_media`).
/// Returns the screenshot task (abort it when the session ends).
pub fn feed_recorder(
    link: &Link,
    recorder: &RecorderHandle,
    settings: &CaptureSettings,
    no_media: bool,
) -> JoinHandle<()> {
    if let Some(screen) = link.client.state().screen {
        recorder.screen(screen.width, screen.height);
    }
    let health = StreamHealth::new();
    if let Some(pipeline) = link.pipeline()
        && let Err(error) = attach_stream(pipeline, recorder.clone(), health.clone())
    {
        tracing::error!("{error}; frames come from REST screenshots");
    }
    spawn_screenshots(
        link.client.clone(),
        recorder.clone(),
        health,
        settings.frame_interval(),
        settings.jpeg_quality,
        no_media,
    )
}

/// Takes REST screenshots at `interval` while the recorder records and the stream is silent
/// (always, when `always`). Says when it starts and stops doing so, and why screenshots fail.
fn spawn_screenshots(
    client: NekoClient,
    recorder: RecorderHandle,
    health: StreamHealth,
    interval: Duration,
    quality: u8,
    always: bool,
) -> JoinHandle<()> {
    let stall = STALL_AFTER.max(interval * 3);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut active = false;
        let mut failing: Option<String> = None;
        let quality = quality.to_string();
        loop {
            ticks.tick().await;
            if !recorder.is_recording() {
                continue;
            }
            let silent = health.silence();
            if !always && silent < stall {
                if active {
                    tracing::info!("video frames arrive again: recording from the stream");
                    active = false;
                }
                continue;
            }
            if !active {
                if always {
                    tracing::info!(
                        "no media session: recording REST screenshots ({SCREENSHOT_PATH})"
                    );
                } else {
                    tracing::warn!(
                        silent_s = silent.as_secs_f64(),
                        "no video from the stream: recording REST screenshots ({SCREENSHOT_PATH}) until it is back"
                    );
                }
                active = true;
            }
            let ts = unix_now();
            match screenshot(&client, &quality).await {
                Ok(jpeg) => {
                    if failing.take().is_some() {
                        tracing::info!("screenshots work again");
                    }
                    recorder.frame(jpeg, ts);
                }
                Err(error) => {
                    let message = error.to_string();
                    if failing.as_deref() != Some(message.as_str()) {
                        tracing::error!("{message}; frames are missing from the episode");
                        failing = Some(message);
                    }
                }
            }
        }
    })
}

/// Why the screenshot fallback got no picture.
#[derive(Debug, thiserror::Error)]
enum ScreenshotError {
    /// The session has no token yet.
    #[error("no screenshot: not logged in yet")]
    NotLoggedIn,
    /// The server keeps screenshots for admins.
    #[error(
        "the screenshot fallback needs an admin account ({0}): log capture in as an admin, or make sure the stream works"
    )]
    NotAdmin(#[source] RestError),
    /// The request failed otherwise.
    #[error("no screenshot from /{SCREENSHOT_PATH}: {0}")]
    Failed(#[source] RestError),
}

/// One screenshot, or why there is none.
async fn screenshot(client: &NekoClient, quality: &str) -> Result<Vec<u8>, ScreenshotError> {
    let token = client.token().ok_or(ScreenshotError::NotLoggedIn)?;
    client
        .rest()
        .get_image(SCREENSHOT_PATH, &[("quality", quality)], &token)
        .await
        .map_err(|error| match error {
            RestError::Unauthorized { status: 403, .. } => ScreenshotError::NotAdmin(error),
            other => ScreenshotError::Failed(other),
        })
}
