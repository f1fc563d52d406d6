//! Support shared by the test suites that run against a sandbox room (this crate's, the
//! GStreamer elements' and the app's): a room guard that always stops its room, the lock that
//! serialises media tests, and helpers for what several suites check (heard audio, a TURN
//! server, a certificate authority, a scripted hostile server).

pub mod audio;
pub mod ca;
pub mod hostile;
mod room;
pub mod turn;

use std::sync::{Mutex, Once};

pub use room::TestRoom;

/// Serialises tests that run media (two cores cannot encode several rooms at 30 fps at once).
pub static MEDIA: Mutex<()> = Mutex::new(());

/// Initialises GStreamer and registers the neko elements, once per process.
pub fn init_gstreamer() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        gst::init().expect("GStreamer initialises");
        gstneko::plugin_register_static().expect("the neko plugin registers");
    });
}

/// [`init_gstreamer`], and a log subscriber that writes through the test harness (shown for
/// failing tests), once per process. Benchmarks call only [`init_gstreamer`]: without the
/// harness, the subscriber would print into their tables.
pub fn init() {
    static ONCE: Once = Once::new();
    init_gstreamer();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("warn,neko_agent=info,gstneko=info,neko_sandbox=info")
            .with_test_writer()
            .try_init();
    });
}
