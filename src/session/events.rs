//! Server events and connection notices as one-line messages for the person at the REPL.

use std::collections::HashMap;

use gstneko::client::ClientNotice;
use gstneko::protocol::ServerEvent;

/// Session names learnt from the room, so messages can say who did something.
#[derive(Debug, Default)]
pub struct Roster {
    names: HashMap<String, String>,
    own_id: Option<String>,
}

impl Roster {
    /// Learns names and our own id from an event.
    pub fn learn(&mut self, event: &ServerEvent) {
        match event {
            ServerEvent::SystemInit(init) => {
                self.own_id = Some(init.session_id.clone());
                self.names = init
                    .sessions
                    .iter()
                    .map(|(id, data)| (id.clone(), data.profile.name.clone()))
                    .collect();
            }
            ServerEvent::SessionCreated(data) => {
                self.names
                    .insert(data.id.clone(), data.profile.name.clone());
            }
            ServerEvent::SessionProfile(update) => {
                self.names
                    .insert(update.id.clone(), update.profile.name.clone());
            }
            _ => {}
        }
    }

    /// `you`, `name (id)` or the bare id.
    fn who(&self, id: &str) -> String {
        if self.own_id.as_deref() == Some(id) {
            return "you".into();
        }
        match self.names.get(id).filter(|n| !n.is_empty()) {
            Some(name) => format!("{name} ({id})"),
            None => id.to_owned(),
        }
    }

    /// The line to print for a notice, or None for the ones not worth a line.
    pub fn describe(&self, notice: &ClientNotice) -> Option<String> {
        match notice {
            ClientNotice::Connected {
                session_id,
                reconnect,
            } => Some(if *reconnect {
                format!("reconnected (session {session_id})")
            } else {
                format!("connected (session {session_id})")
            }),
            ClientNotice::Disconnected { reason, will_retry } => Some(if *will_retry {
                format!("connection lost: {reason}; reconnecting")
            } else {
                format!("connection lost: {reason}")
            }),
            ClientNotice::Retrying {
                attempt,
                delay,
                error,
            } => Some(format!(
                "reconnect attempt {attempt} in {:.1} s ({error})",
                delay.as_secs_f64()
            )),
            ClientNotice::Fatal(error) => Some(format!("disconnected for good: {error}")),
            ClientNotice::Event(event) => self.describe_event(event),
        }
    }

    fn describe_event(&self, event: &ServerEvent) -> Option<String> {
        Some(match event {
            ServerEvent::ControlHost(host) => match (&host.host_id, host.has_host) {
                (Some(host_id), true) => format!("host control: {}", self.who(host_id)),
                _ => format!("host control released (by {})", self.who(&host.id)),
            },
            ServerEvent::ControlRequest(from) => format!(
                "{} asks for host control (give it with POST /api/room/control/give/{})",
                self.who(&from.id),
                from.id
            ),
            ServerEvent::ChatMessage(message) => {
                format!("chat {}: {}", self.who(&message.id), message.content.text)
            }
            ServerEvent::ScreenUpdated(update) => format!(
                "screen size is now {}x{}",
                update.size.width, update.size.height
            ),
            ServerEvent::SessionCreated(data) => format!("{} joined", self.who(&data.id)),
            ServerEvent::SessionDeleted(data) => format!("{} left", self.who(&data.id)),
            ServerEvent::ClipboardUpdated(clipboard) => {
                format!("remote clipboard: {:?}", clipboard.text)
            }
            ServerEvent::SystemSettings(update) => {
                format!("room settings changed by {}", self.who(&update.id))
            }
            ServerEvent::Unknown { event, payload } if event.starts_with("error/") => {
                let payload = payload
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                format!("server error {event}: {payload}")
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gstneko::protocol::ControlHost;
    use std::sync::Arc;

    fn event(json: &str) -> ServerEvent {
        ServerEvent::from_json(json).unwrap()
    }

    #[test]
    fn host_changes_name_the_session() {
        let mut roster = Roster::default();
        roster.learn(&event(
            r#"{"event":"session/created","payload":{"id":"b","profile":{"name":"bob"},"state":{"is_connected":true,"is_watching":false}}}"#,
        ));
        roster.own_id = Some("a".into());
        let host = |id: &str, host_id: Option<&str>| {
            ClientNotice::Event(Arc::new(ServerEvent::ControlHost(ControlHost {
                id: id.into(),
                has_host: host_id.is_some(),
                host_id: host_id.map(Into::into),
                ..Default::default()
            })))
        };
        assert_eq!(
            roster.describe(&host("b", Some("b"))).unwrap(),
            "host control: bob (b)"
        );
        assert_eq!(
            roster.describe(&host("a", Some("a"))).unwrap(),
            "host control: you"
        );
        assert_eq!(
            roster.describe(&host("b", None)).unwrap(),
            "host control released (by bob (b))"
        );
        let heartbeat = ClientNotice::Event(Arc::new(ServerEvent::SystemHeartbeat));
        assert!(roster.describe(&heartbeat).is_none());
    }
}
