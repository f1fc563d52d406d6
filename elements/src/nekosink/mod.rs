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
use crate::signalling::{MissingPermission, SessionElement, SessionHandle};

mod chain;
mod error;
mod imp;

use error::DiscardError;

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

    type LinkError = DiscardError;

    fn debug_category() -> gst::DebugCategory {
        *imp::CAT
    }

    /// The room's own media is not wanted: whatever arrives is dropped inside the element.
    fn link_rtp_pad(&self, pad: &gst::Pad) -> Result<(), DiscardError> {
        let sink = gst::ElementFactory::make("fakesink")
            .property("sync", false)
            .property("async", false)
            .build()
            .map_err(DiscardError::MissingFakesink)?;
        self.add(&sink).map_err(DiscardError::Add)?;
        sink.sync_state_with_parent().map_err(DiscardError::Start)?;
        let sink_pad = sink.static_pad("sink").ok_or(DiscardError::NoSinkPad)?;
        pad.link(&sink_pad)?;
        Ok(())
    }

    fn media_connected(&self, connected: bool) {
        self.imp().set_media_connected(connected);
    }

    fn sender(&self) -> Option<gst::Element> {
        self.imp().payloader()
    }

    fn check_permissions(&self, state: &RoomState) -> Result<(), MissingPermission> {
        match &state.profile {
            Some(profile) if !profile.can_share_media => Err(MissingPermission::ShareMedia {
                member: profile.name.clone(),
            }),
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
