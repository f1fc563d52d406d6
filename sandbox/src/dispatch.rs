//! Routes each text frame of a socket to its handler; bad frames are reported to the caller,
//! which logs them (rate-limited) and goes on (§2.1).

use gstneko::protocol::{
    ClientEvent, LogEntry, ProtocolError, SendBroadcast, SendUnicast, ServerEvent,
};

use super::chat::ChatError;
use super::screen::ScreenError;
use super::signal::SignalError;
use super::state::RoomShared;

/// Why a frame from a client was skipped.
#[derive(Debug, thiserror::Error)]
pub(super) enum FrameError {
    /// Not a JSON event (Neko: "message handler has failed").
    #[error("message handler has failed: {0}")]
    Malformed(#[from] ProtocolError),
    /// An event no handler knows (Neko: "unhandled message").
    #[error("unhandled message {0:?}")]
    Unhandled(String),
    /// `screen/set` from a session that is not admin.
    #[error("screen/set refused: is not admin")]
    ScreenNotAdmin,
    /// `screen/set` with a size the room cannot take.
    #[error("screen/set failed: {0}")]
    Screen(#[source] ScreenError),
    /// `send/unicast` to a session that does not exist.
    #[error("send/unicast: receiver {0:?} not found")]
    NoReceiver(String),
    /// A `signal/*` event that failed (no peer, a bad answer…).
    #[error("signal event {event} failed: {source}")]
    Signal {
        /// The event's name.
        event: String,
        /// Why.
        #[source]
        source: SignalError,
    },
    /// A chat message the room did not take.
    #[error("chat/message dropped: {0}")]
    Chat(#[source] ChatError),
}

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
    pub(super) fn handle_frame(&self, id: &str, text: &str) -> Result<(), FrameError> {
        let event = ClientEvent::from_json(text)?;
        match event {
            ClientEvent::ClientHeartbeat => {}
            ClientEvent::SystemLogs(entries) => log_client(id, entries),
            ClientEvent::SignalRequest(_)
            | ClientEvent::SignalAnswer(_)
            | ClientEvent::SignalOffer(_)
            | ClientEvent::SignalCandidate(_)
            | ClientEvent::SignalVideo(_)
            | ClientEvent::SignalAudio(_)
            | ClientEvent::SignalRestart => {
                let name = event.name().to_owned();
                self.signal(id, event)
                    .map_err(|source| FrameError::Signal {
                        event: name,
                        source,
                    })?;
            }
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
                let is_admin =
                    self.read(|s| s.sessions.get(id).is_some_and(|s| s.profile.is_admin));
                if !is_admin {
                    return Err(FrameError::ScreenNotAdmin);
                }
                self.set_screen(id, &size).map_err(FrameError::Screen)?;
            }
            ClientEvent::SendUnicast(message) => self.read(|state| {
                let receiver = state
                    .sessions
                    .get(&message.receiver)
                    .ok_or_else(|| FrameError::NoReceiver(message.receiver.clone()))?;
                receiver.send(&ServerEvent::SendUnicast(SendUnicast {
                    sender: id.to_owned(),
                    receiver: message.receiver,
                    subject: message.subject,
                    body: message.body,
                    ..SendUnicast::default()
                }));
                Ok::<(), FrameError>(())
            })?,
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
                self.chat_send(id, content).map_err(FrameError::Chat)?;
            }
            ClientEvent::FiletransferUpdate => {
                tracing::debug!(session = %id, "filetransfer/update ignored: the plugin is not enabled");
            }
            ClientEvent::Unknown { event, .. } => return Err(FrameError::Unhandled(event)),
        }
        Ok(())
    }
}
