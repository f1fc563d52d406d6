//! Routes each text frame of a socket to its handler; bad frames are logged and skipped (§2.1).

use gstneko::protocol::{ClientEvent, LogEntry, SendBroadcast, SendUnicast, ServerEvent};

use super::state::RoomShared;

/// `system/logs` entries go to the room's log under `module=client`.
fn log_client(id: &str, entries: Vec<LogEntry>) {
    for entry in entries {
        let fields = entry
            .fields
            .map(serde_json::Value::Object)
            .unwrap_or_default();
        match entry.level.as_str() {
            "debug" => {
                tracing::debug!(module = "client", session = %id, %fields, "{}", entry.message)
            }
            "info" => {
                tracing::info!(module = "client", session = %id, %fields, "{}", entry.message)
            }
            "warn" => {
                tracing::warn!(module = "client", session = %id, %fields, "{}", entry.message)
            }
            "error" => {
                tracing::error!(module = "client", session = %id, %fields, "{}", entry.message)
            }
            _ => {
                tracing::info!(module = "client", session = %id, %fields, level = "no level", "{}", entry.message)
            }
        }
    }
}

impl RoomShared {
    /// Handles one text frame from session `id`.
    pub(super) fn handle_frame(&self, id: &str, text: &str) {
        let event = match ClientEvent::from_json(text) {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(session = %id, %error, "message handler has failed");
                return;
            }
        };
        match event {
            ClientEvent::ClientHeartbeat => {}
            ClientEvent::SystemLogs(entries) => log_client(id, entries),
            ClientEvent::SignalRequest(_)
            | ClientEvent::SignalAnswer(_)
            | ClientEvent::SignalOffer(_)
            | ClientEvent::SignalCandidate(_)
            | ClientEvent::SignalVideo(_)
            | ClientEvent::SignalAudio(_)
            | ClientEvent::SignalRestart => self.signal(id, event),
            ClientEvent::ControlRequest => self.control_event(id, false),
            ClientEvent::ControlRelease => self.control_event(id, true),
            ClientEvent::ControlMove(_)
            | ClientEvent::ControlScroll(_)
            | ClientEvent::ControlButtonPress(_)
            | ClientEvent::ControlButtonDown(_)
            | ClientEvent::ControlButtonUp(_)
            | ClientEvent::ControlKeyPress(_)
            | ClientEvent::ControlKeyDown(_)
            | ClientEvent::ControlKeyUp(_)
            | ClientEvent::ControlTouchBegin(_)
            | ClientEvent::ControlTouchUpdate(_)
            | ClientEvent::ControlTouchEnd(_)
            | ClientEvent::ControlCut
            | ClientEvent::ControlCopy
            | ClientEvent::ControlSelectAll
            | ClientEvent::ControlPaste(_)
            | ClientEvent::ClipboardSet(_)
            | ClientEvent::KeyboardMap(_)
            | ClientEvent::KeyboardModifiers(_) => self.ws_input(id, &event),
            ClientEvent::ScreenSet(size) => {
                let is_admin = self.read(|s| s.sessions.get(id).is_some_and(|s| s.profile.is_admin));
                if !is_admin {
                    tracing::warn!(session = %id, "screen/set refused: is not admin");
                } else if let Err(error) = self.set_screen(id, &size) {
                    tracing::warn!(session = %id, %error, "screen/set failed");
                }
            }
            ClientEvent::SendUnicast(message) => self.read(|state| {
                let event = ServerEvent::SendUnicast(SendUnicast {
                    sender: id.to_owned(),
                    receiver: message.receiver.clone(),
                    subject: message.subject,
                    body: message.body,
                    ..SendUnicast::default()
                });
                match state.sessions.get(&message.receiver) {
                    Some(receiver) => receiver.send(&event),
                    None => tracing::warn!(session = %id, receiver = %message.receiver, "send/unicast: receiver not found"),
                }
            }),
            ClientEvent::SendBroadcast(message) => self.read(|state| {
                let event = ServerEvent::SendBroadcast(SendBroadcast {
                    sender: id.to_owned(),
                    subject: message.subject,
                    body: message.body,
                    ..SendBroadcast::default()
                });
                state.broadcast_except(id, &event);
            }),
            ClientEvent::ChatMessage(content) => {
                if let Err(error) = self.chat_send(id, content) {
                    tracing::warn!(session = %id, %error, "chat/message dropped");
                }
            }
            ClientEvent::FiletransferUpdate => {
                tracing::debug!(session = %id, "filetransfer/update ignored: the plugin is not enabled");
            }
            ClientEvent::Unknown { event, .. } => {
                tracing::warn!(session = %id, %event, "unhandled message");
            }
        }
    }
}
