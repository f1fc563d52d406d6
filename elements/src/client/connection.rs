//! One WebSocket connection to `/api/ws`: typed send and receive.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async_with_config};
use url::Url;

use crate::protocol::{ClientEvent, ServerEvent};

/// What reading one frame produced.
#[derive(Debug)]
pub enum Incoming {
    /// A well-formed event.
    Event(Box<ServerEvent>),
    /// A text frame that is not a valid event; logged and skipped by the caller.
    Malformed {
        /// Parser's reason.
        reason: String,
        /// The start of the frame, for the log.
        excerpt: String,
    },
    /// A control frame (ping/pong) or binary data: only proves the link is alive.
    Alive,
    /// The server closed the connection (or it broke).
    Closed(String),
}

/// An open WebSocket to a Neko server.
pub struct Connection {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Connection {
    /// Opens the WebSocket, failing after `timeout`. Nagle's algorithm is off: control events
    /// are small and each must leave at once (otherwise one sent right after a burst waits for
    /// the peer's delayed ACK, about 40 ms on Linux).
    pub async fn open(url: &Url, timeout: Duration) -> Result<Self, String> {
        let connect = connect_async_with_config(url.as_str(), None, true);
        match tokio::time::timeout(timeout, connect).await {
            Ok(Ok((socket, _response))) => Ok(Self { socket }),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
        }
    }

    /// Sends one event as a text frame.
    pub async fn send(&mut self, event: &ClientEvent) -> Result<(), String> {
        self.socket
            .send(Message::text(event.to_json()))
            .await
            .map_err(|e| e.to_string())
    }

    /// Sends a raw text frame (used for arbitrary JSON events from applications).
    pub async fn send_text(&mut self, text: String) -> Result<(), String> {
        self.socket
            .send(Message::text(text))
            .await
            .map_err(|e| e.to_string())
    }

    /// Reads the next frame.
    pub async fn next(&mut self) -> Incoming {
        match self.socket.next().await {
            None => Incoming::Closed("connection closed".into()),
            Some(Err(e)) => Incoming::Closed(e.to_string()),
            Some(Ok(Message::Text(text))) => match ServerEvent::from_json(text.as_str()) {
                Ok(event) => Incoming::Event(Box::new(event)),
                Err(e) => Incoming::Malformed {
                    reason: e.to_string(),
                    excerpt: text.as_str().chars().take(120).collect(),
                },
            },
            Some(Ok(Message::Close(frame))) => Incoming::Closed(match frame {
                Some(frame) => format!("closed by the server ({} {})", frame.code, frame.reason),
                None => "closed by the server".into(),
            }),
            Some(Ok(_)) => Incoming::Alive,
        }
    }

    /// Closes politely (code 1000), so the server marks the session disconnected at once.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.socket.close(None)).await;
    }
}
