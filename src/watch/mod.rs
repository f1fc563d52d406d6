//! `neko-agent watch`: receives a room through the `watch` pipeline file and prints live stats.

pub mod app;
mod args;
mod stats;

pub use args::WatchArgs;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;

pub use stats::{Report, StreamStats, percentile};

use crate::connection::SessionSettings;
use crate::frame::{FrameError, PngError, RawFrame, write_png};
use crate::pipeline_file::{PipelineFile, PipelineFileError, find_pipeline};

/// What to watch and for how long.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// The session settings given to the pipeline's `nekosrc` (named `src`).
    pub session: SessionSettings,
    /// The pipeline file's own variables (decoder, …).
    pub variables: BTreeMap<String, String>,
    /// Pipeline file name or path.
    pub pipeline: String,
    /// Stop after this long (None: until Ctrl-C).
    pub duration: Option<Duration>,
    /// Where to write the latest frame at exit.
    pub png: Option<PathBuf>,
    /// How often to print a stats line.
    pub interval: Duration,
}

/// Failures of `watch`.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The pipeline file is wrong.
    #[error(transparent)]
    PipelineFile(#[from] PipelineFileError),
    /// GStreamer reported an error.
    #[error("{0}")]
    Pipeline(String),
    /// The Neko element could not join the room or lost it for good (login refused, TLS
    /// certificate refused, connection lost with reconnection off).
    #[error("{0}")]
    Connection(String),
    /// A frame could not be converted to a picture.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A picture could not be saved.
    #[error(transparent)]
    Png(#[from] PngError),
}

/// What a finished watch saw.
#[derive(Debug, Clone, Default)]
pub struct WatchSummary {
    /// Frames received.
    pub frames: u64,
    /// Size of the last frame.
    pub size: (u32, u32),
    /// PNG files written.
    pub pngs: Vec<PathBuf>,
}

#[derive(Default)]
struct Shared {
    stats: Option<StreamStats>,
    latest: Option<gst::Sample>,
}

/// Runs the watch pipeline until the duration passes, Ctrl-C (`stop` set), or an error.
pub fn run(options: &WatchOptions, stop: &AtomicBool) -> Result<WatchSummary, WatchError> {
    let path = find_pipeline(&options.pipeline);
    let file = PipelineFile::load(&path)?;
    tracing::info!(pipeline = %path.display(), launch = %file.launch_with(&options.variables).unwrap_or_default(), "starting the watch pipeline");
    let pipeline = file.instantiate(&options.variables)?;
    options
        .session
        .apply_to(&pipeline)
        .map_err(|error| WatchError::Pipeline(format!("{}: {error}", path.display())))?;
    let appsink = pipeline
        .by_name("frames")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .ok_or_else(|| {
            WatchError::Pipeline(format!("{}: no appsink named \"frames\"", path.display()))
        })?;
    let source = pipeline.by_name("src");
    let shared = Arc::new(Mutex::new(Shared {
        stats: Some(StreamStats::new()),
        latest: None,
    }));
    let sink_shared = shared.clone();
    appsink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let size = sample
                    .caps()
                    .and_then(|c| gst_video::VideoInfo::from_caps(c).ok())
                    .map(|i| (i.width(), i.height()))
                    .unwrap_or_default();
                let latency = crate::frame::stamp::latency_ms(&sample);
                if let Ok(mut shared) = sink_shared.lock() {
                    if let Some(stats) = shared.stats.as_mut() {
                        stats.frame(size, latency);
                    }
                    shared.latest = Some(sample);
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    let save_requested = Arc::new(AtomicBool::new(false));
    if std::io::stdin().is_terminal() {
        let flag = save_requested.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
                flag.store(true, Ordering::Relaxed);
                line.clear();
            }
        });
        println!("press Enter to save the current frame as PNG");
    }
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|_| WatchError::Pipeline("the watch pipeline could not start".into()))?;
    let result = watch_loop(
        options,
        &pipeline,
        source.as_ref(),
        &shared,
        &save_requested,
        stop,
    );
    let _ = pipeline.set_state(gst::State::Null);
    let mut summary = result?;
    let latest = shared.lock().ok().and_then(|s| s.latest.clone());
    if let (Some(path), Some(sample)) = (&options.png, latest) {
        save_sample(&sample, path)?;
        println!("saved the last frame to {}", path.display());
        summary.pngs.push(path.clone());
    }
    Ok(summary)
}

/// Saves a frame of the pipeline as an RGB PNG, at its own size.
fn save_sample(sample: &gst::Sample, path: &std::path::Path) -> Result<(), WatchError> {
    let image = RawFrame::from_sample(0, sample.clone()).to_rgb(u32::MAX)?;
    Ok(write_png(&image, path)?)
}

fn stats_of(source: Option<&gst::Element>) -> Option<gst::Structure> {
    source
        .filter(|s| s.find_property("stats").is_some())
        .map(|s| s.property::<gst::Structure>("stats"))
}

fn watch_loop(
    options: &WatchOptions,
    pipeline: &gst::Pipeline,
    source: Option<&gst::Element>,
    shared: &Mutex<Shared>,
    save_requested: &AtomicBool,
    stop: &AtomicBool,
) -> Result<WatchSummary, WatchError> {
    let bus = pipeline
        .bus()
        .ok_or_else(|| WatchError::Pipeline("pipeline without a bus".into()))?;
    let started = Instant::now();
    let mut summary = WatchSummary::default();
    let mut saved = 0u32;
    let running =
        || !stop.load(Ordering::Relaxed) && options.duration.is_none_or(|d| started.elapsed() < d);
    while running() {
        // A busy bus (a server making the pipeline post message after message) must not keep the
        // loop from its stop and deadline checks.
        while let Some(message) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) {
            match message.view() {
                gst::MessageView::Error(err) => {
                    let text = match err.debug() {
                        Some(debug) => format!("{} ({debug})", err.error()),
                        None => err.error().to_string(),
                    };
                    let from_session = source.is_some_and(|s| err.src() == Some(s.upcast_ref()));
                    let resource = err.error().is::<gst::ResourceError>();
                    return Err(if from_session && resource {
                        WatchError::Connection(text)
                    } else {
                        WatchError::Pipeline(text)
                    });
                }
                gst::MessageView::Warning(warning) => println!("warning: {}", warning.error()),
                gst::MessageView::Eos(_) => return Ok(summary),
                _ => {}
            }
            if !running() {
                break;
            }
        }
        let stats = stats_of(source);
        let bytes = stats
            .as_ref()
            .and_then(|s| s.get::<u64>("video-bytes").ok())
            .unwrap_or(0);
        let report = shared.lock().ok().and_then(|mut s| {
            s.stats
                .as_mut()
                .and_then(|st| st.report(options.interval, bytes))
        });
        if let Some(report) = report {
            print_report(&report, stats.as_ref());
            summary.frames = report.frames;
            summary.size = report.size;
        }
        if save_requested.swap(false, Ordering::Relaxed) {
            let latest = shared.lock().ok().and_then(|s| s.latest.clone());
            if let Some(sample) = latest {
                saved += 1;
                let path = PathBuf::from(format!("neko-frame-{saved:03}.png"));
                save_sample(&sample, &path)?;
                println!("saved {}", path.display());
                summary.pngs.push(path);
            }
        }
    }
    if let Ok(shared) = shared.lock()
        && let Some(stats) = &shared.stats
    {
        summary.frames = stats.frames;
        summary.size = stats.size;
    }
    Ok(summary)
}

fn print_report(report: &Report, stats: Option<&gst::Structure>) {
    let field = |name: &str| {
        stats
            .and_then(|s| s.get::<String>(name).ok())
            .filter(|v| !v.is_empty())
    };
    let latency = report
        .latency_p50_ms
        .map(|l| format!("{l:.0} ms"))
        .unwrap_or_else(|| "n/a".into());
    println!(
        "[{:6.1}s] {:5.1} fps  {}x{}  {} via {}  {:7.0} kbit/s  latency p50 {}  frames {}",
        report.elapsed,
        report.fps,
        report.size.0,
        report.size.1,
        field("video-codec").unwrap_or_else(|| "?".into()),
        field("video-decoder").unwrap_or_else(|| "?".into()),
        report.kbps,
        latency,
        report.frames,
    );
}
