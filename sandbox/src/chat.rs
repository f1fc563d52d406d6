//! The chat plugin: permissions and message fan-out (§3.7).

use gstneko::protocol::{
    ChatContent, ChatMessage, MemberProfile, PluginSettings, ServerEvent, Settings, Timestamp,
};

use super::state::RoomShared;

/// Why a chat message was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum ChatError {
    /// The sender may not send.
    #[error("not allowed to send chat messages")]
    NotAllowed,
    /// The sender vanished.
    #[error("session not found")]
    UnknownSession,
}

/// A boolean plugin permission, `true` when absent.
fn permission(plugins: &PluginSettings, key: &str) -> bool {
    plugins
        .as_ref()
        .and_then(|plugins| plugins.get(key))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(true)
}

/// `chat.enabled && (room permission || admin) && profile permission` for `key` (`can_send`/`can_receive`).
fn allowed(enabled: bool, settings: &Settings, profile: &MemberProfile, key: &str) -> bool {
    let key = format!("chat.{key}");
    enabled
        && (permission(&settings.plugins, &key) || profile.is_admin)
        && permission(&profile.plugins, &key)
}

impl RoomShared {
    /// Sends `content` from `id` to every session that may receive, the sender included.
    pub(super) fn chat_send(&self, id: &str, content: ChatContent) -> Result<(), ChatError> {
        let enabled = self.config.chat_enabled;
        self.read(|state| {
            let sender = state.sessions.get(id).ok_or(ChatError::UnknownSession)?;
            if !allowed(enabled, &state.settings, &sender.profile, "can_send") {
                return Err(ChatError::NotAllowed);
            }
            self.heard.chat(id, &content.text);
            let event = ServerEvent::ChatMessage(ChatMessage {
                id: id.to_owned(),
                created: Timestamp::now(),
                content,
                ..ChatMessage::default()
            });
            for session in state.sessions.iter() {
                if allowed(enabled, &state.settings, &session.profile, "can_receive") {
                    session.send(&event);
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn permissions_default_to_true_and_admins_bypass_the_room() {
        let mut settings = Settings::default();
        let user = MemberProfile::user();
        assert!(allowed(true, &settings, &user, "can_send"));
        assert!(!allowed(false, &settings, &user, "can_send"));
        settings.plugins = Some(serde_json::Map::from_iter([(
            "chat.can_send".to_owned(),
            json!(false),
        )]));
        assert!(!allowed(true, &settings, &user, "can_send"));
        assert!(allowed(
            true,
            &settings,
            &MemberProfile::admin(),
            "can_send"
        ));
        let mut muted = MemberProfile::admin();
        muted.plugins = Some(serde_json::Map::from_iter([(
            "chat.can_receive".to_owned(),
            json!(false),
        )]));
        assert!(!allowed(true, &Settings::default(), &muted, "can_receive"));
    }
}
