//! Why nekosink could not start, take its input or drop the room's media. The texts are the
//! element errors posted on the bus.

use gst::glib;

use super::chain::FRAME_SIZES_MS;
use crate::session_settings::SettingsError;

/// Properties that cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SinkSettingsError {
    /// The session properties.
    #[error(transparent)]
    Session(#[from] SettingsError),
    /// `frame-size` is not a duration Opus encodes.
    #[error("frame-size {0} ms is not an Opus frame size; use one of {FRAME_SIZES_MS:?}")]
    FrameSize(u32),
}

/// Why the send chain could not be built or rebuilt.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ChainError {
    /// The sink pad got caps it does not take.
    #[error("nekosink takes audio/x-raw or audio/x-opus, not {0}")]
    UnsupportedCaps(gst::Caps),
    /// An element of the chain is not installed.
    #[error(
        "GStreamer element {factory:?} is missing; install gstreamer1.0-plugins-base, -good and -bad"
    )]
    MissingElement {
        /// The element's factory name.
        factory: String,
        /// GStreamer's reason.
        #[source]
        source: glib::BoolError,
    },
    /// An element could not be added to the bin.
    #[error(transparent)]
    Add(glib::BoolError),
    /// Two elements of the chain did not link.
    #[error("linking the send chain: {0}")]
    Link(#[source] glib::BoolError),
    /// An element did not follow the bin's state.
    #[error("starting the send chain: {0}")]
    Start(#[source] glib::BoolError),
    /// The chain's first element has no sink pad.
    #[error("the send chain has no sink pad")]
    NoSinkPad,
    /// The permanent tail is missing (it failed when the element was created).
    #[error("the send chain was not built")]
    NoTail,
    /// The element's sink pad could not be pointed at the chain.
    #[error("could not target the send chain: {0}")]
    Target(#[source] glib::BoolError),
    /// The encoder settings are not usable.
    #[error(transparent)]
    Settings(#[from] SinkSettingsError),
}

/// Why a pad with the room's media could not be linked to a discarding sink.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DiscardError {
    /// `fakesink` is not installed.
    #[error("GStreamer element \"fakesink\" is missing")]
    MissingFakesink(#[source] glib::BoolError),
    /// It could not be added to the element.
    #[error(transparent)]
    Add(glib::BoolError),
    /// It did not follow the element's state.
    #[error(transparent)]
    Start(glib::BoolError),
    /// It has no sink pad.
    #[error("fakesink without a sink")]
    NoSinkPad,
    /// The pad did not link to it.
    #[error(transparent)]
    Link(#[from] gst::PadLinkError),
}
