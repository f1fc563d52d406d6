//! Live view: the room's video as the agent receives it, scaled, rate-limited, marked with the
//! agent's state (the last action's point, the step and action, a banner while a person has
//! control) and encoded (H.264, on a hardware encoder when present, or VP8), for any
//! number of WHEP viewers, built from a branch of the agent's pipeline file.
//!
//! GStreamer 1.22 (Debian 12) has no `whepserversink` (gst-plugins-rs builds it against newer
//! GStreamer), so the WHEP side is this module's own HTTP handler driving one `webrtcbin` per
//! viewer.

mod branch;
mod codec;
mod marks;
mod rate;
mod whep;

use std::sync::LazyLock;

pub use branch::{LiveBranch, NoLiveBranch, ViewerError};
pub use marks::Marks;
pub use whep::{LiveServer, TaskViews, new_token, router, tasks_router};

/// The live view's debug category (`GST_DEBUG=neko-live:5`).
pub(crate) static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "neko-live",
        gst::DebugColorFlags::empty(),
        Some("neko-agent live view"),
    )
});
