//! GStreamer elements that join Neko v3 rooms, and the Neko protocol client they are built on.
//!
//! The plugin is `neko`; applications that link this crate call [`plugin_register_static`]
//! instead of loading it from `GST_PLUGIN_PATH`.

pub mod protocol;

fn plugin_init(_plugin: &gst::Plugin) -> Result<(), gst::glib::BoolError> {
    Ok(())
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
