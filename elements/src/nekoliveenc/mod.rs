//! `nekoliveenc`: a real-time video encoder for people watching over WebRTC, which picks the
//! best encoder the machine has.
//!
//! ```text
//! gst-launch-1.0 videotestsrc is-live=true ! videoconvert ! nekoliveenc codec=h264 ! h264parse ! fakesink
//! ```
//! `codec=auto` (the default) encodes H.264 on a hardware encoder when one is registered
//! (NVIDIA NVENC, VA-API, Quick Sync), in software (x264, OpenH264) otherwise, and VP8 only
//! where no H.264 encoder is installed; `codec=h264` and `codec=vp8` name the codec and still
//! prefer hardware. Every encoder is set for live viewers:
//! constant bit rate (`bitrate`), no B-frames, a key frame at least every `keyframe-interval`
//! frames and whenever a `GstForceKeyUnit` event asks (a new viewer). H.264 comes out in the
//! baseline profiles every browser decodes. The read-only `encoder` property names the element
//! chosen, once the element is READY.

use gst::glib;
use gst::prelude::*;

mod choice;
mod imp;

/// The codec `nekoliveenc` encodes to.
#[derive(Debug, Eq, PartialEq, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstNekoLiveCodec")]
pub enum LiveCodec {
    /// H.264, on a hardware encoder when one is registered; VP8 without an H.264 encoder.
    #[default]
    #[enum_value(
        name = "Automatic: H.264 (hardware encoder first), VP8 without an H.264 encoder",
        nick = "auto"
    )]
    Auto = 0,
    /// VP8.
    #[enum_value(name = "VP8", nick = "vp8")]
    Vp8 = 1,
    /// H.264, on a hardware encoder when present.
    #[enum_value(name = "H.264 (hardware encoder when present)", nick = "h264")]
    H264 = 2,
}

glib::wrapper! {
    /// The `nekoliveenc` element.
    pub struct NekoLiveEnc(ObjectSubclass<imp::NekoLiveEnc>) @extends gst::Bin, gst::Element, gst::Object, @implements gst::ChildProxy;
}

/// Registers `nekoliveenc` with the plugin.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "nekoliveenc",
        gst::Rank::NONE,
        NekoLiveEnc::static_type(),
    )
}
