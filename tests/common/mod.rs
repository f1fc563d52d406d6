//! Shared helpers for the integration tests: a nekosrc receive pipeline with an RGB appsink.
#![allow(dead_code)]

pub mod agent_run;
pub mod audio;
pub mod sandbox;
pub mod tls;
pub mod turn;
pub mod voice;

use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use gst::prelude::*;
use neko_agent::frame::{RawFrame, RgbImage as RgbFrame};

/// Serialises tests that run media (two cores cannot encode several rooms at 30 fps at once).
pub static MEDIA: Mutex<()> = Mutex::new(());

/// Initialises GStreamer and registers the plugin once.
pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        gst::init().expect("GStreamer initialises");
        gstneko::plugin_register_static().expect("the neko plugin registers");
        let _ = tracing_subscriber::fmt()
            .with_env_filter("warn,neko_agent=info,gstneko=info")
            .with_test_writer()
            .try_init();
        neko_agent::logging::forward_element_logs().expect("the elements' log is forwarded");
    });
}

/// A running `nekosrc ! videoconvert ! RGB appsink` pipeline.
pub struct Receiver {
    pub pipeline: gst::Pipeline,
    pub src: gst::Element,
    frames: Arc<Mutex<Vec<(Instant, RgbFrame)>>>,
    count: Arc<Mutex<u64>>,
    pub events: Arc<Mutex<Vec<(String, String)>>>,
}

impl Receiver {
    /// Builds and starts the pipeline with extra nekosrc properties (`name=value` pairs).
    pub fn start(url: &str, username: &str, password: &str, extra: &str) -> Receiver {
        Self::start_with(url, username, password, &format!("audio=false {extra}"), "")
    }

    /// Like [`Receiver::start`], with elements between nekosrc's video pad and `videoconvert`
    /// (e.g. `! rtpvp8depay ! vp8dec`), and the nekosrc properties given in full.
    pub fn start_with(
        url: &str,
        username: &str,
        password: &str,
        properties: &str,
        chain: &str,
    ) -> Receiver {
        init();
        let description = format!(
            "nekosrc name=src url=\"{url}\" username=\"{username}\" password=\"{password}\" ice-local-addresses=127.0.0.1 {properties} \
             {chain} ! videoconvert ! video/x-raw,format=RGB ! appsink name=frames sync=false max-buffers=2 drop=true"
        );
        let pipeline = gst::parse::launch(&description)
            .unwrap()
            .downcast::<gst::Pipeline>()
            .unwrap();
        let src = pipeline.by_name("src").unwrap();
        let appsink = pipeline
            .by_name("frames")
            .unwrap()
            .downcast::<gst_app::AppSink>()
            .unwrap();
        let frames: Arc<Mutex<Vec<(Instant, RgbFrame)>>> = Arc::default();
        let count: Arc<Mutex<u64>> = Arc::default();
        let (sink_frames, sink_count) = (frames.clone(), count.clone());
        appsink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    *sink_count.lock().unwrap() += 1;
                    if let Ok(frame) = RawFrame::from_sample(0, sample).to_rgb(u32::MAX) {
                        let mut frames = sink_frames.lock().unwrap();
                        frames.push((Instant::now(), frame));
                        let excess = frames.len().saturating_sub(3);
                        frames.drain(..excess);
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        let events: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let sink_events = events.clone();
        src.connect("event-received", false, move |values| {
            let name = values[1].get::<String>().unwrap();
            let json = values[2].get::<String>().unwrap();
            sink_events.lock().unwrap().push((name, json));
            None
        });
        pipeline.set_state(gst::State::Playing).unwrap();
        Receiver {
            pipeline,
            src,
            frames,
            count,
            events,
        }
    }

    /// Frames received so far.
    pub fn frame_count(&self) -> u64 {
        *self.count.lock().unwrap()
    }

    /// Waits until `count` more frames than now have arrived, failing on a pipeline error;
    /// false when they did not come within `timeout`.
    pub fn wait_frames(&self, count: u64, timeout: Duration) -> bool {
        let target = self.frame_count() + count;
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(error) = self.error(Duration::from_millis(50)) {
                panic!("pipeline error: {error}");
            }
            if self.frame_count() >= target {
                return true;
            }
        }
        false
    }

    /// The most recent frame.
    pub fn latest(&self) -> Option<RgbFrame> {
        self.frames.lock().unwrap().last().map(|(_, f)| f.clone())
    }

    /// Waits until a frame arrives that satisfies `f`, failing on a pipeline error.
    pub fn wait_frame(
        &self,
        timeout: Duration,
        mut f: impl FnMut(&RgbFrame) -> bool,
    ) -> Option<RgbFrame> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(error) = self.error(Duration::from_millis(50)) {
                panic!("pipeline error: {error}");
            }
            if let Some(frame) = self.latest()
                && f(&frame)
            {
                return Some(frame);
            }
        }
        None
    }

    /// The next error message on the bus within `timeout`, as text.
    pub fn error(&self, timeout: Duration) -> Option<String> {
        let bus = self.pipeline.bus().unwrap();
        let message = bus.timed_pop_filtered(
            gst::ClockTime::from_nseconds(timeout.as_nanos() as u64),
            &[gst::MessageType::Error],
        )?;
        match message.view() {
            gst::MessageView::Error(err) => Some(format!("{} | {:?}", err.error(), err.debug())),
            _ => None,
        }
    }

    /// Collects warning messages on the bus for `duration`.
    pub fn warnings(&self, duration: Duration) -> Vec<String> {
        let bus = self.pipeline.bus().unwrap();
        let deadline = Instant::now() + duration;
        let mut warnings = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if let Some(message) = bus.timed_pop_filtered(
                gst::ClockTime::from_nseconds(left.as_nanos() as u64),
                &[gst::MessageType::Warning],
            ) {
                if let gst::MessageView::Warning(w) = message.view() {
                    warnings.push(w.error().to_string());
                }
            } else {
                break;
            }
        }
        warnings
    }

    /// Sends an event through the element's action signal.
    pub fn send_event(&self, json: &str) -> bool {
        self.src.emit_by_name::<bool>("send-event", &[&json])
    }

    /// Waits until the element's stats satisfy `f`; panics with the stats after `timeout`.
    pub fn wait_stats(
        &self,
        timeout: Duration,
        what: &str,
        f: impl Fn(&gst::Structure) -> bool,
    ) -> gst::Structure {
        let deadline = Instant::now() + timeout;
        loop {
            let stats = self.stats();
            if f(&stats) {
                return stats;
            }
            assert!(Instant::now() < deadline, "{what}: {stats}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The element's stats structure.
    pub fn stats(&self) -> gst::Structure {
        self.src.property::<gst::Structure>("stats")
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// Whether two colours are within `tolerance` per channel.
pub fn close_to(a: [u8; 3], b: [u8; 3], tolerance: i32) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| (i32::from(*x) - i32::from(y)).abs() <= tolerance)
}
