//! `nekosrc`: joins a Neko room and exposes its video and audio as source pads.
//!
//! ```text
//! gst-launch-1.0 nekosrc url=http://127.0.0.1:8080 username=alice password=neko ! videoconvert ! autovideosink
//! ```
//! Pads `video` and `audio` appear once media flows. What they carry follows what downstream
//! accepts: raw (decoded with NVDEC when available, software otherwise), the compressed stream,
//! or RTP. Every event from the server is emitted as `event-received` and posted on the bus as a
//! `neko-event` element message; `send-event` sends any event (JSON) through the same session.

use std::sync::Mutex;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use crate::signalling::{SessionElement, SessionHandle};

mod error;
mod imp;
mod output;

use error::RtpLinkError;

/// Which decoders nekosrc uses for raw output.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstNekoDecoder")]
pub(crate) enum NekoDecoder {
    /// NVDEC when the NVIDIA decoders are registered, software otherwise.
    #[default]
    #[enum_value(
        name = "Automatic: NVDEC when available, software otherwise",
        nick = "auto"
    )]
    Auto = 0,
    /// NVDEC only (an error when unavailable).
    #[enum_value(name = "NVIDIA NVDEC only", nick = "nvdec")]
    Nvdec = 1,
    /// Software decoders only.
    #[enum_value(name = "Software decoders only", nick = "software")]
    Software = 2,
}

glib::wrapper! {
    /// The `nekosrc` element.
    pub struct NekoSrc(ObjectSubclass<imp::NekoSrc>) @extends gst::Bin, gst::Element, gst::Object, @implements gst::ChildProxy;
}

impl NekoSrc {
    /// The element's Neko session while it runs (from PAUSED on), so an application can send
    /// control events and follow room events through the same session.
    pub fn client(&self) -> Option<crate::client::NekoClient> {
        self.imp().client()
    }
}

impl SessionElement for NekoSrc {
    fn session(&self) -> &Mutex<SessionHandle> {
        &self.imp().session
    }

    type LinkError = RtpLinkError;

    fn debug_category() -> gst::DebugCategory {
        *imp::CAT
    }

    fn link_rtp_pad(&self, pad: &gst::Pad) -> Result<(), RtpLinkError> {
        self.imp().link_rtp_pad(pad)
    }
}

/// Registers `nekosrc` with the plugin.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "nekosrc",
        gst::Rank::NONE,
        NekoSrc::static_type(),
    )
}
