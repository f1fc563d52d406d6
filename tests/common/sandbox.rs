//! A sandbox room for one test, on its own runtime, shut down when the guard drops.

use neko_sandbox::{Room, RoomConfig};

/// A running sandbox room; dropping it shuts the room down.
pub struct Sandbox {
    /// The runtime the room runs on (tests block on room calls through it).
    pub runtime: tokio::runtime::Runtime,
    room: Option<Room>,
}

impl Sandbox {
    /// Initialises GStreamer and starts a room with `config`.
    pub fn start(config: RoomConfig) -> Sandbox {
        super::init();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let room = runtime
            .block_on(Room::start(config))
            .expect("the room starts");
        Sandbox {
            runtime,
            room: Some(room),
        }
    }

    /// The room.
    pub fn room(&self) -> &Room {
        self.room.as_ref().unwrap()
    }

    /// The room's base URL.
    pub fn url(&self) -> String {
        self.room().base_url()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(room) = self.room.take() {
            self.runtime.block_on(room.shutdown());
        }
    }
}
