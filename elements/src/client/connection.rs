//! One WebSocket connection to `/api/ws`: typed send and receive.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{
    Connector, MaybeTlsStream, WebSocketStream, connect_async_tls_with_config,
};
use url::Url;

use super::tls::{TlsFailure, Trust};
use crate::protocol::{ClientEvent, ServerEvent};

/// How long a close may take before the socket is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Why the WebSocket could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The server's certificate was refused: retrying cannot help.
    #[error(transparent)]
    Tls(TlsFailure),
    /// The handshake failed otherwise (refused, HTTP error, protocol error).
    #[error(transparent)]
    Handshake(WsError),
    /// No answer in time.
    #[error("no answer within {} s", .0.as_secs())]
    Timeout(Duration),
}

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
    /// `wss://` trusts what `trust` holds.
    pub async fn open(
        url: &Url,
        trust: &Trust,
        server: &str,
        timeout: Duration,
    ) -> Result<Self, OpenError> {
        let connector = Connector::Rustls(trust.client_config());
        let connect = connect_async_tls_with_config(url.as_str(), None, true, Some(connector));
        match tokio::time::timeout(timeout, connect).await {
            Ok(Ok((socket, _response))) => Ok(Self { socket }),
            Ok(Err(error)) => Err(match TlsFailure::find(server.to_owned(), &error) {
                Some(failure) => OpenError::Tls(failure),
                None => OpenError::Handshake(error),
            }),
            Err(_) => Err(OpenError::Timeout(timeout)),
        }
    }

    /// Sends one event as a text frame.
    pub async fn send(&mut self, event: &ClientEvent) -> Result<(), WsError> {
        self.socket.send(Message::text(event.to_json())).await
    }

    /// Sends a raw text frame (used for arbitrary JSON events from applications).
    pub async fn send_text(&mut self, text: String) -> Result<(), WsError> {
        self.socket.send(Message::text(text)).await
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

    /// Closes politely with code 1000 ("normal closure"), so the server marks the session
    /// disconnected at once instead of keeping it for a reconnect (Neko: 5 s). A close frame
    /// without a code would count as abnormal. Bounded by [`CLOSE_TIMEOUT`], as the other end
    /// may be gone or not reading.
    pub async fn close(&mut self) {
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, self.socket.close(Some(frame))).await;
    }
}
