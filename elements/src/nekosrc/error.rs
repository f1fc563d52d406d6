//! Why nekosrc could not start or link the room's media. The texts are the element errors
//! posted on the bus.

use gst::glib;

use super::output::OutputError;
use crate::codecs::CodecError;
use crate::session_settings::SettingsError;

/// Properties that cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SrcSettingsError {
    /// The session properties.
    #[error(transparent)]
    Session(#[from] SettingsError),
    /// `video` and `audio` are both off.
    #[error("both video and audio are off: nothing to receive")]
    NothingToReceive,
}

/// Why an RTP pad of webrtcbin could not be linked to a source pad's chain.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RtpLinkError {
    /// The pad has no caps to tell the codec by.
    #[error("webrtcbin exposed a pad without caps")]
    NoCaps,
    /// Its caps do not name the encoding.
    #[error("RTP caps without encoding-name")]
    NoEncodingName,
    /// The codec is not one nekosrc handles.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The element has no template for the media kind.
    #[error("no pad template for this media kind")]
    NoTemplate,
    /// The new source pad could not be activated.
    #[error(transparent)]
    Activate(glib::BoolError),
    /// The new source pad could not be added to the element.
    #[error(transparent)]
    AddPad(glib::BoolError),
    /// The chain behind the source pad could not be built.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// webrtcbin's pad did not link to the chain.
    #[error("linking webrtcbin's {media} pad: {source}")]
    Link {
        /// `video` or `audio`.
        media: &'static str,
        /// GStreamer's reason.
        #[source]
        source: gst::PadLinkError,
    },
}
