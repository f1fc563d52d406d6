//! What the client knows about the room, rebuilt from `system/init` on every (re)connect.

use crate::protocol::{MemberProfile, ScreenSize, ServerEvent, Settings};

/// Room state as seen by this session.
#[derive(Debug, Clone, Default)]
pub struct RoomState {
    /// Our session id (from `system/init`).
    pub session_id: Option<String>,
    /// Current screen size of the remote desktop.
    pub screen: Option<ScreenSize>,
    /// Session id of the current host, if any.
    pub host_id: Option<String>,
    /// Room settings.
    pub settings: Option<Settings>,
    /// Whether our profile is an admin.
    pub is_admin: bool,
    /// Our member profile (from `system/init`, updated by `session/profile`).
    pub profile: Option<MemberProfile>,
    /// Whether the WebSocket is up and `system/init` was received.
    pub connected: bool,
}

impl RoomState {
    /// Whether this session is the host.
    pub fn is_host(&self) -> bool {
        self.session_id.is_some() && self.host_id == self.session_id
    }

    /// Updates the state from one server event.
    pub fn apply(&mut self, event: &ServerEvent) {
        match event {
            ServerEvent::SystemInit(init) => {
                self.session_id = Some(init.session_id.clone());
                self.screen = Some(init.screen_size.clone());
                self.host_id = if init.control_host.has_host {
                    init.control_host.host_id.clone()
                } else {
                    None
                };
                self.settings = Some(init.settings.clone());
                self.profile = init
                    .sessions
                    .get(&init.session_id)
                    .map(|s| s.profile.clone());
                self.is_admin = self.profile.as_ref().is_some_and(|p| p.is_admin);
                self.connected = true;
            }
            ServerEvent::ControlHost(host) => {
                self.host_id = if host.has_host {
                    host.host_id.clone()
                } else {
                    None
                };
            }
            ServerEvent::SessionProfile(update)
                if self.session_id.as_deref() == Some(update.id.as_str()) =>
            {
                self.is_admin = update.profile.is_admin;
                self.profile = Some(update.profile.clone());
            }
            ServerEvent::ScreenUpdated(update) => {
                self.screen = Some(update.size.clone());
            }
            ServerEvent::SystemSettings(settings) => {
                self.settings = Some(settings.settings.clone());
            }
            _ => {}
        }
    }
}
