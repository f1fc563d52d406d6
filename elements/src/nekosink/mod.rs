//! `nekosink`: joins a Neko room and sends audio into it, as the room's microphone.
//!
//! ```text
//! gst-launch-1.0 audiotestsrc ! nekosink url=http://127.0.0.1:8080 username=alice password=neko
//! ```
//! The sink pad takes raw audio (encoded here as 48 kHz Opus, mono or stereo, `frame-size`
//! 10–60 ms) or Opus. The track rides on the room's own audio section in the first WebRTC answer
//! (Neko's audio section is `sendrecv`), so no renegotiation is needed. Buffers leave in real time
//! (`clocksync`), whatever the source's pace. The session's profile must allow
//! `can_share_media`; a room that does not take audio from us is an error. Properties and the
//! `send-event` / `event-received` signals are those of `nekosrc`.

use std::sync::Mutex;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use crate::client::RoomState;
use crate::signalling::{SessionElement, SessionHandle};

mod chain;
mod imp;

pub use chain::FRAME_SIZES_MS;

glib::wrapper! {
    /// The `nekosink` element.
    pub struct NekoSink(ObjectSubclass<imp::NekoSink>) @extends gst::Bin, gst::Element, gst::Object, @implements gst::ChildProxy;
}

impl NekoSink {
    /// The element's Neko session while it runs (from PAUSED on), so an application can send
    /// events and follow room events through the same session.
    pub fn client(&self) -> Option<crate::client::NekoClient> {
        self.imp().client()
    }
}

impl SessionElement for NekoSink {
    fn session(&self) -> &Mutex<SessionHandle> {
        &self.imp().session
    }

    /// The room's own media is not wanted: whatever arrives is dropped inside the element.
    fn link_rtp_pad(&self, pad: &gst::Pad) -> Result<(), String> {
        let sink = gst::ElementFactory::make("fakesink")
            .property("sync", false)
            .property("async", false)
            .build()
            .map_err(|_| "GStreamer element \"fakesink\" is missing".to_owned())?;
        self.add(&sink).map_err(|e| e.to_string())?;
        sink.sync_state_with_parent().map_err(|e| e.to_string())?;
        let sink_pad = sink.static_pad("sink").ok_or("fakesink without a sink")?;
        pad.link(&sink_pad).map_err(|e| e.to_string())?;
        Ok(())
    }

    fn media_connected(&self, connected: bool) {
        self.imp().set_media_connected(connected);
    }

    fn sender(&self) -> Option<gst::Element> {
        self.imp().payloader()
    }

    fn check_permissions(&self, state: &RoomState) -> Result<(), String> {
        match &state.profile {
            Some(profile) if !profile.can_share_media => Err(format!(
                "the room does not let {:?} share media (its profile has can_share_media=false), so it would not hear this audio: log in as a member allowed to share media, or ask an admin to allow it",
                profile.name
            )),
            _ => Ok(()),
        }
    }
}

/// Registers `nekosink` with the plugin.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "nekosink",
        gst::Rank::NONE,
        NekoSink::static_type(),
    )
}
