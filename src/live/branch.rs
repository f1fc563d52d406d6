//! The live branch of the agent's pipeline file and its viewers.
//!
//! The pipeline file tees the decoded frames into a branch that scales, marks
//! (`overlaycomposition name=live_marks`, `textoverlay name=live_text`) and encodes them (H.264
//! or VP8), ending in `tee name=live`. A `valve name=live_valve` at its head stays shut while
//! nobody watches, so nothing is converted or encoded then. Each viewer is a leaky queue, its own
//! RTP payloader for the codec found at the tee (with the payload type its offer gives it) and a
//! `webrtcbin` answering its WHEP offer; a slow viewer's queue drops frames and never holds the branch, let alone the agent's
//! appsink (the branch starts with a leaky queue of its own).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use gst::prelude::*;
use gst_webrtc::{WebRTCSDPType, WebRTCSessionDescription};

use super::codec::ViewCodec;
use super::marks::Marks;
use super::rate::RateGate;

/// Names the pipeline file gives the branch's elements.
const VALVE: &str = "live_valve";
const MARKS: &str = "live_marks";
const TEXT: &str = "live_text";
const OUTPUT: &str = "live";

/// How long a viewer's ICE gathering may take before its answer is sent as it is.
const GATHERING_LIMIT: Duration = Duration::from_secs(5);

/// Why a viewer could not be added.
#[derive(Debug, thiserror::Error)]
pub enum ViewerError {
    /// The offer is not SDP, or does not offer the codec the live view sends.
    #[error("the offer cannot be answered: {0}")]
    Offer(String),
    /// As many viewers as allowed are watching.
    #[error("{0} viewers are watching already (the most this live view takes)")]
    Full(usize),
    /// GStreamer refused to build or negotiate the viewer's elements.
    #[error("the viewer's WebRTC session failed: {0}")]
    Session(String),
    /// An element of the branch failed earlier; the agent goes on without a live view.
    #[error("the live view stopped after an error ({0}); the agent goes on without it")]
    Stopped(String),
}

/// The pipeline file has no live branch.
#[derive(Debug, thiserror::Error)]
#[error(
    "the agent's pipeline file has no live branch (elements named {VALVE}, {MARKS}, {TEXT} and {OUTPUT}); see pipelines/agent.toml"
)]
pub struct NoLiveBranch;

/// One viewer's elements.
struct Viewer {
    tee_pad: gst::Pad,
    elements: [gst::Element; 3],
}

/// The branch of one agent's pipeline and the viewers watching it.
pub struct LiveBranch {
    pipeline: gst::Pipeline,
    valve: gst::Element,
    output: gst::Element,
    /// The branch's own elements, from its head (the queue off the decoded frames) to `output`.
    members: Vec<gst::Element>,
    /// Set when one of them failed: from then on nothing enters the branch.
    failed: Arc<AtomicBool>,
    /// What failed, for viewers who come later.
    failure: Mutex<Option<String>>,
    marks: Marks,
    max_viewers: usize,
    viewers: Mutex<HashMap<String, Viewer>>,
}

impl std::fmt::Debug for LiveBranch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveBranch")
            .field("viewers", &self.viewer_count())
            .finish_non_exhaustive()
    }
}

impl LiveBranch {
    /// Finds the live branch in `pipeline`, lets at most `fps` frames a second through it, draws
    /// `marks` on it and keeps it shut until a viewer comes; at most `max_viewers` at once.
    pub fn attach(
        pipeline: &gst::Pipeline,
        marks: Marks,
        fps: u32,
        max_viewers: usize,
    ) -> Result<Arc<Self>, NoLiveBranch> {
        let find = |name| pipeline.by_name(name).ok_or(NoLiveBranch);
        let valve = find(VALVE)?;
        let overlay = find(MARKS)?;
        let text = find(TEXT)?;
        let output = find(OUTPUT)?;
        valve.set_property("drop", true);
        if let Some(pad) = valve.static_pad("src") {
            RateGate::install(&pad, fps);
        }
        let members = members(&valve, &output);
        let failed = Arc::new(AtomicBool::new(false));
        // Once the branch failed its head drops every frame, so the error never travels back
        // into the tee that feeds the agent.
        if let Some(pad) = members.first().and_then(|head| head.static_pad("sink")) {
            let failed = failed.clone();
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                if failed.load(Ordering::Relaxed) {
                    gst::PadProbeReturn::Drop
                } else {
                    gst::PadProbeReturn::Ok
                }
            });
        }
        marks.show_text_on(text);
        let drawn = marks.clone();
        overlay.connect("draw", false, move |values| {
            // The signal needs a composition value back, empty when there is nothing to draw.
            let composition = values[1]
                .get::<gst::Sample>()
                .ok()
                .and_then(|sample| gst_video::VideoInfo::from_caps(sample.caps()?).ok())
                .and_then(|info| drawn.composition(info.width(), info.height()));
            Some(composition.to_value())
        });
        Ok(Arc::new(Self {
            pipeline: pipeline.clone(),
            valve,
            output,
            members,
            failed,
            failure: Mutex::new(None),
            marks,
            max_viewers,
            viewers: Mutex::new(HashMap::new()),
        }))
    }

    /// The marks drawn on the picture.
    pub fn marks(&self) -> &Marks {
        &self.marks
    }

    /// Viewers watching now.
    pub fn viewer_count(&self) -> usize {
        self.viewers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Answers a viewer's WHEP `offer` (SDP text) with a complete answer (ICE candidates
    /// included) and starts sending to it as `id`. Blocks while the session negotiates.
    pub fn add_viewer(self: &Arc<Self>, id: &str, offer: &str) -> Result<String, ViewerError> {
        if let Some(failure) = self.failure() {
            return Err(ViewerError::Stopped(failure));
        }
        let offer = gst_sdp::SDPMessage::parse_buffer(offer.as_bytes())
            .map_err(|_| ViewerError::Offer("it is not SDP".into()))?;
        let codec = ViewCodec::feeding(&self.output).ok_or_else(|| {
            ViewerError::Session(
                "the live branch's encoder makes neither H.264 nor VP8 (see the encoder before `tee name=live` in the pipeline file)".into(),
            )
        })?;
        let offered = codec
            .offered(&offer)
            .ok_or_else(|| ViewerError::Offer(codec.missing_from_offer()))?;
        {
            let viewers = self.viewers.lock().unwrap_or_else(PoisonError::into_inner);
            if viewers.len() >= self.max_viewers {
                return Err(ViewerError::Full(viewers.len()));
            }
        }
        let session = |e: &dyn std::fmt::Display| ViewerError::Session(e.to_string());
        let make = |factory: &str| {
            gst::ElementFactory::make(factory)
                .build()
                .map_err(|e| session(&e))
        };
        let queue = make("queue")?;
        queue.set_property_from_str("leaky", "downstream");
        queue.set_property("max-size-buffers", 30u32);
        queue.set_property("max-size-time", 0u64);
        queue.set_property("max-size-bytes", 0u32);
        let payloader = offered.payloader().map_err(|e| session(&e))?;
        let webrtcbin = make("webrtcbin")?;
        webrtcbin.set_property_from_str("bundle-policy", "max-bundle");
        let elements = [queue.clone(), payloader.clone(), webrtcbin.clone()];
        // A viewer that goes away without a DELETE is dropped when its connection fails (off
        // the element's thread: removing it there could deadlock).
        let branch = Arc::downgrade(self);
        let viewer = id.to_owned();
        webrtcbin.connect_notify(Some("connection-state"), move |webrtcbin, _| {
            use gst_webrtc::WebRTCPeerConnectionState as State;
            let state = webrtcbin.property::<State>("connection-state");
            if matches!(state, State::Failed | State::Closed)
                && let Some(branch) = branch.upgrade()
            {
                let viewer = viewer.clone();
                std::thread::spawn(move || branch.remove_viewer(&viewer));
            }
        });
        self.pipeline.add_many(&elements).map_err(|e| session(&e))?;
        let built = (|| -> Result<(gst::Pad, String), ViewerError> {
            queue.link(&payloader).map_err(|e| session(&e))?;
            let sink = webrtcbin
                .request_pad_simple("sink_%u")
                .ok_or_else(|| session(&"webrtcbin gave no sink pad"))?;
            payloader
                .static_pad("src")
                .expect("an RTP payloader has a src pad")
                .link(&sink)
                .map_err(|e| session(&e))?;
            if let Some(transceiver) =
                sink.property::<Option<gst_webrtc::WebRTCRTPTransceiver>>("transceiver")
            {
                transceiver.set_property("codec-preferences", offered.rtp_caps());
                transceiver.set_direction(gst_webrtc::WebRTCRTPTransceiverDirection::Sendonly);
            }
            for element in &elements {
                element.sync_state_with_parent().map_err(|e| session(&e))?;
            }
            let answer = negotiate(&webrtcbin, offer)?;
            let tee_pad = self
                .output
                .request_pad_simple("src_%u")
                .ok_or_else(|| session(&"the live tee gave no pad"))?;
            tee_pad
                .link(&queue.static_pad("sink").expect("queue has a sink pad"))
                .map_err(|e| session(&e))?;
            Ok((tee_pad, answer))
        })();
        let (tee_pad, answer) = match built {
            Ok(done) => done,
            Err(error) => {
                self.drop_elements(&elements);
                return Err(error);
            }
        };
        self.viewers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_owned(), Viewer { tee_pad, elements });
        self.opened();
        gst::debug!(
            crate::live::CAT,
            "viewer {id} added ({} as payload type {})",
            codec.encoding_name(),
            offered.payload
        );
        Ok(answer)
    }

    /// Stops sending to viewer `id`; false when there is no such viewer.
    pub fn remove_viewer(&self, id: &str) -> bool {
        let Some(viewer) = self
            .viewers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)
        else {
            return false;
        };
        if self.viewer_count() == 0 {
            self.valve.set_property("drop", true);
        }
        let Viewer { tee_pad, elements } = viewer;
        if let Some(peer) = tee_pad.peer() {
            let _ = tee_pad.unlink(&peer);
        }
        self.output.release_request_pad(&tee_pad);
        self.drop_elements(&elements);
        gst::debug!(crate::live::CAT, "viewer {id} removed");
        true
    }

    /// Takes a pipeline error posted by `source` when it comes from the live view: a viewer's
    /// element drops that viewer, one of the branch's own elements stops the branch (its
    /// viewers are dropped, later ones refused with the error). The agent goes on either way.
    /// False for errors from elsewhere, which stay the session's.
    pub fn take_error(self: &Arc<Self>, source: &gst::Object, text: &str) -> bool {
        let Some(element) = self.top_level(source) else {
            return false;
        };
        let viewer = self
            .viewers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|(_, viewer)| viewer.elements.contains(&element))
            .map(|(id, _)| id.clone());
        // Off the posting thread: removing elements there could deadlock.
        let branch = self.clone();
        if let Some(id) = viewer {
            tracing::warn!(viewer = %id, error = %text, "a live viewer's session failed; it is dropped");
            std::thread::spawn(move || branch.remove_viewer(&id));
            return true;
        }
        if !self.members.contains(&element) {
            return false;
        }
        tracing::warn!(error = %text, element = %element.name(), "the live view stopped; the agent goes on without it");
        self.failed.store(true, Ordering::Relaxed);
        self.valve.set_property("drop", true);
        *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(text.to_owned());
        std::thread::spawn(move || branch.remove_all_viewers());
        true
    }

    /// What stopped the branch, if something did.
    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The element directly in the pipeline that holds `object` (or is it).
    fn top_level(&self, object: &gst::Object) -> Option<gst::Element> {
        let pipeline = self.pipeline.upcast_ref::<gst::Object>();
        let mut object = object.clone();
        loop {
            let parent = object.parent()?;
            if &parent == pipeline {
                return object.downcast().ok();
            }
            object = parent;
        }
    }

    /// Stops sending to every viewer.
    fn remove_all_viewers(&self) {
        let ids: Vec<String> = self
            .viewers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        for id in ids {
            self.remove_viewer(&id);
        }
    }

    /// A viewer came: the branch flows, starting with a key frame.
    fn opened(&self) {
        if self.failed.load(Ordering::Relaxed) {
            return;
        }
        self.valve.set_property("drop", false);
        let event = gst_video::UpstreamForceKeyUnitEvent::builder()
            .all_headers(true)
            .build();
        if let Some(pad) = self.output.static_pad("sink") {
            pad.push_event(event);
        }
    }

    fn drop_elements(&self, elements: &[gst::Element]) {
        for element in elements {
            let _ = element.set_state(gst::State::Null);
            let _ = self.pipeline.remove(element);
        }
    }
}

impl Drop for LiveBranch {
    fn drop(&mut self) {
        self.remove_all_viewers();
    }
}

/// The branch's elements: the one feeding `valve` (its leaky queue), `valve`, and every
/// element downstream of it up to `output`.
fn members(valve: &gst::Element, output: &gst::Element) -> Vec<gst::Element> {
    let neighbour = |element: &gst::Element, pad: &str| {
        element
            .static_pad(pad)
            .and_then(|pad| pad.peer())
            .and_then(|peer| peer.parent_element())
    };
    let mut members: Vec<gst::Element> = neighbour(valve, "sink").into_iter().collect();
    let mut element = Some(valve.clone());
    while let Some(current) = element {
        if members.contains(&current) {
            break;
        }
        members.push(current.clone());
        if &current == output {
            break;
        }
        element = neighbour(&current, "src");
    }
    members
}

/// Sets `offer` on `webrtcbin`, answers it and waits for ICE gathering; the answer's SDP text.
fn negotiate(webrtcbin: &gst::Element, offer: gst_sdp::SDPMessage) -> Result<String, ViewerError> {
    let failed = |what: &str| ViewerError::Session(what.to_owned());
    let offer = WebRTCSessionDescription::new(WebRTCSDPType::Offer, offer);
    let promise = gst::Promise::new();
    webrtcbin.emit_by_name::<()>("set-remote-description", &[&offer, &promise]);
    if promise.wait() != gst::PromiseResult::Replied {
        return Err(failed("the offer was not accepted"));
    }
    let promise = gst::Promise::new();
    webrtcbin.emit_by_name::<()>("create-answer", &[&None::<gst::Structure>, &promise]);
    if promise.wait() != gst::PromiseResult::Replied {
        return Err(failed("no answer was created"));
    }
    let answer = promise
        .get_reply()
        .and_then(|reply| reply.get::<WebRTCSessionDescription>("answer").ok())
        .ok_or_else(|| failed("the offer has nothing this live view can answer"))?;
    let promise = gst::Promise::new();
    webrtcbin.emit_by_name::<()>("set-local-description", &[&answer, &promise]);
    if promise.wait() != gst::PromiseResult::Replied {
        return Err(failed("the answer was not accepted"));
    }
    let deadline = std::time::Instant::now() + GATHERING_LIMIT;
    while webrtcbin.property::<gst_webrtc::WebRTCICEGatheringState>("ice-gathering-state")
        != gst_webrtc::WebRTCICEGatheringState::Complete
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let local = webrtcbin
        .property::<Option<WebRTCSessionDescription>>("local-description")
        .ok_or_else(|| failed("no local description"))?;
    local
        .sdp()
        .as_text()
        .map_err(|_| failed("the answer cannot be written as SDP"))
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;
    use std::time::Instant;

    use gst_app::AppSink;

    use super::*;

    /// An element of the branch that fails (here on its third frame) stops the
    /// live view, is not the session's error, and the agent's frames go on.
    #[test]
    fn a_failing_branch_stops_the_view_and_not_the_agent() {
        gst::init().unwrap();
        let pipeline = gst::parse::launch(
            "videotestsrc is-live=true ! video/x-raw,width=160,height=90,framerate=30/1 ! tee name=decoded \
             decoded. ! appsink name=frames sync=false max-buffers=1 drop=true \
             decoded. ! queue leaky=downstream max-size-buffers=1 max-size-time=0 max-size-bytes=0 \
               ! valve name=live_valve drop=true ! videoconvert \
               ! overlaycomposition name=live_marks ! textoverlay name=live_text \
               ! identity error-after=3 ! tee name=live allow-not-linked=true",
        )
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
        let branch: Arc<OnceLock<std::sync::Weak<LiveBranch>>> = Arc::default();
        let fatal = Arc::new(Mutex::new(Vec::<String>::new()));
        {
            let (branch, fatal) = (branch.clone(), fatal.clone());
            pipeline.bus().unwrap().set_sync_handler(move |_, message| {
                if let gst::MessageView::Error(error) = message.view() {
                    let text = error.error().to_string();
                    let taken = branch
                        .get()
                        .and_then(std::sync::Weak::upgrade)
                        .zip(message.src())
                        .is_some_and(|(branch, source)| branch.take_error(source, &text));
                    if !taken {
                        fatal.lock().unwrap().push(text);
                    }
                }
                gst::BusSyncReply::Drop
            });
        }
        let live = LiveBranch::attach(&pipeline, Marks::new(), 15, 4).unwrap();
        branch.set(Arc::downgrade(&live)).unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        let frames = pipeline
            .by_name("frames")
            .unwrap()
            .downcast::<AppSink>()
            .unwrap();
        assert!(
            frames
                .try_pull_sample(gst::ClockTime::from_seconds(5))
                .is_some()
        );

        live.opened();
        let deadline = Instant::now() + Duration::from_secs(10);
        while live.failure().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(live.failure().is_some(), "the branch's failure is taken");
        for _ in 0..10 {
            assert!(
                frames
                    .try_pull_sample(gst::ClockTime::from_seconds(5))
                    .is_some(),
                "the agent's frames go on"
            );
        }
        assert!(matches!(
            live.add_viewer("late", "v=0"),
            Err(ViewerError::Stopped(_))
        ));
        assert_eq!(*fatal.lock().unwrap(), Vec::<String>::new());
        pipeline.set_state(gst::State::Null).unwrap();
    }
}
