//! GStreamer elements that join Neko v3 rooms, the Neko protocol client they are built on, and
//! the real-time encoder a room's live viewers watch through.
//!
//! The plugin is `neko`; applications that link this crate call [`plugin_register_static`]
//! instead of loading it from `GST_PLUGIN_PATH`.

pub mod client;
pub(crate) mod codecs;
pub mod log_limit;
pub mod nekoliveenc;
pub mod nekosink;
pub mod nekosrc;
pub mod protocol;
pub(crate) mod runtime;
pub(crate) mod session_settings;
pub(crate) mod signalling;
pub mod webrtc;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), gst::glib::BoolError> {
    nekosrc::register(plugin)?;
    nekosink::register(plugin)?;
    nekoliveenc::register(plugin)
}

gst::plugin_define!(
    neko,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MPL",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_REPOSITORY"),
    env!("BUILD_REL_DATE")
);
