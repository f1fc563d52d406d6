//! The agent's eyes: the newest decoded frame from the pipeline's `frames` appsink, converted to
//! RGB (and scaled down) only when a step actually looks at it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use gst::prelude::*;
use tokio::sync::watch;

use crate::frame::{FrameError, RawFrame};

/// The newest frame of an appsink, with a way to wait for the next one.
#[derive(Clone)]
pub struct FrameSource {
    latest: Arc<Mutex<Option<RawFrame>>>,
    arrivals: watch::Receiver<u64>,
}

impl FrameSource {
    /// Attaches to the appsink named `frames` in `pipeline`; call before it plays.
    pub fn attach(pipeline: &gst::Pipeline) -> Result<Self, FrameError> {
        let appsink = pipeline
            .by_name("frames")
            .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
            .ok_or(FrameError::NoAppsink)?;
        let latest: Arc<Mutex<Option<RawFrame>>> = Arc::default();
        let (arrived, arrivals) = watch::channel(0u64);
        let store = latest.clone();
        appsink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    // Stored before the count moves, so a woken waiter always finds it.
                    let number = *arrived.borrow() + 1;
                    *store.lock().unwrap_or_else(PoisonError::into_inner) =
                        Some(RawFrame::from_sample(number, sample));
                    arrived.send_replace(number);
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        Ok(Self { latest, arrivals })
    }

    /// How many frames arrived so far.
    pub fn received(&self) -> u64 {
        *self.arrivals.borrow()
    }

    /// The count of arrived frames, to wait on.
    pub fn arrivals(&self) -> watch::Receiver<u64> {
        self.arrivals.clone()
    }

    /// The newest frame, if any arrived.
    pub fn latest(&self) -> Option<RawFrame> {
        self.latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits for a frame newer than frame number `after` (0: any frame).
    pub async fn newer_than(&self, after: u64, timeout: Duration) -> Result<RawFrame, FrameError> {
        let mut arrivals = self.arrivals.clone();
        let wait = arrivals.wait_for(|n| *n > after);
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(_)) => self
                .latest()
                .ok_or(FrameError::Timeout(timeout.as_secs_f64())),
            _ => Err(FrameError::Timeout(timeout.as_secs_f64())),
        }
    }
}
