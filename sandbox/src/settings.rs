//! Room settings changes and their side effects (§7.2).

use gstneko::protocol::Settings;

use super::control;
use super::lifecycle::{admin_connected, settings_event};
use super::patch;
use super::state::RoomShared;

/// Why a settings change was refused.
#[derive(Debug, thiserror::Error)]
pub(super) enum SettingsError {
    /// The body does not fit the settings' shape.
    #[error("unable to parse provided data: {0}")]
    Parse(#[from] serde_json::Error),
}

impl RoomShared {
    /// Applies a partial settings update from admin `by`, broadcasting `system/settings`.
    pub(super) fn update_settings(
        &self,
        by: &str,
        patch: &serde_json::Value,
    ) -> Result<Settings, SettingsError> {
        self.update(|state, effects| {
            let mut new = patch::apply(&state.settings, patch)?;
            let old = std::mem::replace(&mut state.settings, new.clone());
            if new.control_protection && !old.control_protection && !admin_connected(state, "") {
                new.locked_controls = true;
                state.settings.locked_controls = true;
            }
            let event = settings_event(state, by);
            state.broadcast(&event);
            let host_is_admin = state
                .host
                .as_deref()
                .and_then(|host| state.sessions.get(host))
                .map(|host| host.profile.is_admin);
            if (new.private_mode || new.locked_controls) && host_is_admin == Some(false) {
                control::set_host(state, effects, None, by);
            }
            Ok(new)
        })
    }
}
