//! Why a frame could not be had or used.

/// Why frames could not be had.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The pipeline has no appsink named `frames`.
    #[error("the agent pipeline needs an appsink named \"frames\"")]
    NoAppsink,
    /// The appsink delivered something that is not raw video in system memory.
    #[error("the frames appsink must receive video/x-raw in system memory; got {0}")]
    Format(String),
    /// The frame's memory could not be read as the video its caps describe.
    #[error("the frames appsink must receive video/x-raw in system memory; got {0}")]
    Unreadable(#[source] gst::glib::BoolError),
    /// Converting failed.
    #[error("cannot convert a {from} frame to RGB: {source}")]
    Convert {
        /// Source format and size.
        from: String,
        /// What GStreamer said.
        #[source]
        source: gst::glib::BoolError,
    },
    /// No frame arrived in time.
    #[error("no video frame arrived within {0:.0} s; is the room sending video?")]
    Timeout(f64),
}
