//! The queue between the room and one WebSocket: everything a socket writes goes through it, in order.

use gstneko::protocol::ServerEvent;
use tokio::sync::mpsc::UnboundedSender;

/// Something for a socket's writer to do.
#[derive(Debug)]
pub(super) enum Outgoing {
    /// Write one text frame.
    Text(String),
    /// Drop the connection without a close frame.
    Close(Ending),
}

/// How a socket's life ended, which decides what happens to its session (§2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    /// The client sent close code 1000 or 1001: disconnected at once.
    Normal,
    /// Any other termination: delayed disconnect.
    Abnormal,
    /// The room closed it (kick, replace, delete, shutdown) and already updated the session.
    Server,
}

/// The room's end of one connected socket.
#[derive(Debug)]
pub(super) struct SocketLink {
    /// Distinguishes this socket from a later one of the same session.
    pub conn_id: u64,
    tx: UnboundedSender<Outgoing>,
}

impl SocketLink {
    /// A link writing into `tx`.
    pub fn new(conn_id: u64, tx: UnboundedSender<Outgoing>) -> Self {
        Self { conn_id, tx }
    }

    /// Queues an event.
    pub fn send(&self, event: &ServerEvent) {
        self.send_text(event.to_json());
    }

    /// Queues a raw text frame.
    pub fn send_text(&self, text: String) {
        // A closed queue means the socket is already gone; nothing to deliver to.
        let _ = self.tx.send(Outgoing::Text(text));
    }

    /// Queues the end of the connection.
    pub fn close(&self, ending: Ending) {
        let _ = self.tx.send(Outgoing::Close(ending));
    }

    /// Sends `system/disconnect {"message": reason}` and drops the connection.
    pub fn disconnect(&self, reason: &str) {
        self.send(&ServerEvent::SystemDisconnect(
            gstneko::protocol::SystemDisconnect::new(reason),
        ));
        self.close(Ending::Server);
    }
}
