//! [`TestRoom`]: a sandbox room that is stopped however the test ends.

use std::ops::Deref;

use tokio::runtime::Runtime;

use crate::{Room, RoomConfig};

/// A running room for one test; dereferences to [`Room`].
///
/// [`TestRoom::shutdown`] stops it gracefully. A guard dropped without it (a test that panics
/// midway, or one that just ends) still stops the room, so its encoder does not keep loading the
/// machine for the rest of the test binary: a room on its own runtime is shut down on it, one on
/// the caller's runtime is stopped without awaiting.
pub struct TestRoom {
    room: Option<Room>,
    /// The runtime the room runs on when the guard owns one ([`TestRoom::start_blocking`]).
    runtime: Option<Runtime>,
}

impl TestRoom {
    /// Initialises GStreamer and starts a room with `config` on the current runtime.
    pub async fn start(config: RoomConfig) -> TestRoom {
        super::init_gstreamer();
        let room = Room::start(config).await.expect("the room starts");
        TestRoom {
            room: Some(room),
            runtime: None,
        }
    }

    /// A small loopback room (320×240 at 15 fps, `media` or signalling only) serving https and
    /// wss with a certificate for `alt_names` signed by `ca`.
    pub async fn start_tls(ca: &super::ca::TestCa, alt_names: &str, media: bool) -> TestRoom {
        let cert = ca.server_cert("room", alt_names);
        Self::start(RoomConfig {
            tls: Some(crate::TlsFiles {
                cert: cert.cert,
                key: cert.key,
            }),
            media,
            ..RoomConfig::loopback(320, 240, 15)
        })
        .await
    }

    /// Initialises GStreamer and starts a room with `config` on a runtime of its own, for tests
    /// without one.
    pub fn start_blocking(config: RoomConfig) -> TestRoom {
        super::init_gstreamer();
        let runtime = Runtime::new().expect("a tokio runtime");
        let room = runtime
            .block_on(Room::start(config))
            .expect("the room starts");
        TestRoom {
            room: Some(room),
            runtime: Some(runtime),
        }
    }

    /// Runs `future` to completion on the room's own runtime.
    ///
    /// # Panics
    /// When the room was started with [`TestRoom::start`] (it has no runtime of its own).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime
            .as_ref()
            .expect("a room started with TestRoom::start_blocking")
            .block_on(future)
    }

    /// The room's base URL.
    pub fn url(&self) -> String {
        self.base_url()
    }

    /// Stops the room gracefully (see [`Room::shutdown`]).
    pub async fn shutdown(mut self) {
        if let Some(room) = self.room.take() {
            room.shutdown().await;
        }
    }

    /// Stops the room as a killed server would (see [`Room::crash`]).
    pub async fn crash(mut self) {
        if let Some(room) = self.room.take() {
            room.crash().await;
        }
    }
}

impl Deref for TestRoom {
    type Target = Room;

    fn deref(&self) -> &Room {
        self.room
            .as_ref()
            .expect("the room runs until the guard goes")
    }
}

impl Drop for TestRoom {
    fn drop(&mut self) {
        let Some(room) = self.room.take() else {
            return;
        };
        match &self.runtime {
            Some(runtime) => runtime.block_on(room.shutdown()),
            None => room.stop_now(),
        }
    }
}
