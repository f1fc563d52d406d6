//! Support of the element tests: a `nekosrc ! videoconvert ! RGB appsink` receive pipeline and
//! the frames it keeps.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use neko_sandbox::testing;

/// One RGB frame the receiver kept: its size and its rows as they left `videoconvert`.
#[derive(Clone)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Bytes from one row to the next.
    stride: usize,
    data: Vec<u8>,
}

impl Frame {
    /// Copies the frame out of an RGB sample; `None` when the sample has no usable caps or buffer.
    fn from_sample(sample: &gst::Sample) -> Option<Frame> {
        let info = gst_video::VideoInfo::from_caps(sample.caps()?).ok()?;
        let map = sample.buffer()?.map_readable().ok()?;
        Some(Frame {
            width: info.width(),
            height: info.height(),
            stride: usize::try_from(info.stride()[0]).ok()?,
            data: map.to_vec(),
        })
    }

    /// The colour at `(x, y)`, or `None` outside the frame.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let at = y as usize * self.stride + x as usize * 3;
        self.data.get(at..at + 3)?.try_into().ok()
    }
}

/// A running `nekosrc ! videoconvert ! RGB appsink` pipeline.
pub struct Receiver {
    pub pipeline: gst::Pipeline,
    pub src: gst::Element,
    frames: Arc<Mutex<Vec<(Instant, Frame)>>>,
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
        testing::init();
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
        let frames: Arc<Mutex<Vec<(Instant, Frame)>>> = Arc::default();
        let count: Arc<Mutex<u64>> = Arc::default();
        let (sink_frames, sink_count) = (frames.clone(), count.clone());
        appsink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    *sink_count.lock().unwrap() += 1;
                    if let Some(frame) = Frame::from_sample(&sample) {
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
    pub fn latest(&self) -> Option<Frame> {
        self.frames.lock().unwrap().last().map(|(_, f)| f.clone())
    }

    /// Waits until a frame arrives that satisfies `f`, failing on a pipeline error.
    pub fn wait_frame(
        &self,
        timeout: Duration,
        mut f: impl FnMut(&Frame) -> bool,
    ) -> Option<Frame> {
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
